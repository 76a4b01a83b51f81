"""Reports API latency per report at scale, over HTTP, with an API key.

    .venv/bin/python benchmarks/reports_api.py [--statements 10000000] [--runs 20]
        [--path DIR --reuse] [--only NAME,NAME]

The site of benchmarks/reports.py; the API served by uvicorn on 127.0.0.1 in this process (it
owns the embedded database); every report case of benchmarks/reports.py requested through
``GET /api/v1/reports/{name}`` (JSON, first page) ``--runs`` times after one warm-up, and the
same report run directly (``run_report``, no HTTP) as often, alternating. Prints p50 and p95 per
case over HTTP, the direct p50 (so the API's own overhead shows apart from the report's SQL),
the median CPU time of a request (this process's: server, engine and client; on a shared
machine steadier than wall time), the load average, and whether course-level reports meet the
300 ms p95 target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from privacy_dataset import dataset

from aspects.api.app import create_app
from aspects.api.keys import create_key
from aspects.models import run_report
from aspects.settings import Settings

TARGET_MS = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--statements", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--path", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--port", type=int, default=8299)
    parser.add_argument(
        "--only", default="", help="comma-separated report names (default: every case)"
    )
    args = parser.parse_args()
    path = args.path or Path(tempfile.mkdtemp(prefix="aspects-bench-"))
    client, store, bench = dataset(path, args.statements, args.reuse)
    settings = Settings(
        data_dir=path,
        store=store,
        transform={"secret": "bench"},
        api={"rate_limit_burst": 1_000_000},
    )
    _key, plain = create_key(client, store.database, name="bench", all_courses=True)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, client), host="127.0.0.1", port=args.port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    rows = int(str(client.command(f"SELECT count() FROM {store.database}.xapi_statements")))
    print(f"raw rows: {rows:,}; course {bench.BENCH_COURSE}; {args.runs} runs per case")
    print(
        f"{'report':<26} {'parameters':<40} {'rows':>6} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'direct p50':>10} {'cpu ms':>7} {'load':>5}"
    )
    misses = []
    with httpx.Client(
        base_url=f"http://127.0.0.1:{args.port}", headers={"X-API-Key": plain}, timeout=120
    ) as http:
        only = {name for name in args.only.split(",") if name}
        for name, params in bench.cases():
            if only and name not in only:
                continue
            query = {("course_id" if k == "course_key" else k): v for k, v in params.items()}
            first = http.get(f"/api/v1/reports/{name}", params=query)
            first.raise_for_status()
            timings, direct, cpu = [], [], []
            for _ in range(args.runs):
                started, cpu_started = time.perf_counter(), time.process_time()
                http.get(f"/api/v1/reports/{name}", params=query).raise_for_status()
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
                started = time.perf_counter()
                run_report(client, store.database, name, params, pii_enabled=True)
                direct.append((time.perf_counter() - started) * 1000)
            timings.sort()
            p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
            shown = ", ".join(f"{k}={v}" for k, v in query.items()).replace("course_id=", "")
            print(
                f"{name:<26} {shown[:40]:<40} {first.json()['total']:>6} "
                f"{statistics.median(timings):>7.0f} {p95:>7.0f} "
                f"{statistics.median(direct):>10.0f} {statistics.median(cpu):>7.0f} "
                f"{os.getloadavg()[0]:>5.1f}"
            )
            if "course_id" in query and p95 > TARGET_MS:
                misses.append(f"{name} ({p95:.0f} ms)")
    server.should_exit = True
    thread.join(timeout=10)
    print(
        f"course-level p95 <= {TARGET_MS} ms: "
        + ("all" if not misses else f"missed by {', '.join(misses)}")
    )


if __name__ == "__main__":
    main()
