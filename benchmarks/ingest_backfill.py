"""Backfill throughput: >= 1M realistic events from gzipped rotated logs into the embedded store.

Run: ``.venv/bin/python benchmarks/ingest_backfill.py [--events N] [--runs R] [--workers W]
[--stages] [--views]``

Lines are made from ERB's fixture events (tests/fixtures/erb/events) by
``aspects.ingest.synthetic``: 5,000 learners, 20 courses in 4 organisations, time-ordered,
1 line in 1,000 malformed. They are written once (cached under ``--cache``) as a logrotate
directory: nine gzipped rotated files and the live plain file. Each run backfills the directory
end to end (read + gunzip, transform in worker processes, INSERTs of ``backfill_batch_size``,
checkpoints and dead letters) into a fresh, fully migrated database of an embedded store in this
process, and prints events/s of wall time, and the CPU time it took (this process and its
worker processes, user + system) per event, and this process's share by thread (chDB's insert
pipeline, its merges, the Python threads). On a shared machine the CPU time is the steadier
figure: ``cores / CPU per event`` is the rate the pipeline would reach with the cores to itself.

``--stages``: where the CPU goes, measured stage by stage in this process on a sample of the
same lines: read + gunzip, parse, transform, serialise + pack, the hand-over between processes
(pickle both ways), and the INSERT into a table that keeps nothing (the format), the raw table
alone (JSON extraction, sort, compression) and the fully migrated database (the materialized
views). ``--views`` adds the cost of each materialized view (dropped one by one).

Target: >= 50,000 events/s end to end on 2 cores. Prints medians of the runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import resource
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "fixtures" / "erb" / "events"

# Spawned worker processes run this file again (as "__mp_main__") before their work: they need
# none of these, and importing them (the store, the ingest state's sqlalchemy, chDB's client)
# would cost each worker ~1 s of CPU that the CLI's workers do not pay.
if __name__ == "__main__":
    import orjson
    from clickhouse_connect.driver.client import Client

    from aspects.ingest.backfill import backfill
    from aspects.ingest.files import Chunk, discover, open_binary, read_chunks, split_lines
    from aspects.ingest.state import IngestState
    from aspects.ingest.synthetic import load_templates, synthetic_lines, write_lines
    from aspects.ingest.transformer import ConverterSpec, build_converter
    from aspects.settings import Settings
    from aspects.store.client import open_client
    from aspects.store.migrate import migrate
    from aspects.store.settings import StoreSettings

TARGET = 50_000
FILES = 10


def make_logs(directory: Path, events: int) -> Path:
    """The logrotate directory of ``events`` lines (reused when already there)."""
    logs = directory / f"logs-{events}"
    done = logs / ".complete"
    if done.exists():
        return logs
    logs.mkdir(parents=True, exist_ok=True)
    templates = load_templates(EVENTS)
    lines = synthetic_lines(templates, events, seed=2026, per_second=20, malformed_every=1000)
    per_file = events // FILES
    began = time.monotonic()
    for index in range(FILES):
        count = per_file if index < FILES - 1 else events - per_file * (FILES - 1)
        age = FILES - 1 - index
        name = "tracking.log" if age == 0 else f"tracking.log.{age}.gz"
        write_lines(logs / name, (next(lines) for _ in range(count)))
    done.touch()
    print(f"generated {events:,} lines in {time.monotonic() - began:.0f} s into {logs}")
    return logs


def cpu_seconds() -> tuple[float, float]:
    """User + system CPU of this process (reader, writer, chDB) and of its finished children
    (the worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def thread_cpu() -> dict[str, tuple[str, float]]:
    """CPU seconds (user + system) of each live thread of this process, by thread id, with the
    thread's name (chDB names its threads: MergeMutate, ThreadPool, ...; Python's are "python").
    Linux only (empty elsewhere)."""
    threads: dict[str, tuple[str, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    task = Path("/proc/self/task")
    for tid in os.listdir(task) if task.exists() else []:
        try:
            name = (task / tid / "comm").read_text().strip()
            fields = (task / tid / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        threads[tid] = (name, (int(fields[11]) + int(fields[12])) / tick)
    return threads


def thread_split(
    before: dict[str, tuple[str, float]], after: dict[str, tuple[str, float]], own: float
) -> dict[str, float]:
    """This process's CPU between two :func:`thread_cpu` readings, by thread name; what threads
    that ended meanwhile used (the writer thread, idle pool threads) is the rest of ``own``."""
    split: dict[str, float] = {}
    for tid, (name, cpu) in after.items():
        split[name] = split.get(name, 0.0) + cpu - before.get(tid, (name, 0.0))[1]
    split["threads that ended (writer, ...)"] = own - sum(split.values())
    return split


class PeakRss:
    """The largest resident set of this process while it runs (sampled every 50 ms from
    /proc/self/status; ru_maxrss would only give the largest since the process started)."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        status = Path("/proc/self/status")
        while not self._stop.wait(0.05):
            for line in status.read_text().splitlines() if status.exists() else []:
                if line.startswith("VmRSS:"):
                    self.peak_kib = max(self.peak_kib, int(line.split()[1]))

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "aspects-bench")
    parser.add_argument("--batch", type=int, default=None, help="ingest.backfill_batch_size")
    parser.add_argument("--stages", action="store_true", help="CPU per stage, in one process")
    parser.add_argument("--views", action="store_true", help="with --stages: CPU per view")
    parser.add_argument("--sample", type=int, default=100_000, help="lines for --stages")
    parser.add_argument(
        "--builds",
        default="native",
        help="comma-separated, run in turn: native (the native transformer first when built, "
        "a chunk per call: the default), noderive (the same without the derived columns, which "
        "ClickHouse then computes), rows (the native transformer a line per call), python "
        "(the Python transformer only); NAME@N: with N statements per INSERT",
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    logs = make_logs(args.cache, args.events)
    size = sum(path.stat().st_size for path in discover([logs]))
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    client = open_client(StoreSettings(path=work / "clickhouse"), work)
    workers = args.workers if args.workers is not None else os.cpu_count()
    cores = os.cpu_count() or 1
    print(
        f"{args.events:,} lines, {size / 1e6:.0f} MB gzipped, {cores} cores, "
        f"{workers} transform workers, load {load()}"
    )
    builds = args.builds.split(",")
    print(f"lines the native transformer handles: {native_share(logs, args.sample)}")
    results: dict[str, tuple[list[float], list[float]]] = {build: ([], []) for build in builds}
    for run, build in ((run, build) for run in range(args.runs) for build in builds):
        rates, cpu_rates = results[build]
        name, _, batch = build.partition("@")
        use_build(name)
        batch_size = int(batch) if batch else args.batch
        store = StoreSettings(path=work / "clickhouse", database=f"bench_{uuid.uuid4().hex[:8]}")
        migrate(client, store)
        settings = Settings(
            data_dir=work / f"run{run}-{build}",
            store=store,
            transform={"secret": "benchmark-secret"},
            ingest={} if batch_size is None else {"backfill_batch_size": batch_size},
        )
        state = IngestState(f"sqlite:///{work / f'run{run}-{build}' / 'ingest.sqlite3'}")
        before = load()
        threads = thread_cpu()
        own, children = cpu_seconds()
        rss = PeakRss()
        summary = backfill(settings, client, state, [logs], workers=workers)
        own_after, children_after = cpu_seconds()
        threads_after = thread_cpu()
        own, children = own_after - own, children_after - children
        cpu = own + children
        rate = summary.events / summary.seconds
        per_event = cpu / summary.events
        rates.append(rate)
        cpu_rates.append(cores / per_event)
        print(
            f"{build} run {run + 1}: {summary.events:,} events -> "
            f"{summary.statements:,} statements, "
            f"{summary.rejected:,} rejected, {summary.seconds:.1f} s: {rate:,.0f} events/s; "
            f"CPU {cpu:.1f} s = {per_event * 1e6:.1f} us/event (this process "
            f"{own / summary.events * 1e6:.1f}, workers {children / summary.events * 1e6:.1f}) "
            f"-> {cores / per_event:,.0f} events/s on {cores} free cores; "
            f"load {before} -> {load()}"
        )
        split = thread_split(threads, threads_after, own)
        print(
            "  this process by thread (us/event): "
            + ", ".join(
                f"{name} {cpu / summary.events * 1e6:.1f}"
                for name, cpu in sorted(split.items(), key=lambda item: -item[1])
                if abs(cpu) / summary.events >= 0.05e-6
            )
        )
        print(f"  peak RSS of this process during the run: {rss.stop():,.0f} MB")
        state.close()
        client.command(f"DROP DATABASE {store.database}")
    for build, (rates, cpu_rates) in results.items():
        if not rates:  # --runs 0: only --stages
            continue
        median = statistics.median(rates)
        print(
            f"{build}: backfill end to end: median {median:,.0f} events/s of wall time, "
            f"{statistics.median(cpu_rates):,.0f} events/s of CPU time on {cores} cores; "
            f"target >= {TARGET:,}: {'met' if median >= TARGET else 'NOT met'} (wall)"
        )
    if args.stages:
        stages(client, work, logs, args.sample, args.views)


def use_build(build: str) -> None:
    """Make the next backfill use the native transformer (when built; by chunk or by line) or
    only Python's."""
    import aspects.ingest.backfill as module

    original = getattr(module, "_original_converter_spec", None) or module.converter_spec
    module._original_converter_spec = original  # type: ignore[attr-defined]
    if build == "native":
        module.converter_spec = original
        return
    changes = {
        "python": {"native": False},
        "rows": {"native_chunk": False},
        "noderive": {"native_derive": False},
    }.get(build)
    if changes is None:
        raise SystemExit(f"unknown build {build!r} (native, noderive, rows, python)")

    def changed(*args: Any, **kwargs: Any) -> Any:
        return dataclasses.replace(original(*args, **kwargs), **changes)

    module.converter_spec = changed


def native_share(logs: Path, sample: int) -> str:
    """How many of the first ``sample`` lines the native transformer handles (not None)."""
    try:
        from aspects.transform.fast import open_fast
    except ImportError:  # an older tree
        return "no native transformer in this tree"
    fast = open_fast(Settings().transform, secret="benchmark-secret")
    if fast is None:
        return "the native transformer is not built"
    handled = lines = 0
    with open_binary(next(iter(discover([logs])))) as handle:
        for chunk in read_chunks(handle, 0, final=True):
            for _offset, line in split_lines(chunk):
                lines += 1
                handled += fast.rows(line) is not None
            if lines >= sample:
                break
    return f"{handled:,} of {lines:,} ({handled / lines:.0%})"


def chunk_path(chunks: list[Chunk], events: int) -> None:
    """The workers' chunk path stage by stage (what a backfill worker runs): the native chunk
    call without and with the derived columns, the converter's Python around it (the lines it
    leaves, joining), and the hand-over both ways (medians of 3 passes, CPU per event)."""
    from aspects.transform.fast import open_fast

    fast = open_fast(Settings().transform, secret="benchmark-secret")
    if fast is None:
        print("  chunk path: the native transformer is not built")
        return
    spec = ConverterSpec(Settings().transform, "benchmark-secret", 16384, labels=False)
    converter = build_converter(spec)
    converted = [converter.convert(chunk) for chunk in chunks]  # warm the caches
    sent = [pickle.dumps(item, pickle.HIGHEST_PROTOCOL) for item in converted]
    given = [pickle.dumps(chunk, pickle.HIGHEST_PROTOCOL) for chunk in chunks]
    steps: dict[str, Any] = {
        "native chunk, no derived": lambda: [fast.chunk(c.data, derive=False) for c in chunks],
        "native chunk": lambda: [fast.chunk(c.data) for c in chunks],
        "convert (all of it)": lambda: [converter.convert(c) for c in chunks],
        "answer pickled (worker)": lambda: [
            pickle.dumps(c, pickle.HIGHEST_PROTOCOL) for c in converted
        ],
        "answer unpickled (writer)": lambda: [pickle.loads(data) for data in sent],
        "chunk pickled (writer)": lambda: [
            pickle.dumps(c, pickle.HIGHEST_PROTOCOL) for c in chunks
        ],
        "chunk unpickled (worker)": lambda: [pickle.loads(data) for data in given],
    }
    times = {}
    for name, step in steps.items():
        runs = []
        for _ in range(3):
            began = time.process_time()
            step()
            runs.append(time.process_time() - began)
        times[name] = statistics.median(runs) / events * 1e6
    print("  the chunk path (a worker's, in this process; medians of 3):")
    derived = times["native chunk"] - times["native chunk, no derived"]
    python = times["convert (all of it)"] - times["native chunk"]
    for name, value in [
        ("native transform + packing", times["native chunk, no derived"]),
        ("derived columns", derived),
        ("Python around it", python),
        *[(name, times[name]) for name in list(steps)[3:]],
    ]:
        print(f"    {name:28s} {value:6.1f} us")


def stages(client: Client, work: Path, logs: Path, sample: int, views: bool) -> None:
    """CPU per event of each stage, in this process, on the first ``sample`` lines."""
    # Imported here: the backfill runs above also work with older versions of the package
    # (PYTHONPATH=<old checkout>/src), for before/after comparisons.
    from aspects.store.statements import (
        PackedStatements,
        StatementPacker,
        actor_id_of,
        insert_packed,
    )
    from aspects.transform import Transformer, parse_line

    clock = time.process_time
    began = clock()
    chunks: list[Chunk] = []
    count = 0
    with open_binary(next(iter(discover([logs])))) as handle:
        for chunk in read_chunks(handle, 0, final=True):
            chunks.append(chunk)
            count += chunk.data.count(b"\n")
            if count >= sample:
                break
    costs = {"read + gunzip": clock() - began}
    transformer = Transformer(Settings().transform, secret="benchmark-secret")
    events = statements = 0
    packed: list[PackedStatements] = []
    costs.update({"parse": 0.0, "transform": 0.0, "serialise + pack": 0.0})
    for chunk in chunks:  # chunk by chunk, as a worker does (few objects alive at a time)
        began = clock()
        parsed = []
        for _offset, line in split_lines(chunk):
            events += 1
            try:
                parsed.append(parse_line(line))
            except Exception:  # a dead letter: not a stage
                continue
        costs["parse"] += clock() - began
        began = clock()
        produced = []
        for event in parsed:
            try:
                produced.extend(transformer.transform(event))
            except Exception:  # a dead letter
                continue
        costs["transform"] += clock() - began
        began = clock()
        packer = StatementPacker()
        for statement in produced:
            packer.add(statement["id"], orjson.dumps(statement), actor_id_of(statement))
        packed.append(packer.build())
        statements += len(produced)
        costs["serialise + pack"] += clock() - began
    converter = build_converter(ConverterSpec(Settings().transform, "benchmark-secret", 16384))
    converted = [converter.convert(chunk) for chunk in chunks]
    began = clock()
    for item in converted:
        pickle.loads(pickle.dumps(item, pickle.HIGHEST_PROTOCOL))
    costs["hand-over (pickle)"] = clock() - began
    print(f"stages, one process, {events:,} lines -> {statements:,} statements (CPU per event):")
    for name, seconds in costs.items():
        print(f"  {name:28s} {seconds / events * 1e6:6.1f} us")
    chunk_path(chunks, events)
    now = datetime.now(UTC)

    def insert(database: str) -> float:
        began = clock()
        for start in range(0, len(packed), 50):
            insert_packed(client, database, packed[start : start + 50], now, "tracking-log")
        return clock() - began

    null = f"bench_null_{uuid.uuid4().hex[:8]}"
    client.command(f"CREATE DATABASE {null}")
    client.command(
        f"CREATE TABLE {null}.xapi_statements (statement_id UUID, statement String, "
        "stored_time DateTime64(6, 'UTC'), source LowCardinality(String)) ENGINE = Null"
    )
    raw = StoreSettings(path=work / "clickhouse", database=f"bench_raw_{uuid.uuid4().hex[:8]}")
    migrate(client, raw)
    full = StoreSettings(path=work / "clickhouse", database=f"bench_all_{uuid.uuid4().hex[:8]}")
    migrate(client, full)
    mvs = sorted(
        client.query(
            "SELECT dependencies_table FROM system.tables "
            "WHERE database = {db:String} AND name = 'xapi_statements'",
            parameters={"db": full.database},
        ).result_rows[0][0]
    )
    views_of_raw = client.query(
        "SELECT name FROM system.tables WHERE database = {db:String} "
        "AND engine = 'MaterializedView'",
        parameters={"db": raw.database},
    ).result_rows
    for (name,) in views_of_raw:  # the raw table alone: no view reads it
        client.command(f"DROP VIEW {raw.database}.{name}")
    print(f"  INSERT, 50k per INSERT, per statement ({len(mvs)} views read the raw table):")
    for label, database in [
        ("format only (Null table)", null),
        ("raw table, no views", raw.database),
        ("raw table and its views", full.database),
    ]:
        seconds = [insert(database) for _ in range(3)]
        print(
            f"    {label:28s} {statistics.median(seconds) / statements * 1e6:6.1f} us (median of 3)"
        )
    if views:
        print(
            "  each view (the insert's CPU with it minus without it, dropped one by one; medians "
            "of 5, differences of noisy figures):"
        )
        previous = statistics.median([insert(full.database) for _ in range(5)])
        for name in mvs:
            client.command(f"DROP VIEW {full.database}.{name}")
            without = statistics.median([insert(full.database) for _ in range(5)])
            print(f"    {name:34s} {(previous - without) / statements * 1e6:6.1f} us")
            previous = without
    for database in (null, raw.database, full.database):
        client.command(f"DROP DATABASE {database}")
    print(f"load {load()}")


if __name__ == "__main__":
    sys.exit(main())
