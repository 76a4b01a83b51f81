"""``aspects privacy``: erasure of a learner (data-subject requests) and PII retention."""

from __future__ import annotations

import click
import orjson
from rich.console import Console
from rich.table import Table

from aspects.cli.common import get_settings
from aspects.privacy.service import erase_learner
from aspects.privacy.subject import Subject, SubjectError, resolve
from aspects.store.client import open_client
from aspects.store.migrate import apply_retention


@click.group()
def privacy() -> None:
    """Erasure of learners and retention of personal data."""


@privacy.command("erase")
@click.option(
    "--user",
    "users",
    multiple=True,
    required=True,
    help="LMS user id, actor UUID, or (PII on) username; repeat to name the same learner "
    "by several (e.g. --user 42 --user jdoe).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def erase(ctx: click.Context, users: tuple[str, ...], yes: bool, as_json: bool) -> None:
    """Remove a learner from everything and keep them out (tombstone); cannot be undone."""
    settings = get_settings(ctx)
    subject = Subject()
    try:
        for user in users:
            subject = subject | resolve(settings, user)
    except SubjectError as error:
        raise click.UsageError(str(error)) from None
    if not yes:
        click.confirm(
            f"Erase {', '.join(users)} from every store? This cannot be undone", abort=True
        )
    client = open_client(settings.store, settings.data_dir)
    report = erase_learner(client, settings, subject)
    if as_json:
        click.echo(orjson.dumps(report.as_dict()).decode())
        return
    table = Table("store", "rows removed")
    for name, count in sorted(report.rows.items()):
        table.add_row(name, f"{count:,}")
    table.add_row("LRS documents", f"{report.documents:,}")
    table.add_row("dead letters", f"{report.dead_letters:,}")
    table.add_row("forwarding queue", f"{report.queued_forwards:,}")
    console = Console()
    console.print(table)
    console.print(
        f"{report.actor_ids} actor id(s) tombstoned; {report.total_rows:,} rows removed "
        f"in {report.seconds:.1f} s"
    )


@privacy.command("ids")
@click.option("--user", "users", multiple=True, required=True, help="As for `erase`.")
@click.pass_context
def ids(ctx: click.Context, users: tuple[str, ...]) -> None:
    """Print the actor ids a learner appears under (for access requests); changes nothing."""
    from aspects.privacy.service import complete_subject

    settings = get_settings(ctx)
    subject = Subject()
    try:
        for user in users:
            subject = subject | resolve(settings, user)
    except SubjectError as error:
        raise click.UsageError(str(error)) from None
    client = open_client(settings.store, settings.data_dir)
    for actor_id in sorted(complete_subject(client, settings, subject).actor_ids):
        click.echo(actor_id)


@privacy.command("retention")
@click.option("--now", "materialize", is_flag=True, help="Also expire existing rows now.")
@click.pass_context
def retention(ctx: click.Context, materialize: bool) -> None:
    """Apply the retention settings now: TTLs (set by every migrate anyway) and the ingest sweep."""
    from aspects.privacy.retention import materialize as materialize_now
    from aspects.privacy.retention import sweep_ingest

    settings = get_settings(ctx)
    store = settings.store
    client = open_client(store, settings.data_dir)
    tables = (materialize_now if materialize else apply_retention)(client, store)
    swept = sweep_ingest(settings)

    def days(value: int | None) -> str:
        return f"{value} days" if value is not None else "no limit"

    click.echo(
        f"retention {days(store.retention_days)}, PII retention "
        f"{days(store.pii_retention_days)} on: {', '.join(tables) or 'no table yet'}"
    )
    click.echo(
        f"ingest: {swept.dead_letters} dead letters, {swept.queued_forwards} queued forwards "
        "deleted"
    )
