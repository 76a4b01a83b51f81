"""Insert throughput of xAPI statements into the store, and bytes per statement on disk.

Run: ``.venv/bin/python benchmarks/store_insert.py [--rows N] [--runs R] [--skip-endpoint]``

Statements are ERB's own expected xAPI outputs (tests/fixtures/erb/xapi) used as templates, each
copy with a new id, one of 5,000 learners, one of 20 courses and 300 blocks per course, and
time-ordered timestamps over ~3 months (a backfill of a site's log). Mix: video and navigation
most, then problems, completion, grades, enrollment and forum, like a real course.

Every run inserts into a fresh, fully migrated database (so the materialized views of later
migrations run too), in batches of 10,000 through ``aspects.store.statements.insert_statements``:

(a) in-process chDB (clickhouse-connect ``interface="chdb"``),
(b) through ``aspects db serve`` (a subprocess) with clickhouse-connect over HTTP,
(c) for comparison, the engine alone: the same rows as pre-built JSONEachRow through
    ``raw_insert`` (no Python-side serialisation): the gap to (a) is what insert_statements costs.

Then OPTIMIZE FINAL and bytes per statement on disk (target <= 150), with the columns that
weigh most. Prints medians of the runs. Targets: >= 100k rows/s in-process on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "tests" / "fixtures" / "erb" / "xapi"

from clickhouse_connect.driver.client import Client  # noqa: E402

from aspects.store.client import open_client  # noqa: E402
from aspects.store.migrate import migrate  # noqa: E402
from aspects.store.settings import StoreSettings  # noqa: E402
from aspects.store.statements import StatementRow, insert_statements  # noqa: E402

BATCH = 10_000
TARGET: list[int | None] = [None]  # --schema: migrate up to this version (None: all)
_COURSE = re.compile(r"(?<=-v1:)[\w.-]+\+[\w.-]+\+[\w.-]+")
_BLOCK = re.compile(r"(?<=block@)[0-9a-f]{32}")
# Relative weight of each template family in the mix.
_WEIGHTS = {
    "video": 40,
    "play_video": 40,
    "pause_video": 30,
    "seek_video": 10,
    "stop_video": 5,
    "load_video": 10,
    "edx.ui.lms": 30,
    "problem_check": 20,
    "edx.grades": 8,
    "showanswer": 3,
    "edx.completion": 10,
    "edx.course.enrollment": 3,
    "edx.course.grade": 2,
    "edx.forum": 1,
}


def templates() -> list[tuple[str, int]]:
    """(statement template with @@ placeholders, weight) from ERB's expected statements."""
    found = []
    for path in sorted(TEMPLATES.glob("*.json")):
        loaded = json.loads(path.read_text())
        for statement in loaded if isinstance(loaded, list) else [loaded]:
            if "account" not in statement.get("actor", {}):
                continue
            statement["id"] = "@@ID@@"
            statement["actor"]["account"]["name"] = "@@ACTOR@@"
            statement["actor"]["account"]["homePage"] = "https://lms.example.org"
            statement["timestamp"] = "@@TS@@"
            text = json.dumps(statement, separators=(",", ":")).replace(
                "http://localhost:18000", "https://lms.example.org"
            )
            if len(text) > 4000:  # ERB's one giant multi-question fixture: not typical
                continue
            text = _BLOCK.sub("@@BLOCK@@", _COURSE.sub("@@COURSE@@", text))
            weight = max(
                (w for prefix, w in _WEIGHTS.items() if path.name.startswith(prefix)), default=1
            )
            found.append((text, weight))
    return found


def statements(count: int, seed: int = 11) -> list[StatementRow]:
    rng = random.Random(seed)
    pool = templates()
    texts = [text for text, _ in pool]
    weights = [weight for _, weight in pool]
    learners = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(5000)]
    courses = [f"Org{c % 4}+C{c:03d}+2024_T{1 + c % 3}" for c in range(20)]
    blocks = {c: [f"{rng.getrandbits(128):032x}" for _ in range(300)] for c in courses}
    start = datetime(2024, 3, 1, tzinfo=UTC)
    step = timedelta(days=90) / count
    stored = datetime.now(UTC)
    rows = []
    for i, text in enumerate(rng.choices(texts, weights, k=count)):
        course = rng.choice(courses)
        statement_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        stamp = (start + step * i + timedelta(seconds=rng.random())).isoformat()
        body = (
            text.replace("@@ID@@", str(statement_id))
            .replace("@@ACTOR@@", rng.choice(learners))
            .replace("@@TS@@", stamp)
            .replace("@@COURSE@@", course)
            .replace("@@BLOCK@@", rng.choice(blocks[course]))
        )
        rows.append(StatementRow(statement_id, body, stored + timedelta(microseconds=i), "bench"))
    return rows


