"""Local password sign-in (/login/local/) with SSO on: the CLI's admin only.

The deployment is the SSO one of conftest.py (test LMS, real Superset under gunicorn, headless
Chromium): the admin created by ``aspects dashboards init`` signs in with its password; LMS
users (even an LMS superuser, who is an Admin in Superset) and unknown names are refused with
the same answer; repeated failures lock the form for the client address.
"""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import Browser

from tests.dashboards.browser import local_login, me, refusal, sso_login
from tests.dashboards.conftest import Deployment
from tests.dashboards.harness import (
    DASHBOARD_SLUGS,
    LOCAL_ADMIN,
    LOGIN_LOCKOUT,
    LOGIN_MAX_FAILURES,
)


def _wait_out_lockout() -> None:
    time.sleep(LOGIN_LOCKOUT + 1)


# No other test fails a local sign-in on this deployment before the lockout test, and that
# test ends with a successful sign-in, which clears the count.


def test_local_admin_signs_in_with_its_password_while_sso_is_on(
    deployment: Deployment, browser: Browser
) -> None:
    context, page, status = local_login(browser, deployment.url, *LOCAL_ADMIN)
    try:
        assert status == 200
        assert "/dashboard/list/" in page.url, page.url
        user = me(page, deployment.url)
        assert user is not None
        assert user["username"] == LOCAL_ADMIN[0]
        roles = page.request.get(f"{deployment.url}/api/v1/me/roles/").json()
        assert set(roles["result"]["roles"]) == {"Admin"}
        answer = page.request.get(
            f"{deployment.url}/api/v1/dashboard/", params={"q": "(page_size:100)"}
        )
        assert sorted(d["slug"] for d in answer.json()["result"]) == sorted(DASHBOARD_SLUGS)
    finally:
        context.close()


def test_lms_users_and_unknown_names_are_refused_alike_then_locked_out(
    deployment: Deployment, browser: Browser
) -> None:
    # The LMS superuser exists in Superset (as Admin) once it signed in through SSO.
    context, page = sso_login(browser, deployment.url, "superuser")
    assert me(page, deployment.url) is not None
    context.close()
    attempts = [
        ("superuser", "superuser-password"),  # an SSO account, its LMS password
        ("no-such-user", "whatever-password"),  # nobody
        (LOCAL_ADMIN[0], "wrong-password"),  # the admin, a wrong password
    ]
    assert len(attempts) == LOGIN_MAX_FAILURES
    messages = set()
    for username, password in attempts:
        context, page, status = local_login(browser, deployment.url, username, password)
        try:
            assert status == 401, username
            assert me(page, deployment.url) is None, username
            messages.add(refusal(page))
        finally:
            context.close()
    assert messages == {"Invalid username or password."}  # nothing tells the names apart
    # Locked: even the right password is refused now, without saying whether it was right.
    context, page, status = local_login(browser, deployment.url, *LOCAL_ADMIN)
    try:
        assert status == 429
        assert me(page, deployment.url) is None
        assert "Too many failed sign-ins" in refusal(page)
    finally:
        context.close()
    _wait_out_lockout()
    context, page, status = local_login(browser, deployment.url, *LOCAL_ADMIN)
    try:
        assert status == 200
        assert me(page, deployment.url) is not None
    finally:
        context.close()


def test_local_form_needs_its_csrf_token(deployment: Deployment) -> None:
    with httpx.Client(base_url=deployment.url) as client:
        form = client.get("/login/local/")
        assert form.status_code == 200
        assert 'name="csrf_token"' in form.text
        answer = client.post(
            "/login/local/",
            data={"username": LOCAL_ADMIN[0], "password": LOCAL_ADMIN[1]},
        )
        # Superset answers a CSRF failure by sending the browser to its sign-in page.
        assert answer.status_code == 302
        assert "/login/" in answer.headers["location"]
        assert client.get("/api/v1/me/").status_code == 401


def test_local_form_never_redirects_off_site(deployment: Deployment) -> None:
    with httpx.Client(base_url=deployment.url) as client:
        form = client.get("/login/local/")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.text)
        assert token is not None, form.text
        answer = client.post(
            "/login/local/",
            params={"next": "https://evil.example/"},
            data={
                "csrf_token": token.group(1),
                "username": LOCAL_ADMIN[0],
                "password": LOCAL_ADMIN[1],
            },
        )
        assert answer.status_code == 302
        assert "evil.example" not in answer.headers["location"]
        assert client.get("/api/v1/me/").json()["result"]["username"] == LOCAL_ADMIN[0]


def test_password_login_api_stays_closed_under_sso(deployment: Deployment) -> None:
    """Superset's login API (JWT for scripts) answers only on a site without SSO."""
    for username, password in (LOCAL_ADMIN, ("instructor_a", "instructor_a-password")):
        answer = httpx.post(
            f"{deployment.url}/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db"},
        )
        assert answer.status_code in (400, 401), (username, answer.text)
        assert "access_token" not in answer.text
