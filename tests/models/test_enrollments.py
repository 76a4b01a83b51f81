"""Enrollment models: current by mode, and over time (re-enrollment, duplicates, voids, late)."""

from __future__ import annotations

import datetime as dt

from clickhouse_connect.driver.client import Client

from aspects.models import run_report
from tests.models.conftest import COURSE
from tests.models.statements import at, enrollment, save, voiding

OTHER = "course-v1:AspectsX+OTHER+2026"


def _scenario(client: Client, db: str) -> None:
    a1 = enrollment("A", at(1), COURSE)
    a2 = enrollment("A", at(2), COURSE, mode="verified")  # mode change: still registered
    b1 = enrollment("B", at(1, 11), COURSE)
    b2 = enrollment("B", at(3), COURSE, active=False)
    b3 = enrollment("B", at(5), COURSE)  # re-enrollment
    c1 = enrollment("C", at(2, 9), COURSE)
    c2 = enrollment("C", at(4), COURSE, active=False)
    d1 = enrollment("D", at(1, 12), COURSE)
    e1 = enrollment("E", at(3, 12), COURSE)
    e2 = enrollment("E", at(4, 12), COURSE, active=False)
    other = enrollment("A", at(1), OTHER)
    save(client, db, [a1, a2, b1, b2, b3, c1, c2, d1, e1, e2, other])
    save(client, db, [d1])  # the same statement again
    save(client, db, [voiding(e2, at(6))])  # E's unenrollment never happened
    # Late: G's enrollment of day 2 arrives after everything else.
    save(client, db, [enrollment("G", at(2, 15), COURSE, mode="verified")])


def test_current_enrollments_by_mode(store: Client, db: str) -> None:
    _scenario(store, db)
    result = run_report(store, db, "enrollments_current", {"course_key": COURSE})
    assert [(r["enrollment_mode"], r["enrolled_learners"]) for r in result.as_dicts()] == [
        ("audit", 3),  # B (re-enrolled), D (once despite the duplicate), E (unenrollment voided)
        ("verified", 2),  # A (mode change), G (late)
    ]
    assert {r["course_name"] for r in result.as_dicts()} == {"Learning Analytics with Open edX"}


def test_current_enrollments_as_of_a_past_time_and_per_org(store: Client, db: str) -> None:
    _scenario(store, db)
    past = run_report(store, db, "enrollments_current", {"course_key": COURSE, "until": at(4)})
    # Before day 4 10:00: A verified, B unenrolled, C, D, E audit, G verified.
    assert [(r["enrollment_mode"], r["enrolled_learners"]) for r in past.as_dicts()] == [
        ("audit", 3),
        ("verified", 2),
    ]
    org = run_report(store, db, "enrollments_current", {"org": "AspectsX"})
    assert [(r["course_key"], r["enrolled_learners"]) for r in org.as_dicts()] == [
        (COURSE, 3),
        (COURSE, 2),
        (OTHER, 1),
    ]


def test_enrollments_over_time(store: Client, db: str) -> None:
    _scenario(store, db)
    result = run_report(store, db, "enrollments_over_time", {"course_key": COURSE})
    assert [tuple(row) for row in result.rows] == [
        (dt.date(2026, 1, 1), 3, 0, 3, 3),  # A, B, D
        (dt.date(2026, 1, 2), 2, 0, 2, 5),  # C, G (A's mode change is not an enrollment)
        (dt.date(2026, 1, 3), 1, 1, 0, 5),  # E in, B out
        (dt.date(2026, 1, 4), 0, 1, -1, 4),  # C out (E's voided unenrollment does not count)
        (dt.date(2026, 1, 5), 1, 0, 1, 5),  # B back
    ]
    since = run_report(
        store, db, "enrollments_over_time", {"course_key": COURSE, "since": "2026-01-03"}
    )
    assert [(row[0].day, row[4]) for row in since.rows] == [(3, 5), (4, 4), (5, 5)]
