"""The document resources over HTTP: State, Activity Profile, Agent Profile.

Driven through a small app that mounts ``aspects.lrs.documents.router`` under ``/xAPI`` the way
the LRS app does (settings, sessionmaker on ``app.state``), on a real SQLite database and on a
real PostgreSQL (a throwaway cluster; skipped with the reason when PostgreSQL is not installed).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete

from aspects.lrs.auth import create_credential
from aspects.lrs.db import CredentialRow, DocumentRow, make_sessionmaker
from aspects.lrs.documents import router
from aspects.settings import Settings
from tests.lrs.postgres import postgres_cluster  # noqa: F401 (fixture)

ACTIVITY = "http://example.org/activities/course-1"
AGENT = orjson.dumps({"objectType": "Agent", "mbox": "mailto:learner@example.org"}).decode()
V1 = {"X-Experience-API-Version": "1.0.3"}
V2 = {"X-Experience-API-Version": "2.0.0"}


def make_app(tmp_path: Path, **lrs: object) -> FastAPI:
    settings = Settings(data_dir=tmp_path, lrs=lrs)
    app = FastAPI()
    app.state.settings = settings
    app.state.sessionmaker = make_sessionmaker(settings)
    app.include_router(router, prefix="/xAPI")
    return app


def credential(app: FastAPI, *scopes: str) -> dict[str, str]:
    with app.state.sessionmaker() as session:
        created, secret = create_credential(
            session, name="test", scopes=scopes, home_page="https://lrs.example.org"
        )
    token = base64.b64encode(f"{created.key}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FastAPI]:
    if request.param == "postgresql":
        # one database for the session (creating one per test costs seconds), emptied here
        url = request.getfixturevalue("postgres_cluster").shared_database()
        built = make_app(tmp_path, max_document_bytes=4096, database_url=url)
        with built.state.sessionmaker() as session:
            session.execute(delete(DocumentRow))
            session.execute(delete(CredentialRow))
            session.commit()
    else:
        built = make_app(tmp_path, max_document_bytes=4096)
    yield built
    built.state.sessionmaker.kw["bind"].dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        test_client.headers.update({**credential(app, "all"), **V1})
        yield test_client


def state(**extra: str) -> dict[str, str]:
    return {"activityId": ACTIVITY, "agent": AGENT, "stateId": "bookmark", **extra}


def test_state_round_trip_keeps_bytes_content_type_and_etag(client: TestClient) -> None:
    payload = bytes(range(256))
    put = client.put(
        "/xAPI/activities/state",
        params=state(),
        content=payload,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert put.status_code == 204
    got = client.get("/xAPI/activities/state", params=state())
    assert got.status_code == 200
    assert got.content == payload
    assert got.headers["content-type"] == "application/octet-stream"
    etag = got.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert len(etag) == 42  # quoted SHA-1 hex, as xAPI 1.0.3 asks
    modified = parsedate_to_datetime(got.headers["last-modified"])
    assert abs(time.time() - modified.timestamp()) < 120  # now, not some other date

    # HEAD answers like GET, without a body
    head = client.head("/xAPI/activities/state", params=state())
    assert head.status_code == 200
    assert head.headers["etag"] == etag
    assert head.content == b""
    # If-None-Match on GET: not modified
    assert (
        client.get(
            "/xAPI/activities/state", params=state(), headers={"If-None-Match": etag}
        ).status_code
        == 304
    )


def test_missing_document_is_404_and_empty_listing_is_an_empty_array(client: TestClient) -> None:
    assert client.get("/xAPI/activities/state", params=state()).status_code == 404
    listing = client.get("/xAPI/activities/state", params={"activityId": ACTIVITY, "agent": AGENT})
    assert listing.status_code == 200
    assert listing.json() == []
    assert "last-modified" not in listing.headers


def test_post_merges_json_one_level(client: TestClient) -> None:
    url = "/xAPI/activities/profile"
    params = {"activityId": ACTIVITY, "profileId": "settings"}
    first = client.post(url, params=params, json={"a": 1, "deep": {"x": 1}})
    assert first.status_code == 204
    second = client.post(url, params=params, json={"b": 2, "deep": {"y": 2}})
    assert second.status_code == 204
    assert client.get(url, params=params).json() == {"a": 1, "b": 2, "deep": {"y": 2}}


def test_post_refuses_non_json_merges(client: TestClient) -> None:
    url = "/xAPI/agents/profile"
    params = {"agent": AGENT, "profileId": "p"}
    assert client.post(url, params=params, json={"a": 1}).status_code == 204
    text = client.post(url, params=params, content=b"plain", headers={"Content-Type": "text/plain"})
    assert text.status_code == 400
    bad = client.post(
        url, params=params, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    assert "not valid JSON" in bad.text
    assert client.get(url, params=params).json() == {"a": 1}  # untouched

    other = {"agent": AGENT, "profileId": "text"}
    assert (
        client.post(
            url, params=other, content=b"plain", headers={"Content-Type": "text/plain"}
        ).status_code
        == 204
    )
    assert client.post(url, params=other, json={"a": 1}).status_code == 400


def test_listing_since_and_delete_many(client: TestClient) -> None:
    url = "/xAPI/activities/state"
    base = {"activityId": ACTIVITY, "agent": AGENT}
    client.post(url, params={**base, "stateId": "old"}, json={"n": 1})
    time.sleep(0.05)
    middle = client.get(url, params={**base, "stateId": "old"})
    # Last-Modified has whole seconds: one second later is after "old" and before "new"
    since = parsedate_to_datetime(middle.headers["last-modified"]) + timedelta(seconds=1)
    time.sleep(1.2)
    client.post(url, params={**base, "stateId": "new"}, json={"n": 2})
    first = "6f3c2a8e-8f51-4c54-b4b6-4d0f38a1c7a0"
    second = "0b7e0c8e-1d2f-4a3b-9c4d-5e6f7a8b9c0d"
    client.post(url, params={**base, "stateId": "reg", "registration": first}, json={"n": 3})
    client.post(url, params={**base, "stateId": "reg2", "registration": second}, json={"n": 4})
    other_agent = orjson.dumps({"mbox": "mailto:other@example.org"}).decode()
    client.post(url, params={**base, "agent": other_agent, "stateId": "x"}, json={"n": 5})

    # Activity + Agent [+ registration if specified]
    everything = client.get(url, params=base)
    assert sorted(everything.json()) == ["new", "old", "reg", "reg2"]
    assert "last-modified" in everything.headers
    assert client.get(url, params={**base, "registration": first}).json() == ["reg"]
    recent = client.get(url, params={**base, "since": since.isoformat().replace("+00:00", "Z")})
    assert sorted(recent.json()) == ["new", "reg", "reg2"]
    # a single document without a registration is not the one with it
    assert client.get(url, params={**base, "stateId": "reg"}).status_code == 404

    # DELETE with a registration deletes only that registration's documents
    assert client.delete(url, params={**base, "registration": first}).status_code == 204
    assert sorted(client.get(url, params=base).json()) == ["new", "old", "reg2"]
    # without one, every document of the activity and agent, and nobody else's
    assert client.delete(url, params=base).status_code == 204
    assert client.get(url, params=base).json() == []
    assert client.get(url, params={**base, "agent": other_agent}).json() == ["x"]


def test_state_put_overwrites_in_1_0_3_but_needs_a_precondition_in_2_0_0(
    client: TestClient,
) -> None:
    url = "/xAPI/activities/state"
    assert client.put(url, params=state(), json={"v": 1}).status_code == 204
    assert client.put(url, params=state(), json={"v": 2}).status_code == 204
    assert client.get(url, params=state()).json() == {"v": 2}

    conflict = client.put(url, params=state(), json={"v": 3}, headers=V2)
    assert conflict.status_code == 409
    assert "If-Match" in conflict.text
    etag = client.get(url, params=state(), headers=V2).headers["etag"]
    ok = client.put(url, params=state(), json={"v": 3}, headers={**V2, "If-Match": etag})
    assert ok.status_code == 204
    assert client.get(url, params=state()).json() == {"v": 3}


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/xAPI/activities/profile", {"activityId": ACTIVITY, "profileId": "p"}),
        ("/xAPI/agents/profile", {"agent": AGENT, "profileId": "p"}),
    ],
)
def test_profile_concurrency(client: TestClient, url: str, params: dict[str, str]) -> None:
    # xAPI 1.0.3: a PUT without either header is refused even for a new profile; 2.0.0 allows it
    bare = client.put(url, params=params, json={"v": 0})
    assert bare.status_code == 400
    assert "If-None-Match" in bare.text
    assert client.put(url, params=params, json={"v": 0}, headers=V2).status_code == 204
    assert client.delete(url, params=params).status_code == 204
    # If-None-Match: * creates only when absent
    created = client.put(url, params=params, json={"v": 1}, headers={"If-None-Match": "*"})
    assert created.status_code == 204
    again = client.put(url, params=params, json={"v": 9}, headers={"If-None-Match": "*"})
    assert again.status_code == 412
    # no precondition on an existing document: 409, in both versions
    for version in (V1, V2):
        assert client.put(url, params=params, json={"v": 9}, headers=version).status_code == 409
    etag = client.get(url, params=params).headers["etag"]
    wrong = client.put(url, params=params, json={"v": 9}, headers={"If-Match": '"1234"'})
    assert wrong.status_code == 412
    wrong_post = client.post(url, params=params, json={"v": 9}, headers={"If-Match": '"1234"'})
    assert wrong_post.status_code == 412
    assert client.get(url, params=params).json() == {"v": 1}
    right = client.put(url, params=params, json={"v": 2}, headers={"If-Match": etag})
    assert right.status_code == 204
    assert client.get(url, params=params).json() == {"v": 2}
    # a stale ETag can no longer delete
    assert client.delete(url, params=params, headers={"If-Match": etag}).status_code == 412
    fresh = client.get(url, params=params).headers["etag"]
    assert client.delete(url, params=params, headers={"If-Match": fresh}).status_code == 204
    assert client.get(url, params=params).status_code == 404


def test_parameters_are_validated_with_400(client: TestClient) -> None:
    url = "/xAPI/activities/state"
    missing = client.put(url, params={"activityId": ACTIVITY, "stateId": "s"}, json={})
    assert missing.status_code == 400
    assert "'agent' is required" in missing.text
    assert client.get(url, params={**state(), "agent": "true"}).status_code == 400
    assert client.get(url, params={**state(), "registration": "x"}).status_code == 400
    assert client.get(url, params={**state(), "bogus": "1"}).status_code == 400
    listing = {"activityId": ACTIVITY, "agent": AGENT, "since": "not a time"}
    assert client.get(url, params=listing).status_code == 400
    profile = client.delete("/xAPI/agents/profile", params={"agent": AGENT})
    assert profile.status_code == 400
    # what no database column can take is refused, not a server error
    assert client.put(url, params={**state(), "stateId": "a\x00b"}, json={}).status_code == 400
    long_type = {"Content-Type": "text/plain; x=" + "y" * 300}
    assert client.put(url, params=state(), content=b"t", headers=long_type).status_code == 400


def test_auth_and_scopes(app: FastAPI) -> None:
    with TestClient(app) as client:
        client.headers.update(V1)
        url = "/xAPI/activities/state"
        anonymous = client.get(url, params=state())
        assert anonymous.status_code == 401
        assert "www-authenticate" in anonymous.headers

        statements_only = credential(app, "statements/write")
        assert client.get(url, params=state(), headers=statements_only).status_code == 403
        state_scope = credential(app, "state")
        assert client.put(url, params=state(), json={}, headers=state_scope).status_code == 204
        profile_url = "/xAPI/activities/profile"
        params = {"activityId": ACTIVITY, "profileId": "p"}
        assert (
            client.put(profile_url, params=params, json={}, headers=state_scope).status_code == 403
        )
        reader = credential(app, "all/read")
        assert client.get(url, params=state(), headers=reader).status_code == 200
        assert client.put(url, params=state(), json={}, headers=reader).status_code == 403


def test_documents_above_the_limit_are_refused_with_413(client: TestClient) -> None:
    url = "/xAPI/activities/state"
    too_big = client.put(url, params=state(), content=b"x" * 5000)
    assert too_big.status_code == 413
    assert client.get(url, params=state()).status_code == 404


def test_concurrent_if_match_updates_let_exactly_one_win(client: TestClient) -> None:
    url = "/xAPI/activities/profile"
    params = {"activityId": ACTIVITY, "profileId": "counter"}
    client.put(url, params=params, json={"n": 0}, headers={"If-None-Match": "*"})
    etag = client.get(url, params=params).headers["etag"]
    statuses: list[int] = []

    def update(n: int) -> None:
        response = client.put(url, params=params, json={"n": n}, headers={"If-Match": etag})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=update, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [204] + [412] * 7
