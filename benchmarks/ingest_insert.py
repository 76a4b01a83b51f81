"""The backfill's INSERT side alone: chDB's CPU per statement by INSERT size and settings.

Run: ``.venv/bin/python benchmarks/ingest_insert.py [--configs 50000,100000,150000]
[--rounds 3] [--lines 300000] [--repeat 3]``

Packs the first ``--lines`` lines of the backfill benchmark's logs (``ingest_backfill.py``'s
cache; made there when missing) once, as the workers would, then for each configuration inserts
them ``--repeat`` times (about 1M statements with the defaults: merges grow with the data, so a
small sample understates them) into a fresh, fully migrated database of an embedded store with
``insert_packed``, and waits until its merges are done. Prints, per statement: this process's
CPU while inserting, the total once merges are idle, the merge threads' share, and the active
parts of the raw table left. Configurations run interleaved (the order rotates each round);
medians of the rounds.

A configuration is ``N`` (statements per INSERT) optionally followed by ``+setting=value``
pairs given to the INSERT, e.g. ``100000+parallel_view_processing=1``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_backfill import load, make_logs, thread_cpu

import aspects.store.statements as statements
from aspects.ingest.files import discover, open_binary, read_chunks
from aspects.ingest.transformer import ConverterSpec, build_converter
from aspects.settings import Settings
from aspects.store.client import open_client
from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings
from aspects.store.statements import PackedStatements, insert_packed


@dataclass(frozen=True)
class Config:
    name: str
    size: int
    settings: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Config:
        size, *pairs = text.split("+")
        return cls(text, int(size), dict(pair.split("=", 1) for pair in pairs))


def pack(logs: Path, lines: int) -> list[PackedStatements]:
    """The first ``lines`` lines of ``logs``, converted and packed as a worker does."""
    converter = build_converter(
        ConverterSpec(Settings().transform, "benchmark-secret", 16384, labels=False)
    )
    parts: list[PackedStatements] = []
    read = 0
    for path in discover([logs]):
        with open_binary(path) as handle:
            for chunk in read_chunks(handle, 0, final=True):
                converted = converter.convert(chunk)
                parts.append(converted.statements)
                read += converted.events
                if read >= lines:
                    return parts
    return parts


def batches(parts: list[PackedStatements], size: int) -> list[list[PackedStatements]]:
    out: list[list[PackedStatements]] = []
    current: list[PackedStatements] = []
    count = 0
    for part in parts:
        current.append(part)
        count += part.count
        if count >= size:
            out.append(current)
            current, count = [], 0
    if current:
        out.append(current)
    return out


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="50000,100000,150000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--events", type=int, default=1_000_000, help="the logs to read from")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "aspects-bench")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    parts = pack(make_logs(args.cache, args.events), args.lines) * args.repeat
    total = sum(part.count for part in parts)
    work = Path(tempfile.mkdtemp(prefix="ingest-insert-"))
    client = open_client(StoreSettings(path=work / "clickhouse"), work)
    configs = [Config.parse(text) for text in args.configs.split(",")]
    print(f"{total:,} statements ({args.lines:,} lines x {args.repeat}), load {load()}")

    def wait_for_merges(database: str) -> None:
        quiet = 0
        while quiet < 3:  # none running for 1.5 s
            time.sleep(0.5)
            running = client.query(
                "SELECT count() FROM system.merges WHERE database = {db:String}",
                parameters={"db": database},
            ).result_rows[0][0]
            quiet = quiet + 1 if running == 0 else 0

    def run(config: Config) -> dict[str, float]:
        store = StoreSettings(path=work / "clickhouse", database=f"ins_{uuid.uuid4().hex[:8]}")
        migrate(client, store)
        default = dict(statements._PACKED_INSERT_SETTINGS)
        statements._PACKED_INSERT_SETTINGS.update(config.settings)
        try:
            now = datetime.now(UTC)
            threads, began = thread_cpu(), cpu()
            for batch in batches(parts, config.size):
                insert_packed(client, store.database, batch, now, "tracking-log")
            inserted = cpu()
            wait_for_merges(store.database)
            done, threads_after = cpu(), thread_cpu()
        finally:
            statements._PACKED_INSERT_SETTINGS.clear()
            statements._PACKED_INSERT_SETTINGS.update(default)
        merges = sum(
            seconds - threads.get(tid, (name, 0.0))[1]
            for tid, (name, seconds) in threads_after.items()
            if name.startswith("MergeMutate")
        )
        active = client.query(
            "SELECT count() FROM system.parts WHERE database = {db:String} "
            "AND table = 'xapi_statements' AND active",
            parameters={"db": store.database},
        ).result_rows[0][0]
        client.command(f"DROP DATABASE {store.database} SYNC")
        return {
            "insert": (inserted - began) / total * 1e6,
            "total": (done - began) / total * 1e6,
            "merges": merges / total * 1e6,
            "parts": float(active),
        }

    results: dict[str, list[dict[str, float]]] = {config.name: [] for config in configs}
    for round_ in range(args.rounds):
        shift = round_ % len(configs)
        for config in configs[shift:] + configs[:shift]:
            figures = run(config)
            results[config.name].append(figures)
            print(
                f"round {round_ + 1} {config.name:>24s}: inserting {figures['insert']:5.1f}, "
                f"until merged {figures['total']:5.1f} (merges {figures['merges']:4.1f}) us per "
                f"statement; {figures['parts']:.0f} raw parts; load {load()}"
            )
    for name, runs in results.items():

        def median(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(figures[key] for figures in runs)

        print(
            f"median {name:>24s}: inserting {median('insert'):5.1f}, until merged "
            f"{median('total'):5.1f} (merges {median('merges'):4.1f}) us per statement"
        )
    print(f"load {load()}; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
