"""The report registry: files, documentation, parameters, and the PII gate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from aspects.models import ReportError, get_report, render, reports, run_report
from aspects.models.registry import bind_parameters, default_parameters

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reports.md"


def test_every_report_and_its_parameters_are_documented() -> None:
    text = DOCS.read_text()
    for name, report in reports().items():
        assert f"### `{name}`" in text, f"docs/reports.md lacks a section for {name}"
        section = text.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        for parameter in report.parameters:
            assert f"`{parameter}`" in section or parameter in ("since", "until", "org"), (
                name,
                parameter,
            )


def test_every_parameter_has_a_default_or_is_required_course() -> None:
    defaults = default_parameters()
    for report in reports().values():
        assert set(report.parameters) <= set(defaults), report.name
        assert "${" not in render(report, "db"), report.name


def test_parameters_are_checked_and_converted() -> None:
    report = get_report("at_risk_learners")
    bound = bind_parameters(
        report, {"course_key": "c", "until": "2026-02-01", "inactive_days": "3"}
    )
    assert bound["until"] == dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    assert bound["inactive_days"] == 3
    with pytest.raises(ReportError, match="takes no parameter colour"):
        bind_parameters(report, {"colour": "red"})
    with pytest.raises(ReportError, match="not a valid UInt32"):
        bind_parameters(report, {"course_key": "c", "inactive_days": "-1"})
    with pytest.raises(ReportError, match="not a valid DateTime"):
        bind_parameters(report, {"course_key": "c", "until": "yesterday"})
    with pytest.raises(ReportError, match="no report named"):
        get_report("nope")


def test_every_report_runs_on_an_empty_store(store: Client, store_settings: object) -> None:
    database = store_settings.database  # type: ignore[attr-defined]
    for name, report in reports().items():
        params = {"course_key": "course-v1:A+B+C"} if "course_key" in report.parameters else {}
        if report.requires_pii:
            continue  # needs the PII table; run in test_learners
        assert run_report(store, database, name, params).rows == [], name


def test_pii_reports_are_marked() -> None:
    assert [name for name, report in reports().items() if report.requires_pii] == [
        "at_risk_contacts"
    ]


def test_course_level_reports_need_a_course() -> None:
    text = DOCS.read_text()
    for name, report in reports().items():
        section = text.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        documented = "`course_key` (required)" in section or (
            "as at_risk_learners" in section and bool(get_report("at_risk_learners").required)
        )
        assert (report.required == ("course_key",)) == documented, name
    with pytest.raises(ReportError, match="needs the parameter course_key"):
        bind_parameters(get_report("engagement_by_subsection"), {})
