"""The raw table's derived columns from Rust: their cost, and chDB's INSERT with and without them.

Run: ``.venv/bin/python benchmarks/derive_insert.py [--rounds 3] [--lines 300000] [--repeat 3]
[--size 100000]``

Packs the first ``--lines`` lines of the backfill benchmark's logs once, as the workers do
(``ingest_insert.pack``), then:

1. the native ``derive_columns`` over every part's texts: CPU per statement (median of rounds)
   and the share of statements it is sure of;
2. interleaved rounds (the order alternates): the same statements (``--repeat`` times, about 1M
   with the defaults) inserted with ``insert_packed`` into a fresh, migrated database of an
   embedded store, ``--size`` per INSERT, once as today (4 columns: ClickHouse extracts the
   rest) and once with the derived columns (19 columns), then waiting for its merges. Prints this
   process's CPU per statement while inserting and until merged (chDB's merges included).
   ``--target 1``: the raw table alone (no views).
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_backfill import load, make_logs
from ingest_insert import batches, cpu, pack, wait_for_merges

from aspects.store.client import open_client
from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings
from aspects.store.statements import PackedStatements, insert_packed
from aspects.transform.fast import native_state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=100_000, help="statements per INSERT")
    parser.add_argument("--events", type=int, default=1_000_000, help="the logs to read from")
    parser.add_argument(
        "--target", type=int, default=None, help="migrate up to this version (1: the raw table)"
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "aspects-bench")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if native_state() != "loaded":
        raise SystemExit(f"native module {native_state()}")
    derive = importlib.import_module("aspects.transform._fast").derive_columns

    # without derived columns, whatever the workers' converter gave
    plain = [
        PackedStatements(part.ids, part.texts, part.actors)
        for part in pack(make_logs(args.cache, args.events), args.lines)
    ]
    count = sum(part.count for part in plain)
    costs = []
    for _ in range(max(args.rounds, 3)):
        began = time.process_time()
        derived = [part.with_derived(derive(part.texts)) for part in plain]
        costs.append((time.process_time() - began) / count * 1e6)
    sure = sum(part.count for part in derived if part.derived is not None)
    print(
        f"derive_columns: {statistics.median(costs):.2f} us per statement (median of "
        f"{len(costs)}: {', '.join(f'{c:.2f}' for c in costs)}); {sure:,} of {count:,} "
        f"statements in parts with derived columns; load {load()}"
    )

    work = Path(tempfile.mkdtemp(prefix="derive-insert-"))
    client = open_client(StoreSettings(path=work / "clickhouse"), work)
    ways: dict[str, list[PackedStatements]] = {
        "plain": plain * args.repeat,
        "derived": derived * args.repeat,
    }
    total = count * args.repeat
    print(f"{total:,} statements per run, {args.size:,} per INSERT, load {load()}")

    def run(parts: list[PackedStatements]) -> tuple[float, float]:
        store = StoreSettings(path=work / "clickhouse", database=f"der_{uuid.uuid4().hex[:8]}")
        migrate(client, store, args.target)
        now = datetime.now(UTC)
        began = cpu()
        for batch in batches(parts, args.size):
            insert_packed(client, store.database, batch, now, "tracking-log")
        inserted = cpu()
        wait_for_merges(client, store.database)
        done = cpu()
        client.command(f"DROP DATABASE {store.database} SYNC")
        return (inserted - began) / total * 1e6, (done - began) / total * 1e6

    results: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for round_ in range(args.rounds):
        order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
        for name in order:
            figures = run(ways[name])
            results[name].append(figures)
            print(
                f"round {round_ + 1} {name:>8s}: inserting {figures[0]:5.1f}, until merged "
                f"{figures[1]:5.1f} us per statement; load {load()}"
            )
    for name, runs in results.items():
        print(
            f"median {name:>8s}: inserting {statistics.median(r[0] for r in runs):5.1f}, "
            f"until merged {statistics.median(r[1] for r in runs):5.1f} us per statement"
        )
    print(f"load {load()}; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
