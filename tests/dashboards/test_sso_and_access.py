"""Superset with SSO against the (test) LMS, per-course access, downloads: end to end.

Real processes throughout: ``aspects db serve`` over a seeded embedded database, the test LMS (a
real OAuth2 server; the Open edX LMS itself cannot run here), Superset bootstrapped by
``aspects dashboards init`` code and served by gunicorn, and headless Chromium.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.dashboards.browser import (
    chart_data,
    csrf_token,
    dataset_id,
    download_from_chart_menu,
    me,
    open_dashboard,
    sso_login,
)
from tests.dashboards.conftest import Deployment
from tests.dashboards.harness import COURSE_NAMES, DASHBOARD_SLUGS, STATEMENTS_PER_COURSE
from tests.lms.fixtures import COURSE_A, COURSE_B, COURSE_C


def _courses_seen(page, deployment: Deployment) -> dict[str, int]:  # type: ignore[no-untyped-def]
    dataset = dataset_id(page, deployment.url, "xapi_activity")
    status, body = chart_data(page, deployment.url, dataset, ["course_key"], ["statements"])
    assert status == 200, body
    return {row["course_key"]: row["statements"] for row in body["result"][0]["data"]}


def test_instructor_sees_every_dashboard_rendered_with_only_their_courses(
    deployment: Deployment, browser: Browser, artifacts: Path
) -> None:
    context, page = sso_login(browser, deployment.url, "instructor_a")
    try:
        user = me(page, deployment.url)
        assert user is not None
        assert user["username"] == "instructor_a"
        for slug in DASHBOARD_SLUGS:
            counts = open_dashboard(
                page, deployment.url, slug, artifacts / f"instructor_a-{slug}.png"
            )
            assert counts["charts"] > 0, slug
            assert counts["errors"] == 0, (slug, counts)
            assert counts["rendered"] == counts["charts"], (slug, counts)
            text = "\n".join(page.locator(".dashboard-component-chart-holder").all_inner_texts())
            assert COURSE_NAMES[COURSE_B] not in text, slug
        # The course table on the Activity dashboard names the instructor's courses only.
        open_dashboard(page, deployment.url, "activity", artifacts / "instructor_a-activity.png")
        joined = "\n".join(page.locator(".dashboard-component-chart-holder").all_inner_texts())
        assert COURSE_NAMES[COURSE_A] in joined
        assert COURSE_NAMES[COURSE_C] in joined
        assert COURSE_NAMES[COURSE_B] not in joined
        # The chart-data API (what every chart and download uses) holds the same boundary.
        assert _courses_seen(page, deployment) == {
            COURSE_A: STATEMENTS_PER_COURSE[COURSE_A],
            COURSE_C: STATEMENTS_PER_COURSE[COURSE_C],
        }
    finally:
        context.close()


def test_instructor_downloads_csv_and_xlsx_of_their_courses_only(
    deployment: Deployment, browser: Browser, artifacts: Path
) -> None:
    context, page = sso_login(browser, deployment.url, "instructor_b")
    try:
        dataset = dataset_id(page, deployment.url, "xapi_activity")
        status, csv = chart_data(
            page, deployment.url, dataset, ["course_key"], ["statements"], "csv"
        )
        assert status == 200
        text = csv.decode()
        (artifacts / "instructor_b.csv").write_text(text)
        assert COURSE_B in text
        assert COURSE_A not in text
        assert COURSE_C not in text
        status, xlsx = chart_data(
            page, deployment.url, dataset, ["course_key"], ["statements"], "xlsx"
        )
        assert status == 200
        assert xlsx[:2] == b"PK"  # a zip container, as every .xlsx is
        sheet = zipfile.ZipFile(io.BytesIO(xlsx)).read("xl/sharedStrings.xml").decode()
        assert COURSE_B in sheet
        assert COURSE_A not in sheet
    finally:
        context.close()


def test_instructor_downloads_through_the_chart_menu_only_their_course(
    deployment: Deployment, browser: Browser, artifacts: Path
) -> None:
    """The dashboard's own Download menu (CSV and Excel) of the course table: course B only."""
    context, page = sso_login(browser, deployment.url, "instructor_b")
    try:
        open_dashboard(page, deployment.url, "activity", artifacts / "instructor_b-activity.png")
        saved = download_from_chart_menu(
            page, "Activity by course", "Export to .CSV", artifacts / "instructor_b-menu.csv"
        )
        rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
        # Headers are the dataset's labels; one row per course: course B's only.
        assert [row["Course"] for row in rows] == [COURSE_NAMES[COURSE_B]]
        assert int(float(rows[0]["Statements"])) == STATEMENTS_PER_COURSE[COURSE_B]
        saved = download_from_chart_menu(
            page, "Activity by course", "Export to Excel", artifacts / "instructor_b-menu.xlsx"
        )
        strings = zipfile.ZipFile(saved).read("xl/sharedStrings.xml").decode()
        assert COURSE_NAMES[COURSE_B] in strings
        assert COURSE_NAMES[COURSE_A] not in strings
        assert COURSE_NAMES[COURSE_C] not in strings
    finally:
        context.close()


