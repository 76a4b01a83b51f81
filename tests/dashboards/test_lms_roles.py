"""Superset's side of the LMS (aspects_superset.lms) against the test LMS, without Superset.

The module needs only joserfc (and requests by default, which these tests replace with httpx),
so it is imported from the checkout; the end-to-end tests cover it inside Superset.
"""

from __future__ import annotations

import sys
import time

import httpx
import pytest
from joserfc import jwt

from tests.dashboards.harness import REPO
from tests.lms.fixtures import CLIENT_ID, CLIENT_SECRET, COURSE_A, COURSE_C
from tests.lms.server import LMSState, RunningLMS

sys.path.insert(0, str(REPO / "superset"))

from aspects_superset import lms as lms_api


def _token(lms: RunningLMS, username: str) -> str:
    """An access token of ``username`` through the real authorization-code flow."""
    redirect = "http://127.0.0.1:9/oauth-authorized/openedxsso"
    lms.state.clients[CLIENT_ID].redirect_uris.append(redirect)
    with httpx.Client(base_url=lms.url) as http:
        answer = http.post(
            "/oauth2/authorize/",
            data={
                "client_id": CLIENT_ID,
                "redirect_uri": redirect,
                "scope": "profile email user_id",
                "username": username,
                "password": f"{username}-password",
            },
        )
        code = httpx.URL(answer.headers["location"]).params["code"]
        token = http.post(
            "/oauth2/access_token/",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        return str(token.json()["access_token"])


def test_verified_claims_and_role_mapping(lms: RunningLMS) -> None:
    jwks = httpx.get(lms.jwks_url).json()
    expected = {
        "superuser": ["lms_superuser"],
        "staff": ["lms_global_staff"],
        "instructor_a": ["lms_course_staff"],
        "learner": [],
    }
    for username, keys in expected.items():
        token = _token(lms, username)
        claims = lms_api.verify_token(token, jwks, lms.issuer, CLIENT_ID)
        assert claims["preferred_username"] == username
        courses = lms_api.staff_courses(
            lms.url + "/api/courses/v1/courses/", token, username, get=httpx.get
        )
        if username in ("superuser", "staff"):
            courses = []  # global roles do not depend on course staff
        assert lms_api.role_keys(claims, courses) == keys, username


def test_course_list_follows_every_page(lms: RunningLMS) -> None:
    lms.state.page_size = 1
    token = _token(lms, "instructor_a")
    courses = lms_api.staff_courses(
        lms.url + "/api/courses/v1/courses/", token, "instructor_a", get=httpx.get
    )
    assert courses == sorted([COURSE_A, COURSE_C])
    assert lms.state.requests.count("/api/courses/v1/courses/") == 2


def test_tokens_that_must_not_pass(lms: RunningLMS) -> None:
    jwks = httpx.get(lms.jwks_url).json()
    token = _token(lms, "instructor_a")
    with pytest.raises(lms_api.LMSError):
        lms_api.verify_token(token, jwks, lms.issuer, "another-client")
    with pytest.raises(lms_api.LMSError):
        lms_api.verify_token(token, jwks, "https://other.example/oauth2", CLIENT_ID)
    foreign = LMSState().key
    forged = jwt.encode(
        {"alg": "RS256"},
        {"preferred_username": "x", "aud": CLIENT_ID, "iss": lms.issuer, "exp": 2**40},
        foreign,
    )
    with pytest.raises(lms_api.LMSError):
        lms_api.verify_token(forged, jwks, lms.issuer, CLIENT_ID)
    expired = jwt.encode(
        {"alg": "RS256"},
        {"aud": CLIENT_ID, "iss": lms.issuer, "exp": int(time.time()) - 3600},
        lms.state.key,
    )
    with pytest.raises(lms_api.LMSError):
        lms_api.verify_token(expired, jwks, lms.issuer, CLIENT_ID)
    with pytest.raises(lms_api.LMSError):
        lms_api.staff_courses(
            lms.url + "/api/courses/v1/courses/", "not-a-token", "instructor_a", get=httpx.get
        )


def test_course_clause_quotes_and_fails_closed() -> None:
    assert lms_api.course_clause([]) == "1 = 0"
    assert (
        lms_api.course_clause([COURSE_A, COURSE_C]) == f"course_key IN ('{COURSE_A}', '{COURSE_C}')"
    )
    with pytest.raises(lms_api.LMSError):
        lms_api.course_clause(["course-v1:x+y+z') OR ('1'='1"])
