"""Transform throughput over several cores: ``aspects.transform.parallel.TransformPool``.

Run: ``.venv/bin/python benchmarks/transform_parallel.py [--events N] [--workers 1,2] [--runs R]``

The same mix as transform_throughput.py (ERB fixtures as logged lines), cut into chunks of
``--chunk`` lines and transformed by a pool of spawned worker processes into ready-to-insert
rows (id, JSON text). Prints events/s of wall time per worker count (what a backfill sees), the
CPU time of the workers per event, the build in use and the load average: on a shared machine
the wall figure depends on how many cores are free.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from transform_throughput import pool  # noqa: E402

from aspects.transform.native import build_info  # noqa: E402
from aspects.transform.parallel import TransformPool, WorkerSpec  # noqa: E402
from aspects.transform.settings import TransformSettings  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(
    lines: list[bytes], events: int, workers: int, chunk: int
) -> tuple[float, float, float]:
    spec = WorkerSpec(
        TransformSettings(),
        "benchmark-secret",
        course_names={"course-v1:edX+DemoX+Demo_Course": "Demonstration Course"},
    )
    size = len(lines)
    chunks = (
        ([lines[(start + i) % size] for i in range(min(chunk, events - start))], "bench", start + 1)
        for start in range(0, events, chunk)
    )
    cpu_before, parent_before = children_cpu(), time.process_time()
    with TransformPool(spec, workers=workers) as transform_pool:
        # the workers start (and import) before the clock runs
        transform_pool.submit([lines[0]], "warm-up").result()
        started = time.perf_counter()
        rows = sum(len(result.rows) for result in transform_pool.map(chunks))
        elapsed = time.perf_counter() - started
    assert rows > events  # problem_check with several questions gives several rows
    return elapsed, children_cpu() - cpu_before, time.process_time() - parent_before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=2_000)
    args = parser.parse_args()
    lines = pool(50_000, 20_000)
    counts = [int(n) for n in args.workers.split(",")]
    print(f"{args.events:,} events per run in chunks of {args.chunk:,}; build: {build_info()}")
    rates: dict[int, list[float]] = {n: [] for n in counts}
    for run in range(args.runs):
        for workers in counts:
            elapsed, cpu, parent = run_once(lines, args.events, workers, args.chunk)
            rates[workers].append(args.events / elapsed)
            print(
                f"run {run + 1}, {workers} worker(s): {args.events / elapsed:,.0f} events/s wall, "
                f"workers' CPU {cpu / args.events * 1e6:.1f} us/event (incl. start-up), "
                f"parent's CPU {parent / args.events * 1e6:.1f} us/event, "
                f"load {os.getloadavg()[0]:.1f}"
            )
    for workers in counts:
        print(
            f"median, {workers} worker(s): {statistics.median(rates[workers]):,.0f} events/s wall"
        )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
