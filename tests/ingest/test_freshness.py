"""End to end freshness: a line written to tracking.log shows in a report within 2 s (wall time).

The models' own test (tests/models/test_freshness.py) proves every model reflects a statement on
the first read after its INSERT; this one adds the live path before it (follow, batch by time,
transform, insert) with the default flush interval of one second.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import threading
import time
from pathlib import Path

from clickhouse_connect.driver.client import Client

from aspects.ingest.live import run_live
from aspects.models import run_report
from aspects.settings import Settings
from aspects.store.settings import StoreSettings
from tests.ingest.conftest import FIXTURE_EVENTS, SECRET

FRESH_SECONDS = 2.0
COURSE = "course-v1:Fresh+F101+2026"


def _enrollment_line(user_id: int) -> bytes:
    event = json.loads((FIXTURE_EVENTS / "edx.course.enrollment.activated.json").read_text())
    event["context"].update(course_id=COURSE, org_id="Fresh", user_id=user_id)
    event["data"].update(course_id=COURSE, user_id=user_id)
    event["timestamp"] = dt.datetime.now(dt.UTC).isoformat()
    return json.dumps(event).encode() + b"\n"


def _enrolled(client: Client, database: str) -> int:
    rows = run_report(client, database, "enrollments_current", {"course_key": COURSE}).as_dicts()
    return sum(int(row["enrolled_learners"]) for row in rows)


def test_a_logged_enrollment_is_in_the_report_within_two_seconds(
    tmp_path: Path, store_settings: StoreSettings, store: Client
) -> None:
    # Default ingest timings (flush at least every second), unlike the other ingest tests.
    settings = Settings(
        data_dir=tmp_path / "data", store=store_settings, transform={"secret": SECRET}
    )
    database = settings.store.database
    log = tmp_path / "tracking.log"
    log.write_bytes(b"")
    stop = threading.Event()
    thread = threading.Thread(
        target=run_live, args=(settings, store, stop), kwargs={"paths": [log]}
    )
    thread.start()
    delays: list[float] = []
    try:
        for user_id in (101, 102, 103):
            before = _enrolled(store, database)
            with log.open("ab") as handle:
                handle.write(_enrollment_line(user_id))
            written = time.monotonic()
            while _enrolled(store, database) == before:
                assert time.monotonic() - written < 30, "the enrollment never reached the report"
                time.sleep(0.02)
            delays.append(time.monotonic() - written)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert _enrolled(store, database) == 3
    # The median of three: one probe delayed by a busy CI machine does not make data stale.
    assert statistics.median(delays) < FRESH_SECONDS, delays