def insert_all(client: Client, database: str, rows: list[StatementRow]) -> float:
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        insert_statements(client, database, rows[start : start + BATCH])
    return time.perf_counter() - started


def insert_json(client: Client, database: str, payloads: list[bytes]) -> float:
    started = time.perf_counter()
    for payload in payloads:
        client.raw_insert(
            f"{database}.xapi_statements",
            ["statement_id", "statement", "stored_time", "source"],
            payload,
            fmt="JSONEachRow",
        )
    return time.perf_counter() - started


def json_batches(rows: list[StatementRow]) -> list[bytes]:
    batches = []
    for start in range(0, len(rows), BATCH):
        batches.append(
            b"".join(
                orjson.dumps(
                    {
                        "statement_id": str(row.statement_id),
                        "statement": row.statement,
                        "stored_time": row.stored_time.strftime("%Y-%m-%d %H:%M:%S.%f"),
                        "source": row.source,
                    }
                )
                + b"\n"
                for row in rows[start : start + BATCH]
            )
        )
    return batches


def measure(
    name: str,
    client: Client,
    runs: int,
    count: int,
    insert: Callable[[Client, str], float],
    cpu: Callable[[], float] = time.process_time,
) -> tuple[float, str]:
    """Median rows/s over fresh databases; returns it and the last run's database.

    Also rows per CPU-second (``cpu``: CPU seconds used so far by the processes doing the
    work): on a machine shared with other jobs the wall-clock figure says more about the
    neighbours than about us.
    """
    rates = []
    per_cpu = []
    database = ""
    for run in range(runs):
        if database:
            client.command(f"DROP DATABASE IF EXISTS {database}")
        database = f"bench_{uuid.uuid4().hex[:8]}"
        migrate(client, StoreSettings(database=database), target=TARGET[0])
        used = cpu()
        seconds = insert(client, database)
        used = cpu() - used
        rates.append(count / seconds)
        per_cpu.append(count / used)
        print(
            f"  {name} run {run + 1}: {count / seconds:>10,.0f} rows/s ({seconds:.2f} s), "
            f"{count / used:,.0f} rows per CPU-second"
        )
    median = statistics.median(rates)
    print(
        f"{name}: median {median:,.0f} rows/s, {statistics.median(per_cpu):,.0f} rows per "
        f"CPU-second, over {runs} runs; load average {os.getloadavg()[0]:.1f}"
    )
    return median, database


def disk_figures(client: Client, database: str) -> None:
    client.command(f"OPTIMIZE TABLE {database}.xapi_statements FINAL")
    rows, on_disk = client.query(
        "SELECT sum(rows), sum(bytes_on_disk) FROM system.parts "
        "WHERE database = {d:String} AND table = 'xapi_statements' AND active",
        parameters={"d": database},
    ).result_rows[0]
    print(f"on disk after OPTIMIZE FINAL: {on_disk / rows:.1f} bytes/statement (target <= 150)")
    print(f"  ({rows:,} rows, {on_disk / 2**20:.1f} MiB)")
    columns = client.query(
        "SELECT name, data_compressed_bytes, data_uncompressed_bytes FROM system.columns "
        "WHERE database = {d:String} AND table = 'xapi_statements' "
        "ORDER BY data_compressed_bytes DESC LIMIT 8",
        parameters={"d": database},
    ).result_rows
    for name, compressed, uncompressed in columns:
        print(
            f"  {name:<22} {compressed / rows:7.1f} B/row compressed"
            f"  ({uncompressed / max(compressed, 1):5.1f}x from {uncompressed / rows:7.1f})"
        )


# Column variants measured by --variants: (column, type and codec, expression from the table).
VARIANTS = [
    ("statement", "String CODEC(ZSTD(3))", "statement"),
    ("statement", "String CODEC(ZSTD(6))", "statement"),
    ("statement", "String CODEC(ZSTD(9))", "statement"),
    ("actor_id", "String CODEC(ZSTD(1))", "actor_id"),
    ("actor_id", "LowCardinality(String)", "actor_id"),
    ("actor_id", "UUID", "toUUIDOrZero(actor_id)"),
    ("object_id", "String CODEC(ZSTD(1))", "object_id"),
    ("object_id", "LowCardinality(String)", "object_id"),
    ("block_id", "String CODEC(ZSTD(1))", "block_id"),
    ("block_id", "LowCardinality(String)", "block_id"),
    ("emission_time", "DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1))", "emission_time"),
    ("emission_time", "DateTime64(6, 'UTC') CODEC(DoubleDelta, ZSTD(1))", "emission_time"),
]


