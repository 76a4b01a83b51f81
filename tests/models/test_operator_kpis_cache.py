"""The operator_kpis cache (migration 0031, aspects.models.rollup): whole past days served from
operator_kpis_daily, equal to the live figures, and exact at every moment: a late statement, a
copy, a voiding or an erasure changes the report at once (before any refresh), and after one."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from aspects.courses.structure import CourseStructure
from aspects.models import run_report
from aspects.models.rollup import Refresher, refresh
from aspects.privacy.erasure import erase
from aspects.privacy.subject import Subject
from aspects.serve import Site, start_kpis_refresher
from aspects.settings import Settings
from aspects.store.settings import StoreSettings
from tests.models.conftest import key
from tests.models.statements import at, navigation, save, voiding

NOW = dt.timedelta(0)  # tests refresh with no margin: their inserts are done when it reads
OTHER_COURSE = "block-v1:OrgB+X+1+type@sequential+block@s1"


def _kpis(client: Client, db: str, **parameters: Any) -> list[tuple[Any, ...]]:
    return run_report(client, db, "operator_kpis", parameters).rows


def _cached_days(client: Client, db: str) -> int:
    return int(str(client.command(f"SELECT count() FROM {db}.operator_kpis_daily FINAL")))


def _generated(client: Client, db: str, demo: CourseStructure) -> None:
    """Eight days of activity in two orgs, several inserts per day, a copy and a voiding."""
    welcome = key(demo, "Welcome")
    for day in range(3, 11):
        batch = [
            navigation(
                f"L{(day * 7 + n) % 13}", at(day, 1 + n * 2, n), welcome if n % 3 else OTHER_COURSE
            )
            for n in range(11)
        ]
        save(client, db, batch[:6], at(day, 23, 0, day))
        save(client, db, batch[6:], at(day + 1, 2, 0, 3 * day))
        if day == 5:
            save(client, db, batch[:2], at(day + 2))  # copies, stored later
            save(client, db, [voiding(batch[3], at(day + 3))], at(day + 3))


RANGES: list[dict[str, Any]] = [
    {},
    {"since": "2026-01-04", "until": "2026-01-09"},
    {"since": "2026-01-04T05:30:00", "until": "2026-01-09T07:00:00"},
    {"since": "2026-01-05T00:00:00.000001", "until": "2026-01-05T23:59:59"},
    {"org": "AspectsX"},
]


def test_cache_is_used_and_equals_the_live_figures(
    store: Client, db: str, demo: CourseStructure
) -> None:
    _generated(store, db, demo)
    live = [_kpis(store, db, **parameters) for parameters in RANGES]
    assert len(live[0]) == 8  # 3-10 January
    done = refresh(store, db, margin=NOW)
    assert done.days_computed == 8
    assert _cached_days(store, db) == done.days_computed
    assert [_kpis(store, db, **parameters) for parameters in RANGES] == live
    # A second refresh finds nothing changed.
    assert refresh(store, db, margin=NOW).days_computed == 0
    # The cached row is what the report shows for a whole day (a forged row proves it), never
    # for a partial day or with an org.
    store.command(
        f"INSERT INTO {db}.operator_kpis_daily SELECT day, 999, courses, orgs, active_learners, "
        f"median_lag_s, p95_lag_s, as_of + toIntervalMicrosecond(1), voided_mark "
        f"FROM {db}.operator_kpis_daily FINAL WHERE day = '2026-01-06'"
    )
    whole = _kpis(store, db, since="2026-01-06", until="2026-01-07")
    assert [row[1] for row in whole] == [999]
    assert _kpis(store, db, since="2026-01-06T00:00:01", until="2026-01-07") != whole
    assert _kpis(store, db, since="2026-01-06", until="2026-01-07", org="AspectsX") != whole


def _save_late(client: Client, db: str, day_one: list[dict[str, Any]]) -> None:
    save(client, db, [navigation("L3", at(5, 15), OTHER_COURSE)], at(5, 15, 0, 7))


def _save_copy(client: Client, db: str, day_one: list[dict[str, Any]]) -> None:
    save(client, db, [day_one[0]], at(5, 10, 0, 9))  # the copy kept is the last inserted


def _save_voiding(client: Client, db: str, day_one: list[dict[str, Any]]) -> None:
    save(client, db, [voiding(day_one[0], at(20))], at(20))


CHANGES: dict[str, tuple[Callable[[Client, str, list[dict[str, Any]]], None], tuple[Any, ...]]] = {
    # day, statements, courses, orgs, active_learners, median_lag_s, p95_lag_s
    "late statement": (_save_late, (dt.date(2026, 1, 5), 3, 2, 2, 3, 5.0, 7.0)),
    "copy": (_save_copy, (dt.date(2026, 1, 5), 2, 2, 2, 2, 9.0, 9.0)),
    "voiding": (_save_voiding, (dt.date(2026, 1, 5), 1, 1, 1, 1, 5.0, 5.0)),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_to_a_cached_day_shows_at_once_and_after_a_refresh(
    store: Client, db: str, demo: CourseStructure, change: str
) -> None:
    day_one = [
        navigation("L1", at(5, 10), key(demo, "Welcome")),
        navigation("L2", at(5, 11), OTHER_COURSE),
    ]
    save(store, db, day_one[:1], at(5, 10, 0, 3))
    save(store, db, day_one[1:], at(5, 11, 0, 5))
    before = [(dt.date(2026, 1, 5), 2, 2, 2, 2, 5.0, 5.0)]
    refresh(store, db, margin=NOW)
    assert _cached_days(store, db) == 1
    assert _kpis(store, db, since="2026-01-05", until="2026-01-06") == before
    apply, expected = CHANGES[change]
    apply(store, db, day_one)
    assert _kpis(store, db, since="2026-01-05", until="2026-01-06") == [expected]
    assert refresh(store, db, margin=NOW).days_computed >= 1
    assert _kpis(store, db, since="2026-01-05", until="2026-01-06") == [expected]
    cached = store.query(
        f"SELECT day, statements, courses, orgs, active_learners, median_lag_s, p95_lag_s "
        f"FROM {db}.operator_kpis_daily FINAL WHERE day = '2026-01-05'"
    ).result_rows
    assert cached == [expected]


def test_an_erasure_shows_at_once_and_after_a_refresh(
    store: Client, db: str, store_settings: StoreSettings, demo: CourseStructure
) -> None:
    gone = navigation("L1", at(5, 10), key(demo, "Welcome"))
    save(store, db, [gone, navigation("L2", at(5, 11), OTHER_COURSE)], at(5, 12))
    refresh(store, db, margin=NOW)
    assert _kpis(store, db)[0][1:5] == (2, 2, 2, 2)
    actor_id = str(
        store.command(
            f"SELECT actor_id FROM {db}.fact_activity WHERE statement_id = {{i:UUID}}",
            parameters={"i": uuid.UUID(gone["id"])},
        )
    )
    erase(store, store_settings, Subject(actor_ids=frozenset({actor_id})), wait_seconds=0)
    without = [(dt.date(2026, 1, 5), 1, 1, 1, 1, 3600.0, 3600.0)]
    assert _kpis(store, db) == without
    assert refresh(store, db, margin=NOW).days_computed == 1
    assert _kpis(store, db) == without


def test_a_day_whose_statements_are_all_voided_has_no_row(
    store: Client, db: str, demo: CourseStructure
) -> None:
    lone = navigation("L1", at(6, 10), key(demo, "Welcome"))
    save(store, db, [lone], at(6, 11))
    save(store, db, [voiding(lone, at(6, 12))], at(6, 12))
    assert _kpis(store, db) == []
    refresh(store, db, margin=NOW)
    assert _cached_days(store, db) == 1  # cached as 0 statements
    assert _kpis(store, db) == []


def test_rows_inserted_within_the_margin_keep_their_day_live(
    store: Client, db: str, demo: CourseStructure
) -> None:
    """as_of is the refresh's start minus the margin: a day with an insert after that instant is
    computed live by the report, and recomputed by the next refresh."""
    save(store, db, [navigation("L1", at(5, 10), key(demo, "Welcome"))], at(5, 11))
    done = refresh(store, db, margin=dt.timedelta(hours=1))
    assert done.days_computed == 1
    store.command(
        f"ALTER TABLE {db}.operator_kpis_daily UPDATE statements = 999 WHERE 1",
        settings={"mutations_sync": 2},
    )
    assert _kpis(store, db)[0][1] == 1  # the insert is after as_of: the day is live
    assert refresh(store, db, margin=dt.timedelta(hours=1)).days_computed == 1


def test_refresher_thread_runs_and_stops(store: Client, db: str, demo: CourseStructure) -> None:
    save(store, db, [navigation("L1", at(5, 10), key(demo, "Welcome"))], at(5, 11))
    refresher = Refresher(store, db, 0.05, margin=NOW).start()
    try:
        deadline = time.monotonic() + 30
        while refresher.refreshes < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert refresher.refreshes >= 2
        assert refresher.failures == 0
        assert _cached_days(store, db) == 1
    finally:
        refresher.stop()
    assert not refresher.running


def test_serve_runs_the_refresher_and_stops_it(
    tmp_path: Path,
    store: Client,
    db: str,
    store_settings: StoreSettings,
    demo: CourseStructure,
) -> None:
    save(store, db, [navigation("L1", at(5, 10), key(demo, "Welcome"))], at(5, 11))
    every = store_settings.model_copy(update={"kpis_refresh_seconds": 0.05})
    site = Site()
    start_kpis_refresher(Settings(data_dir=tmp_path, store=every), store, site)
    try:
        assert [service.name for service in site.services] == ["operator_kpis cache refresh"]
        deadline = time.monotonic() + 30
        while not _cached_days(store, db) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _cached_days(store, db) == 1
    finally:
        site.stop()
    assert not [t for t in threading.enumerate() if t.name == "aspects-operator-kpis-refresh"]
    off = store_settings.model_copy(update={"kpis_refresh_seconds": 0})
    start_kpis_refresher(Settings(data_dir=tmp_path, store=off), store, site := Site())
    assert site.services == []


def test_cli_refresh_runs_once(tmp_path: Path) -> None:
    """`aspects reports refresh` in its own process (its own chDB data directory): on a new,
    empty store it migrates it, finds no day to compute and records the refresh."""
    env = dict(os.environ, ASPECTS_DATA_DIR=str(tmp_path / "var"))
    done = subprocess.run(
        [sys.executable, "-m", "aspects.cli", "reports", "refresh", "--margin-seconds", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "operator_kpis cache: 0 days recomputed" in done.stdout
