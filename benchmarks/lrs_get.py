"""GET /statements latency with filters at 1M stored statements, against `aspects lrs serve`.

    .venv/bin/python benchmarks/lrs_get.py [--statements 1000000] [--requests 50] [--runs 3]
                                           [--data-dir DIR] [--limit 100]

Loads the statements in a child process (chDB locks its directory): the LRS's own rows
(``lrs_statements``, what GET reads, and through its view the key table; the same rows POST
writes) built by the LRS's functions, or with ``--with-raw`` through the group-commit writer and
its copy into the raw table. Then serves them and times GETs per filter kind: p50 and p95 per
kind and overall, per run, and the median over runs, with the server's CPU time per request
(all its threads; comparable on a loaded machine). A ``--data-dir`` that already holds the
statements is reused (no reload). Target (issue 4): p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

from lrs_common import (
    VERBS,
    block_iri,
    course_iri,
    cpu_seconds,
    create_credential,
    environment,
    free_port,
    headers,
    median,
    percentile,
    served,
)

LOADER = """
import sys, time
from aspects.settings import load_settings
from aspects.store.client import open_client
from aspects.store.migrate import migrate
from datetime import UTC, datetime, timedelta
import orjson
from aspects.lrs.statements.prepare import INDEX_COLUMNS, incoming, index_row, stored_statement
from aspects.lrs.statements.writer import Batch, StatementWriter
sys.path.insert(0, sys.argv[2])
from lrs_common import make_statement

settings = load_settings()
client = open_client(settings.store, settings.data_dir)
migrate(client, settings.store)
count = int(sys.argv[1])
table = f"{settings.store.database}.lrs_statements"
have = client.query(f"SELECT count() FROM {table}").result_rows[0][0]
writer = StatementWriter(client, settings.store.database)
writer.copier.resume()
account = {"homePage": "https://lrs.example.org", "name": "bench"}
authority = {"objectType": "Agent", "account": account}
started = time.monotonic()
now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
with_raw = sys.argv[3] == "1"
for start in range(have, count, 20_000):
    end = min(count, start + 20_000)
    items = [incoming(make_statement(i, now)) for i in range(start, end)]
    if with_raw:
        writer._commit([Batch(items, authority, "1.0.3")])
        writer.copier.copy_pending()
        continue
    stored = datetime.now(UTC)
    rows = []
    for position, item in enumerate(items):
        moment = stored + timedelta(microseconds=position)
        statement = stored_statement(item, moment, authority, "1.0.3")
        rows.append(index_row(item, statement, moment, orjson.dumps(statement).decode()))
    client.insert(table, rows, column_names=INDEX_COLUMNS)
print(f"loaded {count - have} statements in {time.monotonic() - started:.0f} s", flush=True)
"""


def queries(rng: random.Random) -> dict[str, str]:
    learner = rng.randrange(5_000)
    activity = rng.randrange(2_000)
    account = {"homePage": "https://lms.example.org", "name": f"learner-{learner}"}
    agent = json.dumps({"objectType": "Agent", "account": account})
    verb = f"http://adlnet.gov/expapi/verbs/{rng.choice(VERBS)}"
    course = {"activity": course_iri(activity), "related_activities": "true"}
    return {
        "none": "",
        "agent": urllib.parse.urlencode({"agent": agent}),
        "verb": urllib.parse.urlencode({"verb": verb}),
        "activity": urllib.parse.urlencode({"activity": block_iri(activity)}),
        "course(related_activities)": urllib.parse.urlencode(course),
        "registration": urllib.parse.urlencode(
            {"registration": str(uuid.UUID(int=learner * 7 + 1))}
        ),
        "agent+verb": urllib.parse.urlencode({"agent": agent, "verb": verb}),
        "agent(related_agents)+ascending": urllib.parse.urlencode(
            {"agent": agent, "related_agents": "true", "ascending": "true"}
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--statements", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50, help="per filter kind and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--with-raw",
        action="store_true",
        help="also load the raw table (as POST does); GET never reads it, and its report views "
        "make loading several times slower",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lrs-get-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-c",
                LOADER,
                str(args.statements),
                str(Path(__file__).parent),
                "1" if args.with_raw else "0",
            ],
            env=environment(data_dir),
            check=True,
        )
        key, secret = create_credential(data_dir)
        auth = headers(key, secret)
        port = free_port()
        pids: list[int] = []
        with served(data_dir, port, pids):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            rng = random.Random(7)
            overall_p95 = []
            cpu_per_request = []
            for run in range(args.runs):
                timings: dict[str, list[float]] = {}
                cpu_before = cpu_seconds(pids[0])
                for _ in range(args.requests):
                    for kind, query in queries(rng).items():
                        path = f"/xAPI/statements?limit={args.limit}" + (
                            f"&{query}" if query else ""
                        )
                        started = time.perf_counter()
                        connection.request("GET", path, headers=auth)
                        response = connection.getresponse()
                        body = response.read()
                        elapsed = (time.perf_counter() - started) * 1000
                        if response.status != 200:
                            raise RuntimeError(f"{path}: {response.status} {body[:200]!r}")
                        timings.setdefault(kind, []).append(elapsed)
                every = [value for values in timings.values() for value in values]
                for kind, values in timings.items():
                    p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
                    print(f"run={run + 1} {kind:34s} p50={p50:6.1f} ms p95={p95:6.1f} ms")
                cpu = (cpu_seconds(pids[0]) - cpu_before) * 1000 / len(every)
                p50, p95 = percentile(every, 0.5), percentile(every, 0.95)
                overall_p95.append(p95)
                cpu_per_request.append(cpu)
                print(
                    f"run={run + 1} ALL n={len(every)} p50={p50:.1f} ms p95={p95:.1f} ms "
                    f"server_cpu_ms_per_request={cpu:.1f} load={os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            print(
                f"statements={args.statements} limit={args.limit} "
                f"median p95 over {args.runs} runs = {median(overall_p95):.1f} ms, "
                f"median server CPU per request {median(cpu_per_request):.1f} ms"
            )


if __name__ == "__main__":
    main()
