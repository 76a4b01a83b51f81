"""Fixtures of the reports API tests: the test LMS, a two-course site, and the API served over
HTTP by uvicorn on 127.0.0.1 (in a thread: it shares this process's embedded engine)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from clickhouse_connect.driver.client import Client

from aspects.api.app import create_app
from aspects.demo.generate import DemoConfig, write_logs
from aspects.ingest.backfill import backfill
from aspects.ingest.live import open_state
from aspects.settings import Settings
from aspects.store.settings import StoreSettings
from tests.lms.fixtures import CLIENT_ID, CLIENT_SECRET, COURSE_A, COURSE_B, demo_state
from tests.lms.fixtures import lms as lms
from tests.lms.server import LMSState, RunningLMS
from tests.privacy.conftest import SECRET, demo_course
from tests.support import serve_app

REDIRECT = "http://127.0.0.1:1/callback"
OTHER_CLIENT, OTHER_SECRET = "other-app", "other-app-secret"


@pytest.fixture
def lms_state() -> LMSState:
    state = demo_state([REDIRECT])
    state.add_client(OTHER_CLIENT, OTHER_SECRET, [REDIRECT])
    state.add_user("retirer", name="Retirement Worker")
    return state


@pytest.fixture(scope="session")
def site_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A week of 12 learners in COURSE_A and COURSE_B (the test LMS's courses)."""
    directory = tmp_path_factory.mktemp("api-logs")
    config = DemoConfig(learners=12, weeks=1, start=dt.date(2026, 2, 2), seed=11)
    write_logs(
        config, [demo_course(COURSE_A, "Chemistry"), demo_course(COURSE_B, "Physics")], directory
    )
    return directory


def token_for(
    lms: RunningLMS, username: str, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET
) -> str:
    """An access token through the LMS's real authorization-code flow."""
    with httpx.Client(base_url=lms.url) as http:
        answer = http.post(
            "/oauth2/authorize/",
            data={
                "client_id": client_id,
                "redirect_uri": REDIRECT,
                "username": username,
                "password": f"{username}-password",
                "scope": "profile email user_id",
                "state": "s",
            },
        )
        assert answer.status_code == 302, answer.text
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        token = http.post(
            "/oauth2/access_token/",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
            auth=(client_id, secret),
        )
        assert token.status_code == 200, token.text
        return str(token.json()["access_token"])


@dataclass
class RunningAPI:
    url: str
    settings: Settings
    client: Client

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]


def api_settings(tmp_path: Path, store: StoreSettings, lms: RunningLMS, **api: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        store=store,
        transform={"secret": SECRET},
        privacy={"erase_wait_seconds": 0},
        # Limits high enough for tests that walk every report; the rate-limit test sets its own.
        api={"lms_url": lms.url, "jwt_audiences": [CLIENT_ID], "rate_limit_burst": 100_000, **api},
    )


def ingest(settings: Settings, client: Client, logs: Path) -> None:
    state = open_state(settings)
    try:
        backfill(settings, client, state, [logs], workers=0)
    finally:
        state.close()


def serve(settings: Settings, client: Client) -> Iterator[RunningAPI]:
    with serve_app(create_app(settings, client), "reports API", seconds=10) as url:
        yield RunningAPI(url, settings, client)
