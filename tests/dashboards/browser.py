"""Driving Superset as a person does (headless Debian Chromium through Playwright)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

# What a rendered chart contains, whatever its type (ECharts canvas, SVG, table, big number).
RENDERED = "canvas, svg, table, .header-line, .big-number"
ERRORS = ".alert-danger, .ant-alert-error, [data-test='error-message'], .error-alert"


def sso_login(browser: Browser, url: str, username: str) -> tuple[BrowserContext, Page]:
    """Sign in through the LMS's authorization-code flow; returns the signed-in page."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    page.goto(f"{url}/login/openedxsso?next=/dashboard/list/")
    page.wait_for_selector("#username", timeout=30_000)
    page.fill("#username", username)
    page.fill("#password", f"{username}-password")
    page.click("#login")
    page.wait_for_load_state("networkidle", timeout=60_000)
    return context, page


def me(page: Page, url: str) -> dict[str, Any] | None:
    answer = page.request.get(f"{url}/api/v1/me/")
    if answer.status != 200:
        return None
    result: dict[str, Any] = answer.json()["result"]
    return result


def dataset_id(page: Page, url: str, name: str) -> int:
    query = f"(filters:!((col:table_name,opr:eq,value:{name})))"
    answer = page.request.get(f"{url}/api/v1/dataset/", params={"q": query})
    assert answer.status == 200, answer.text()
    ids = [row["id"] for row in answer.json()["result"]]
    assert len(ids) == 1, f"dataset {name}: {ids}"
    return int(ids[0])


def chart_data(
    page: Page,
    url: str,
    dataset: int,
    columns: list[str],
    metrics: list[str],
    result_format: str = "json",
) -> Any:
    """The chart-data API, as the dashboards and downloads call it, in the user's session."""
    payload = {
        "datasource": {"id": dataset, "type": "table"},
        "force": True,
        "queries": [{"columns": columns, "metrics": metrics, "row_limit": 10000}],
        "result_format": result_format,
        "result_type": "full",
    }
    answer = page.request.post(
        f"{url}/api/v1/chart/data",
        data=json.dumps(payload),
        headers={"Content-Type": "application/json"},
    )
    if result_format == "json":
        return answer.status, (answer.json() if answer.status == 200 else answer.text())
    return answer.status, answer.body()


def open_dashboard(page: Page, url: str, slug: str, screenshot: Path) -> dict[str, int]:
    """Open a dashboard, wait until every chart finished, screenshot it; count what rendered."""
    page.goto(f"{url}/superset/dashboard/{slug}/?standalone=0")
    page.wait_for_selector(".dashboard-component-chart-holder", timeout=60_000)
    page.wait_for_load_state("networkidle", timeout=90_000)
    page.wait_for_function(
        """() => [...document.querySelectorAll('.dashboard-component-chart-holder')]
                 .every(h => !h.querySelector('.loading, [data-test="loading-indicator"]'))""",
        timeout=90_000,
    )
    holders = page.locator(".dashboard-component-chart-holder")
    counts = {"charts": holders.count(), "rendered": 0, "errors": 0, "empty": 0}
    for index in range(counts["charts"]):
        holder = holders.nth(index)
        if holder.locator(ERRORS).count():
            counts["errors"] += 1
        elif holder.get_by_text("No results were returned").count():
            counts["empty"] += 1
        elif holder.locator(RENDERED).count():
            counts["rendered"] += 1
    # A full-page capture resizes the page and the charts redraw mid-capture (blank shots):
    # make the viewport as tall as the dashboard instead, let the charts settle, then capture.
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1500, "height": max(1100, int(height))})
    page.wait_for_timeout(2000)
    page.screenshot(path=str(screenshot))
    page.set_viewport_size({"width": 1500, "height": 1100})
    return counts


def csrf_token(page: Page, url: str) -> str:
    """The session's CSRF token, as Superset's own pages read it."""
    answer = page.request.get(f"{url}/api/v1/security/csrf_token/")
    if answer.status == 200:
        return str(answer.json()["result"])
    page.goto(f"{url}/dashboard/list/")
    value = page.locator("#csrf_token").first.get_attribute("value")
    assert value, "no CSRF token on the page"
    return value


def local_login(
    browser: Browser, url: str, username: str, password: str
) -> tuple[BrowserContext, Page, int]:
    """Sign in on the local password form (/login/local/), as a person types it; returns the
    context, the page and the HTTP status of the form's answer (after redirects)."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    page.goto(f"{url}/login/local/?next=/dashboard/list/")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation() as navigation:
        page.click("#sign-in")
    response = navigation.value
    assert response is not None
    page.wait_for_load_state("networkidle", timeout=60_000)
    return context, page, response.status


def refusal(page: Page) -> str:
    """The message the local sign-in form shows ('' when none)."""
    message = page.locator("#message")
    return message.inner_text() if message.count() else ""


def password_login(browser: Browser, url: str, username: str, password: str) -> Page:
    """Sign in on Superset's own sign-in page (a site without SSO), as a person does."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    page.goto(f"{url}/login/")
    page.fill("[data-test='username-input']", username)
    page.fill("[data-test='password-input']", password)
    # Wait for the form's answer itself: the page can already be network-idle when the click
    # returns, and a check made before the answer sets the session cookie sees nobody.
    with page.expect_response(
        lambda response: response.request.method == "POST" and "/login" in response.url,
        timeout=60_000,
    ):
        page.click("[data-test='login-button']")
    page.wait_for_load_state("networkidle", timeout=60_000)
    return page


def download_from_chart_menu(page: Page, chart: str, item: str, target: Path) -> Path:
    """Download through a dashboard chart's menu (⋮ -> Download -> ``item``), as a person
    does; the file is saved at ``target``."""
    holder = page.locator(".dashboard-component-chart-holder", has_text=chart).first
    holder.hover()
    holder.get_by_label("More Options").click()
    # The submenu's name is "Download" plus its arrow icon's; "Download as image" must not match.
    page.get_by_role("menuitem", name=re.compile(r"^Download( right)?$")).hover()
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("menuitem", name=item).click()
    info.value.save_as(target)
    return target
