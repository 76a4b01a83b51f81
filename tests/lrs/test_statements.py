"""The Statements resource through the whole app (TestClient over the real embedded store)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from aspects.store.settings import StoreSettings
from tests.lrs import statements_helpers
from tests.lrs.statements_helpers import V1, V2, credential, make_app, statement

VOIDED = "http://adlnet.gov/expapi/verbs/voided"

# The fixtures of the shared migrated database (see statements_helpers).
module_store = statements_helpers.module_store
lrs_store = statements_helpers.lrs_store


@pytest.fixture(params=[0, 1], ids=["in-process", "receive-worker"])
def client(
    request: pytest.FixtureRequest, tmp_path: Path, lrs_store: tuple[Client, StoreSettings]
) -> Iterator[TestClient]:
    """The app reading JSON bodies in the process, then with a receive worker process
    (``lrs.receive_workers``, what ``aspects lrs serve`` uses): every test holds for both."""
    app = make_app(tmp_path, *lrs_store, receive_workers=request.param)
    with TestClient(app) as test_client:
        assert (app.state.receive_pool is not None) == bool(request.param)
        test_client.headers.update({**credential(app, "all"), **V1})
        yield test_client


def post(client: TestClient, body: Any, **headers: str) -> Any:
    return client.post(
        "/xAPI/statements",
        content=orjson.dumps(body),
        headers={"Content-Type": "application/json", **headers},
    )


def get_one(client: TestClient, statement_id: str, **params: str) -> Any:
    return client.get("/xAPI/statements", params={"statementId": statement_id, **params})


def test_post_then_get_sets_lrs_properties_and_lands_in_raw_table(
    client: TestClient, lrs_store: tuple[Client, StoreSettings]
) -> None:
    store, store_settings = lrs_store
    sent = statement()
    sent.pop("id")
    response = post(client, sent)
    assert response.status_code == 200
    (statement_id,) = response.json()
    got = get_one(client, statement_id)
    assert got.status_code == 200
    body = got.json()
    assert body["id"] == statement_id
    assert body["stored"].endswith("Z")
    assert body["timestamp"] == body["stored"]
    assert body["version"] == "1.0.0"
    assert body["authority"]["account"]["homePage"] == "https://lrs.example.org"
    assert got.headers["X-Experience-API-Version"] == "1.0.3"
    assert "X-Experience-API-Consistent-Through" in got.headers
    assert "Last-Modified" in got.headers
    # The raw table gets it from the background copy (lrs.copy_interval_seconds, 2 s).
    rows: list[Any] = []
    deadline = time.monotonic() + 10
    while not rows and time.monotonic() < deadline:
        time.sleep(0.05)
        rows = store.query(
            f"SELECT source, verb_id, statement FROM {store_settings.database}.xapi_statements"
        ).result_rows
    assert [(row[0], row[1]) for row in rows] == [("lrs", sent["verb"]["id"])]
    assert orjson.loads(rows[0][2]) == body


def test_put_conflict_rules_and_rejected_batch_stores_nothing(client: TestClient) -> None:
    sent = statement()
    params = {"statementId": sent["id"]}
    headers = {"Content-Type": "application/json"}
    assert (
        client.put(
            "/xAPI/statements", params=params, content=orjson.dumps(sent), headers=headers
        ).status_code
        == 204
    )
    # Same id, same content: no-op. Different content: 409, the stored one unchanged.
    assert (
        client.put(
            "/xAPI/statements", params=params, content=orjson.dumps(sent), headers=headers
        ).status_code
        == 204
    )
    changed = {**sent, "verb": {"id": "http://example.org/verbs/other"}}
    assert (
        client.put(
            "/xAPI/statements", params=params, content=orjson.dumps(changed), headers=headers
        ).status_code
        == 409
    )
    assert get_one(client, sent["id"]).json()["verb"]["id"] == sent["verb"]["id"]
    fresh = statement()
    assert post(client, [fresh, changed]).status_code == 409
    assert get_one(client, fresh["id"]).status_code == 404
    # PUT without statementId, or with an id differing from the body's: 400.
    assert (
        client.put(
            "/xAPI/statements", content=orjson.dumps(statement()), headers=headers
        ).status_code
        == 400
    )
    other = {"statementId": str(uuid.uuid4())}
    assert (
        client.put(
            "/xAPI/statements", params=other, content=orjson.dumps(statement()), headers=headers
        ).status_code
        == 400
    )


def test_invalid_statements_are_400_naming_the_field(client: TestClient) -> None:
    bad = statement(verb={"id": "not an iri"})
    response = post(client, bad)
    assert response.status_code == 400
    assert "statement.verb.id" in response.json()["message"]
    batch = post(client, [statement(), statement(result={"score": {"scaled": 2}})])
    assert batch.status_code == 400
    assert "statements[1].result.score.scaled" in batch.json()["message"]
    duplicate = statement()
    assert post(client, [duplicate, duplicate]).status_code == 400
    assert post(client, "not a statement").status_code == 400


def test_version_header_is_required_and_echoed(client: TestClient) -> None:
    response = client.get("/xAPI/statements", headers={"X-Experience-API-Version": ""})
    assert response.status_code == 400
    assert (
        client.get("/xAPI/statements", headers={"X-Experience-API-Version": "3.0.0"}).status_code
        == 400
    )
    v2 = client.get("/xAPI/statements", headers=V2)
    assert v2.status_code == 200
    assert v2.headers["X-Experience-API-Version"] == "2.0.0"
    preflight = client.options(
        "/xAPI/statements",
        headers={
            "Origin": "https://content.example.org",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,x-experience-api-version",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    cross = client.get("/xAPI/statements", headers={"Origin": "https://content.example.org"})
    assert "X-Experience-API-Consistent-Through" in cross.headers["access-control-expose-headers"]
    about = client.get("/xAPI/about", headers={"X-Experience-API-Version": ""})
    assert about.status_code == 200
    assert about.json()["version"] == ["1.0.3", "2.0.0"]


def test_default_version_answers_requests_without_one(
    tmp_path: Path, lrs_store: tuple[Client, StoreSettings]
) -> None:
    store, store_settings = lrs_store
    from aspects.lrs.app import create_app
    from aspects.lrs.db import make_sessionmaker
    from aspects.settings import Settings

    settings = Settings(data_dir=tmp_path, store=store_settings, lrs={"default_version": "1.0.3"})
    app = create_app(settings, store, make_sessionmaker(settings))
    with TestClient(app) as test_client:
        response = test_client.get("/xAPI/statements", headers=credential(app, "all"))
        assert response.status_code == 400
        assert response.headers["X-Experience-API-Version"] == "1.0.3"
        assert test_client.get("/xAPI/about").headers["X-Experience-API-Version"] == "1.0.3"


def test_filters(client: TestClient) -> None:
    registration = str(uuid.uuid4())
    other_agent = {"objectType": "Agent", "mbox": "mailto:other@example.org"}
    first = statement(
        context={
            "registration": registration,
            "instructor": other_agent,
            "contextActivities": {"parent": [{"id": "http://example.org/parent"}]},
        }
    )
    second = statement(verb={"id": "http://example.org/verbs/second"}, actor=other_agent)
    third = statement(object={"objectType": "Agent", "mbox": "mailto:learner@example.org"})
    for item in (first, second, third):
        assert post(client, item).status_code == 200

    def ids(**params: str) -> list[str]:
        response = client.get("/xAPI/statements", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["statements"]]

    learner = orjson.dumps({"mbox": "mailto:learner@example.org"}).decode()
    assert ids() == [third["id"], second["id"], first["id"]]
    assert ids(ascending="true") == [first["id"], second["id"], third["id"]]
    assert ids(agent=learner) == [third["id"], first["id"]]
    assert ids(agent=orjson.dumps(other_agent).decode()) == [second["id"]]
    assert ids(agent=orjson.dumps(other_agent).decode(), related_agents="true") == [
        second["id"],
        first["id"],
    ]
    assert ids(verb="http://example.org/verbs/second") == [second["id"]]
    assert ids(activity="http://example.org/parent") == []
    assert ids(activity="http://example.org/parent", related_activities="true") == [first["id"]]
    assert ids(registration=registration) == [first["id"]]
    stored = get_one(client, second["id"]).json()["stored"]
    assert ids(since=stored) == [third["id"]]
    assert ids(until=stored) == [second["id"], first["id"]]
    assert (
        client.get(
            "/xAPI/statements", params={"statementId": first["id"], "verb": "http://x.org/v"}
        ).status_code
        == 400
    )
    assert client.get("/xAPI/statements", params={"agent": "{bad"}).status_code == 400
    assert client.get("/xAPI/statements", params={"unknown": "1"}).status_code == 400


def test_more_paging_is_consistent_while_statements_arrive(client: TestClient) -> None:
    sent = [statement() for _ in range(5)]
    assert post(client, sent).status_code == 200
    page = client.get("/xAPI/statements", params={"limit": "2"}).json()
    seen = [item["id"] for item in page["statements"]]
    assert post(client, statement()).status_code == 200  # arrives between pages
    while page["more"]:
        assert page["more"].startswith("/xAPI/statements?more=")
        page = client.get(page["more"]).json()
        seen += [item["id"] for item in page["statements"]]
    assert seen == [item["id"] for item in reversed(sent)]


def test_voiding(client: TestClient) -> None:
    target = statement()
    assert post(client, target).status_code == 200
    voiding = statement(
        verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target["id"]}
    )
    assert post(client, voiding).status_code == 200
    assert get_one(client, target["id"]).status_code == 404
    voided = client.get("/xAPI/statements", params={"voidedStatementId": target["id"]})
    assert voided.status_code == 200
    assert voided.json()["id"] == target["id"]
    listed = [item["id"] for item in client.get("/xAPI/statements").json()["statements"]]
    assert listed == [voiding["id"]]
    # The voiding statement matches filters through its target (StatementRef rule).
    filtered = client.get("/xAPI/statements", params={"activity": target["object"]["id"]}).json()
    assert [item["id"] for item in filtered["statements"]] == [voiding["id"]]
    # A voiding statement cannot itself be voided.
    again = statement(
        verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": voiding["id"]}
    )
    assert post(client, again).status_code == 200
    assert get_one(client, voiding["id"]).status_code == 200


def test_formats(client: TestClient) -> None:
    sent = statement()
    assert post(client, sent).status_code == 200
    ids_format = get_one(client, sent["id"], format="ids").json()
    assert ids_format["actor"] == {"objectType": "Agent", "mbox": "mailto:learner@example.org"}
    assert ids_format["verb"] == {"id": sent["verb"]["id"]}
    assert ids_format["object"] == {"id": sent["object"]["id"]}
    canonical = client.get(
        "/xAPI/statements",
        params={"statementId": sent["id"], "format": "canonical"},
        headers={"Accept-Language": "en-GB"},
    ).json()
    assert canonical["verb"]["display"] == {"en-GB": "experienced (GB)"}
    assert list(canonical["object"]["definition"]["name"]) == ["en-US"]
    exact = get_one(client, sent["id"]).json()
    assert exact["verb"]["display"] == sent["verb"]["display"]
    assert get_one(client, sent["id"], format="bogus").status_code == 400


def test_read_mine_scope_sees_only_own_statements(client: TestClient) -> None:
    app: Any = client.app
    mine = credential(app, "statements/write", "statements/read/mine", name="mine")
    own = statement()
    assert post(client, statement()).status_code == 200
    assert post(client, own, **mine).status_code == 200
    listed = client.get("/xAPI/statements", headers=mine).json()["statements"]
    assert [item["id"] for item in listed] == [own["id"]]
    write_only = credential(app, "statements/write", name="writer")
    assert client.get("/xAPI/statements", headers=write_only).status_code == 403
    assert (
        client.get("/xAPI/statements", headers={"Authorization": "Basic eDp5"}).status_code == 401
    )


def test_alternate_request_syntax_only_in_1_0_3(client: TestClient) -> None:
    sent = statement()
    auth = client.headers["Authorization"]
    form = {
        "X-Experience-API-Version": "1.0.3",
        "Authorization": auth,
        "Content-Type": "application/json",
        "content": orjson.dumps(sent).decode(),
        "statementId": sent["id"],
    }
    bare = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Experience-API-Version": "",
        "Authorization": "",
    }
    response = client.post("/xAPI/statements", params={"method": "PUT"}, data=form, headers=bare)
    assert response.status_code == 204, response.text
    got = client.post(
        "/xAPI/statements",
        params={"method": "GET"},
        data={
            "X-Experience-API-Version": "1.0.3",
            "Authorization": auth,
            "statementId": sent["id"],
        },
        headers=bare,
    )
    assert got.status_code == 200
    assert got.json()["id"] == sent["id"]
    refused = client.post(
        "/xAPI/statements",
        params={"method": "GET"},
        data={"Authorization": auth},
        headers={"Content-Type": "application/x-www-form-urlencoded", **V2},
    )
    assert refused.status_code == 400


def test_agents_activities_about(client: TestClient) -> None:
    first = statement()
    second = statement(
        object={
            "id": first["object"]["id"],
            "definition": {"name": {"de": "Aktivität A"}, "type": "http://example.org/types/t"},
        }
    )
    assert post(client, [first, second]).status_code == 200
    activity = client.get("/xAPI/activities", params={"activityId": first["object"]["id"]}).json()
    assert activity["definition"]["name"] == {
        "en-US": "Activity A",
        "fr": "Activité A",
        "de": "Aktivität A",
    }
    assert activity["definition"]["type"] == "http://example.org/types/t"
    unknown = client.get("/xAPI/activities", params={"activityId": "http://example.org/unknown"})
    assert unknown.json() == {"objectType": "Activity", "id": "http://example.org/unknown"}
    assert client.get("/xAPI/activities").status_code == 400
    person = client.get(
        "/xAPI/agents", params={"agent": orjson.dumps(first["actor"]).decode()}
    ).json()
    assert person == {"objectType": "Person", "name": ["L"], "mbox": ["mailto:learner@example.org"]}
    assert client.get("/xAPI/agents").status_code == 400


def test_erased_learner_is_not_stored_again(
    client: TestClient, lrs_store: tuple[Client, StoreSettings]
) -> None:
    from aspects.privacy.tombstones import record_tombstones

    store, store_settings = lrs_store
    erased = statement(actor={"objectType": "Agent", "mbox": "mailto:erased@example.org"})
    record_tombstones(store, store_settings.database, ["mailto:erased@example.org"])
    try:
        kept = statement()
        assert post(client, [erased, kept]).status_code == 200
        listed = [item["id"] for item in client.get("/xAPI/statements").json()["statements"]]
        assert listed == [kept["id"]]
    finally:
        store.command(f"TRUNCATE TABLE {store_settings.database}.privacy_tombstones")
        from aspects.store.statements import forget_tombstones

        forget_tombstones(store, store_settings.database)
