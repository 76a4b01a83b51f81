"""Active learners per day/week/month, per course and org; operator KPIs."""

from __future__ import annotations

import datetime as dt

from clickhouse_connect.driver.client import Client

from aspects.courses.structure import CourseStructure
from aspects.models import run_report
from tests.models.conftest import COURSE, key
from tests.models.statements import at, navigation, problem_check, save, video, voiding

SECOND = "block-v1:AspectsX+SECOND+2026+type@sequential+block@s1"
ELSEWHERE = "block-v1:OrgB+X+1+type@sequential+block@s1"


def _scenario(client: Client, db: str, demo: CourseStructure) -> None:
    welcome = key(demo, "Welcome")
    clip = key(demo, "Welcome video")
    quiz = key(demo, "What is a learning record?")
    check = problem_check("L1", at(6), quiz, success=True)
    l4 = navigation("L4", at(12, 9), welcome)
    save(
        client,
        db,
        [
            video("L1", at(5), clip, "played", time=0, length=184),  # Monday Jan 5
            navigation("L2", at(5, 11), welcome),
            navigation("L3", at(5, 12), SECOND),
            check,
            navigation("L2", at(12), welcome),  # next Monday
            l4,
            navigation("L5", at(12), ELSEWHERE),
        ],
    )
    save(client, db, [check])  # duplicate
    save(client, db, [voiding(l4, at(13))])


def test_active_learners_per_day_week_month(store: Client, db: str, demo: CourseStructure) -> None:
    _scenario(store, db, demo)
    daily = run_report(store, db, "active_learners", {"course_key": COURSE})
    assert daily.rows == [
        (dt.date(2026, 1, 5), 2, 2),
        (dt.date(2026, 1, 6), 1, 1),  # the duplicate counts once
        (dt.date(2026, 1, 12), 1, 1),  # L4's statement was voided
    ]
    weekly = run_report(store, db, "active_learners", {"course_key": COURSE, "period": "week"})
    assert weekly.rows == [(dt.date(2026, 1, 5), 2, 3), (dt.date(2026, 1, 12), 1, 1)]
    org = run_report(store, db, "active_learners", {"org": "AspectsX", "period": "month"})
    assert org.rows == [(dt.date(2026, 1, 1), 3, 5)]
    everything = run_report(store, db, "active_learners", {"period": "month"})
    assert everything.rows == [(dt.date(2026, 1, 1), 4, 6)]
    window = run_report(
        store, db, "active_learners", {"course_key": COURSE, "since": at(6), "until": at(12, 23)}
    )
    assert window.rows == [(dt.date(2026, 1, 6), 1, 1), (dt.date(2026, 1, 12), 1, 1)]


def test_operator_kpis(store: Client, db: str, demo: CourseStructure) -> None:
    welcome = key(demo, "Welcome")
    day5 = [
        (navigation("L1", at(5, 10), welcome), 1),
        (navigation("L2", at(5, 11), welcome), 3),
        (navigation("L1", at(5, 12), welcome), 5),
        (navigation("L3", at(5, 13), SECOND), 7),
        (navigation("L4", at(5, 14), ELSEWHERE), 9),
    ]
    for statement, lag in day5:
        save(store, db, [statement], statement_time(statement, lag))
    duplicate, lag = day5[1]
    save(store, db, [duplicate], statement_time(duplicate, lag))
    voided = navigation("L1", at(6, 8), welcome)
    save(store, db, [voided], statement_time(voided, 2))
    save(store, db, [voiding(voided, at(6, 9))], at(6, 9))
    kept = navigation("L2", at(6, 10), welcome)
    save(store, db, [kept], statement_time(kept, 2))
    result = run_report(store, db, "operator_kpis")
    assert result.columns == [
        "day",
        "statements",
        "courses",
        "orgs",
        "active_learners",
        "median_lag_s",
        "p95_lag_s",
    ]
    assert result.rows == [
        (dt.date(2026, 1, 5), 5, 3, 2, 4, 5.0, 9.0),
        (dt.date(2026, 1, 6), 1, 1, 1, 1, 2.0, 2.0),
    ]
    assert run_report(store, db, "operator_kpis", {"org": "OrgB"}).rows == [
        (dt.date(2026, 1, 5), 1, 1, 1, 1, 9.0, 9.0)
    ]


def statement_time(statement: dict[str, object], lag_seconds: float) -> dt.datetime:
    return dt.datetime.fromisoformat(str(statement["timestamp"])) + dt.timedelta(
        seconds=lag_seconds
    )
