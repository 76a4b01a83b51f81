"""The test LMS behaves like the Open edX LMS where Aspects depends on it."""

from __future__ import annotations

import re

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.lms.fixtures import CLIENT_ID, CLIENT_SECRET, COURSE_A, COURSE_B, COURSE_C
from tests.lms.server import LMSState, RunningLMS

REDIRECT = "http://127.0.0.1:1/oauth-authorized/openedxsso"


def _login(lms: RunningLMS, username: str, scope: str = "profile email user_id") -> dict:
    lms.state.clients[CLIENT_ID].redirect_uris.append(REDIRECT)
    with httpx.Client(base_url=lms.url) as http:
        form = http.get(
            "/oauth2/authorize/",
            params={
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT,
                "response_type": "code",
                "scope": scope,
                "state": "xyz",
            },
        )
        assert form.status_code == 200
        assert 'name="username"' in form.text
        answer = http.post(
            "/oauth2/authorize/",
            data={
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT,
                "scope": scope,
                "state": "xyz",
                "username": username,
                "password": f"{username}-password",
            },
        )
        assert answer.status_code == 302
        location = answer.headers["location"]
        assert location.startswith(REDIRECT + "?")
        assert "state=xyz" in location
        code = re.search(r"code=([^&]+)", location).group(1)
        token = http.post(
            "/oauth2/access_token/",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "token_type": "jwt",
            },
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        assert token.status_code == 200, token.text
        again = http.post(
            "/oauth2/access_token/",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        assert again.status_code == 400, "codes are single-use"
        return token.json()


def test_authorization_code_flow_issues_a_verifiable_jwt(lms: RunningLMS) -> None:
    token = _login(lms, "instructor_a")
    keys = KeySet.import_key_set(httpx.get(lms.jwks_url).json())
    claims = jwt.decode(token["access_token"], keys).claims
    assert claims["preferred_username"] == "instructor_a"
    assert claims["email"] == "instructor_a@example.com"
    assert claims["administrator"] is False
    assert claims["superuser"] is False
    assert claims["aud"] == CLIENT_ID
    assert claims["iss"] == lms.issuer
    assert token["refresh_token"]


def test_wrong_password_and_wrong_secret_are_refused(lms: RunningLMS) -> None:
    lms.state.clients[CLIENT_ID].redirect_uris.append(REDIRECT)
    answer = httpx.post(
        lms.url + "/oauth2/authorize/",
        data={
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "username": "learner",
            "password": "nope",
        },
    )
    assert answer.status_code == 401
    token = httpx.post(
        lms.url + "/oauth2/access_token/",
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, "wrong"),
    )
    assert token.status_code == 401
    unknown_redirect = httpx.get(
        lms.url + "/oauth2/authorize/",
        params={"client_id": CLIENT_ID, "redirect_uri": "http://evil.example/cb"},
    )
    assert unknown_redirect.status_code == 400


def _staff_courses(lms: RunningLMS, token: str, username: str) -> list[str]:
    found: list[str] = []
    url: str | None = lms.url + "/api/courses/v1/courses/"
    params: dict[str, str] | None = {"permissions": "staff", "username": username}
    while url:
        page = httpx.get(url, params=params, headers={"Authorization": f"JWT {token}"})
        assert page.status_code == 200, page.text
        found += [course["id"] for course in page.json()["results"]]
        url, params = page.json()["pagination"]["next"], None
    return found


def test_staff_courses_are_paginated_and_per_user(lms: RunningLMS) -> None:
    token = _login(lms, "instructor_a")["access_token"]
    assert _staff_courses(lms, token, "instructor_a") == [COURSE_A, COURSE_C]
    refused = httpx.get(
        lms.url + "/api/courses/v1/courses/",
        params={"permissions": "staff", "username": "instructor_b"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 403
    staff_token = _login(lms, "staff")["access_token"]
    assert _staff_courses(lms, staff_token, "instructor_b") == [COURSE_B]
    assert _staff_courses(lms, staff_token, "learner") == []


def test_refresh_and_client_credentials(lms: RunningLMS) -> None:
    token = _login(lms, "learner")
    refreshed = httpx.post(
        lms.url + "/oauth2/access_token/",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert refreshed.status_code == 200
    me = httpx.get(
        lms.url + "/api/user/v1/me",
        headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"},
    )
    assert me.json() == {"username": "learner"}
    service = httpx.post(
        lms.url + "/oauth2/access_token/",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    ).json()
    blocks = httpx.get(
        lms.url + "/api/courses/v1/blocks/",
        params={"course_id": COURSE_B, "all_blocks": "true", "depth": "all"},
        headers={"Authorization": f"JWT {service['access_token']}"},
    ).json()
    root = blocks["blocks"][blocks["root"]]
    assert root["display_name"] == "Physics 201"
    assert root["type"] == "course"


def test_forged_token_is_refused(lms: RunningLMS) -> None:
    other = LMSState()
    forged = jwt.encode({"alg": "RS256"}, {"preferred_username": "admin", "exp": 2**40}, other.key)
    answer = httpx.get(lms.url + "/api/user/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
