"""Erasure of statements and documents that came through the LRS (over HTTP), and an LRS POST
of an erased learner afterwards storing nothing."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.lrs.app import create_app
from aspects.lrs.auth import create_credential
from aspects.lrs.db import make_sessionmaker
from aspects.privacy.erasure import remaining_rows
from aspects.privacy.service import erase_learner
from aspects.privacy.subject import Subject
from aspects.settings import Settings
from aspects.store.settings import StoreSettings
from tests.privacy.conftest import make_settings
from tests.support import serve_app

HOME = "http://localhost:18000"
V = {"X-Experience-API-Version": "1.0.3"}
ACTIVITY = "http://localhost:18000/xblock/block-v1:Priv+P101+2026+type@video+block@e1"


def _agent(name: str) -> dict[str, object]:
    return {"objectType": "Agent", "account": {"homePage": HOME, "name": name}}


def _statement(actor: str, instructor: str | None = None) -> dict[str, object]:
    statement: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "actor": _agent(actor),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": ACTIVITY},
        "timestamp": "2026-02-02T10:00:00Z",
    }
    if instructor:
        statement["context"] = {"instructor": _agent(instructor)}
    return statement


@pytest.fixture
def lrs(
    tmp_path: Path, store: Client, store_settings: StoreSettings
) -> Iterator[tuple[str, dict[str, str], Settings]]:
    settings = make_settings(tmp_path, store_settings)
    app = create_app(settings, store, make_sessionmaker(settings))
    with app.state.sessionmaker() as session:
        created, secret = create_credential(
            session, name="etl", scopes=["all"], home_page="https://lrs.example.org"
        )
    auth = {
        "Authorization": "Basic " + base64.b64encode(f"{created.key}:{secret}".encode()).decode(),
        **V,
    }
    with serve_app(app, "LRS") as url:
        yield f"{url}/xAPI", auth, settings


def _mine(url: str, auth: dict[str, str], actor: str) -> list[object]:
    answer = httpx.get(
        f"{url}/statements",
        params={"agent": orjson.dumps(_agent(actor)).decode(), "related_agents": "true"},
        headers=auth,
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["statements"])


def test_lrs_statements_and_documents_are_erased_and_do_not_come_back(
    lrs: tuple[str, dict[str, str], Settings], store: Client
) -> None:
    url, auth, settings = lrs
    gone, other = str(uuid.uuid4()), str(uuid.uuid4())
    posted_statements = [_statement(gone), _statement(other, instructor=gone), _statement(other)]
    posted = httpx.post(f"{url}/statements", json=posted_statements, headers=auth)
    assert posted.status_code == 200, posted.text
    # They also void their own first statement: the voiding index names no actor, yet is theirs.
    voiding = {
        "id": str(uuid.uuid4()),
        "actor": _agent(gone),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": posted_statements[0]["id"]},
    }
    assert httpx.post(f"{url}/statements", json=voiding, headers=auth).status_code == 200
    posted_statements.append(voiding)
    # An attachment of theirs, and one of the other learner's (which stays).
    theirs, others = b"their photo", b"someone else's photo"
    with_attachments = [_with_attachment(gone, theirs), _with_attachment(other, others)]
    body, content_type = _multipart(with_attachments, [theirs, others])
    sent = httpx.post(
        f"{url}/statements", content=body, headers={**auth, "Content-Type": content_type}
    )
    assert sent.status_code == 200, sent.text
    posted_statements += with_attachments
    state = {
        "activityId": ACTIVITY,
        "agent": orjson.dumps(_agent(gone)).decode(),
        "stateId": "bookmark",
    }
    assert (
        httpx.put(f"{url}/activities/state", params=state, json={"at": 3}, headers=auth).status_code
        == 204
    )
    assert len(_mine(url, auth, gone)) == 3  # the voided one is hidden
    subject = Subject(actor_ids=frozenset({gone}))
    # The LRS copies what it stored into the raw table (possibly in the background): wait for it,
    # so that the erasure is shown to reach the raw copies of LRS statements too.
    raw = _raw_count(store, settings, [statement["id"] for statement in posted_statements])
    assert raw == 6
    # The copy's rows reach the report views block by block, after the raw table's: wait too.
    deadline = time.monotonic() + 20
    while _voidings(store, settings, voiding["id"]) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _voidings(store, settings, voiding["id"]) == 1
    assert _attachments(store, settings) == sorted([_sha(theirs), _sha(others)])

    report = erase_learner(store, settings, subject)

    # Their own three, and the one naming them as instructor; in the raw table too.
    assert report.rows["lrs_statements"] == 4
    assert report.rows["xapi_statements"] == 4
    assert report.rows["voided_statements"] == 1
    assert report.rows["lrs_attachments"] == 1
    assert _voidings(store, settings, voiding["id"]) == 0
    assert _attachments(store, settings) == [_sha(others)]
    assert _raw_count(store, settings, [posted_statements[2]["id"]], wait=False) == 1
    assert report.documents == 1
    assert all(count == 0 for count in remaining_rows(store, settings.store, subject).values())
    assert _mine(url, auth, gone) == []
    assert len(_mine(url, auth, other)) == 2  # their plain one and their attachment's
    assert httpx.get(f"{url}/activities/state", params=state, headers=auth).status_code == 404
    # The LRS still accepts a POST of the erased learner, but stores nothing of it.
    replay = _statement(gone)
    again = httpx.post(f"{url}/statements", json=[replay], headers=auth)
    assert again.status_code == 200
    assert _mine(url, auth, gone) == []
    # Give the LRS's background raw-table copy time to run twice.
    time.sleep(2 * settings.lrs.copy_interval_seconds + 0.5)
    assert _raw_count(store, settings, [replay["id"]], wait=False) == 0
    assert all(count == 0 for count in remaining_rows(store, settings.store, subject).values())


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _with_attachment(actor: str, content: bytes) -> dict[str, object]:
    statement = _statement(actor)
    statement["attachments"] = [
        {
            "usageType": "http://example.org/usage/photo",
            "display": {"en-US": "photo"},
            "contentType": "image/png",
            "length": len(content),
            "sha2": _sha(content),
        }
    ]
    return statement


def _multipart(statements: list[dict[str, object]], contents: list[bytes]) -> tuple[bytes, str]:
    """An xAPI multipart/mixed request body: the statements, then each attachment's bytes."""
    boundary = "erasure-test-boundary"
    chunks = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode()]
    chunks += [orjson.dumps(statements), b"\r\n"]
    for content in contents:
        chunks.append(
            f"--{boundary}\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: binary\r\n"
            f"X-Experience-API-Hash: {_sha(content)}\r\n\r\n".encode()
        )
        chunks += [content, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"


def _attachments(store: Client, settings: Settings) -> list[str]:
    rows = store.query(
        f"SELECT DISTINCT sha2 FROM {settings.store.database}.lrs_attachments ORDER BY sha2"
    ).result_rows
    return [str(row[0]) for row in rows]


def _voidings(store: Client, settings: Settings, voiding_id: object) -> int:
    return int(
        store.command(
            f"SELECT count() FROM {settings.store.database}.voided_statements "
            "WHERE voiding_statement_id = {i:UUID}",
            parameters={"i": str(voiding_id)},
        )
    )


def _raw_count(store: Client, settings: Settings, ids: list[object], *, wait: bool = True) -> int:
    """Rows of these statement ids in the raw table (waiting up to 20 s for all of them)."""
    deadline = time.monotonic() + (20 if wait else 0)
    while True:
        found = int(
            store.command(
                f"SELECT count() FROM {settings.store.database}.xapi_statements FINAL "
                "WHERE statement_id IN {ids:Array(UUID)}",
                parameters={"ids": [str(i) for i in ids]},
            )
        )
        if found >= len(ids) or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)
