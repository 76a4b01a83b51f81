"""Backfill throughput: >= 1M realistic events from gzipped rotated logs into the embedded store.

Run: ``.venv/bin/python benchmarks/ingest_backfill.py [--events N] [--runs R] [--workers W]``

Lines are made from ERB's fixture events (tests/fixtures/erb/events) by
``aspects.ingest.synthetic``: 5,000 learners, 20 courses in 4 organisations, time-ordered,
1 line in 1,000 malformed. They are written once (cached under ``--cache``) as a logrotate
directory: nine gzipped rotated files and the live plain file. Each run backfills the directory
end to end (read + gunzip, transform in worker processes, INSERTs of ``backfill_batch_size``,
checkpoints and dead letters) into a fresh, fully migrated database of an embedded store in this
process, and prints events/s. Then, to show where the time goes, one process's transform rate
and the store's insert rate for the same statements.

Target: >= 50,000 events/s end to end on 2 cores. Prints medians of the runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "fixtures" / "erb" / "events"

from aspects.ingest.backfill import backfill  # noqa: E402
from aspects.ingest.convert import LineConverter  # noqa: E402
from aspects.ingest.files import discover, open_binary, read_chunks  # noqa: E402
from aspects.ingest.state import IngestState  # noqa: E402
from aspects.ingest.synthetic import load_templates, synthetic_lines, write_lines  # noqa: E402
from aspects.ingest.transformer import ConverterSpec, build_converter  # noqa: E402
from aspects.settings import Settings  # noqa: E402
from aspects.store.client import open_client  # noqa: E402
from aspects.store.migrate import migrate  # noqa: E402
from aspects.store.settings import StoreSettings  # noqa: E402
from aspects.store.statements import StatementRow, insert_statements  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "aspects-bench")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    logs = make_logs(args.cache, args.events)
    size = sum(path.stat().st_size for path in discover([logs]))
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    client = open_client(StoreSettings(path=work / "clickhouse"), work)
    workers = args.workers if args.workers is not None else os.cpu_count()
    print(
        f"{args.events:,} lines, {size / 1e6:.0f} MB gzipped, {os.cpu_count()} cores, "
        f"{workers} transform workers, load {os.getloadavg()[0]:.1f}"
    )
    rates, statement_rates = [], []
    statements_text: list[tuple[str, str, str, str]] = []
    for run in range(args.runs):
        store = StoreSettings(path=work / "clickhouse", database=f"bench_{uuid.uuid4().hex[:8]}")
        migrate(client, store)
        settings = Settings(
            data_dir=work / f"run{run}",
            store=store,
            transform={"secret": "benchmark-secret"},
        )
        state = IngestState(f"sqlite:///{work / f'run{run}' / 'ingest.sqlite3'}")
        summary = backfill(settings, client, state, [logs], workers=workers)
        rate = summary.events / summary.seconds
        rates.append(rate)
        statement_rates.append(summary.statements / summary.seconds)
        print(
            f"run {run + 1}: {summary.events:,} events -> {summary.statements:,} statements, "
            f"{summary.rejected:,} rejected, {summary.seconds:.1f} s: {rate:,.0f} events/s"
        )
        state.close()
        client.command(f"DROP DATABASE {store.database}")
    median = statistics.median(rates)
    print(
        f"backfill end to end: median {median:,.0f} events/s "
        f"({statistics.median(statement_rates):,.0f} statements/s); target >= {TARGET:,}: "
        f"{'met' if median >= TARGET else 'NOT met'}"
    )

    # Where the time goes: one process transforming, and the store inserting.
    converter: LineConverter = build_converter(
        ConverterSpec(Settings().transform, "benchmark-secret", 16384)
    )
    sample = 100_000
    with open_binary(next(iter(discover([logs])))) as handle:
        chunks = []
        count = 0
        for chunk in read_chunks(handle, 0, final=True):
            chunks.append(chunk)
            count += chunk.data.count(b"\n")
            if count >= sample:
                break
    began = time.monotonic()
    events = 0
    for chunk in chunks:
        converted = converter.convert(chunk)
        events += converted.events
        statements_text.extend(converted.statements)
    transform_rate = events / (time.monotonic() - began)
    print(f"transform alone, one process: {transform_rate:,.0f} events/s")
    store = StoreSettings(path=work / "clickhouse", database=f"bench_{uuid.uuid4().hex[:8]}")
    migrate(client, store)
    from datetime import UTC, datetime

    rows = [
        StatementRow(uuid.UUID(sid), text, datetime.now(UTC), "tracking-log")
        for sid, text, _name, _org in statements_text
    ]
    began = time.monotonic()
    for start in range(0, len(rows), 50_000):
        insert_statements(client, store.database, rows[start : start + 50_000])
    insert_rate = len(rows) / (time.monotonic() - began)
    print(f"insert alone (insert_statements, 50k per INSERT): {insert_rate:,.0f} statements/s")


if __name__ == "__main__":
    sys.exit(main())
