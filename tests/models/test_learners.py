"""Learner summary, at-risk learners, and the PII-gated contact list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from aspects.courses.pii import import_pii_csv, pii_table_exists
from aspects.courses.structure import CourseStructure
from aspects.errors import ConfigError
from aspects.models import ReportError, run_report
from aspects.store.settings import StoreSettings
from tests.models.conftest import COURSE, key
from tests.models.statements import (
    at,
    completion,
    course_grade,
    enrollment,
    navigation,
    pass_status,
    save,
    voiding,
)

AS_OF = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def _scenario(client: Client, db: str, demo: CourseStructure) -> None:
    welcome = key(demo, "Welcome")
    late_visit = navigation("L7", at(29), welcome)
    save(
        client,
        db,
        [
            *(enrollment(f"L{n}", at(5, 9), COURSE) for n in range(2, 8)),
            enrollment("L1", at(5, 9), COURSE, mode="verified"),
            navigation("L1", at(6), welcome),
            navigation("L1", at(28), welcome),
            completion("L1", at(28), key(demo, "Welcome video")),
            completion("L1", at(28), key(demo, "Course overview")),
            completion("L1", at(28), key(demo, "Grading and deadlines")),
            completion("L1", at(28), key(demo, "What is a learning record?")),
            course_grade("L1", at(28), COURSE, 0.8, "Pass"),
            pass_status("L1", at(28), COURSE, passed=True),
            navigation("L2", at(7), welcome),  # inactive since Jan 7
            # L3: enrolled, never active.
            navigation("L4", at(8), welcome),
            enrollment("L4", at(9), COURSE, active=False),  # left
            navigation("L5", at(10), welcome),
            pass_status("L5", at(10), COURSE, passed=True),  # passed already
            navigation("L6", at(25), welcome),  # active a week ago
            navigation("L7", at(6), welcome),
            late_visit,
            navigation("L8", at(30), welcome),  # active, never enrolled
        ],
    )
    save(client, db, [voiding(late_visit, at(30))])


def test_learner_summary(store: Client, db: str, demo: CourseStructure) -> None:
    _scenario(store, db, demo)
    result = run_report(store, db, "learner_summary", {"course_key": COURSE, "until": AS_OF})
    rows = {r["actor_id"]: r for r in result.as_dicts()}
    assert sorted(rows) == [f"L{n}" for n in range(1, 9)]
    assert rows["L1"] == {
        "actor_id": "L1",
        "enrolled": True,
        "enrollment_mode": "verified",
        "enrolled_at": dt.datetime(2026, 1, 5, 9),
        "last_visit": dt.datetime(2026, 1, 28, 10),
        "last_activity": dt.datetime(2026, 1, 28, 10),
        "progress_pct": 25.0,  # 4 of 16 completable blocks
        "grade_pct": 80.0,
        "passed": True,
    }
    assert (rows["L3"]["enrolled"], rows["L3"]["last_activity"]) == (True, None)
    assert rows["L3"]["last_visit"] == dt.datetime(2026, 1, 5, 9)
    assert not rows["L4"]["enrolled"]
    assert rows["L7"]["last_activity"] == dt.datetime(2026, 1, 6, 10)  # the Jan 29 visit voided
    assert (rows["L8"]["enrolled_at"], rows["L8"]["grade_pct"]) == (None, None)


def test_at_risk_learners(store: Client, db: str, demo: CourseStructure) -> None:
    _scenario(store, db, demo)
    result = run_report(store, db, "at_risk_learners", {"course_key": COURSE, "until": AS_OF})
    assert [(r["actor_id"], r["days_inactive"]) for r in result.as_dicts()] == [
        ("L7", 26),
        ("L2", 25),
    ]
    shorter = run_report(
        store,
        db,
        "at_risk_learners",
        {"course_key": COURSE, "until": AS_OF, "inactive_days": 5},
    )
    assert [r["actor_id"] for r in shorter.as_dicts()] == ["L7", "L2", "L6"]


def test_contact_list_needs_pii(
    store: Client, db: str, store_settings: StoreSettings, demo: CourseStructure, tmp_path: Path
) -> None:
    _scenario(store, db, demo)
    parameters = {"course_key": COURSE, "until": AS_OF}
    with pytest.raises(ReportError, match=r"enable courses\.pii"):
        run_report(store, db, "at_risk_contacts", parameters)
    csv_file = tmp_path / "users.csv"
    csv_file.write_text(
        "actor_id,user_id,username,email,name\n"
        "L2,12,lee,lee@example.org,Lee Learner\n"
        ",13,nobody,nobody@example.org,No Actor\n"
        "L5,15,bad,not-an-email,Bad Email\n"
    )
    with pytest.raises(ConfigError):
        import_pii_csv(store, store_settings, csv_file, pii_enabled=False)
    assert not pii_table_exists(store, db)
    imported = import_pii_csv(store, store_settings, csv_file, pii_enabled=True)
    assert imported.imported == 1
    assert [line for line, _ in imported.rejected] == [3, 4]
    result = run_report(store, db, "at_risk_contacts", parameters, pii_enabled=True)
    assert [(r["actor_id"], r["username"], r["email"], r["name"]) for r in result.as_dicts()] == [
        ("L7", "", "", ""),
        ("L2", "lee", "lee@example.org", "Lee Learner"),
    ]
