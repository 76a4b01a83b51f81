"""``aspects ingest``: backfill tracking logs, follow them live, list dead letters, forward.

``aspects ingest PATH ...`` is short for ``aspects ingest files PATH ...``.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

import click
import orjson
from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from aspects.cli.common import get_settings, stderr_console
from aspects.settings import Settings
from aspects.shutdown import exit_if_stuck


class _IngestGroup(click.Group):
    """A group whose first argument may be a path: then it means the ``files`` command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["files", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_IngestGroup)
def ingest() -> None:
    """Tracking logs into the store: `aspects ingest PATH ...` backfills files."""


class _EventsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        events = int(task.fields.get("events", 0))
        rate = events / elapsed if elapsed > 0 else 0.0
        return Text(f"{events:,} events · {rate:,.0f}/s", style="progress.data.speed")


def _open_store(settings: Settings) -> Client:
    from aspects.store.client import open_migrated_client

    return open_migrated_client(settings.store, settings.data_dir)


@ingest.command("files")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--again", is_flag=True, help="Re-read files already read to the end.")
@click.option(
    "--workers", type=int, default=None, help="Transformer processes (default: one per core)."
)
@click.pass_context
def files(ctx: click.Context, paths: tuple[Path, ...], again: bool, workers: int | None) -> None:
    """Backfill tracking logs: files, .gz files, directories of rotated logs (in time order)."""
    from aspects.ingest.backfill import backfill, total_bytes
    from aspects.ingest.live import open_state

    settings = get_settings(ctx)
    try:
        size = total_bytes(list(paths))
    except FileNotFoundError as error:
        raise click.UsageError(str(error)) from None
    client = _open_store(settings)
    state = open_state(settings)
    console = stderr_console()
    progress = Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        _EventsPerSecond(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    with progress:
        task = progress.add_task("ingest", total=size, events=0)
        events = 0

        def advance(done_bytes: int, lines: int) -> None:
            nonlocal events
            events += lines
            progress.update(task, advance=done_bytes, events=events)

        summary = backfill(
            settings, client, state, list(paths), again=again, workers=workers, progress=advance
        )
        progress.update(task, completed=size)
    state.close()
    table = Table(title="ingest summary", show_header=False)
    rate = summary.events / summary.seconds if summary.seconds else 0.0
    for label, value in (
        ("files read", f"{summary.files:,}"),
        ("files already complete", f"{summary.files_skipped:,}"),
        ("lines read", f"{summary.events:,}"),
        ("statements stored", f"{summary.statements:,}"),
        ("rejected lines (dead letters)", f"{summary.rejected:,}"),
        ("events not transformed", f"{summary.skipped:,}"),
        ("time", f"{summary.seconds:,.1f} s"),
        ("events/s", f"{rate:,.0f}"),
    ):
        table.add_row(label, value)
    Console().print(table)
    if summary.rejected:
        Console().print("see the rejected lines with [bold]aspects ingest errors[/]")


@ingest.command("errors")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--offset", "skip", type=int, default=0, help="Skip this many dead letters.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, full lines.")
@click.pass_context
def errors(ctx: click.Context, limit: int, skip: int, as_json: bool) -> None:
    """List rejected lines (dead letters): file, offset, reason and the line."""
    from aspects.ingest.live import open_state

    settings = get_settings(ctx)
    state = open_state(settings)
    letters = state.dead_letters(limit=limit, offset=skip)
    total = state.dead_letter_count()
    state.close()
    if as_json:
        for letter in letters:
            click.echo(
                orjson.dumps(
                    {
                        "id": letter.id,
                        "file": letter.path,
                        "offset": letter.offset,
                        "reason": letter.reason,
                        "line": letter.line.decode("utf-8", "replace"),
                        "line_bytes": letter.line_bytes,
                        "truncated": len(letter.line) < letter.line_bytes,
                    }
                ).decode()
            )
        return
    console = Console()
    table = Table("id", "file", "offset", "reason", "line", title=f"{total:,} rejected lines")
    for letter in letters:
        preview = letter.line[:80].decode("utf-8", "replace")
        if letter.line_bytes > 80:
            preview += "…"
        table.add_row(str(letter.id), letter.path, str(letter.offset), letter.reason, preview)
    console.print(table)


@ingest.command("follow")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
def follow(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Tail tracking logs (default: ingest.paths) into the store until SIGTERM or Ctrl-C."""
    from aspects.ingest.live import run_live

    settings = get_settings(ctx)
    targets = list(paths) or list(settings.ingest.paths)
    if not targets:
        raise click.UsageError("give PATH arguments or set ingest.paths")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    client = _open_store(settings)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        exit_if_stuck(settings.shutdown_timeout)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stderr_console().print(f"following {', '.join(map(str, targets))} (Ctrl-C stops)")
    run_live(settings, client, stop, paths=targets)


@ingest.command("forward")
@click.option("--timeout", type=float, default=60.0, show_default=True)
@click.pass_context
def forward(ctx: click.Context, timeout: float) -> None:
    """Send the queued statements to the forwarding targets now, until the queues are empty."""
    from aspects.ingest.forward import Forwarder
    from aspects.ingest.live import open_state

    settings = get_settings(ctx)
    if not settings.ingest.forward:
        raise click.UsageError("no forwarding targets (ingest.forward)")
    state = open_state(settings)
    forwarder = Forwarder(state, settings.ingest.forward)
    try:
        done = forwarder.drain(timeout)
        depths = state.queue_depths()
    finally:
        forwarder.close()
        state.close()
    for name, (waiting, refused) in sorted(depths.items()):
        click.echo(f"{name}: {waiting} waiting, {refused} refused")
    if not done:
        raise click.ClickException("queues not empty before the timeout")
