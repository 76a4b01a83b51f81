"""Live lag: from a line written to tracking.log to its row being queryable, at a steady rate.

Run: ``.venv/bin/python benchmarks/ingest_lag.py [--rate 1000] [--seconds 30] [--runs 3]``

A writer thread appends realistic lines (``aspects.ingest.synthetic``) to a log at ``--rate``
lines/s, in small bursts every 10 ms, and notes when each line was written. The live follower
(``aspects.ingest.live.run_live``, default settings: flush at least every 0.5 s) runs in this
process on an embedded store. A probe thread, on its own connection, asks the store every 20 ms
for the newest emission time: the synthetic lines carry emission times that grow with their
index, so it tells which lines are queryable. Each line's lag is the first probe that sees it
minus its write time (so the figures include up to 20 ms of probing granularity). Half-way, the
log is rotated by rename.

Target: p95 <= 2 s at 1,000 events/s. Prints p50/p95/p99/max per run and the median p95.
"""

from __future__ import annotations

import argparse
import bisect
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "fixtures" / "erb" / "events"

from aspects.ingest.live import run_live  # noqa: E402
from aspects.ingest.sink import Flushed  # noqa: E402
from aspects.ingest.synthetic import load_templates, synthetic_lines  # noqa: E402
from aspects.settings import Settings  # noqa: E402
from aspects.store.client import open_client  # noqa: E402
from aspects.store.migrate import migrate  # noqa: E402
from aspects.store.settings import StoreSettings  # noqa: E402

TARGET_P95 = 2.0
PROBE = 0.02


def one_run(work: Path, rate: int, seconds: float, templates: list[str]) -> list[float]:
    store = StoreSettings(path=work / "clickhouse", database=f"lag_{uuid.uuid4().hex[:8]}")
    client = open_client(store, work)
    probe_client = open_client(store, work)
    migrate(client, store)
    run_dir = work / store.database
    run_dir.mkdir()
    log = run_dir / "tracking.log"
    settings = Settings(data_dir=run_dir, store=store, transform={"secret": "benchmark-secret"})
    start = datetime(2026, 3, 1, tzinfo=UTC)
    step = 1 / rate
    total = int(rate * seconds)
    lines = list(synthetic_lines(templates, total, seed=5, start=start, per_second=rate))
    written = [0.0] * total
    seen_at: list[tuple[float, int]] = []  # (probe time, lines queryable)
    stop = threading.Event()
    done_writing = threading.Event()

    def writer() -> None:
        began = time.monotonic()
        index = 0
        handle = log.open("ab")
        while index < total:
            due = min(total, int((time.monotonic() - began) * rate) + 1)
            if index < due:
                handle.writelines(lines[index:due])
                handle.flush()
                now = time.monotonic()
                for n in range(index, due):
                    written[n] = now
                index = due
                if index >= total // 2 and not (run_dir / "tracking.log.1").exists():
                    handle.close()
                    log.rename(run_dir / "tracking.log.1")
                    handle = log.open("ab")
            time.sleep(0.01)
        handle.close()
        done_writing.set()

    def probe() -> None:
        while not stop.is_set():
            newest = probe_client.query(
                f"SELECT max(emission_time) FROM {store.database}.xapi_statements"
            ).result_rows[0][0]
            now = time.monotonic()
            if isinstance(newest, datetime) and newest.year > 2000:
                moment = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
                queryable = round((moment - start) / timedelta(seconds=step)) + 1
                seen_at.append((now, queryable))
            time.sleep(PROBE)

    flushes: list[Flushed] = []
    follower = threading.Thread(
        target=run_live,
        args=(settings, client, stop),
        kwargs={"paths": [log], "on_flush": flushes.append},
    )
    threads = [threading.Thread(target=writer), threading.Thread(target=probe), follower]
    for thread in threads:
        thread.start()
    done_writing.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not seen_at or seen_at[-1][1] < total - 5):
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join()
    # The first probe at which each line was queryable (a line whose own event gives no
    # statement becomes visible with the next line that does).
    counts = [count for _, count in seen_at]
    running = 0
    monotone = []
    for count in counts:
        running = max(running, count)
        monotone.append(running)
    lags = []
    for index in range(total):
        position = bisect.bisect_left(monotone, index + 1)
        if position < len(seen_at):
            lags.append(seen_at[position][0] - written[index])
    client.command(f"DROP DATABASE {store.database}")
    if flushes:
        print(
            f"  {len(flushes)} batches, median {statistics.median(f.events for f in flushes):.0f}"
            f" lines, median store time {statistics.median(f.seconds for f in flushes):.3f} s"
        )
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=1000, help="lines per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    templates = load_templates(EVENTS)
    work = Path(tempfile.mkdtemp(prefix="ingest-lag-"))
    print(
        f"{args.rate:,} lines/s for {args.seconds:.0f} s, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    p95s = []
    for run in range(args.runs):
        lags = sorted(one_run(work, args.rate, args.seconds, templates))

        def pick(q: float, lags: list[float] = lags) -> float:
            return lags[min(len(lags) - 1, int(len(lags) * q))]

        p95s.append(pick(0.95))
        print(
            f"run {run + 1}: {len(lags):,} lines, lag p50 {pick(0.5):.3f} s, "
            f"p95 {pick(0.95):.3f} s, p99 {pick(0.99):.3f} s, max {lags[-1]:.3f} s"
        )
    median = statistics.median(p95s)
    print(
        f"line written -> row queryable: median p95 {median:.3f} s; target <= {TARGET_P95} s: "
        f"{'met' if median <= TARGET_P95 else 'NOT met'}"
    )


if __name__ == "__main__":
    sys.exit(main())
