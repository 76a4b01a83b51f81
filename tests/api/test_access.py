"""The reports API over HTTP: per-course access through every endpoint, token checks, API keys,
no PII leak, rate limiting, JSON errors, pagination and CSV."""

from __future__ import annotations

import base64
import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner
from clickhouse_connect.driver.client import Client
from joserfc import jwt
from joserfc.jwk import RSAKey

from aspects.api.keys import create_key, revoke_key
from aspects.models.registry import reports
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
from tests.lms.fixtures import COURSE_A, COURSE_B, COURSE_C
from tests.lms.server import RunningLMS


@pytest.fixture
def api(
    tmp_path: Path, lms: RunningLMS, store: Client, store_settings: StoreSettings, site_logs: Path
) -> Iterator[RunningAPI]:
    settings = api_settings(tmp_path, store_settings, lms, retirement_users=["retirer"])
    ingest(settings, store, site_logs)
    yield from serve(settings, store)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _course_reports() -> list[str]:
    return [
        name for name, r in reports().items() if "course_key" in r.parameters and not r.requires_pii
    ]


def test_instructor_of_a_reads_a_and_gets_403_for_b_through_every_endpoint(
    api: RunningAPI, lms: RunningLMS
) -> None:
    headers = _bearer(token_for(lms, "instructor_a"))
    listed = api.get("/api/v1/reports", headers=headers)
    assert listed.status_code == 200
    assert {item["name"] for item in listed.json()} >= set(_course_reports())
    some_rows = 0
    for name in _course_reports():
        mine = api.get(f"/api/v1/reports/{name}", params={"course_id": COURSE_A}, headers=headers)
        assert mine.status_code == 200, (name, mine.text)
        assert all(row.get("course_key", COURSE_A) == COURSE_A for row in mine.json()["rows"])
        some_rows += mine.json()["total"]
        for fmt in ("json", "csv"):
            for params in ({"course_id": COURSE_B}, {}, {"org": "OrgB"}):
                other = api.get(
                    f"/api/v1/reports/{name}", params={**params, "format": fmt}, headers=headers
                )
                assert other.status_code in (400, 403), (name, params, other.text)
                assert set(other.json()) == {"code", "message"}
                assert COURSE_B not in other.text
    assert some_rows > 0
    # Their other course (C) is theirs too; the retirement hook is not.
    assert (
        api.get(
            "/api/v1/reports/enrollments_current", params={"course_id": COURSE_C}, headers=headers
        ).status_code
        == 200
    )
    erase = httpx.post(api.url + "/api/v1/privacy/erase", json={"user_id": 1}, headers=headers)
    assert erase.status_code == 403


def test_global_staff_see_every_course_and_learners_see_nothing(
    api: RunningAPI, lms: RunningLMS
) -> None:
    staff = _bearer(token_for(lms, "staff"))
    for course in (COURSE_A, COURSE_B):
        answer = api.get(
            "/api/v1/reports/enrollments_current", params={"course_id": course}, headers=staff
        )
        assert answer.status_code == 200
        assert answer.json()["total"] > 0
    assert api.get("/api/v1/reports/enrollments_current", headers=staff).status_code == 200
    learner = _bearer(token_for(lms, "learner"))
    for params in ({"course_id": COURSE_A}, {"course_id": COURSE_B}, {}):
        answer = api.get("/api/v1/reports/enrollments_current", params=params, headers=learner)
        assert answer.status_code == 403


def _forged(
    lms: RunningLMS, claims: dict[str, object], key: RSAKey | None = None, alg: str = "RS256"
) -> str:
    signer = key or lms.state.key
    header = {"alg": alg, "kid": lms.state.key.thumbprint()}
    base = {
        "iss": lms.issuer,
        "aud": "aspects-sso",
        "exp": int(time.time()) + 600,
        "iat": int(time.time()),
    }
    return jwt.encode(
        header, {**base, "preferred_username": "staff", "administrator": True, **claims}, signer
    )


def test_expired_tampered_forged_and_wrong_audience_tokens_are_refused(
    api: RunningAPI, lms: RunningLMS
) -> None:
    url = "/api/v1/reports/enrollments_current"
    params = {"course_id": COURSE_A}
    good = token_for(lms, "staff")
    assert api.get(url, params=params, headers=_bearer(good)).status_code == 200
    lms.state.token_lifetime = -120  # beyond the 30 s leeway
    expired = token_for(lms, "staff")
    lms.state.token_lifetime = 3600
    head, body, signature = good.split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["preferred_username"] = "someone_else"
    tampered_body = base64.urlsafe_b64encode(orjson.dumps(claims)).decode().rstrip("=")
    refused = {
        "expired": expired,
        "tampered payload": f"{head}.{tampered_body}.{signature}",
        "tampered signature": f"{head}.{body}.{signature[:-4]}AAAA",
        "wrong audience": token_for(lms, "staff", OTHER_CLIENT, OTHER_SECRET),
        "other key": _forged(lms, {}, RSAKey.generate_key(2048, private=True)),
        "wrong issuer": _forged(lms, {"iss": "https://evil.example/oauth2"}),
        "no expiry": _forged(lms, {"exp": None}),
        "not a jwt": "abc.def",
    }
    for what, token in refused.items():
        answer = api.get(url, params=params, headers=_bearer(token))
        assert answer.status_code == 401, what
        assert answer.json()["code"] in ("invalid_token", "unauthenticated"), what
    assert api.get(url, params=params).status_code == 401
    assert api.get(url, params=params).json()["code"] == "unauthenticated"


