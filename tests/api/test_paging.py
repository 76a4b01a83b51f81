"""Paging in SQL (aspects.models.registry.run_report_page, used by the reports API): every
report's pages, walked through ``next``, are its whole result in order, written as the API
wrote them when it paged in Python (ReportPage through pydantic's JSON mode); totals, links and
page boundaries (a last page exactly full, one row over, a page past the end)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from aspects.api.app import ReportPage, _json_value
from aspects.api.keys import create_key
from aspects.models.registry import reports, run_report, run_report_page
from aspects.store.settings import StoreSettings
from tests.api.conftest import RunningAPI, api_settings, ingest, serve
from tests.lms.fixtures import COURSE_A
from tests.lms.server import RunningLMS


@pytest.fixture
def api(
    tmp_path: Path, lms: RunningLMS, store: Client, store_settings: StoreSettings, site_logs: Path
) -> Iterator[RunningAPI]:
    settings = api_settings(tmp_path, store_settings, lms)
    ingest(settings, store, site_logs)
    yield from serve(settings, store)


def _key(api: RunningAPI) -> dict[str, str]:
    _, plain = create_key(api.client, api.settings.store.database, name="pages", all_courses=True)
    return {"X-API-Key": plain}


def _cases() -> list[tuple[str, dict[str, str]]]:
    """Every report a caller without PII may read: course-level ones for course A, the others
    site-wide."""
    cases = []
    for name, report in reports().items():
        if report.requires_pii:
            continue
        params = {"course_id": COURSE_A} if "course_key" in report.parameters else {}
        if name == "learner_summary" or name == "at_risk_learners":
            params["until"] = "2026-03-01"  # after the site's week: every learner inactive
        cases.append((name, params))
    return cases


def _as_before(api: RunningAPI, name: str, params: dict[str, str]) -> dict[str, Any]:
    """The whole report as the API wrote it before paging moved into SQL."""
    given: dict[str, Any] = {
        ("course_key" if k == "course_id" else k): v for k, v in params.items()
    }
    result = run_report(api.client, api.settings.store.database, name, given)
    page = ReportPage(
        report=name,
        columns=result.columns,
        rows=[
            {c: _json_value(v) for c, v in zip(result.columns, row, strict=True)}
            for row in result.rows
        ],
        page=1,
        page_size=max(1, len(result.rows)),
        total=len(result.rows),
        next=None,
    )
    return page.model_dump(mode="json")


def test_pages_of_every_report_are_the_whole_report_in_order(api: RunningAPI) -> None:
    headers = _key(api)
    walked_several = 0
    for name, params in _cases():
        whole = _as_before(api, name, params)
        total = whole["total"]
        size = max(1, math.ceil(total / 3))
        url = f"/api/v1/reports/{name}"
        first = api.get(url, params={**params, "page_size": str(size)}, headers=headers)
        assert first.status_code == 200, (name, first.text)
        rows, body, pages = [], first.json(), 0
        while True:
            pages += 1
            assert body["total"] == total, name
            assert body["page"] == pages
            assert body["page_size"] == size
            assert len(body["rows"]) == min(size, total - (pages - 1) * size), name
            if total:
                assert body["columns"] == whole["columns"], name
            rows.extend(body["rows"])
            if body["next"] is None:
                break
            answer = api.get(body["next"], headers=headers)
            assert answer.headers["x-total-count"] == str(total)
            body = answer.json()
        assert rows == whole["rows"], name
        assert pages == max(1, math.ceil(total / size))
        walked_several += pages > 1
    assert walked_several >= 5  # the site has data: most reports have several pages


def test_page_boundaries(api: RunningAPI) -> None:
    headers = _key(api)
    url = "/api/v1/reports/learner_summary"
    base = {"course_id": COURSE_A, "until": "2026-03-01"}
    whole = _as_before(api, "learner_summary", base)
    total = whole["total"]
    assert total >= 3

    exact = api.get(url, params={**base, "page_size": str(total)}, headers=headers)
    assert exact.json()["rows"] == whole["rows"]
    assert exact.json()["next"] is None
    assert "link" not in exact.headers

    over = api.get(url, params={**base, "page_size": str(total - 1)}, headers=headers)
    assert over.json()["rows"] == whole["rows"][:-1]
    assert over.headers["link"] == f'<{over.json()["next"]}>; rel="next"'
    second = api.get(over.json()["next"], headers=headers).json()
    assert second["rows"] == whole["rows"][-1:]
    assert second["page"] == 2
    assert second["next"] is None

    past = api.get(url, params={**base, "page_size": "2", "page": "1000"}, headers=headers)
    assert past.status_code == 200
    assert past.json()["rows"] == []
    assert past.json()["total"] == total
    assert past.json()["next"] is None
    assert past.headers["x-total-count"] == str(total)

    as_csv = api.get(
        url, params={**base, "page_size": "2", "page": "2", "format": "csv"}, headers=headers
    )
    parsed = list(csv.reader(io.StringIO(as_csv.text)))
    assert parsed[0] == whole["columns"]
    assert [row[0] for row in parsed[1:]] == [row["actor_id"] for row in whole["rows"][2:4]]
    assert as_csv.headers["x-total-count"] == str(total)


def test_run_report_page_counts_an_empty_report_and_a_page_past_the_end(api: RunningAPI) -> None:
    database = api.settings.store.database
    empty = run_report_page(
        api.client,
        database,
        "learner_summary",
        {"course_key": "course-v1:No+Such+Course"},
        offset=0,
        limit=10,
    )
    assert (empty.rows, empty.total) == ([], 0)
    whole = run_report(api.client, database, "enrollments_current", {})
    past = run_report_page(
        api.client, database, "enrollments_current", {}, offset=len(whole.rows) + 5, limit=10
    )
    assert (past.rows, past.total) == ([], len(whole.rows))
    last = run_report_page(
        api.client, database, "enrollments_current", {}, offset=len(whole.rows) - 1, limit=10
    )
    assert last.rows == whole.rows[-1:]
    assert last.total == len(whole.rows)
    assert last.columns == whole.columns


def test_a_report_it_cannot_page_in_sql_is_paged_in_python(
    api: RunningAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback for a shape paged_sql refuses (no shipped report has one: forced here)."""
    database = api.settings.store.database
    in_sql = [
        run_report_page(api.client, database, "enrollments_current", {}, offset=o, limit=2)
        for o in (0, 2, 50)
    ]
    monkeypatch.setattr("aspects.models.registry.paged_sql", lambda sql: None)
    in_python = [
        run_report_page(api.client, database, "enrollments_current", {}, offset=o, limit=2)
        for o in (0, 2, 50)
    ]
    assert in_python == in_sql
    assert in_sql[0].total > 2
