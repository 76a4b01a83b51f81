"""One real deployment per test session: embedded database endpoint, test LMS, Superset.

Bootstrapping Superset (schema, roles, assets) takes a minute or two, so it happens once per
session; tests that change state (the LMS's course roles) restore it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from aspects.dashboards.superset import InitResult, init, start
from aspects.settings import Settings
from tests.dashboards.harness import (
    REPO,
    Endpoint,
    seed,
    start_endpoint,
    stop_process,
    superset_settings,
    wait_for_superset,
)
from tests.lms.fixtures import demo_state, lms, lms_state  # noqa: F401 - fixtures
from tests.lms.server import RunningLMS, free_port, running_lms

ARTIFACTS = REPO / "test-artifacts" / "dashboards"
# A bootstrapped metadata database (taken right after init, before any login) reused by the next
# run: init still runs on it, and its stamps decide what to redo (schema upgrade after a Superset
# upgrade, roles after a security manager change); assets are re-imported every time. It lives
# inside the Superset virtualenv it belongs to, so a new virtualenv starts from scratch.
TEMPLATE = REPO / ".venv-superset" / "aspects-test-template"
TEMPLATE_FILES = ("superset.db", "schema.stamp", "roles.stamp")
CHROMIUM = "/usr/bin/chromium"


@dataclass
class Deployment:
    url: str
    settings: Settings
    lms: RunningLMS
    endpoint: Endpoint
    init: InitResult
    process: subprocess.Popen[bytes]
    log: Path
    startup_seconds: float


@pytest.fixture(scope="package")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    server = start_endpoint(tmp_path_factory.mktemp("endpoint"))
    try:
        seed(server.client())
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, endpoint: Endpoint
) -> Iterator[Deployment]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    state = demo_state(
        redirect_uris=[
            f"{url}/oauth-authorized/openedxsso",
            f"http://localhost:{port}/oauth-authorized/openedxsso",
        ]
    )
    with running_lms(state) as served:
        data_dir = tmp_path_factory.mktemp("superset")
        settings = superset_settings(data_dir, endpoint, served, port)
        superset_dir = data_dir / "superset"
        superset_dir.mkdir()
        if all((TEMPLATE / name).is_file() for name in TEMPLATE_FILES):
            for name in TEMPLATE_FILES:
                shutil.copy2(TEMPLATE / name, superset_dir / name)
        result = init(settings)
        TEMPLATE.mkdir(exist_ok=True)
        for name in TEMPLATE_FILES:  # atomically: another test run may be reading it
            partial = TEMPLATE / f"{name}.{os.getpid()}.tmp"
            shutil.copy2(superset_dir / name, partial)
            os.replace(partial, TEMPLATE / name)
        log = data_dir / "gunicorn.log"
        started = time.monotonic()
        process = start(settings, log)
        try:
            wait_for_superset(url, process, log)
            yield Deployment(
                url, settings, served, endpoint, result, process, log, time.monotonic() - started
            )
        finally:
            stop_process(process)


# Package scope: Playwright's sync API keeps an event loop running in the main thread, and
# Superset keeps a gunicorn running; both must end with this package, not the session
# (asyncio.run() in later packages' tests fails while that loop runs).
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
