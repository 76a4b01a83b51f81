"""``aspects courses``: course structure from OLX exports or the LMS, and (opt-in) learner PII."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from aspects.cli.common import get_settings
from aspects.courses.lms import LMSClient, LMSError
from aspects.courses.olx import demo_course_path, read_olx
from aspects.courses.pii import import_pii_csv
from aspects.courses.store import store_structure
from aspects.courses.structure import CourseStructureError
from aspects.errors import ConfigError
from aspects.store.client import open_migrated_client


@click.group()
def courses() -> None:
    """Course structure (names of sections, subsections, units and components)."""


@courses.command("import")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--demo", is_flag=True, help="Import the demo course shipped with aspects.")
@click.pass_context
def import_(ctx: click.Context, paths: tuple[Path, ...], demo: bool) -> None:
    """Import OLX course exports (.tar.gz from Studio, or a directory)."""
    if demo:
        paths = (*paths, demo_course_path())
    if not paths:
        raise click.UsageError("give an export path (or --demo)")
    settings = get_settings(ctx)
    client = open_migrated_client(settings.store, settings.data_dir)
    failed = 0
    for path in paths:
        try:
            structure = read_olx(path)
        except CourseStructureError as error:
            click.echo(f"error: {error}", err=True)
            failed += 1
            continue
        count = store_structure(client, settings.store.database, structure, source="olx")
        click.echo(f"imported {structure.course_key} ({structure.display_name}): {count} blocks")
    if failed:
        raise SystemExit(1)


@courses.command("sync")
@click.argument("course_keys", nargs=-1)
@click.pass_context
def sync(ctx: click.Context, course_keys: tuple[str, ...]) -> None:
    """Read course structure from the LMS Course Blocks API (all listed courses by default)."""
    settings = get_settings(ctx)
    try:
        lms = LMSClient(settings.courses)
        keys = list(course_keys) or list(lms.course_keys())
    except (ConfigError, LMSError) as error:
        raise click.ClickException(str(error)) from None
    client = open_migrated_client(settings.store, settings.data_dir)
    failed = 0
    for key in keys:
        try:
            structure = lms.course_structure(key)
        except (LMSError, CourseStructureError) as error:
            click.echo(f"error: {key}: {error}", err=True)
            failed += 1
            continue
        count = store_structure(client, settings.store.database, structure, source="lms")
        click.echo(f"synced {key} ({structure.display_name}): {count} blocks")
    if failed:
        raise SystemExit(1)


@courses.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """Courses whose structure is known."""
    settings = get_settings(ctx)
    client = open_migrated_client(settings.store, settings.data_dir)
    result = client.query(
        f"SELECT course_key, display_name, block_count, source, imported_at "
        f"FROM {settings.store.database}.courses FINAL ORDER BY course_key"
    )
    table = Table("course", "name", "blocks", "source", "imported")
    for key, name, count, source, when in result.result_rows:
        table.add_row(key, name, str(count), source, f"{when:%Y-%m-%d %H:%M}")
    Console().print(table)


@courses.command("pii-import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def pii_import(ctx: click.Context, csv_file: Path) -> None:
    """Import learners' usernames, emails and names (needs courses.pii = true)."""
    settings = get_settings(ctx)
    client = open_migrated_client(settings.store, settings.data_dir)
    try:
        result = import_pii_csv(client, settings.store, csv_file, settings.courses.pii)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    for line, reason in result.rejected:
        click.echo(f"rejected line {line}: {reason}", err=True)
    click.echo(f"imported {result.imported} learners, rejected {len(result.rejected)}")
