"""``aspects demo``: a realistic site on the embedded store, then every service."""

from __future__ import annotations

import click
from rich.console import Console

from aspects.cli.common import get_settings


@click.command()
@click.option("--learners", type=int, default=400, show_default=True, help="Learners (two runs).")
@click.option("--weeks", type=int, default=6, show_default=True, help="Weeks of activity.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--dashboards/--no-dashboards",
    default=True,
    show_default=True,
    help="Create Superset's virtualenv and bootstrap it (a few minutes the first time).",
)
@click.option("--serve/--no-serve", default=True, show_default=True, help="Then run the site.")
@click.pass_context
def demo(
    ctx: click.Context, learners: int, weeks: int, seed: int, dashboards: bool, serve: bool
) -> None:
    """Generate a demo site's tracking logs, ingest them, and serve everything.

    The logs are written once under <data_dir>/demo/logs (delete that folder for new ones). The
    rotated files are backfilled; the live tracking.log is followed by `aspects serve`, so a line
    appended to it shows in the reports within seconds.
    """
    from aspects.cli.ingest import files as ingest_files
    from aspects.cli.serve import run_until_stopped
    from aspects.demo.site import prepare_demo
    from aspects.store.client import open_migrated_client

    settings = get_settings(ctx)
    console = Console()
    if settings.store.url is not None:
        raise click.UsageError("the demo writes into the embedded store: unset store.url")
    client = open_migrated_client(settings.store, settings.data_dir)
    logs = prepare_demo(settings, client, learners=learners, weeks=weeks, seed=seed)
    if logs.events_written:
        console.print(
            f"wrote {logs.events_written:,} tracking-log events under {logs.live_log.parent}"
        )
    ctx.invoke(ingest_files, paths=tuple(logs.rotated), again=False, workers=None)
    settings.ingest.paths = [logs.live_log]
    if serve:
        run_until_stopped(settings, dashboards, init_dashboards=dashboards)
    elif dashboards:
        from aspects.dashboards.superset import init

        init(settings)
