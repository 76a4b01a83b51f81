"""The API's small parts: key rotation at the LMS, rate buckets, course scopes, CSV cells,
de-identification of groups and sub-statements."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from joserfc.jwk import RSAKey

from aspects.api.app import _csv_value
from aspects.api.auth import Caller
from aspects.api.ratelimit import RateLimiter
from aspects.export.deidentify import Deidentifier
from aspects.store.settings import StoreSettings
from tests.api.conftest import RunningAPI, api_settings, serve, token_for
from tests.lms.server import RunningLMS


@pytest.fixture
def bare_api(
    tmp_path: Path, lms: RunningLMS, store: Client, store_settings: StoreSettings
) -> Iterator[RunningAPI]:
    yield from serve(api_settings(tmp_path, store_settings, lms), store)


def test_a_new_lms_signing_key_is_fetched_at_once(bare_api: RunningAPI, lms: RunningLMS) -> None:
    headers = {"Authorization": f"Bearer {token_for(lms, 'staff')}"}
    assert bare_api.get("/api/v1/reports", headers=headers).status_code == 200
    lms.state.key = RSAKey.generate_key(2048, private=True)  # the LMS rotates its key
    time.sleep(1.1)  # refetches on unknown key ids are throttled to one a second
    rotated = {"Authorization": f"Bearer {token_for(lms, 'staff')}"}
    assert bare_api.get("/api/v1/reports", headers=rotated).status_code == 200
    # Tokens signed by the retired key are no longer published, hence refused.
    assert bare_api.get("/api/v1/reports", headers=headers).status_code == 401


def test_rate_limiter_refills_at_its_rate() -> None:
    limiter = RateLimiter(per_minute=6000, burst=2)
    assert [limiter.take("a"), limiter.take("a")] == [0.0, 0.0]
    wait = limiter.take("a")
    assert 0 < wait <= 0.01
    assert limiter.take("b") == 0.0  # per caller


def test_course_scopes() -> None:
    org = Caller("key:1", orgs=frozenset({"OrgA"}))
    assert org.may_see("course-v1:OrgA+X+1")
    assert not org.may_see("course-v1:OrgAB+X+1")
    assert not org.may_see("OrgA")
    course = Caller("key:2", courses=frozenset({"course-v1:OrgA+X+1"}))
    assert course.may_see("course-v1:OrgA+X+1")
    assert not course.may_see("course-v1:OrgA+X+2")
    assert Caller("key:3", all_courses=True).may_see("course-v1:Any+X+1")
    assert not Caller("user:u").may_see("course-v1:OrgA+X+1")


def test_csv_cells_cannot_be_formulas() -> None:
    assert _csv_value("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _csv_value("-1+2") == "'-1+2"
    assert _csv_value(-1.5) == -1.5
    assert _csv_value("course-v1:A+B+C") == "course-v1:A+B+C"


def test_deidentifier_rewrites_every_agent() -> None:
    member = {"mbox": "mailto:m@example.com", "name": "Member"}
    statement = {
        "actor": {"objectType": "Group", "name": "Team", "member": [member]},
        "verb": {"id": "v"},
        "object": {
            "objectType": "SubStatement",
            "actor": {"openid": "https://id.example.com/x", "name": "X"},
            "verb": {"id": "v"},
            "object": {"objectType": "Agent", "mbox_sha1sum": "ab" * 20},
        },
        "context": {"team": {"objectType": "Group", "account": {"homePage": "h", "name": "t"}}},
    }
    out = Deidentifier("site").statement(statement)
    text = str(out)
    for secret in ("m@example.com", "Member", "Team", "id.example.com", "ab" * 20, "'X'"):
        assert secret not in text
    assert out["actor"]["objectType"] == "Group"
    assert out["context"]["team"]["account"]["name"] == "t"  # a pseudonymous account is kept
    salted = Deidentifier("site", "salt").statement(statement)
    assert salted["context"]["team"]["account"]["name"] != "t"
