"""Opaque LMS tokens checked by RFC 7662 introspection against the test LMS (which answers like
django-oauth-toolkit's /oauth2/introspect/): course roles, refusals, LMS outages, the cache."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from aspects.api.settings import ApiSettings
from aspects.store.settings import StoreSettings
from tests.api.conftest import (
    OTHER_CLIENT,
    OTHER_SECRET,
    RunningAPI,
    api_settings,
    ingest,
    serve,
    token_for,
)
from tests.lms.fixtures import CLIENT_ID, CLIENT_SECRET, COURSE_A, COURSE_B, COURSE_C
from tests.lms.server import RunningLMS
from tests.support import free_port

REPORT = "/api/v1/reports/enrollments_current"
INTROSPECTION = {
    "bearer_tokens": "introspection",
    "introspection_client_id": OTHER_CLIENT,
    "introspection_client_secret": OTHER_SECRET,
}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _introspections(lms: RunningLMS) -> int:
    return lms.state.requests.count("/oauth2/introspect/")


@pytest.fixture
def opaque_api(
    tmp_path: Path, lms: RunningLMS, store: Client, store_settings: StoreSettings, site_logs: Path
) -> Iterator[RunningAPI]:
    settings = api_settings(tmp_path, store_settings, lms, **INTROSPECTION)
    ingest(settings, store, site_logs)
    yield from serve(settings, store)


def test_an_opaque_token_reads_the_courses_of_its_user_only(
    opaque_api: RunningAPI, lms: RunningLMS
) -> None:
    lms.state.default_token_type = "bearer"  # what the LMS issues without token_type=jwt
    token = token_for(lms, "instructor_a")
    assert token.count(".") != 2
    mine = opaque_api.get(REPORT, params={"course_id": COURSE_A}, headers=_bearer(token))
    assert mine.status_code == 200, mine.text
    assert mine.json()["total"] > 0
    assert opaque_api.get(
        REPORT, params={"course_id": COURSE_C}, headers=_bearer(token)
    ).status_code == (200)
    other = opaque_api.get(REPORT, params={"course_id": COURSE_B}, headers=_bearer(token))
    assert other.status_code == 403
    assert other.json()["code"] == "forbidden_course"
    learner = lms.state.issue_opaque_token("learner", CLIENT_ID, "profile")
    nothing = opaque_api.get(REPORT, params={"course_id": COURSE_A}, headers=_bearer(learner))
    assert nothing.status_code == 403
    # A JWT is not an opaque token: in `introspection` mode the LMS says it does not know it.
    lms.state.default_token_type = "jwt"
    jwt_token = token_for(lms, "instructor_a")
    refused = opaque_api.get(REPORT, params={"course_id": COURSE_A}, headers=_bearer(jwt_token))
    assert refused.status_code == 401


def test_revoked_expired_unknown_and_foreign_tokens_get_401_json(
    opaque_api: RunningAPI, lms: RunningLMS
) -> None:
    state = lms.state
    revoked = state.issue_opaque_token("instructor_a", CLIENT_ID)
    state.revoke(revoked)
    expired = state.issue_opaque_token("instructor_a", CLIENT_ID, lifetime=-5)
    foreign = state.issue_opaque_token("instructor_a", OTHER_CLIENT)  # not in jwt_audiences
    for token in (revoked, expired, "no-such-token", foreign):
        answer = opaque_api.get(REPORT, params={"course_id": COURSE_A}, headers=_bearer(token))
        assert answer.status_code == 401, (token, answer.text)
        assert answer.json()["code"] == "invalid_token"
        assert set(answer.json()) == {"code", "message"}
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    # Older DOT answers an unknown token with 401 {"active": false}: still the caller's 401.
    state.introspection_unknown_status = 401
    old = opaque_api.get(REPORT, params={"course_id": COURSE_A}, headers=_bearer("nope"))
    assert old.status_code == 401
    assert old.json()["code"] == "invalid_token"


def test_an_unavailable_introspection_endpoint_is_a_503_json_error(
    tmp_path: Path, lms: RunningLMS, store: Client, store_settings: StoreSettings
) -> None:
    token = lms.state.issue_opaque_token("instructor_a", CLIENT_ID)
    settings = api_settings(tmp_path, store_settings, lms, **INTROSPECTION)
    for running in serve(settings, store):
        lms.state.introspection_failure = 503
        answer = running.get(REPORT, params={"course_id": COURSE_A}, headers=_bearer(token))
        assert answer.status_code == 503
        assert answer.json()["code"] == "lms_unavailable"
        lms.state.introspection_failure = None
        assert running.get(
            REPORT, params={"course_id": COURSE_A}, headers=_bearer(token)
        ).status_code == (200)
    # Nobody listening, and wrong credentials of our introspection client: 503, never 500.
    for api in (
        {"introspection_url": f"http://127.0.0.1:{free_port()}/oauth2/introspect/"},
        {"introspection_client_secret": "wrong"},
    ):
        settings = api_settings(tmp_path, store_settings, lms, **{**INTROSPECTION, **api})
        for running in serve(settings, store):
            answer = running.get(REPORT, params={"course_id": COURSE_A}, headers=_bearer(token))
            assert answer.status_code == 503, (api, answer.text)
            assert answer.json()["code"] == "lms_unavailable"


def test_active_answers_are_cached_for_the_ttl_only(
    tmp_path: Path, lms: RunningLMS, store: Client, store_settings: StoreSettings
) -> None:
    ttl = 1.5
    settings = api_settings(
        tmp_path, store_settings, lms, **INTROSPECTION, introspection_cache_seconds=ttl
    )
    token = lms.state.issue_opaque_token("instructor_a", CLIENT_ID)
    params = {"course_id": COURSE_A}
    for running in serve(settings, store):
        before = _introspections(lms)
        assert running.get(REPORT, params=params, headers=_bearer(token)).status_code == 200
        cached_at = time.monotonic()
        assert running.get(REPORT, params=params, headers=_bearer(token)).status_code == 200
        assert _introspections(lms) == before + 1, "the second call used the cache"
        # Revoked at the LMS: still accepted from the cache within the TTL, refused after it.
        lms.state.revoke(token)
        within = running.get(REPORT, params=params, headers=_bearer(token))
        if time.monotonic() - cached_at < ttl:
            assert within.status_code == 200
        time.sleep(max(0.0, ttl - (time.monotonic() - cached_at)) + 0.2)
        after = running.get(REPORT, params=params, headers=_bearer(token))
        assert after.status_code == 401
        assert _introspections(lms) > before + 1
        # An inactive answer is not cached: every attempt asks again.
        count = _introspections(lms)
        running.get(REPORT, params=params, headers=_bearer(token))
        assert _introspections(lms) == count + 1
        # The cache never outlives the token itself.
        short = lms.state.issue_opaque_token("instructor_a", CLIENT_ID, lifetime=1)
        assert running.get(REPORT, params=params, headers=_bearer(short)).status_code == 200
        time.sleep(1.2)
        assert running.get(REPORT, params=params, headers=_bearer(short)).status_code == 401


def test_both_mode_takes_jwts_and_opaque_tokens(
    tmp_path: Path, lms: RunningLMS, store: Client, store_settings: StoreSettings
) -> None:
    settings = api_settings(
        tmp_path, store_settings, lms, **{**INTROSPECTION, "bearer_tokens": "both"}
    )
    params = {"course_id": COURSE_B}
    for running in serve(settings, store):
        jwt_token = token_for(lms, "instructor_b")
        asked = _introspections(lms)
        assert running.get(REPORT, params=params, headers=_bearer(jwt_token)).status_code == 200
        assert _introspections(lms) == asked, "a JWT is checked locally"
        opaque = lms.state.issue_opaque_token("instructor_b", CLIENT_ID)
        assert running.get(REPORT, params=params, headers=_bearer(opaque)).status_code == 200
        assert _introspections(lms) == asked + 1
        # A client-credentials token has no user: no course, so nothing to read.
        service = lms.state.issue_opaque_token(None, CLIENT_ID)
        answer = running.get(REPORT, params=params, headers=_bearer(service))
        assert answer.status_code == 403


def test_introspection_needs_its_client_credentials() -> None:
    with pytest.raises(ValueError, match="introspection_client_id"):
        ApiSettings(bearer_tokens="introspection")
    assert (
        ApiSettings(
            bearer_tokens="both",
            introspection_client_id=CLIENT_ID,
            introspection_client_secret=CLIENT_SECRET,
        ).introspection_url
        is None
    )


def test_made_up_tokens_cannot_flood_the_lms(
    tmp_path: Path, lms: RunningLMS, store: Client, store_settings: StoreSettings
) -> None:
    """Failed attempts are limited per address before the token reaches the LMS."""
    settings = api_settings(
        tmp_path,
        store_settings,
        lms,
        **INTROSPECTION,
        rate_limit_burst=3,
        rate_limit_per_minute=1,
    )
    for running in serve(settings, store):
        before = _introspections(lms)
        codes = [
            running.get(REPORT, params={"course_id": COURSE_A}, headers=_bearer(f"guess-{n}"))
            for n in range(8)
        ]
        assert [answer.status_code for answer in codes[:3]] == [401, 401, 401]
        assert {answer.status_code for answer in codes[3:]} == {429}
        assert all(int(answer.headers["Retry-After"]) >= 1 for answer in codes[3:])
        assert _introspections(lms) - before == 3
