"""``aspects reports``: list the report models and run one (table, CSV or JSON)."""

from __future__ import annotations

import csv
import sys
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from aspects.cli.common import get_settings
from aspects.models.registry import ReportError, get_report, reports, run_report
from aspects.store.client import open_client


@click.group("reports")
def reports_group() -> None:
    """Report models (definitions in docs/reports.md)."""


@reports_group.command("list")
def list_() -> None:
    """Every report with its parameters."""
    table = Table("report", "title", "parameters")
    for report in reports().values():
        table.add_row(report.name, report.title, ", ".join(sorted(report.parameters)))
    Console().print(table)


@reports_group.command("show")
@click.argument("name")
@click.option("--course", "course_key", help="Course key (course-v1:ORG+COURSE+RUN).")
@click.option("--org", help="Organisation.")
@click.option("--since", help="Start (ISO date or time, UTC), inclusive.")
@click.option("--until", help="End (ISO date or time, UTC), exclusive; also the as-of time.")
@click.option("--param", "extra", multiple=True, help="Other parameter as name=value.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.pass_context
def show(
    ctx: click.Context,
    name: str,
    course_key: str | None,
    org: str | None,
    since: str | None,
    until: str | None,
    extra: tuple[str, ...],
    fmt: str,
) -> None:
    """Run report NAME."""
    settings = get_settings(ctx)
    given: dict[str, Any] = {}
    for key, value in (
        ("course_key", course_key),
        ("org", org),
        ("since", since),
        ("until", until),
    ):
        if value is not None:
            given[key] = value
    try:
        report = get_report(name)
        # The common options apply where the report takes them; --param values always pass.
        given = {key: value for key, value in given.items() if key in report.parameters}
        for item in extra:
            key, sep, value = item.partition("=")
            if not sep:
                raise click.UsageError(f"--param wants name=value, got {item!r}")
            given[key] = value
        client = open_client(settings.store, settings.data_dir)
        result = run_report(
            client, settings.store.database, name, given, pii_enabled=settings.courses.pii
        )
    except ReportError as error:
        raise click.ClickException(str(error)) from None
    if fmt == "json":
        sys.stdout.buffer.write(
            orjson.dumps(result.as_dicts(), option=orjson.OPT_INDENT_2, default=str) + b"\n"
        )
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        table = Table(*result.columns, title=report.title)
        for row in result.rows:
            table.add_row(*("" if value is None else str(value) for value in row))
        Console().print(table)


@reports_group.command("refresh")
@click.option(
    "--margin-seconds",
    type=float,
    default=600.0,
    show_default=True,
    help="Rows inserted this close before the refresh count as after it (longest insert).",
)
@click.pass_context
def refresh_cache(ctx: click.Context, margin_seconds: float) -> None:
    """Refresh the operator_kpis cache of whole past days once (what `aspects serve` does every
    store.kpis_refresh_seconds): for a server deployment, run it from cron."""
    import datetime as dt

    from aspects.models.rollup import refresh
    from aspects.store.client import open_migrated_client

    settings = get_settings(ctx)
    client = open_migrated_client(settings.store, settings.data_dir)
    done = refresh(client, settings.store.database, margin=dt.timedelta(seconds=margin_seconds))
    Console().print(
        f"operator_kpis cache: {done.days_computed} days recomputed in {done.seconds:.1f} s, "
        f"as of {done.as_of.isoformat()}; days from {done.first_uncached} are computed live"
    )
