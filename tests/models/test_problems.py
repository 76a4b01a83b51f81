"""Engagement per subsection, problem performance and response distribution."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from aspects.courses.structure import CourseStructure
from aspects.models import run_report
from tests.models.conftest import COURSE, key
from tests.models.statements import at, navigation, problem_check, question, save, video, voiding

RIGHT = "A statement of what a learner did"
WRONG = "A grade book"


def test_engagement_per_subsection(store: Client, db: str, demo: CourseStructure) -> None:
    welcome, clip = key(demo, "Welcome"), key(demo, "Welcome video")
    record, events = (
        key(demo, "What is a learning record?"),
        key(demo, "Where do events come from?"),
    )
    counting = key(demo, "Counting events")
    l2_nav = navigation("L2", at(5, 11), welcome)
    voided = problem_check("L3", at(6, 12), counting, success=True)
    save(
        store,
        db,
        [
            navigation("L1", at(5, 10), welcome),
            navigation("L1", at(5, 10, 30), welcome),
            l2_nav,
            video("L1", at(5, 10, 1), clip, "played", time=0, length=184),
            video("L1", at(5, 10, 5), clip, "played", time=50, length=184),
            video("L1", at(5, 10, 3), clip, "paused", time=30, length=184),  # not a play
            video("L2", at(5, 11, 1), clip, "played", time=0, length=184),
            problem_check("L1", at(6), record, success=False),
            problem_check("L1", at(6, 11), record, success=True),
            problem_check("L2", at(6), events, success=True),
            question("L2", at(6), events, 2, success=True, response="The browser"),  # part
            problem_check("L3", at(6, 11), counting, success=False),
            voided,
        ],
    )
    save(store, db, [l2_nav])  # duplicate
    save(store, db, [voiding(voided, at(7))])
    result = run_report(store, db, "engagement_by_subsection", {"course_key": COURSE})
    figures = [
        (
            r["section_index"],
            r["subsection_index"],
            r["subsection_name"],
            r["page_viewers"],
            r["page_views"],
            r["video_viewers"],
            r["video_plays"],
            r["problem_learners"],
            r["problem_checks"],
        )
        for r in result.as_dicts()
    ]
    assert figures == [
        (1, 1, "Welcome", 2, 3, 2, 3, 0, 0),
        (1, 2, "Warm-up quiz", 0, 0, 0, 0, 2, 3),
        (2, 1, "Tracking logs", 0, 0, 0, 0, 1, 1),
        (2, 2, "From events to xAPI", 0, 0, 0, 0, 0, 0),
        (3, 1, "Reading dashboards", 0, 0, 0, 0, 0, 0),
        (3, 2, "Final exam", 0, 0, 0, 0, 0, 0),
    ]
    assert [r["section_name"] for r in result.as_dicts()][:2] == ["Getting Started"] * 2


def _problem_scenario(client: Client, demo: CourseStructure, db: str) -> None:
    record, events = (
        key(demo, "What is a learning record?"),
        key(demo, "Where do events come from?"),
    )
    l2 = problem_check("L2", at(6), record, success=True, response=RIGHT)
    l3_voided = problem_check("L3", at(6, 12), record, success=True, response=RIGHT, attempt=2)
    save(
        client,
        db,
        [
            problem_check("L1", at(6, 10), record, success=False, response=WRONG),
            problem_check("L1", at(6, 11), record, success=True, response=RIGHT, attempt=2),
            l2,
            problem_check("L3", at(6, 11), record, success=False, response=WRONG),
            l3_voided,
            # L4's second attempt is stored first; the first arrives late.
            problem_check("L4", at(7, 11), record, success=True, response=RIGHT, attempt=2),
            # A two-question problem: the whole-problem statement and one per question.
            problem_check("L1", at(8), events, success=False, raw=1, maximum=2),
            question("L1", at(8), events, 2, success=True, response="The browser"),
            question("L1", at(8), events, 3, success=False, response="The author"),
            problem_check("L2", at(8), events, success=True, raw=2, maximum=2),
            question("L2", at(8), events, 2, success=True, response="The browser"),
            question("L2", at(8), events, 3, success=True, response="The LMS server"),
        ],
    )
    save(client, db, [l2])  # duplicate
    save(client, db, [voiding(l3_voided, at(9))])
    save(client, db, [problem_check("L4", at(7, 10), record, success=False, response=WRONG)])


def test_problem_performance(store: Client, db: str, demo: CourseStructure) -> None:
    _problem_scenario(store, demo, db)
    result = run_report(store, db, "problem_performance", {"course_key": COURSE})
    rows = {r["problem_name"]: r for r in result.as_dicts()}
    assert len(result.rows) == 8  # every problem of the course, in course order
    assert result.rows[0][0] == "What is a learning record?"
    record = rows["What is a learning record?"]
    assert (record["section_name"], record["subsection_name"], record["unit_name"]) == (
        "Getting Started",
        "Warm-up quiz",
        "Warm-up questions",
    )
    assert record["graded"]
    # L1: wrong then right; L2: right (stored twice); L3: wrong (the right one voided);
    # L4: wrong then right, stored in reverse order.
    assert (
        record["learners"],
        record["attempts"],
        record["attempts_per_learner"],
        record["first_attempt_correct"],
        record["first_attempt_correct_pct"],
        record["correct_learners"],
        record["avg_score_pct"],
    ) == (4, 6, 1.5, 1, 25.0, 3, 75.0)
    events = rows["Where do events come from?"]
    assert (events["learners"], events["attempts"], events["correct_learners"]) == (2, 2, 1)
    assert events["avg_score_pct"] == 75.0  # (0.5 + 1.0) / 2
    untouched = rows["Exam question 1"]
    assert (untouched["learners"], untouched["attempts"], untouched["avg_score_pct"]) == (0, 0, 0)


def test_problem_response_distribution(store: Client, db: str, demo: CourseStructure) -> None:
    _problem_scenario(store, demo, db)
    events = key(demo, "Where do events come from?")
    result = run_report(
        store, db, "problem_responses", {"course_key": COURSE, "problem_id": events}
    )
    assert [
        (r["question_id"].rsplit("_", 2)[-2], r["response"], r["correct"], r["submissions"])
        for r in result.as_dicts()
    ] == [
        ("2", "The browser", True, 2),
        ("3", "The LMS server", True, 1),
        ("3", "The author", False, 1),
    ]
    everything = run_report(store, db, "problem_responses", {"course_key": COURSE})
    record = [r for r in everything.as_dicts() if r["problem_name"] == "What is a learning record?"]
    assert [(r["response"], r["correct"], r["submissions"], r["learners"]) for r in record] == [
        (WRONG, False, 3, 3),  # L1, L3, L4 (ties: by response text)
        (RIGHT, True, 3, 3),  # L1, L2 (once), L4; L3's right answer was voided
    ]
