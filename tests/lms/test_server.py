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


def _opaque_login(lms: RunningLMS, username: str) -> str:
    """The authorization-code flow without ``token_type=jwt``, as DOT answers by default."""
    lms.state.default_token_type = "bearer"
    lms.state.clients[CLIENT_ID].redirect_uris.append(REDIRECT)
    with httpx.Client(base_url=lms.url) as http:
        answer = http.post(
            "/oauth2/authorize/",
            data={
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT,
                "scope": "profile",
                "username": username,
                "password": f"{username}-password",
            },
        )
        code = re.search(r"code=([^&]+)", answer.headers["location"]).group(1)
        token = http.post(
            "/oauth2/access_token/",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
            auth=(CLIENT_ID, CLIENT_SECRET),
        ).json()
    assert token["token_type"] == "Bearer"
    assert token["access_token"].count(".") != 2, "an opaque token, not a JWT"
    return str(token["access_token"])


def test_opaque_tokens_are_introspected_like_dot(lms: RunningLMS) -> None:
    token = _opaque_login(lms, "instructor_a")
    # The LMS's own APIs accept it.
    assert _staff_courses_bearer(lms, token, "instructor_a") == [COURSE_A, COURSE_C]
    # Introspection needs an authenticated client.
    anonymous = httpx.post(lms.introspection_url, data={"token": token})
    assert anonymous.status_code == 401
    answer = httpx.post(
        lms.introspection_url, data={"token": token}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["active"] is True
    assert body["username"] == "instructor_a"
    assert body["client_id"] == CLIENT_ID
    assert body["scope"] == "profile"
    assert body["exp"] > 0
    unknown = httpx.post(
        lms.introspection_url, data={"token": "nope"}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert unknown.json() == {"active": False}
    # Revoked by its client: inactive, and the LMS APIs refuse it.
    revoked = httpx.post(
        lms.url + "/oauth2/revoke_token/", data={"token": token}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert revoked.status_code == 200
    again = httpx.post(
        lms.introspection_url, data={"token": token}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert again.json() == {"active": False}
    me = httpx.get(lms.url + "/api/user/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401


def test_introspection_of_expired_and_client_credentials_tokens(lms: RunningLMS) -> None:
    expired = lms.state.issue_opaque_token("learner", CLIENT_ID, lifetime=-1)
    service = lms.state.issue_opaque_token(None, CLIENT_ID, "read")
    auth = (CLIENT_ID, CLIENT_SECRET)
    assert httpx.post(lms.introspection_url, data={"token": expired}, auth=auth).json() == {
        "active": False
    }
    body = httpx.post(lms.introspection_url, data={"token": service}, auth=auth).json()
    assert body["active"] is True
    assert "username" not in body
    # A bearer token with the introspection scope may introspect too; one without may not.
    inspector = lms.state.issue_opaque_token(None, CLIENT_ID, "introspection")
    by_token = httpx.post(
        lms.introspection_url,
        data={"token": service},
        headers={"Authorization": f"Bearer {inspector}"},
    )
    assert by_token.json()["active"] is True
    refused = httpx.post(
        lms.introspection_url,
        data={"token": service},
        headers={"Authorization": f"Bearer {service}"},
    )
    assert refused.status_code == 403


def _staff_courses_bearer(lms: RunningLMS, token: str, username: str) -> list[str]:
    page = httpx.get(
        lms.url + "/api/courses/v1/courses/",
        params={"permissions": "staff", "username": username, "page_size": 10},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert page.status_code == 200, page.text
    return [course["id"] for course in page.json()["results"]]
