"""Transform throughput on a realistic mix: the ERB fixtures as logged lines, >= 1M events.

Run: ``.venv/bin/python benchmarks/transform_throughput.py [--events N] [--runs R]``

Each line goes through what ``aspects transform`` does per line: parse the tracking-log line
(logger prefix on half of them), transform, serialise with orjson. The mix is every ERB fixture
(all families, including multi-question problem_check) spread over 20,000 learners and distinct
timestamps; a pool of 50,000 distinct lines is replayed to reach N events, so per-user caches see
a realistic hit rate without holding 1 GB of input in memory. One process, one core.

Each run is a fresh process; the compiled build (``make compile``) and the sources
(``ASPECTS_PURE_PYTHON=1``) alternate run by run, so both see the same machine load. Prints
events/s per run (wall and CPU time), the medians per build, their ratio, statements/s, peak
RSS and the load average.

The build ``fast`` is the native (Rust) transformer (``aspects.transform.fast``, built by
``make compile``): each line goes to it as bytes and comes back as the statements' JSON; the
lines it does not handle take the compiled Python path. It prints the share handled natively.

Old against new, back to back: ``--baseline DIR`` adds the build ``baseline``, the compiled
package under ``DIR`` (the ``src`` directory of another checkout, e.g. ``git worktree add
/tmp/old <commit> && make -C /tmp/old compile``, or a copy of ``src`` taken before a change),
run in turn with the others, e.g. ``--builds baseline,compiled --baseline /tmp/old/src``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.transform.test_logline import as_logged  # noqa: E402

from aspects.transform import (  # noqa: E402
    MalformedEvent,
    StaticCourseNames,
    Transformer,
    parse_line,
)
from aspects.transform.native import PURE_ENV  # noqa: E402
from aspects.transform.settings import TransformSettings  # noqa: E402

EVENTS = ROOT / "tests" / "fixtures" / "erb" / "events"


def pool(size: int, users: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    fixtures = [
        json.loads(p.read_text())
        for p in sorted(EVENTS.glob("*.json"))
        if "anonymous" not in p.name and "required.only" not in p.name
    ]
    lines = []
    for i in range(size):
        event = json.loads(json.dumps(rng.choice(fixtures)))
        user = rng.randrange(1, users + 1)
        context = event.setdefault("context", {})
        context["user_id"] = user
        if isinstance(event.get("data"), dict) and "user_id" in event["data"]:
            event["data"]["user_id"] = user
        stamp = f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}.{i:06d}+00:00"
        if "timestamp" in event:
            event["timestamp"] = stamp
        else:
            event["time"] = stamp
        lines.append(as_logged(event, prefix=i % 2 == 0).encode())
    return lines


def run_once(lines: list[bytes], events: int) -> tuple[float, float, int]:
    transformer = Transformer(
        TransformSettings(),
        secret="benchmark-secret",
        course_names=StaticCourseNames({}, default="Demonstration Course"),
    )
    written = 0
    size = len(lines)
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(events):
        try:
            for statement in transformer.transform(parse_line(lines[i % size])):
                orjson.dumps(statement)
                written += 1
        except MalformedEvent:
            pass
    return time.perf_counter() - started, time.process_time() - cpu_started, written


def run_once_fast(lines: list[bytes], events: int) -> tuple[float, float, int, float]:
    """Like run_once through the native transformer (Python for what it does not handle)."""
    from aspects.transform.fast import open_fast

    settings = TransformSettings()
    names = StaticCourseNames({}, default="Demonstration Course")
    transformer = Transformer(settings, secret="benchmark-secret", course_names=names)
    fast = open_fast(settings, secret="benchmark-secret", course_names=names)
    if fast is None:
        raise SystemExit("fast: the native transformer is not available (make compile)")
    written = handled = 0
    size = len(lines)
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(events):
        line = lines[i % size]
        answer = fast.statements(line)
        if answer is None:
            try:
                for statement in transformer.transform(parse_line(line)):
                    orjson.dumps(statement)
                    written += 1
            except MalformedEvent:
                pass
        elif type(answer) is list:
            handled += 1
            written += len(answer)
        else:
            handled += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return elapsed, cpu, written, handled / events


def child(args: argparse.Namespace) -> None:
    """One timed run in this process, with whichever build it imported; a JSON line out."""
    from aspects.transform.native import build_info

    lines = pool(50_000, args.users)
    native_share = 0.0
    if args.fast:
        elapsed, cpu, written, native_share = run_once_fast(lines, args.events)
    else:
        elapsed, cpu, written = run_once(lines, args.events)
    info = build_info()
    import aspects

    result = {
        "build": info["build"],
        "package": str(Path(aspects.__file__).resolve().parent),
        "compiled_modules": info["compiled_modules"],
        "wall": elapsed,
        "cpu": cpu,
        "written": written,
        "native_share": native_share,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(result))


def spawn(args: argparse.Namespace, build: str) -> dict[str, Any]:
    env = {**os.environ, PURE_ENV: "1" if build == "python" else "0"}
    if build == "baseline":
        env["PYTHONPATH"] = str(args.baseline)  # its aspects package comes first
    command = [sys.executable, __file__, "--child", "--events", str(args.events)]
    command += ["--users", str(args.users)]
    if build == "fast":
        command.append("--fast")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument(
        "--builds",
        default="compiled,python",
        help=(
            "builds to compare, interleaved run by run: compiled (make compile), python, "
            "fast (the native transformer, compiled Python for the rest)"
        ),
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="src directory of another (compiled) checkout: the build 'baseline'",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fast", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    builds = [b.strip() for b in args.builds.split(",") if b.strip()]
    if ("baseline" in builds) != (args.baseline is not None):
        parser.error("--baseline DIR and the build 'baseline' go together")
    if args.baseline is not None and not (args.baseline / "aspects" / "transform").is_dir():
        parser.error(f"{args.baseline}: no aspects/transform package there")
    print(
        f"{args.events:,} events per run, pool 50,000 lines, {args.users:,} learners; "
        f"each run in its own process, builds interleaved: {', '.join(builds)}"
    )
    cpu_rates: dict[str, list[float]] = {build: [] for build in builds}
    rates: dict[str, list[float]] = {build: [] for build in builds}
    peaks: dict[str, float] = dict.fromkeys(builds, 0.0)
    for run in range(args.runs):
        for build in builds:
            r = spawn(args, build)
            if build in ("compiled", "baseline", "fast") and r["build"] != "compiled":
                raise SystemExit(f"{build}: the compiled build is not in use ({r['build']})")
            if build == "baseline" and not r["package"].startswith(str(args.baseline.resolve())):
                raise SystemExit(f"baseline: aspects came from {r['package']}")
            rates[build].append(args.events / r["wall"])
            cpu_rates[build].append(args.events / r["cpu"])
            peaks[build] = max(peaks[build], r["peak_rss_mb"])
            print(
                f"run {run + 1} {build:>8}: {args.events / r['wall']:,.0f} events/s wall, "
                f"{args.events / r['cpu']:,.0f} events/s of CPU time, "
                f"{r['written'] / r['cpu']:,.0f} statements/s CPU "
                f"({r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU), peak RSS "
                f"{r['peak_rss_mb']:,.0f} MB, load {os.getloadavg()[0]:.1f} [{r['build']}]"
                + (f", {r['native_share']:.1%} of lines native" if build == "fast" else "")
            )
    # Machine yardstick: only parsing and re-serialising each line with orjson.
    # On a shared machine compare events/s with this, not only with the absolute target.
    lines = pool(50_000, args.users)
    started = time.process_time()
    for i in range(200_000):
        line = lines[i % len(lines)]
        orjson.dumps(orjson.loads(line[line.find(b"{") :]))
    print(f"yardstick: orjson loads+dumps alone {200_000 / (time.process_time() - started):,.0f}/s")
    # On a shared machine wall time includes waiting for the core; CPU time does not.
    for build in builds:
        print(
            f"median {build:>8}: {statistics.median(rates[build]):,.0f} events/s wall, "
            f"{statistics.median(cpu_rates[build]):,.0f} events/s of CPU time "
            f"(target >= 50,000), peak RSS {peaks[build]:,.0f} MB"
        )
    if "compiled" in builds and "python" in builds:
        gain = statistics.median(cpu_rates["compiled"]) / statistics.median(cpu_rates["python"])
        print(f"compiled / python (CPU time medians): {gain:.2f}x")
    if "compiled" in builds and "fast" in builds:
        gain = statistics.median(cpu_rates["fast"]) / statistics.median(cpu_rates["compiled"])
        print(f"fast / compiled (CPU time medians): {gain:.2f}x")
    if "compiled" in builds and "baseline" in builds:
        gain = statistics.median(cpu_rates["compiled"]) / statistics.median(cpu_rates["baseline"])
        print(f"compiled / baseline (CPU time medians): {gain:.2f}x")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
