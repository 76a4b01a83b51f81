"""``aspects db``: the ClickHouse store's schema and status."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from aspects.cli.common import get_settings
from aspects.errors import ConfigError
from aspects.store.client import open_client
from aspects.store.migrate import migrate as run_migrations
from aspects.store.status import store_status


@click.group()
def db() -> None:
    """Manage the ClickHouse store."""


@db.command("migrate")
@click.option("--to", "target", type=int, default=None, help="Stop at this migration number.")
@click.pass_context
def migrate(ctx: click.Context, target: int | None) -> None:
    """Create or upgrade the schema (idempotent)."""
    settings = get_settings(ctx)
    client = open_client(settings.store, settings.data_dir)
    applied = run_migrations(client, settings.store, target=target)
    if applied:
        for migration in applied:
            click.echo(f"applied {migration.version:04d}_{migration.name}")
    else:
        click.echo("schema is up to date")


@db.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """Schema version, rows and sizes per table."""
    settings = get_settings(ctx)
    client = open_client(settings.store, settings.data_dir)
    report = store_status(client, settings.store)
    console = Console()
    console.print(
        f"schema version {report.version} (latest {report.latest_version}), "
        f"database {settings.store.database}"
    )
    table = Table("table", "engine", "rows", "on disk", "uncompressed", "bytes/row")
    for item in report.tables:
        per_row = f"{item.bytes_on_disk / item.rows:.0f}" if item.rows else "-"
        table.add_row(
            item.name,
            item.engine,
            f"{item.rows:,}",
            _size(item.bytes_on_disk),
            _size(item.uncompressed_bytes),
            per_row,
        )
    console.print(table)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


@db.command("serve")
@click.option("--host", default=None, help="Address to bind (default: store.endpoint_host).")
@click.option("--port", type=int, default=None, help="Port (default: store.endpoint_port).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the embedded database over ClickHouse's HTTP interface (until SIGTERM)."""
    from aspects.store.client import embedded_path
    from aspects.store.endpoint.auth import Users
    from aspects.store.endpoint.server import serve as run_server

    settings = get_settings(ctx)
    store = settings.store
    if store.url is not None:
        raise click.UsageError("store.url is set: the store is a ClickHouse server, not embedded")
    try:
        users = Users.create(
            store.admin_user,
            settings.secret("store_admin", store.admin_password),
            store.readonly_user,
            settings.secret("store_readonly", store.readonly_password),
        )
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    host = host or store.endpoint_host
    port = port or store.endpoint_port
    click.echo(f"serving the embedded database on http://{host}:{port} (Ctrl-C or SIGTERM stops)")
    try:
        run_server(embedded_path(store, settings.data_dir), host, port, users)
    except OSError as error:  # e.g. the port is taken
        raise click.ClickException(f"cannot serve on {host}:{port}: {error}") from None
