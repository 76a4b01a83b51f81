"""``aspects status``: what the ingest has done and how far behind it is."""

from __future__ import annotations

import click
import orjson
from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.table import Table

from aspects.cli.common import get_settings
from aspects.settings import Settings


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.2f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    if value < 172_800:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} days"


def _endpoint_client(settings: Settings) -> tuple[Client | None, str | None]:
    """The embedded store through its endpoint (``aspects db serve`` / ``aspects serve``), as
    the read-only user: the process that owns the store serves it there."""
    import clickhouse_connect

    store = settings.store
    try:
        client = clickhouse_connect.get_client(
            host=store.endpoint_host,
            port=store.endpoint_port,
            username=store.readonly_user,
            password=settings.secret("store_readonly", store.readonly_password),
            database=store.database,
        )
    except Exception as error:
        return None, f"{type(error).__name__}: {str(error)[:200]}"
    return client, None


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Events read, statements stored, rejected, forwarded, queue depths and lag."""
    from aspects.ingest.live import open_state
    from aspects.ingest.status import ingest_status
    from aspects.store.client import open_client

    settings = get_settings(ctx)
    state = open_state(settings)
    client: Client | None = None
    store_error: str | None = None
    try:
        client = open_client(settings.store, settings.data_dir)
    except Exception as error:  # e.g. the embedded store is held by `aspects serve`
        store_error = f"{type(error).__name__}: {str(error)[:200]}"
        if settings.store.url is None:
            client, endpoint_error = _endpoint_client(settings)
            if client is not None:
                store_error = None
            else:
                store_error += f"; endpoint: {endpoint_error}"
    figures = ingest_status(state, client, settings.store.database)
    state.close()
    figures.store_error = figures.store_error or store_error
    if as_json:
        data = {
            key: (value.isoformat() if hasattr(value, "isoformat") else value)
            for key, value in figures.__dict__.items()
        }
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title="aspects status", show_header=False)
    rows = [
        ("events read", f"{figures.events_read:,}"),
        ("statements stored", f"{figures.statements_stored:,}"),
        ("rejected lines", f"{figures.rejected:,}"),
        ("events not transformed", f"{figures.skipped:,}"),
        ("forwarded", f"{figures.forwarded:,}"),
        ("refused by forwarding targets", f"{figures.forward_rejected:,}"),
    ]
    for name, (waiting, refused) in sorted(figures.queues.items()):
        rows.append((f"queue {name}", f"{waiting:,} waiting, {refused:,} refused"))
    rows += [
        (
            "statements in the store",
            "-" if figures.statements_in_store is None else f"{figures.statements_in_store:,}",
        ),
        ("newest emission time", str(figures.newest_emission or "-")),
        ("lag: now - newest emission", _seconds(figures.emission_lag_seconds)),
        ("lag: line read -> queryable (p95)", _seconds(figures.lag_p95_seconds)),
        ("lag: line read -> queryable (last batch)", _seconds(figures.lag_last_seconds)),
        ("last stored batch", str(figures.last_commit_at or "-")),
    ]
    if figures.store_error:
        rows.append(("store", f"unavailable: {figures.store_error}"))
    for label, value in rows:
        table.add_row(label, value)
    Console().print(table)
