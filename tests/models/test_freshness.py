"""A stored statement shows in every model at once (materialized views fire on insert)."""

from __future__ import annotations

import time
from collections.abc import Callable

from clickhouse_connect.driver.client import Client

from aspects.courses.structure import CourseStructure
from aspects.models import run_report
from tests.models.conftest import COURSE, key
from tests.models.statements import (
    at,
    certificate,
    completion,
    course_grade,
    enrollment,
    forum,
    navigation,
    pass_status,
    problem_check,
    save,
    subsection_grade,
    video,
)

FRESH_SECONDS = 2.0


def _figure(client: Client, db: str, name: str, column: str, **params: object) -> object:
    given = {"course_key": COURSE, **params}
    rows = run_report(client, db, name, {k: v for k, v in given.items() if v is not None})
    rows = rows.as_dicts()
    return [row[column] for row in rows]


def test_every_model_reflects_a_statement_within_two_seconds(
    store: Client, db: str, demo: CourseStructure
) -> None:
    clip, record = key(demo, "Welcome video"), key(demo, "What is a learning record?")
    welcome, warmup = key(demo, "Welcome"), key(demo, "Warm-up quiz")
    probes: list[tuple[dict[str, object], Callable[[], object]]] = [
        (
            enrollment("N", at(5), COURSE),
            lambda: _figure(store, db, "enrollments_current", "enrolled_learners"),
        ),
        (
            enrollment("N2", at(5), COURSE),
            lambda: _figure(store, db, "enrollments_over_time", "enrollments"),
        ),
        (
            navigation("N", at(6), welcome),
            lambda: _figure(store, db, "active_learners", "active_learners"),
        ),
        (
            navigation("N", at(6), welcome),
            lambda: _figure(store, db, "engagement_by_subsection", "page_views"),
        ),
        (
            video("N", at(6), clip, "played", time=0, length=184),
            lambda: _figure(store, db, "video_engagement", "views"),
        ),
        (
            video("N", at(6, 10, 1), clip, "paused", time=20, length=184),
            lambda: _figure(store, db, "video_heatmap", "plays"),
        ),
        (
            video("S", at(6, 11, 1), clip, "paused", time=30, length=184),
            lambda: _figure(store, db, "video_watched_segments", "segment"),
        ),
        (
            problem_check("N", at(7), record, success=True, response="x"),
            lambda: _figure(store, db, "problem_performance", "attempts"),
        ),
        (
            problem_check("N", at(7, 11), record, success=False, response="y"),
            lambda: _figure(store, db, "problem_responses", "submissions"),
        ),
        (
            course_grade("N", at(8), COURSE, 0.9),
            lambda: _figure(store, db, "grades_distribution", "learners"),
        ),
        (
            pass_status("N", at(8), COURSE, passed=True),
            lambda: _figure(store, db, "grades_summary", "passed_learners"),
        ),
        (
            subsection_grade("N", at(8), warmup, 1, 2),
            lambda: _figure(store, db, "subsection_scores", "graded_learners"),
        ),
        (completion("N", at(8), clip), lambda: _figure(store, db, "completion", "learners")),
        (
            certificate("N", at(8), COURSE, "c"),
            lambda: _figure(store, db, "completion", "certificates"),
        ),
        (
            forum("N", at(8), COURSE, "posted", "thread", "t"),
            lambda: _figure(store, db, "forum_participation", "threads"),
        ),
        (
            navigation("M", at(9), welcome),
            lambda: _figure(store, db, "learner_summary", "actor_id"),
        ),
        (
            enrollment("M", at(9), COURSE),
            lambda: _figure(store, db, "at_risk_learners", "actor_id"),
        ),
        (
            navigation("K", at(9), welcome),
            lambda: _figure(store, db, "operator_kpis", "statements", course_key=None),
        ),
    ]
    save(store, db, [video("S", at(6, 11), clip, "played", time=0, length=184)])
    for statement, figure in probes:
        before = figure()
        started = time.monotonic()
        save(store, db, [statement])
        stored = time.monotonic()
        # Materialized views run inside the INSERT: the first read after it returns must see
        # the statement. The only delay is the insert itself, well under 2 s even on a busy
        # machine; a slow read (load) does not make data stale, so it is not counted.
        assert figure() != before, statement["verb"]
        assert stored - started < FRESH_SECONDS
