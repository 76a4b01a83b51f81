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
pairs given to the INSERT, e.g. ``100000+parallel_view_processing=1``, by ``@stream`` (send
the Native block through chDB's in-memory streaming insert, ``Connection.send_insert``, instead
of clickhouse-connect's temporary file and ``INSERT ... FROM INFILE``), by ``@strings`` (the
derived LowCardinality columns sent as String, as before session 7, instead of dictionary-encoded
by the native ``low_cardinality``), and by ``#variant``
names: schema changes applied to the fresh database after its migrations (``VARIANTS``, e.g.
``100000#nostats#lz4``), to measure a candidate migration before writing it.

``--fixed N`` measures instead the fixed CPU cost of an INSERT (N small INSERTs per
configuration; the size in a configuration is then ignored, e.g. ``--configs
'0,0#noviews' --fixed 20``). For merges, use unique statements (``--lines 1000000 --repeat
1``): with ``--repeat 3`` merges collapse the copies and cost about half as much.
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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_backfill import load, make_logs, thread_cpu

import aspects.store.lowcard as lowcard
import aspects.store.statements as statements
from aspects.ingest.files import discover, open_binary, read_chunks
from aspects.ingest.transformer import ConverterSpec, build_converter
from aspects.settings import Settings
from aspects.store.client import open_client
from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings
from aspects.store.statements import PackedStatements, insert_packed

# Candidate schema changes, each a list of statements run after the migrations (${db}: the
# database). The views and tables that each INSERT into the raw table feeds are listed in
# migrations 0021-0031.
_RAW = "ALTER TABLE ${db}.xapi_statements "
_FACTS = [
    "voided_statements",
    "fact_enrollment",
    "fact_video",
    "fact_problem",
    "fact_navigation",
    "fact_grades",
    "fact_completion",
    "fact_forum",
    "fact_activity",
]
_VIEWS = [f"{table}_mv" for table in _FACTS]
VARIANTS: dict[str, list[str]] = {
    # no skip indexes on the raw table (their cost, not a candidate as such)
    "noidx": [
        _RAW + "DROP INDEX idx_statement_id",
        _RAW + "DROP INDEX idx_actor_id",
        _RAW + "DROP INDEX idx_verb_id",
    ],
    # the raw table without its two bloom filters (no read of today's code is pruned by them:
    # erasure reads toString(actor_id), which they cannot serve); idx_verb_id kept
    "nobloom": [
        _RAW + "DROP INDEX idx_statement_id",
        _RAW + "DROP INDEX idx_actor_id",
    ],
    # no report views (their cost)
    "noviews": [f"DROP VIEW ${{db}}.{view}" for view in _VIEWS],
    # no statistics collected automatically on every column in merges (ClickHouse 26's
    # auto_statistics_types default: basic, uniq_v2)
    "nostats": [
        f"ALTER TABLE ${{db}}.{table} MODIFY SETTING auto_statistics_types = ''"
        for table in ["xapi_statements", *_FACTS]
    ],
    "rawnostats": [_RAW + "MODIFY SETTING auto_statistics_types = ''"],
    # the report tables alone (migration 0040)
    "factnostats": [
        f"ALTER TABLE ${{db}}.{table} MODIFY SETTING auto_statistics_types = ''"
        for table in [*_FACTS, "activity_day_changes"]
    ],
    # the statement column's codec: ZSTD(1) since migration 0035 (ZSTD(3) before)
    "lz4": [_RAW + "MODIFY COLUMN statement String CODEC(LZ4)"],
    "zstd1": [_RAW + "MODIFY COLUMN statement String CODEC(ZSTD(1))"],
    "zstd3": [_RAW + "MODIFY COLUMN statement String CODEC(ZSTD(3))"],
    # compact parts for new raw parts (one file for all columns instead of two per column)
    "compact": [_RAW + "MODIFY SETTING min_bytes_for_wide_part = 1073741824"],
    "nosparse": [
        f"ALTER TABLE ${{db}}.{table} MODIFY SETTING ratio_of_defaults_for_sparse_serialization = 1"
        for table in ["xapi_statements", *_FACTS]
    ],
    # fewer, larger merges (write amplification)
    "base8": [
        f"ALTER TABLE ${{db}}.{table} MODIFY SETTING merge_selector_base = 8"
        for table in ["xapi_statements", *_FACTS]
    ],
    "novertical": [_RAW + "MODIFY SETTING enable_vertical_merge_algorithm = 0"],
    # the chained view of migration 0031 (fed by fact_activity's inserts)
    "noday": ["DROP VIEW ${db}.activity_day_changes_mv"],
}
# each report view alone left out ("no_fact_activity", ...)
VARIANTS.update({f"no_{table}": [f"DROP VIEW ${{db}}.{table}_mv"] for table in _FACTS})
# one table's merges stopped ("nomerge_xapi_statements", ...): what its merges cost
VARIANTS.update(
    {
        f"nomerge_{table}": [f"SYSTEM STOP MERGES ${{db}}.{table}"]
        for table in ["xapi_statements", *_FACTS]
    }
)


@dataclass(frozen=True)
class Config:
    name: str
    size: int
    settings: dict[str, str]
    stream: bool
    variants: list[str]
    strings: bool = False

    @classmethod
    def parse(cls, text: str) -> Config:
        head, *variants = text.split("#")
        strings = "@strings" in head
        head = head.replace("@strings", "")
        stream = head.endswith("@stream")
        size, *pairs = head.removesuffix("@stream").split("+")
        unknown = [name for name in variants if name not in VARIANTS]
        if unknown:
            raise SystemExit(f"unknown variants {unknown}; known: {sorted(VARIANTS)}")
        settings = dict(pair.split("=", 1) for pair in pairs)
        return cls(text, int(size), settings, stream, variants, strings)


class StreamingClient:
    """``client`` whose ``raw_insert`` goes through chDB's in-memory streaming insert
    (``send_insert``) on the client's own chDB connection, under its lock, instead of a
    temporary file read by ``INSERT ... FROM INFILE``; everything else is the client's."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def raw_insert(
        self,
        table: str,
        column_names: Sequence[str],
        insert_block: bytes,
        fmt: str,
        settings: dict[str, Any],
    ) -> None:
        handle = self._client._backend._handle  # clickhouse-connect 1.12's chDB backend
        pairs = ", ".join(f"{key} = {value}" for key, value in settings.items())
        sql = f"INSERT INTO {table} ({', '.join(column_names)})"
        if pairs:
            sql += f" SETTINGS {pairs}"
        with handle.lock:
            inserter = handle.conn.send_insert(sql, fmt)
            inserter.append(insert_block)
            inserter.finish()


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


def wait_for_merges(client: Any, database: str) -> None:
    """Until no merge of ``database`` has run for 1.5 s."""
    quiet = 0
    while quiet < 3:
        time.sleep(0.5)
        running = client.query(
            "SELECT count() FROM system.merges WHERE database = {db:String}",
            parameters={"db": database},
        ).result_rows[0][0]
        quiet = quiet + 1 if running == 0 else 0


def fixed_cost(args: argparse.Namespace) -> None:
    """CPU per INSERT of one small part (~1,000 statements) into fresh databases with every
    table's merges stopped, ``--fixed`` INSERTs per configuration, rounds interleaved. Session
    8: ~110-150 ms with all report views against ~25-35 for the raw table alone (~10 ms per
    view that writes a part), whatever the INSERT's size: at 100,000 statements per INSERT
    ~1.1-1.5 us per statement; for the LRS's raw copy, per copy."""
    part = next(part for part in pack(make_logs(args.cache, args.events), 2_000) if part.count)
    work = Path(tempfile.mkdtemp(prefix="ingest-fixed-"))
    client = open_client(StoreSettings(path=work / "clickhouse"), work)
    configs = [Config.parse(text) for text in args.configs.split(",")]
    print(f"{part.count} statements per INSERT, {args.fixed} INSERTs; load {load()}")
    results: dict[str, list[float]] = {config.name: [] for config in configs}
    for round_ in range(args.rounds):
        for config in configs[round_ % len(configs) :] + configs[: round_ % len(configs)]:
            database = f"fix_{uuid.uuid4().hex[:8]}"
            migrate(client, StoreSettings(path=work / "clickhouse", database=database))
            for variant in config.variants:
                for sql in VARIANTS[variant]:
                    client.command(sql.replace("${db}", database))
            for (table,) in client.query(
                "SELECT name FROM system.tables WHERE database = {db:String} "
                "AND engine LIKE '%MergeTree'",
                parameters={"db": database},
            ).result_rows:
                client.command(f"SYSTEM STOP MERGES {database}.{table}")
            now = datetime.now(UTC)
            insert_packed(client, database, [part], now, "tracking-log")  # warm
            began = cpu()
            for _ in range(args.fixed):
                insert_packed(client, database, [part], now, "tracking-log")
            per_insert = (cpu() - began) / args.fixed * 1e3
            results[config.name].append(per_insert)
            client.command(f"DROP DATABASE {database} SYNC")
            print(f"round {round_ + 1} {config.name:>24s}: {per_insert:6.1f} ms CPU per INSERT")
    for name, runs in results.items():
        print(f"median {name:>24s}: {statistics.median(runs):6.1f} ms CPU per INSERT")
    print(f"load {load()}; {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="50000,100000,150000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--events", type=int, default=1_000_000, help="the logs to read from")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "aspects-bench")
    parser.add_argument(
        "--fixed",
        type=int,
        default=0,
        help="instead: this many small INSERTs (one worker chunk each, merges stopped) per "
        "configuration, and the CPU per INSERT: the fixed cost that views and parts add",
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.fixed:
        fixed_cost(args)
        return

    parts = pack(make_logs(args.cache, args.events), args.lines) * args.repeat
    total = sum(part.count for part in parts)
    work = Path(tempfile.mkdtemp(prefix="ingest-insert-"))
    client = open_client(StoreSettings(path=work / "clickhouse"), work)
    configs = [Config.parse(text) for text in args.configs.split(",")]
    print(f"{total:,} statements ({args.lines:,} lines x {args.repeat}), load {load()}")

    def run(config: Config) -> dict[str, float]:
        store = StoreSettings(path=work / "clickhouse", database=f"ins_{uuid.uuid4().hex[:8]}")
        migrate(client, store)
        for variant in config.variants:
            for sql in VARIANTS[variant]:
                client.command(sql.replace("${db}", store.database))
        target = StreamingClient(client) if config.stream else client
        default = dict(statements._PACKED_INSERT_SETTINGS)
        statements._PACKED_INSERT_SETTINGS.update(config.settings)
        encoder = lowcard.native_encoder
        if config.strings:
            lowcard.native_encoder = lambda: None  # type: ignore[assignment]
        try:
            now = datetime.now(UTC)
            threads, began = thread_cpu(), cpu()
            for batch in batches(parts, config.size):
                insert_packed(target, store.database, batch, now, "tracking-log")  # type: ignore[arg-type]
            inserted = cpu()
            wait_for_merges(client, store.database)
            done, threads_after = cpu(), thread_cpu()
        finally:
            statements._PACKED_INSERT_SETTINGS.clear()
            statements._PACKED_INSERT_SETTINGS.update(default)
            lowcard.native_encoder = encoder  # type: ignore[method-assign]
        merges = sum(
            seconds - threads.get(tid, (name, 0.0))[1]
            for tid, (name, seconds) in threads_after.items()
            if name.startswith("MergeMutate")
        )
        active, size = client.query(
            "SELECT count(), sum(bytes_on_disk) FROM system.parts WHERE database = {db:String} "
            "AND table = 'xapi_statements' AND active",
            parameters={"db": store.database},
        ).result_rows[0]
        client.command(f"DROP DATABASE {store.database} SYNC")
        return {
            "insert": (inserted - began) / total * 1e6,
            "total": (done - began) / total * 1e6,
            "merges": merges / total * 1e6,
            "parts": float(active),
            "megabytes": size / 1e6,
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
                f"statement; {figures['parts']:.0f} raw parts, {figures['megabytes']:.0f} MB; "
                f"load {load()}"
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
