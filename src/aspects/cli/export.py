"""``aspects export``: a course's statements, de-identified, for researchers."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import cast

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from aspects.cli.common import get_settings, stderr_console
from aspects.export.deidentify import Deidentifier
from aspects.export.writer import Format, count_statements, export_course
from aspects.store.client import open_client


@click.command()
@click.option("--course", required=True, help="Course key, course-v1:ORG+NUMBER+RUN.")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "parquet"]), default="jsonl", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write. Default: <course>.<format> in the current directory.",
)
@click.option(
    "--salt",
    default=None,
    envvar="ASPECTS_EXPORT_SALT",
    help="Pseudonymise learners with this salt (so this export cannot be joined with others).",
)
@click.option("--random-salt", is_flag=True, help="A fresh random salt, not kept anywhere.")
@click.pass_context
def export(
    ctx: click.Context,
    course: str,
    fmt: str,
    output: Path | None,
    salt: str | None,
    random_salt: bool,
) -> None:
    """Write a course's statements de-identified (pseudonymous learners, no names or emails)."""
    settings = get_settings(ctx)
    if salt and random_salt:
        raise click.UsageError("give --salt or --random-salt, not both")
    if random_salt:
        salt = secrets.token_urlsafe(32)
    output = output or Path(f"{course.replace(':', '_').replace('+', '_')}.{fmt}")
    client = open_client(settings.store, settings.data_dir)
    deidentifier = Deidentifier(settings.secret("transform", settings.transform.secret), salt)
    total = count_statements(client, settings.store.database, course)
    console = stderr_console()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"export {course}", total=total)
        written = export_course(
            client,
            settings.store.database,
            course,
            output,
            cast(Format, fmt),
            deidentifier,
            lambda count: progress.advance(task, count),
        )
    console.print(f"{written:,} statements written to {output}")
