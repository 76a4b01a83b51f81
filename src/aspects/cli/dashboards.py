"""``aspects dashboards``: Superset's virtualenv, bootstrap, asset import and server."""

from __future__ import annotations

import signal
import sys
import types

import click

from aspects.cli.common import get_settings
from aspects.errors import ConfigError


@click.group()
def dashboards() -> None:
    """Superset dashboards with single sign-on against the LMS."""


@dashboards.command("venv")
@click.pass_context
def venv(ctx: click.Context) -> None:
    """Create or update Superset's own virtualenv (no-op when up to date)."""
    from aspects.dashboards.venv import ensure_venv

    settings = get_settings(ctx)
    result = ensure_venv(settings.dashboards.venv)
    state = "installed" if result.installed else "already up to date"
    click.echo(f"{result.path}: {state} ({result.seconds:.1f} s)")


@dashboards.command("init")
@click.pass_context
def init(ctx: click.Context) -> None:
    """Bootstrap Superset idempotently: schema, roles, admin, database, dashboards."""
    from aspects.dashboards.superset import init as run_init

    settings = get_settings(ctx)
    try:
        result = run_init(settings)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    click.echo(
        f"Superset ready in {result.seconds:.1f} s (virtualenv "
        f"{'installed' if result.venv.installed else 'up to date'}); "
        f"admin user: {settings.dashboards.admin_username}"
    )


@dashboards.command("import")
@click.pass_context
def import_(ctx: click.Context) -> None:
    """Re-import the dashboard asset files (overwrites the same objects)."""
    from aspects.dashboards.superset import import_assets

    settings = get_settings(ctx)
    try:
        import_assets(settings)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


@dashboards.command("serve")
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run Superset under gunicorn until SIGINT/SIGTERM."""
    from aspects.dashboards.superset import start

    settings = get_settings(ctx)
    try:
        process = start(settings)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    dashboards_settings = settings.dashboards
    click.echo(f"Superset on http://{dashboards_settings.host}:{dashboards_settings.port}")

    def _stop(signum: int, frame: types.FrameType | None) -> None:
        process.terminate()

    signal.signal(signal.SIGTERM, _stop)
    try:
        sys.exit(process.wait())
    except KeyboardInterrupt:
        process.terminate()
        sys.exit(process.wait())
