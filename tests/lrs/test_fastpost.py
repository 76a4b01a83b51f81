"""The POST fast path (aspects.lrs.statements.fastpost) answers exactly as the FastAPI path.

Two real uvicorn servers in this process, one app with the fast path and one without, each on
its own database and data directory, get the same requests in the same order; their answers
must be equal byte for byte (status, every header but Date, body) once the ids the LRS
generated are masked, and the statements must land alike."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.lrs.app import create_app
from aspects.lrs.auth import create_credential
from aspects.lrs.db import make_sessionmaker
from aspects.settings import Settings
from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings
from tests.lrs.statements_helpers import statement
from tests.support import serve_app

KEY, SECRET = "fastpost-writer", "a-long-enough-secret"
READER, READER_SECRET = "fastpost-reader", "another-long-secret"
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


WRITER = {"Authorization": _basic(KEY, SECRET)}
JSON = {"Content-Type": "application/json"}


def _app(
    tmp_path: Path, client: Client, chdb_dir: Path, name: str, workers: int, fast: bool
) -> Any:
    store_settings = StoreSettings(path=chdb_dir, database=f"test_fp_{uuid.uuid4().hex[:12]}")
    migrate(client, store_settings)
    settings = Settings(data_dir=tmp_path / name, store=store_settings)
    app = create_app(settings, client, make_sessionmaker(settings), workers, fast_post=fast)
    with app.state.sessionmaker() as session:
        for key, secret, scopes in ((KEY, SECRET, ["all"]), (READER, READER_SECRET, ["all/read"])):
            create_credential(
                session,
                name=key,
                scopes=scopes,
                home_page="https://lrs.example.org",
                key=key,
                secret=secret,
            )
    return app


@pytest.fixture(params=[0, 1], ids=["in-process", "receive-worker"])
def servers(
    request: pytest.FixtureRequest, tmp_path: Path, chdb_client: Client, chdb_dir: Path
) -> Iterator[tuple[Any, str, Any, str]]:
    """(fast app, its URL, full app, its URL)."""
    fast = _app(tmp_path, chdb_client, chdb_dir, "fast", request.param, True)
    full = _app(tmp_path, chdb_client, chdb_dir, "full", request.param, False)
    try:
        with serve_app(fast, "LRS fast") as fast_url, serve_app(full, "LRS full") as full_url:
            yield fast, fast_url, full, full_url
    finally:
        for app in (fast, full):
            chdb_client.command(f"DROP DATABASE IF EXISTS {app.state.settings.store.database}")


def _requests() -> list[tuple[str, Any, bytes, bool]]:
    """(path and query, headers, body, whether the fast path answers it on the fast server)."""
    v1 = {**WRITER, **JSON, "X-Experience-API-Version": "1.0.3"}
    v2 = {**WRITER, **JSON, "X-Experience-API-Version": "2.0.0"}
    first = statement()
    no_id = statement()
    no_id.pop("id")
    batch = [statement() for _ in range(3)]
    unnamed = [statement() for _ in range(2)]
    for item in unnamed:
        item.pop("id")
    twice = statement()
    reader = {
        "Authorization": _basic(READER, READER_SECRET),
        **JSON,
        "X-Experience-API-Version": "1.0.3",
    }
    path = "/xAPI/statements"
    dumps = orjson.dumps
    return [
        # The first request of a credential (read from the database, then cached).
        (path, v1, dumps(first), True),
        (path, v1, dumps(no_id), True),
        (path, v2, dumps(batch), True),
        (path, v2, dumps(unnamed), True),
        (path, v1, dumps(first), True),  # the same statement again: 200
        (path, v1, dumps({**first, "verb": {"id": "http://example.org/other"}}), True),  # 409
        (path, v1, dumps({**statement(), "verb": None}), True),
        (path, v2, dumps([statement(), {**statement(), "actor": {"name": "x"}}]), True),
        (path, v1, dumps([twice, twice]), True),
        (path, v1, b"[]", True),
        (path, v1, b"{not json", True),
        (path, v1, b"42", True),
        (path, v1, dumps({**statement(), "timestamp": "yesterday"}), True),
        (path, {**v2, "Content-Type": "application/json; charset=utf-8"}, dumps(statement()), True),
        # Not the plain case: the FastAPI app answers on both servers.
        (path, {**v1, "Content-Type": "text/plain"}, dumps(statement()), False),
        (path, {**v1, "Origin": "https://content.example.org"}, dumps(statement()), False),
        (f"{path}?statementId={uuid.uuid4()}", v1, dumps(statement()), False),
        (f"{path}?method=POST", v1, dumps(statement()), False),
        (f"{path}/", v1, dumps(statement()), False),
        (path, {**JSON, "X-Experience-API-Version": "1.0.3"}, dumps(statement()), True),  # 401
        (path, {**v1, "Authorization": "Basic !!"}, dumps(statement()), True),  # 401
        (path, {**v1, "Authorization": _basic(KEY, "wrong-secret-12")}, dumps(statement()), True),
        (path, reader, dumps(statement()), True),  # 403, and its principal is now cached
        (path, reader, dumps(statement()), True),  # cached, but not allowed to write: 403
        (path, {**WRITER, **JSON}, dumps(statement()), False),  # no version
        (path, {**v1, "X-Experience-API-Version": "3.0.0"}, dumps(statement()), False),
        (path, [*v1.items(), ("X-Experience-API-Version", "2.0.0")], dumps(statement()), False),
        (path, {**v1, "Content-Type": "multipart/mixed; boundary=x"}, b"--x--", False),
    ]


def _answer(response: httpx.Response, sent: bytes, url: str) -> tuple[int, list[Any], bytes]:
    """Status, headers but Date, body with the ids the request did not give masked, the
    server's own URL (a redirect's Location) masked."""
    body = _UUID.sub(
        lambda m: m.group(0) if m.group(0) in sent else b"<generated>", response.content
    )
    headers = [
        (k.lower(), v.replace(url.encode(), b"<server>"))
        for k, v in response.headers.raw
        if k.lower() != b"date"
    ]
    return response.status_code, headers, body


def test_fast_path_answers_exactly_as_fastapi(servers: tuple[Any, str, Any, str]) -> None:
    fast, fast_url, full, full_url = servers
    expected_fast = 0
    with httpx.Client(timeout=30) as http:
        requests = _requests()
        for target, headers, body, takes_fast in requests:
            answers = []
            for url in (fast_url, full_url):
                before = getattr(fast.state, "fast_posts", 0)
                response = http.post(url + target, content=body, headers=headers)
                answers.append(_answer(response, body, url))
                if url == fast_url:
                    taken = getattr(fast.state, "fast_posts", 0) - before
                    assert taken == int(takes_fast), (target, headers, body)
            assert answers[0] == answers[1], (target, headers, body)
            expected_fast += takes_fast
        assert getattr(full.state, "fast_posts", 0) == 0
        assert fast.state.fast_posts == expected_fast
        # What was stored is the same: the given ids, and as many statements in all.
        sent = b"".join(body for _, _, body, _ in requests)
        stored = []
        for url in (fast_url, full_url):
            listed = http.get(
                f"{url}/xAPI/statements",
                params={"limit": 100},
                headers={**WRITER, "X-Experience-API-Version": "2.0.0"},
            )
            assert listed.status_code == 200
            ids = [item["id"] for item in listed.json()["statements"]]
            stored.append((sorted(i for i in ids if i.encode() in sent), len(ids)))
    assert stored[0] == stored[1]
    assert len(stored[0][0]) >= 5


def test_lone_statements_and_errors_carry_the_field(servers: tuple[Any, str, Any, str]) -> None:
    """The invalid statement's 400 names the field, on the fast path (the same bytes as the
    full path are checked above; here, that the message is the handler's); a credential's
    cache past its time is read again there, not sent the long way."""
    fast, fast_url, _, _ = servers
    headers = {**WRITER, **JSON, "X-Experience-API-Version": "1.0.3"}
    with httpx.Client(timeout=30) as http:
        http.post(f"{fast_url}/xAPI/statements", content=b"[]", headers=headers)  # fills the cache
        fast.state.credential_cache.seconds = 1e-9  # every entry expired at once
        bad = orjson.dumps([statement(), {**statement(), "verb": {"id": "not an iri"}}])
        response = http.post(f"{fast_url}/xAPI/statements", content=bad, headers=headers)
    assert fast.state.fast_posts == 2
    assert response.status_code == 400
    assert response.headers["x-experience-api-version"] == "1.0.3"
    assert response.json()["field"].startswith("statements[1].verb")
