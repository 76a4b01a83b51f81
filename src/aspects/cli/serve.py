"""``aspects serve``: the store endpoint, the LRS, live ingest and the dashboards together."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

import click
from rich.console import Console

from aspects.cli.common import get_settings
from aspects.errors import ConfigError
from aspects.settings import Settings
from aspects.shutdown import exit_if_stuck


@click.command()
@click.option(
    "--dashboards/--no-dashboards",
    default=None,
    help="Start Superset too (default: when its virtualenv exists; see `aspects dashboards init`).",
)
@click.pass_context
def serve(ctx: click.Context, dashboards: bool | None) -> None:
    """Run every service until SIGTERM or Ctrl-C."""
    settings = get_settings(ctx)
    run_until_stopped(settings, dashboards)


def run_until_stopped(
    settings: Settings, dashboards: bool | None, *, init_dashboards: bool = False
) -> None:
    """Start the site, print where everything is, and stop it cleanly on SIGTERM/SIGINT."""
    from aspects.serve import start_site

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    if dashboards is None:
        dashboards = (settings.dashboards.venv / "bin" / "gunicorn").exists()
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        exit_if_stuck(settings.shutdown_timeout)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    console = Console()
    log_file = Path(settings.data_dir) / "superset.log"
    try:
        if init_dashboards:
            console.print("preparing the dashboards (Superset: a few minutes the first time) ...")
        site = start_site(
            settings,
            dashboards=dashboards,
            dashboards_log=log_file,
            init_dashboards=init_dashboards,
        )
    except (ConfigError, OSError, RuntimeError) as error:
        raise click.ClickException(str(error)) from None
    for service in site.services:
        console.print(f"[bold]{service.name}[/bold]: {service.url or 'running'}")
    if dashboards and settings.dashboards.lms_url is None:
        from aspects.dashboards.runtime import admin_password

        console.print(
            f"dashboards sign-in: [bold]{settings.dashboards.admin_username}[/bold] / "
            f"{admin_password(settings)}"
        )
    console.print("Ctrl-C or SIGTERM stops everything.")
    try:
        stop.wait()
    finally:
        console.print("stopping ...")
        site.stop()
    console.print("stopped")
