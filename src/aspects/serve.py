"""`aspects serve`: every service of a site in one command.

With the embedded store, one process must own the chDB directory, so this process runs, each in
a thread of its own: the store endpoint (ClickHouse's HTTP interface, for Superset and other
clients), the LRS, and the live ingest of ``ingest.paths``; Superset runs beside it under
gunicorn and reads the store through the endpoint with the read-only user. With a ClickHouse
server (``store.url``) there is no endpoint, and each part can also run as its own process
(`aspects lrs serve`, `aspects ingest follow`, `aspects dashboards serve`).

SIGTERM or Ctrl-C stops everything cleanly: servers finish the requests in flight, the follower
stores what it has read, Superset is terminated, then the engine closes.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from clickhouse_connect.driver.client import Client
from starlette.types import ASGIApp, Receive, Scope, Send

from aspects.settings import Settings
from aspects.store.client import embedded_path, open_migrated_client

log = logging.getLogger(__name__)


@dataclass
class Service:
    """One running part: its name, its URL (if it serves HTTP) and how to stop it."""

    name: str
    url: str | None
    stop: Callable[[], None]


@dataclass
class Site:
    """The running services, in start order (stopped in reverse)."""

    services: list[Service] = field(default_factory=list)

    def stop(self) -> None:
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception:  # one failing stop must not keep the others running
                log.exception("stopping %s failed", service.name)
        self.services.clear()


def _uvicorn_in_thread(name: str, config: uvicorn.Config, sockets: list[object] | None) -> Service:
    """Run a uvicorn server in a thread (it installs no signal handlers off the main thread)."""
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": sockets}, name=f"aspects-{name}", daemon=True
    )
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=15)

    return _wait_started(name, server, thread, stop)


def _wait_started(
    name: str, server: uvicorn.Server, thread: threading.Thread, stop: Callable[[], None]
) -> Service:
    for _ in range(600):
        if server.started:
            break
        if not thread.is_alive():
            raise RuntimeError(f"{name} failed to start (see the log above)")
        threading.Event().wait(0.05)
    else:
        stop()
        raise RuntimeError(f"{name} did not start within 30 s")
    return Service(name, f"http://{server.config.host}:{server.config.port}", stop)


def start_endpoint(settings: Settings, site: Site) -> None:
    """The embedded database's HTTP interface, for Superset and other processes."""
    from aspects.store.endpoint.app import create_app
    from aspects.store.endpoint.auth import Users
    from aspects.store.endpoint.engine import Engine
    from aspects.store.endpoint.server import listening_socket

    store = settings.store
    users = Users.create(
        store.admin_user,
        settings.secret("store_admin", store.admin_password),
        store.readonly_user,
        settings.secret("store_readonly", store.readonly_password),
    )
    sock = listening_socket(store.endpoint_host, store.endpoint_port)
    engine = Engine(embedded_path(store, settings.data_dir))
    config = uvicorn.Config(
        create_app(engine, users),
        host=store.endpoint_host,
        port=store.endpoint_port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    service = _uvicorn_in_thread("store endpoint", config, [sock])
    inner_stop = service.stop

    def stop() -> None:
        inner_stop()
        engine.close()
        sock.close()

    service.stop = stop
    site.services.append(service)


def by_prefix(prefix: str, inner: ASGIApp, other: ASGIApp) -> ASGIApp:
    """Requests under ``prefix`` go to ``inner`` (which also gets the lifespan), the rest to
    ``other``: each app keeps its own middleware and error shapes (xAPI's version header rules
    must not apply to the reports API)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "lifespan" or path == prefix or path.startswith(prefix + "/"):
            await inner(scope, receive, send)
        else:
            await other(scope, receive, send)

    return app


def start_lrs(settings: Settings, client: Client, site: Site) -> None:
    """The xAPI LRS at /xAPI and the reports API at /api/v1, on one port and the shared store."""
    from aspects.api.app import create_app as create_api_app
    from aspects.lrs.app import create_app
    from aspects.lrs.db import make_sessionmaker

    app = by_prefix(
        "/xAPI",
        create_app(settings, client, make_sessionmaker(settings)),
        create_api_app(settings, client),
    )
    config = uvicorn.Config(
        app,
        host=settings.lrs.host,
        port=settings.lrs.port,
        log_level="warning",
        access_log=False,
    )
    service = _uvicorn_in_thread("lrs", config, None)
    site.services.append(Service("reports API", f"{service.url}/api/v1/docs", lambda: None))
    service.name = "xAPI LRS"
    service.url = f"{service.url}/xAPI"
    site.services.append(service)


def start_ingest(settings: Settings, client: Client, site: Site) -> None:
    """Follow ``ingest.paths`` live (nothing to do when none is configured)."""
    from aspects.ingest.live import run_live

    if not settings.ingest.paths:
        return
    stop_event = threading.Event()
    thread = threading.Thread(
        target=run_live, args=(settings, client, stop_event), name="aspects-ingest", daemon=True
    )
    thread.start()

    def stop() -> None:
        stop_event.set()
        thread.join(timeout=30)

    paths = ", ".join(str(path) for path in settings.ingest.paths)
    site.services.append(Service(f"live ingest of {paths}", None, stop))


def start_retention(settings: Settings, site: Site) -> None:
    """Sweep the ingest's dead letters and queue by age (ClickHouse tables expire by TTL)."""
    from aspects.privacy.retention import start_sweeper

    sweeper = start_sweeper(settings)
    if sweeper is not None:
        site.services.append(Service("retention sweep", None, sweeper.stop))


def start_kpis_refresher(settings: Settings, client: Client, site: Site) -> None:
    """Keep the operator_kpis cache of whole past days fresh (aspects.models.rollup)."""
    if settings.store.kpis_refresh_seconds <= 0:
        return
    from aspects.models.rollup import Refresher

    refresher = Refresher(client, settings.store.database, settings.store.kpis_refresh_seconds)
    site.services.append(Service("operator_kpis cache refresh", None, refresher.start().stop))


def start_dashboards(settings: Settings, site: Site, log_file: Path | None) -> None:
    """Superset under gunicorn; `aspects dashboards init` must have run."""
    from aspects.dashboards.superset import start

    process = start(settings, log_file)

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    dashboards = settings.dashboards
    site.services.append(
        Service("dashboards (Superset)", f"http://{dashboards.host}:{dashboards.port}", stop)
    )


def start_site(
    settings: Settings,
    *,
    dashboards: bool,
    dashboards_log: Path | None,
    init_dashboards: bool = False,
) -> Site:
    """Start every configured service; on any failure, stop those already started.

    ``init_dashboards`` bootstraps Superset first (`aspects dashboards init`), once the store
    endpoint it reads through is up: its dataset import checks the tables.
    """
    site = Site()
    try:
        client = open_migrated_client(settings.store, settings.data_dir)
        if settings.store.url is None:
            start_endpoint(settings, site)
        start_lrs(settings, client, site)
        start_ingest(settings, client, site)
        start_retention(settings, site)
        start_kpis_refresher(settings, client, site)
        if dashboards:
            if init_dashboards:
                from aspects.dashboards.superset import init

                init(settings)
            start_dashboards(settings, site, dashboards_log)
    except BaseException:
        site.stop()
        raise
    return site