def test_instructor_has_no_sql_lab(deployment: Deployment, browser: Browser) -> None:
    context, page = sso_login(browser, deployment.url, "instructor_a")
    try:
        token = csrf_token(page, deployment.url)
        answer = page.request.post(
            f"{deployment.url}/api/v1/sqllab/execute/",
            data='{"database_id": 1, "sql": "SELECT * FROM aspects.xapi_statements"}',
            headers={"Content-Type": "application/json", "X-CSRFToken": token},
        )
        assert answer.status in (401, 403), answer.text()
        response = page.goto(f"{deployment.url}/sqllab/")
        page.wait_for_load_state("networkidle")
        assert response is not None
        refused = response.status in (401, 403) or "/sqllab" not in page.url
        assert refused, (response.status, page.url)
        assert page.locator(".ace_editor, [data-test='sql-editor-tabs']").count() == 0
    finally:
        context.close()


def _roles(page, deployment: Deployment) -> set[str]:  # type: ignore[no-untyped-def]
    answer = page.request.get(f"{deployment.url}/api/v1/me/roles/")
    assert answer.status == 200, answer.text()
    return set(answer.json()["result"]["roles"])


@pytest.mark.parametrize(("username", "role"), [("staff", "Operator"), ("superuser", "Admin")])
def test_global_staff_and_superusers_see_every_course(
    deployment: Deployment, browser: Browser, username: str, role: str
) -> None:
    context, page = sso_login(browser, deployment.url, username)
    try:
        assert _roles(page, deployment) == {role}
        assert _courses_seen(page, deployment) == STATEMENTS_PER_COURSE
    finally:
        context.close()


def test_instructor_role_is_instructor_only(deployment: Deployment, browser: Browser) -> None:
    context, page = sso_login(browser, deployment.url, "instructor_b")
    try:
        assert _roles(page, deployment) == {"Instructor"}
    finally:
        context.close()


def test_user_without_lms_role_is_refused(deployment: Deployment, browser: Browser) -> None:
    context, page = sso_login(browser, deployment.url, "learner")
    try:
        assert me(page, deployment.url) is None
        assert "/login" in page.url
    finally:
        context.close()


def test_course_roles_follow_the_lms_after_the_ttl(
    deployment: Deployment, browser: Browser
) -> None:
    context, page = sso_login(browser, deployment.url, "instructor_a")
    course_c = deployment.lms.state.courses[COURSE_C]
    try:
        assert set(_courses_seen(page, deployment)) == {COURSE_A, COURSE_C}
        course_c.staff.discard("instructor_a")
        time.sleep(deployment.settings.dashboards.course_roles_ttl + 1)
        assert set(_courses_seen(page, deployment)) == {COURSE_A}
    finally:
        course_c.staff.add("instructor_a")
        context.close()


def test_lms_superuser_is_admin_and_sees_every_dashboard(
    deployment: Deployment, browser: Browser
) -> None:
    """Admins come through the LMS (superuser). (Password sign-in: test_local_login.py.)"""
    context, page = sso_login(browser, deployment.url, "superuser")
    try:
        answer = page.request.get(
            f"{deployment.url}/api/v1/dashboard/", params={"q": "(page_size:100)"}
        )
        slugs = sorted(d["slug"] for d in answer.json()["result"])
        assert slugs == sorted(DASHBOARD_SLUGS)
    finally:
        context.close()


def test_instructor_of_b_sees_nothing_of_a_in_any_dataset(
    deployment: Deployment, browser: Browser
) -> None:
    """Every dataset behind every chart, through the chart-data API: course B's rows only.

    (The first test proves it on screen for every dashboard; this covers every dataset.)
    """
    context, page = sso_login(browser, deployment.url, "instructor_b")
    try:
        answer = page.request.get(
            f"{deployment.url}/api/v1/dataset/", params={"q": "(page_size:100)"}
        )
        names = [row["table_name"] for row in answer.json()["result"]]
        assert len(names) >= 9
        for name in names:
            dataset = dataset_id(page, deployment.url, name)
            status, body = chart_data(page, deployment.url, dataset, ["course_key"], [])
            assert status == 200, (name, body)
            keys = {row["course_key"] for row in body["result"][0]["data"]}
            assert keys == {COURSE_B}, name
    finally:
        context.close()