def column_variants(client: Client, database: str) -> None:
    """Bytes per row of alternative types/codecs, each in a table with the same sorting key."""
    print("column variants (same sorting key, after OPTIMIZE FINAL):")
    for number, (column, definition, expression) in enumerate(VARIANTS):
        table = f"{database}.variant_{number}"
        client.command(
            f"CREATE TABLE {table} (org LowCardinality(String), course_key LowCardinality(String),"
            f" emission_time_ DateTime64(6, 'UTC'), statement_id UUID, v {definition})"
            " ENGINE = MergeTree ORDER BY (org, course_key, emission_time_, statement_id)"
            " SETTINGS min_bytes_for_wide_part = 0"  # per-column sizes need wide parts
        )
        client.command(
            f"INSERT INTO {table} SELECT org, course_key, emission_time, statement_id, "
            f"{expression} FROM {database}.xapi_statements"
        )
        client.command(f"OPTIMIZE TABLE {table} FINAL")
        compressed, rows = client.query(
            "SELECT sum(c.data_compressed_bytes), any(t.total_rows) FROM system.columns AS c "
            "JOIN system.tables AS t ON t.database = c.database AND t.name = c.table "
            "WHERE c.database = {d:String} AND c.table = {t:String} AND c.name = 'v'",
            parameters={"d": database, "t": f"variant_{number}"},
        ).result_rows[0]
        print(f"  {column:<14} {definition:<48} {compressed / rows:7.1f} B/row")
        client.command(f"DROP TABLE {table}")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of another process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_endpoint(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "ASPECTS_DATA_DIR": str(data_dir),
        "ASPECTS_STORE__ADMIN_PASSWORD": "bench",
        "ASPECTS_STORE__READONLY_PASSWORD": "bench-reader",
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "aspects"), "db", "serve", "--port", str(port)], env=env
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200:
                return process, port
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the endpoint did not start")


def in_process(rows: list[StatementRow], runs: int, variants: bool, path: Path) -> None:
    client = open_client(StoreSettings(path=path), path)
    _, database = measure(
        "(a) in-process insert_statements",
        client,
        runs,
        len(rows),
        lambda c, d: insert_all(c, d, rows),
    )
    disk_figures(client, database)
    if variants:
        column_variants(client, database)
    payloads = json_batches(rows)
    measure(
        "(c) in-process engine alone (pre-built JSONEachRow)",
        client,
        runs,
        len(rows),
        lambda c, d: insert_json(c, d, payloads),
    )
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-endpoint", action="store_true")
    parser.add_argument("--skip-inprocess", action="store_true")
    parser.add_argument(
        "--schema",
        type=int,
        default=None,
        help="migrate only up to this version (1: the raw table without materialized views)",
    )
    parser.add_argument("--variants", action="store_true", help="measure column variants")
    args = parser.parse_args()
    TARGET[0] = args.schema

    started = time.perf_counter()
    rows = statements(args.rows)
    size = sum(len(row.statement) for row in rows) / len(rows)
    print(f"{len(rows):,} statements, {size:.0f} bytes of JSON each on average, ", end="")
    print(f"built in {time.perf_counter() - started:.1f} s; {os.cpu_count()} cores")

    with tempfile.TemporaryDirectory() as directory:
        if not args.skip_inprocess:
            in_process(rows, args.runs, args.variants, Path(directory) / "chdb")

        if not args.skip_endpoint:
            import clickhouse_connect

            process, port = start_endpoint(Path(directory) / "endpoint")
            try:
                remote = clickhouse_connect.get_client(
                    host="127.0.0.1", port=port, username="aspects", password="bench"
                )
                latencies = []
                for _ in range(200):
                    begun = time.perf_counter()
                    remote.query("SELECT 1")
                    latencies.append(time.perf_counter() - begun)
                print(f"endpoint: SELECT 1 median {statistics.median(latencies) * 1000:.2f} ms")
                client_cpu: list[float] = []

                def timed(c: Client, d: str) -> float:
                    used = time.process_time()
                    seconds = insert_all(c, d, rows)
                    client_cpu.append(time.process_time() - used)
                    return seconds

                measure(
                    "(b) endpoint insert_statements",
                    remote,
                    args.runs,
                    len(rows),
                    timed,
                    cpu=lambda: time.process_time() + process_cpu(process.pid),
                )
                print(
                    "    of which the client (insert_statements: Native serialisation, lz4, "
                    f"HTTP): {len(rows) / statistics.median(client_cpu):,.0f} rows per CPU-second"
                )
                remote.close()
            finally:
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
