"""fact_activity (migration 0030): backfill on upgrade, copies, late voiding, hashed learners."""

from __future__ import annotations

import datetime as dt

from clickhouse_connect.driver.client import Client

from aspects.courses.structure import CourseStructure
from aspects.models import run_report
from aspects.store.migrate import migrate, migrations, render
from aspects.store.settings import StoreSettings
from tests.models.conftest import key
from tests.models.statements import at, navigation, save, voiding

ELSEWHERE = "block-v1:OrgB+X+1+type@sequential+block@s1"


def _rows(client: Client, db: str) -> tuple[int, int]:
    """Physical rows of fact_activity, and rows under FINAL."""
    physical = int(str(client.command(f"SELECT count() FROM {db}.fact_activity")))
    final = int(str(client.command(f"SELECT count() FROM {db}.fact_activity FINAL")))
    return physical, final


def test_backfill_on_upgrade_and_again(
    chdb_client: Client, store_settings: StoreSettings, demo: CourseStructure
) -> None:
    """A store upgraded from before 0030 gets its statements into fact_activity; running the
    backfill a second time (an interrupted migration repeated) changes no figure."""
    db = store_settings.database
    migrate(chdb_client, store_settings, target=29)
    welcome = key(demo, "Welcome")
    first = navigation("L1", at(5, 10), welcome)
    save(chdb_client, db, [first, navigation("L2", at(5, 11), ELSEWHERE)], at(5, 10, 0, 3))
    save(chdb_client, db, [first], at(5, 10, 0, 3))  # a copy, stored before the upgrade
    migrate(chdb_client, store_settings)
    chdb_client.command(f"SYSTEM STOP MERGES {db}.fact_activity")  # keep the copies apart
    assert _rows(chdb_client, db) == (2, 2)
    expected = [(dt.date(2026, 1, 5), 2, 2, 2, 2, 3.0, 3.0)]
    assert run_report(chdb_client, db, "operator_kpis").rows == expected
    backfill = next(m for m in migrations() if m.version == 30)
    insert = [s for s in render(backfill.sql, store_settings) if s.startswith("INSERT")]
    assert len(insert) == 1
    chdb_client.command(insert[0])
    assert _rows(chdb_client, db) == (4, 2)  # every row twice, one each under FINAL
    assert run_report(chdb_client, db, "operator_kpis").rows == expected
    month = run_report(chdb_client, db, "active_learners", {"period": "month"})
    assert month.rows == [(dt.date(2026, 1, 1), 2, 2)]
    chdb_client.command(f"DROP DATABASE {db}")


def test_copies_in_separate_inserts_count_once(
    store: Client, db: str, demo: CourseStructure
) -> None:
    """Materialized views fire on every insert: a statement stored three times is three
    physical rows until a merge, and still one statement and one learner in every figure."""
    store.command(f"SYSTEM STOP MERGES {db}.fact_activity")  # keep the copies apart
    welcome = key(demo, "Welcome")
    once = navigation("L1", at(7, 10), welcome)
    for _ in range(3):
        save(store, db, [once], at(7, 10, 0, 2))
    save(store, db, [navigation("L2", at(7, 11), welcome)], at(7, 11, 0, 4))
    assert _rows(store, db) == (4, 2)
    daily = run_report(store, db, "active_learners", {"org": "AspectsX"})
    assert daily.rows == [(dt.date(2026, 1, 7), 2, 2)]
    kpis = run_report(store, db, "operator_kpis")
    # quantileExact: the value at position floor(q x n) of the sorted lags [2 s, 4 s].
    assert kpis.rows == [(dt.date(2026, 1, 7), 2, 1, 1, 2, 4.0, 4.0)]


def test_late_voiding_removes_the_learner(store: Client, db: str, demo: CourseStructure) -> None:
    """A learner whose only statement of the day is voided a week later is no longer active that
    day; the voiding statement itself is no activity."""
    welcome = key(demo, "Welcome")
    lone = navigation("L1", at(8, 10), welcome)
    save(store, db, [lone, navigation("L2", at(8, 12), welcome)], at(8, 12, 0, 1))
    before = run_report(store, db, "active_learners", {"period": "month"})
    assert before.rows == [(dt.date(2026, 1, 1), 2, 2)]
    save(store, db, [voiding(lone, at(15))], at(15))
    after = run_report(store, db, "active_learners", {"period": "month"})
    assert after.rows == [(dt.date(2026, 1, 1), 1, 1)]
    kpis = run_report(store, db, "operator_kpis")
    assert [row[:5] for row in kpis.rows] == [(dt.date(2026, 1, 8), 1, 1, 1, 1)]


def test_hashed_learner_counts_as_the_learner_id(store: Client, db: str) -> None:
    """Learners of every identifier kind (account, mbox, mbox_sha1sum, openid; ids that differ
    by case or one character) are told apart by actor_key as by actor_id."""
    names = ["a", "A", "a ", "b" * 300, "00000000-0000-0000-0000-000000000000"]
    statements = []
    for number, name in enumerate(names):
        statement = navigation(name, at(9, 10, number), ELSEWHERE)
        statements.append(statement)
    for number, agent in enumerate(
        [
            {"mbox": "mailto:a@example.org"},
            {"mbox_sha1sum": "a" * 40},
            {"openid": "http://example.org/a"},
        ]
    ):
        statement = navigation("x", at(9, 11, number), ELSEWHERE)
        statement["actor"] = {"objectType": "Agent", **agent}
        statements.append(statement)
    save(store, db, statements)
    raw = store.query(
        f"SELECT uniqExact(actor_id), countIf(actor_id = '') FROM {db}.xapi_statements"
    ).result_rows
    hashed = store.query(
        f"SELECT uniqExact(actor_key), countIf(actor_key = 0) FROM {db}.fact_activity FINAL"
    ).result_rows
    assert raw == hashed == [(8, 0)]
    month = run_report(store, db, "active_learners", {"period": "month"})
    assert month.rows == [(dt.date(2026, 1, 1), 8, 8)]
