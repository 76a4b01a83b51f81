"""Grades (summary, distribution, subsection scores), completion and certificates, forums."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from aspects.courses.structure import CONTAINERS, CourseStructure
from aspects.models import run_report
from tests.models.conftest import COURSE, key
from tests.models.statements import (
    at,
    certificate,
    completion,
    course_grade,
    forum,
    pass_status,
    save,
    subsection_grade,
    voiding,
)


def _grades(client: Client, db: str, demo: CourseStructure) -> None:
    warmup, exam = key(demo, "Warm-up quiz"), key(demo, "Final exam")
    l3_grade = course_grade("L3", at(20), COURSE, 0.95, "Pass")
    l5 = [
        course_grade("L5", at(20), COURSE, 0.99, "Pass"),
        pass_status("L5", at(20), COURSE, passed=True),
    ]
    save(
        client,
        db,
        [
            course_grade("L1", at(10), COURSE, 0.35, "Fail"),
            course_grade("L1", at(20), COURSE, 0.72, "Pass"),
            pass_status("L1", at(20), COURSE, passed=True),
            course_grade("L2", at(20), COURSE, 0.45, "Fail"),
            pass_status("L2", at(20), COURSE, passed=False),
            l3_grade,
            pass_status("L3", at(20), COURSE, passed=True),
            certificate("L3", at(21), COURSE, "cert-l3"),
            course_grade("L4", at(15), COURSE, 0.55, "Pass"),
            pass_status("L4", at(15), COURSE, passed=True),
            pass_status("L4", at(22), COURSE, passed=False),
            *l5,
            course_grade("L6", at(23), COURSE, 1.0, "Pass"),
            subsection_grade("L1", at(10), warmup, 1, 2),
            subsection_grade("L1", at(11), warmup, 2, 2),
            subsection_grade("L2", at(11), warmup, 0, 2),
            subsection_grade("L1", at(25), exam, 2, 3),
        ],
    )
    save(client, db, [l3_grade])  # duplicate
    save(client, db, [voiding(statement, at(24)) for statement in l5])
    # Late: L4's newer grade arrives after everything else.
    save(client, db, [course_grade("L4", at(22), COURSE, 0.48, "Fail")])


def test_grades_summary(store: Client, db: str, demo: CourseStructure) -> None:
    _grades(store, db, demo)
    result = run_report(store, db, "grades_summary", {"course_key": COURSE})
    # Graded: L1 0.72 passed, L2 0.45 failed, L3 0.95 passed + certificate, L4 0.48 (passed,
    # then failed), L6 1.0 (no pass statement); L5 is entirely voided.
    assert result.as_dicts() == [
        {
            "course_key": COURSE,
            "course_name": "Learning Analytics with Open edX",
            "graded_learners": 5,
            "passed_learners": 2,
            "pass_rate_pct": 40.0,
            "avg_grade_pct": 72.0,
            "certificates": 1,
        }
    ]
    before = run_report(store, db, "grades_summary", {"course_key": COURSE, "until": at(16)})
    assert [
        (r["graded_learners"], r["passed_learners"], r["avg_grade_pct"]) for r in before.as_dicts()
    ] == [
        (2, 1, 45.0)  # L1 0.35, L4 0.55 passed
    ]


def test_grade_distribution(store: Client, db: str, demo: CourseStructure) -> None:
    _grades(store, db, demo)
    result = run_report(store, db, "grades_distribution", {"course_key": COURSE})
    assert [(r["bucket_start_pct"], r["learners"]) for r in result.as_dicts()] == [
        (40, 2),  # L2 0.45, L4 0.48
        (70, 1),  # L1 0.72
        (90, 2),  # L3 0.95, L6 1.0 (100% is in the top band)
    ]


def test_subsection_scores(store: Client, db: str, demo: CourseStructure) -> None:
    _grades(store, db, demo)
    result = run_report(store, db, "subsection_scores", {"course_key": COURSE})
    assert [
        (
            r["subsection_name"],
            r["section_name"],
            r["graded"],
            r["graded_learners"],
            r["avg_score_pct"],
            r["full_marks"],
        )
        for r in result.as_dicts()
    ] == [
        ("Warm-up quiz", "Getting Started", True, 2, 50.0, 1),
        ("Final exam", "Reports and Dashboards", True, 1, 66.7, 0),
    ]


def test_completion_and_certificates(store: Client, db: str, demo: CourseStructure) -> None:
    completable = [
        k for k, b in demo.blocks.items() if b.block_type not in CONTAINERS | {"discussion"}
    ]
    assert len(completable) == 16
    half = [completion("L2", at(10), block) for block in completable[:8]]
    voided = completion("L3", at(10), completable[5])
    save(
        store,
        db,
        [
            *(completion("L1", at(10), block) for block in completable),
            *half,
            completion("L3", at(10), completable[0]),
            completion("L3", at(10), completable[1]),
            voided,
            completion("L3", at(10), "block-v1:AspectsX+LA101+2026_T1+type@html+block@gone"),
            completion("L3", at(10), key(demo, "Introduce yourself")),  # a discussion
            certificate("L1", at(11), COURSE, "cert-1"),
        ],
    )
    save(store, db, half)  # duplicates
    save(store, db, [voiding(voided, at(12))])
    result = run_report(store, db, "completion", {"course_key": COURSE})
    assert result.as_dicts() == [
        {
            "course_key": COURSE,
            "course_name": "Learning Analytics with Open edX",
            "completable_blocks": 16,
            "learners": 3,
            "avg_completion_pct": 54.2,  # (100 + 50 + 12.5) / 3
            "learners_half": 2,
            "learners_complete": 1,
            "certificates": 1,
        }
    ]


def test_forum_participation(store: Client, db: str) -> None:
    viewed = forum("L3", at(5, 12), COURSE, "viewed", "thread", "t1")
    voided = forum("L4", at(5, 13), COURSE, "posted", "thread", "t2")
    save(
        store,
        db,
        [
            forum("L1", at(5, 10), COURSE, "posted", "thread", "t1"),
            forum("L2", at(5, 11), COURSE, "posted", "comment", "c1"),
            forum("L2", at(5, 11, 5), COURSE, "posted", "comment", "c2"),
            forum("L2", at(5, 11, 9), COURSE, "deleted", "comment", "c2"),
            viewed,
            forum("L3", at(5, 14), COURSE, "viewed", "thread", "t1"),
            forum("L3", at(5, 15), COURSE, "voted", "thread", "t1"),
            forum("L1", at(5, 16), COURSE, "reported", "comment", "c1"),
            voided,
            forum("L9", at(5, 10), "course-v1:OrgB+X+1", "posted", "thread", "t9"),
        ],
    )
    save(store, db, [viewed])
    save(store, db, [voiding(voided, at(6))])
    result = run_report(store, db, "forum_participation", {"course_key": COURSE})
    assert [
        (
            r["threads"],
            r["comments"],
            r["posters"],
            r["participants"],
            r["votes"],
            r["views"],
            r["reports"],
        )
        for r in result.as_dicts()
    ] == [(1, 1, 2, 3, 1, 2, 1)]
    everywhere = run_report(store, db, "forum_participation")
    assert [(r["course_key"], r["threads"]) for r in everywhere.as_dicts()] == [
        (COURSE, 1),
        ("course-v1:OrgB+X+1", 1),
    ]
