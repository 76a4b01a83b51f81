"""No endpoint leaks a username or email unless PII is on and the caller may see it; the LMS
retirement hook erases a learner through an authenticated call."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.api.keys import create_key
from aspects.courses.pii import ensure_pii_table
from aspects.models.registry import reports
from aspects.privacy.erasure import remaining_rows
from aspects.privacy.subject import resolve, transformer_actors
from aspects.settings import Settings
from aspects.store.settings import StoreSettings
from aspects.store.statements import StatementRow, insert_statements
from tests.api.conftest import RunningAPI, api_settings, ingest, serve, token_for
from tests.lms.fixtures import COURSE_A
from tests.lms.server import RunningLMS

LEARNER_IDS = [*range(100, 112), 150]  # the demo site's learners, and one at risk


def _add_pii(client: Client, settings: Settings) -> list[str]:
    """user_pii rows for every learner; returns every username and email written."""
    actors = transformer_actors(settings)
    ensure_pii_table(client, settings.store, True)
    now = dt.datetime.now(dt.UTC)
    rows = [
        [
            actors.pseudonym(str(uid)),
            str(uid),
            f"learner{uid - 100:05d}",
            f"l{uid}@mail.example",
            f"Learner Number{uid}",
            now,
        ]
        for uid in LEARNER_IDS
    ]
    client.insert(
        f"{settings.store.database}.user_pii",
        rows,
        column_names=["actor_id", "user_id", "username", "email", "name", "updated_at"],
    )
    return [value for row in rows for value in (row[2], row[3], row[4])]


def _add_learner_at_risk(client: Client, settings: Settings) -> None:
    """Learner 150 enrolled in COURSE_A, was active once, then nothing (at risk ever since)."""
    actor = {
        "objectType": "Agent",
        "account": {
            "homePage": "http://localhost:18000",
            "name": transformer_actors(settings).pseudonym("150"),
        },
    }
    course = f"http://localhost:18000/course/{COURSE_A}"
    statements = [
        {
            "actor": actor,
            "verb": {"id": "http://adlnet.gov/expapi/verbs/registered"},
            "object": {
                "id": course,
                "definition": {"type": "http://adlnet.gov/expapi/activities/course"},
            },
            "timestamp": "2026-02-02T10:00:00Z",
        },
        {
            "actor": actor,
            "verb": {"id": "https://w3id.org/xapi/dod-isd/verbs/navigated"},
            "object": {
                "id": f"http://localhost:18000/xblock/block-v1:{COURSE_A[10:]}+type@sequential+block@b1"
            },
            "context": {"contextActivities": {"parent": [{"id": course}]}},
            "timestamp": "2026-02-03T10:00:00Z",
        },
    ]
    rows = [
        StatementRow(uuid.uuid4(), orjson.dumps(s).decode(), dt.datetime.now(dt.UTC), "test")
        for s in statements
    ]
    assert insert_statements(client, settings.store.database, rows) == 2


def _every_answer(
    api: RunningAPI, headers: dict[str, str], formats: tuple[str, ...] = ("json",)
) -> list[httpx.Response]:
    answers = [api.get("/api/v1/reports", headers=headers)]
    for name, report in reports().items():
        params = {"course_id": COURSE_A} if "course_key" in report.parameters else {}
        for fmt in formats if report.requires_pii else ("json",):
            answers.append(
                api.get(
                    f"/api/v1/reports/{name}", params={**params, "format": fmt}, headers=headers
                )
            )
    return answers


@pytest.fixture
def pii_site(
    tmp_path: Path, lms: RunningLMS, store: Client, store_settings: StoreSettings, site_logs: Path
) -> tuple[Settings, list[str]]:
    settings = api_settings(tmp_path, store_settings, lms, retirement_users=["retirer"])
    ingest(settings, store, site_logs)
    _add_learner_at_risk(store, settings)
    return settings, _add_pii(store, settings)


def _serve(settings: Settings, client: Client, **changes: object) -> Iterator[RunningAPI]:
    return serve(settings.model_copy(update=changes), client)


def test_no_endpoint_leaks_pii_unless_on_and_allowed(
    pii_site: tuple[Settings, list[str]],
    store: Client,
    store_settings: StoreSettings,
    lms: RunningLMS,
) -> None:
    settings, secrets = pii_site
    _k, plain = create_key(store, store_settings.database, name="bi", courses=[COURSE_A])
    _k, with_pii = create_key(
        store, store_settings.database, name="bi-pii", courses=[COURSE_A], pii=True
    )
    instructor = {"Authorization": f"Bearer {token_for(lms, 'instructor_a')}"}
    pii_reports = [name for name, r in reports().items() if r.requires_pii]
    # PII off (the default): nobody sees any, whatever their key or role.
    for running in _serve(settings, store):
        for headers in ({"X-API-Key": with_pii}, instructor):
            for answer in _every_answer(running, headers, ("json", "csv")):
                assert not [s for s in secrets if s in answer.text], answer.url
    # PII on: a key without --pii still sees none; the course's instructor and a --pii key do.
    pii_on = settings.courses.model_copy(update={"pii": True})
    for running in _serve(settings, store, courses=pii_on):
        for answer in _every_answer(running, {"X-API-Key": plain}, ("json", "csv")):
            assert not [s for s in secrets if s in answer.text], answer.url
        if pii_reports:
            for headers in ({"X-API-Key": with_pii}, instructor):
                shown = [
                    running.get(
                        f"/api/v1/reports/{name}",
                        params={"course_id": COURSE_A},
                        headers=headers,
                    )
                    for name in pii_reports
                ]
                assert [a.status_code for a in shown] == [200] * len(shown), shown[0].text
                for answer in shown:
                    assert {"username", "email"} <= set(answer.json()["columns"]), answer.text
                assert any(s in answer.text for answer in shown for s in secrets)


def test_retirement_hook_erases_through_an_authenticated_call(
    pii_site: tuple[Settings, list[str]],
    store: Client,
    store_settings: StoreSettings,
    lms: RunningLMS,
) -> None:
    settings, _ = pii_site
    subject = resolve(settings, "103")
    assert remaining_rows(store, settings.store, subject)["xapi_statements"] > 0
    _k, reader = create_key(store, store_settings.database, name="bi", all_courses=True)
    _k, eraser = create_key(store, store_settings.database, name="retire", erase=True)
    for running in _serve(settings, store):
        url = running.url + "/api/v1/privacy/erase"
        assert httpx.post(url, json={"user_id": 103}).status_code == 401
        assert (
            httpx.post(url, json={"user_id": 103}, headers={"X-API-Key": reader}).status_code == 403
        )
        staff = {"Authorization": f"Bearer {token_for(lms, 'staff')}"}
        assert httpx.post(url, json={"user_id": 103}, headers=staff).status_code == 403
        assert httpx.post(url, json={}, headers={"X-API-Key": eraser}).status_code == 400
        done = httpx.post(url, json={"user_id": 103}, headers={"X-API-Key": eraser}, timeout=60)
        assert done.status_code == 200, done.text
        assert done.json()["rows"]["xapi_statements"] > 0
        assert all(count == 0 for count in remaining_rows(store, settings.store, subject).values())
        # The LMS's retirement worker, with its own token, may do the same.
        worker = {"Authorization": f"Bearer {token_for(lms, 'retirer')}"}
        again = httpx.post(url, json={"user_id": 104}, headers=worker, timeout=60)
        assert again.status_code == 200, again.text
        assert all(
            count == 0
            for count in remaining_rows(store, settings.store, resolve(settings, "104")).values()
        )
