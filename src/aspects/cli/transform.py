"""``aspects transform [FILE ...|-]``: tracking logs in, xAPI JSON lines out, summary on stderr."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Literal

import click
import orjson

from aspects.cli.common import get_settings
from aspects.errors import ConfigError
from aspects.transform import (
    Transformer,
    load_course_names,
    load_external_ids,
    no_course_names,
)
from aspects.transform.batch import Rejection, Summary, open_log
from aspects.transform.fast import open_fast, transform_lines_json


def _print_build_info(ctx: click.Context) -> None:
    from aspects.transform.fast import native_state
    from aspects.transform.native import build_info

    click.echo(orjson.dumps({**build_info(), "native": native_state()}).decode())
    ctx.exit(0)


@click.command()
@click.argument("files", nargs=-1, type=str)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["xapi", "caliper"]),
    default="xapi",
    show_default=True,
    help="Output vocabulary: xAPI 1.0.3 (65 events) or Caliper 1.2 (ERB's 35 Caliper events).",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append rejected lines here as JSON lines (source, line, reason, text).",
)
@click.option(
    "--course-names",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV course_id,display_name (overrides transform.course_names_file).",
)
@click.option(
    "--external-ids",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV user_id,external_user_id from the LMS (overrides transform.external_ids_file).",
)
@click.option(
    "--build-info",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=lambda ctx, _param, value: _print_build_info(ctx) if value else None,
    help=(
        "Say which build of the transformer runs (compiled with mypyc, or the sources; "
        "the native module or why not) and exit."
    ),
)
@click.pass_context
def transform(
    ctx: click.Context,
    files: tuple[str, ...],
    output_format: str,
    rejects: Path | None,
    course_names: Path | None,
    external_ids: Path | None,
) -> None:
    """Transform tracking logs (plain or .gz; - or nothing for stdin) into xAPI statements.

    Statements go to stdout, one JSON object per line. Events that are not transformed are
    counted by name; lines that cannot be transformed are counted and reported with their line
    number and reason (and kept with --rejects).
    """
    settings = get_settings(ctx)
    section = settings.transform
    try:
        names_file = course_names or section.course_names_file
        ids_file = external_ids or section.external_ids_file
        secret = settings.secret("transform", section.secret)
        names = load_course_names(names_file) if names_file else no_course_names
        ids = load_external_ids(ids_file) if ids_file else None
        vocabulary: Literal["xapi", "caliper"] = "caliper" if output_format == "caliper" else "xapi"
        transformer = Transformer(
            section, secret=secret, course_names=names, external_ids=ids, vocabulary=vocabulary
        )
        # the native transformer where it can (same output), the Python one for the rest
        fast = open_fast(
            section, secret=secret, course_names=names, external_ids=ids, vocabulary=vocabulary
        )
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    summary = Summary()
    out = sys.stdout.buffer
    reject_file: IO[bytes] | None = rejects.open("ab") if rejects else None

    def keep(rejection: Rejection) -> None:
        if reject_file is not None:
            record = {
                "source": rejection.source,
                "line": rejection.line_number,
                "reason": rejection.reason,
                "text": rejection.line,
            }
            reject_file.write(orjson.dumps(record) + b"\n")

    try:
        for path in files or ("-",):
            try:
                with open_log(path) as lines:
                    for statement in transform_lines_json(
                        fast, transformer, lines, summary, source=path, on_reject=keep
                    ):
                        out.write(statement + b"\n")
            except OSError as error:
                raise click.UsageError(f"cannot read {path}: {error}") from None
        out.flush()
    finally:
        if reject_file is not None:
            reject_file.close()
    _report(summary)


def _report(summary: Summary) -> None:
    # Plain lines (no wrapping or markup): the summary is read by people and by scripts.
    lines = [
        f"events read: {summary.events_read}  statements written: {summary.statements}  "
        f"skipped: {sum(summary.skipped.values())}  rejected: {summary.rejected}"
    ]
    lines += [f"  skipped {count} {name}" for name, count in summary.skipped.most_common(10)]
    lines += [
        f"  rejected {item.source}:{item.line_number}: {item.reason}"
        for item in summary.rejections[:10]
    ]
    if summary.rejected > 10:
        lines.append(f"  ... and {summary.rejected - 10} more rejected")
    click.echo("\n".join(lines), err=True)