def test_api_keys_scoped_to_an_org_revoked_at_once(
    api: RunningAPI, store: Client, store_settings: StoreSettings
) -> None:
    key, plain = create_key(store, store_settings.database, name="BI tool", orgs=["OrgA"])
    headers = {"X-API-Key": plain}
    url = "/api/v1/reports/enrollments_current"
    for course in (COURSE_A, COURSE_C):
        assert api.get(url, params={"course_id": course}, headers=headers).status_code == 200
    assert api.get(url, params={"course_id": COURSE_B}, headers=headers).status_code == 403
    assert api.get(url, params={"org": "OrgB"}, headers=headers).status_code in (400, 403)
    text = str(store.query(f"SELECT * FROM {store_settings.database}.api_keys").result_rows)
    assert plain not in text
    assert plain.split("_", 2)[2] not in text  # the secret part (it may contain "_")
    revoke_key(store, store_settings.database, key.key_id)
    answer = api.get(url, params={"course_id": COURSE_A}, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_key"
    assert (
        api.get(
            url, params={"course_id": COURSE_A}, headers={"X-API-Key": plain[:-1] + "x"}
        ).status_code
        == 401
    )


def test_errors_are_json_and_pages_link_to_the_next(
    api: RunningAPI, store: Client, store_settings: StoreSettings
) -> None:
    _key, plain = create_key(store, store_settings.database, name="all", all_courses=True)
    headers = {"X-API-Key": plain}
    missing = api.get("/api/v1/reports/nope", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "unknown_report"
    bad = api.get(
        "/api/v1/reports/enrollments_current", params={"until": "yesterday"}, headers=headers
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"code", "message"}
    unknown = api.get(
        "/api/v1/reports/enrollments_current", params={"colour": "red"}, headers=headers
    )
    assert unknown.status_code == 400
    url = "/api/v1/reports/active_learners"
    whole = api.get(url, params={"course_id": COURSE_A}, headers=headers).json()
    assert whole["total"] >= 2
    pages, next_url = [], f"{url}?course_id={COURSE_A.replace('+', '%2B')}&page_size=1"
    while next_url:
        page = api.get(next_url, headers=headers).json()
        pages.extend(page["rows"])
        next_url = page["next"]
    assert pages == whole["rows"]
    as_csv = api.get(url, params={"course_id": COURSE_A, "format": "csv"}, headers=headers)
    assert as_csv.headers["content-type"].startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(as_csv.text)))
    assert parsed[0] == whole["columns"]
    assert len(parsed) == whole["total"] + 1
    assert as_csv.headers["x-total-count"] == str(whole["total"])
    openapi = api.get("/api/v1/openapi.json")
    assert "/api/v1/reports/{name}" in openapi.json()["paths"]


def test_rate_limit_answers_429_with_retry_after(
    tmp_path: Path, lms: RunningLMS, store: Client, store_settings: StoreSettings
) -> None:
    settings = api_settings(
        tmp_path, store_settings, lms, rate_limit_per_minute=1, rate_limit_burst=3
    )
    _key, plain = create_key(store, store_settings.database, name="busy", all_courses=True)
    for running in serve(settings, store):
        codes = [
            running.get("/api/v1/reports", headers={"X-API-Key": plain}).status_code
            for _ in range(5)
        ]
        assert codes[:3] == [200, 200, 200]
        assert codes[3:] == [429, 429]
        limited = running.get("/api/v1/reports", headers={"X-API-Key": plain})
        assert limited.json()["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) > 0
        # Guessing keys is limited per address too.
        guesses = [
            running.get("/api/v1/reports", headers={"X-API-Key": f"ak_{i:016x}_x"}).status_code
            for i in range(5)
        ]
        assert guesses[-1] == 429


def test_api_keys_cli_create_list_revoke(
    tmp_path: Path, store: Client, store_settings: StoreSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aspects.cli import cli

    monkeypatch.setenv("ASPECTS_STORE__PATH", str(store_settings.path))
    monkeypatch.setenv("ASPECTS_STORE__DATABASE", store_settings.database)
    monkeypatch.setenv("ASPECTS_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    made = runner.invoke(
        cli, ["api", "keys", "create", "--name", "bi", "--course", COURSE_A, "--json"]
    )
    assert made.exit_code == 0, made.output
    created = orjson.loads(made.output)
    listed = runner.invoke(cli, ["api", "keys", "list", "--json"])
    assert created["key"] not in listed.output
    assert orjson.loads(listed.output.splitlines()[0])["courses"] == [COURSE_A]
    assert runner.invoke(cli, ["api", "keys", "revoke", created["id"]]).exit_code == 0
    assert orjson.loads(runner.invoke(cli, ["api", "keys", "list", "--json"]).output)["revoked_at"]
    refused = runner.invoke(
        cli, ["api", "keys", "create", "--name", "x", "--course", "not-a-course"]
    )
    assert refused.exit_code == 2
