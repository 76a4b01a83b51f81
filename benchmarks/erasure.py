"""Erasure of one learner at scale, with queries served meanwhile; the tombstone filter's cost.

    .venv/bin/python benchmarks/erasure.py [--statements 10000000] [--learners 3]
        [--path DIR --reuse]

1. The site of benchmarks/reports.py (20 courses, 2,500 learners each) with ``--statements``.
2. For ``--learners`` of the most active learners of one course, one after the other: a reader
   thread runs a course-level report (``enrollments_current``, then ``active_learners``) in a
   loop on its own connection while the learner is erased (tombstone, then synchronous deletes
   in every table with an actor column); prints the erasure time, rows removed, and the
   reader's p50/p95/max latency and errors before and during the erasure.
3. The insert path with tombstones: 50,000-row ``insert_statements`` batches with none, and
   with 10,000 tombstones (every row checked), medians of 3.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from privacy_dataset import dataset

from aspects.models import run_report
from aspects.privacy.erasure import erase, remaining_rows
from aspects.privacy.subject import Subject
from aspects.privacy.tombstones import record_tombstones
from aspects.store.client import open_client
from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings
from aspects.store.statements import StatementRow, insert_statements


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


class Reader(threading.Thread):
    """Runs a course-level report in a loop and records latencies (ms) and errors."""

    def __init__(self, settings: StoreSettings, path: Path, course: str) -> None:
        super().__init__(daemon=True)
        self.client = open_client(settings, path)
        self.database = settings.database
        self.course = course
        self.latencies: list[float] = []
        self.errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        names = ["enrollments_current", "active_learners"]
        turn = 0
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                run_report(self.client, self.database, names[turn % 2], {"course_key": self.course})
                self.latencies.append((time.perf_counter() - started) * 1000)
            except Exception:  # counted: queries must keep being served
                self.errors += 1
            turn += 1

    def window(self, seconds: float | None = None) -> tuple[list[float], int]:
        start, errors = len(self.latencies), self.errors
        if seconds is not None:
            time.sleep(seconds)
        return self.latencies[start:], self.errors - errors


def insert_overhead(path: Path) -> None:
    settings = StoreSettings(path=path, database="bench_insert")
    client = open_client(settings, path)
    client.command("DROP DATABASE IF EXISTS bench_insert")
    migrate(client, settings)
    now = dt.datetime.now(dt.UTC)

    def batch() -> list[StatementRow]:
        rows = []
        for number in range(50_000):
            actor = f"{uuid.uuid4()}"
            text = (
                '{"actor":{"objectType":"Agent","account":{"homePage":"http://lms","name":"'
                + actor
                + '"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},'
                '"object":{"id":"http://lms/course/course-v1:B+B1+2026/'
                + str(number)
                + '"},"timestamp":"2026-02-01T00:00:00Z"}'
            )
            rows.append(StatementRow(uuid.uuid4(), text, now, "bench"))
        return rows

    for label in ("no tombstones", "10,000 tombstones"):
        if label.startswith("10"):
            record_tombstones(client, "bench_insert", [str(uuid.uuid4()) for _ in range(10_000)])
        timings = []
        for _ in range(3):
            rows = batch()
            started = time.perf_counter()
            insert_statements(client, "bench_insert", rows)
            timings.append(time.perf_counter() - started)
        median = statistics.median(timings)
        print(
            f"insert 50,000 rows, {label:<18}: {median * 1000:7.0f} ms "
            f"({50_000 / median:,.0f} rows/s)"
        )
    client.command("DROP DATABASE IF EXISTS bench_insert")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--statements", type=int, default=10_000_000)
    parser.add_argument("--learners", type=int, default=3)
    parser.add_argument("--path", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    path = args.path or Path(tempfile.mkdtemp(prefix="aspects-bench-"))
    client, settings, bench = dataset(path, args.statements, args.reuse)
    course = bench.BENCH_COURSE
    rows = int(str(client.command(f"SELECT count() FROM {settings.database}.xapi_statements")))
    print(f"raw rows: {rows:,}; erasing learners of {course}")
    learners = [
        str(row[0])
        for row in client.query(
            f"SELECT actor_id FROM {settings.database}.xapi_statements WHERE course_key = "
            "{c:String} AND actor_id != 'admin' GROUP BY actor_id ORDER BY count() DESC, actor_id "
            "LIMIT {n:UInt32}",
            parameters={"c": course, "n": args.learners},
        ).result_rows
    ]
    reader = Reader(settings, path, course)
    reader.start()
    before, before_errors = reader.window(5.0)
    seconds, removed, during, during_errors = [], [], [], 0
    for actor in learners:
        subject = Subject(actor_ids=frozenset({actor}))
        mark = len(reader.latencies), reader.errors
        report = erase(client, settings, subject, wait_seconds=0)
        during += reader.latencies[mark[0] :]
        during_errors += reader.errors - mark[1]
        assert all(count == 0 for count in remaining_rows(client, settings, subject).values())
        seconds.append(report.seconds)
        removed.append(report.total_rows)
        print(f"  erased {actor}: {report.total_rows:,} rows in {report.seconds:.1f} s")
    reader.stop.set()
    reader.join()
    print(
        f"erasure of one learner: median {statistics.median(seconds):.1f} s "
        f"(runs: {', '.join(f'{s:.1f}' for s in seconds)}), median rows removed "
        f"{statistics.median(removed):,.0f}"
    )
    for label, values, errors in (
        ("queries before", before, before_errors),
        ("queries during", during, during_errors),
    ):
        print(
            f"{label}: {len(values)} served, {errors} failed, p50 {_p(values, 0.5):.0f} ms, "
            f"p95 {_p(values, 0.95):.0f} ms, max {max(values, default=0):.0f} ms"
        )
    insert_overhead(path)


if __name__ == "__main__":
    main()
