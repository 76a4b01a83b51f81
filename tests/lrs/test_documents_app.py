"""The document resources inside the real LRS app, served by uvicorn on 127.0.0.1.

Checks what only the whole app gives them: the version header on every response, the
xAPI-shaped errors, HEAD over a real HTTP connection, and the 1.0.3 alternate request syntax
(method=PUT with the parameters, headers and document as form fields).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.lrs.app import create_app
from aspects.lrs.auth import create_credential
from aspects.lrs.db import make_sessionmaker
from aspects.settings import Settings
from aspects.store.settings import StoreSettings
from tests.support import serve_app

AGENT = orjson.dumps({"account": {"homePage": "https://lms.example.org", "name": "42"}}).decode()
STATE = {"activityId": "http://example.org/activities/a", "agent": AGENT, "stateId": "s"}


@pytest.fixture
def served(
    tmp_path: Path, store: Client, store_settings: StoreSettings
) -> Iterator[tuple[str, dict[str, str]]]:
    settings = Settings(data_dir=tmp_path, store=store_settings)
    sessions = make_sessionmaker(settings)
    with sessions() as session:
        created, secret = create_credential(
            session, name="docs", scopes=["state", "profile"], home_page="https://lrs.example.org"
        )
    auth = {
        "Authorization": "Basic " + base64.b64encode(f"{created.key}:{secret}".encode()).decode()
    }
    app = create_app(settings, store, sessions)
    with serve_app(app, "LRS") as url:
        yield f"{url}/xAPI", auth


def test_documents_in_the_app(served: tuple[str, dict[str, str]]) -> None:
    base, auth = served
    v2 = {**auth, "X-Experience-API-Version": "2.0.0"}
    with httpx.Client(base_url=base, timeout=10) as client:
        put = client.put("/activities/state", params=STATE, json={"a": 1}, headers=v2)
        assert put.status_code == 204
        assert put.headers["x-experience-api-version"] == "2.0.0"

        got = client.get("/activities/state", params=STATE, headers=v2)
        assert got.json() == {"a": 1}
        assert got.headers["x-experience-api-version"] == "2.0.0"
        head = client.head("/activities/state", params=STATE, headers=v2)
        assert head.status_code == 200
        assert head.headers["etag"] == got.headers["etag"]
        assert head.content == b""

        # 2.0.0: overwriting State needs a precondition; the error is an xAPI error document
        conflict = client.put("/activities/state", params=STATE, json={"a": 2}, headers=v2)
        assert conflict.status_code == 409
        assert "If-Match" in conflict.json()["message"]

        # no version header: refused before reaching the resource
        assert client.get("/activities/state", params=STATE, headers=auth).status_code == 400
        # no credential
        anonymous = client.get(
            "/activities/state", params=STATE, headers={"X-Experience-API-Version": "2.0.0"}
        )
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Basic")


def test_alternate_request_syntax_reaches_the_documents(served: tuple[str, dict[str, str]]) -> None:
    base, auth = served
    form = {
        **STATE,
        "stateId": "alternate",
        "Authorization": auth["Authorization"],
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
        "content": '{"via": "form"}',
    }
    with httpx.Client(base_url=base, timeout=10) as client:
        sent = client.post(
            "/activities/state?method=PUT",
            content=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert sent.status_code == 204, sent.text
        got = client.get(
            "/activities/state",
            params={**STATE, "stateId": "alternate"},
            headers={**auth, "X-Experience-API-Version": "1.0.3"},
        )
        assert got.json() == {"via": "form"}
