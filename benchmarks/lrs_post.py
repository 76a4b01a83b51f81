"""POST throughput of `aspects lrs serve` on the embedded store: batches of 100 statements.

    .venv/bin/python benchmarks/lrs_post.py [--seconds 60] [--clients 1,4] [--runs 3]

Starts the LRS in a subprocess on a fresh data directory, then for each client count runs
``--runs`` timed rounds; every client is its own process with one keep-alive connection and
counts statements of batches answered 200. A client builds 50 batches before its round starts
and sends them in turn, each time with fresh random statement ids (~0.1 ms of client CPU per
request instead of ~1.1 ms building and serialising 100 statements, on the server's cores).
An untimed ``--warmup`` round (one client, 3 s) comes first. Prints statements/s per round and
the median, the server's CPU time per 100 statements (all its threads and child processes, i.e.
its receive workers; comparable on a loaded machine) and the load average.
Target (issue 4): >= 10,000 statements/s on 2 cores.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from lrs_common import (
    cpu_seconds,
    create_credential,
    free_port,
    headers,
    make_statement,
    median,
    served,
    thread_cpu,
)

# Batches a client prepares before it starts (``batch`` statements each, 5,000 different
# statements at 100 per batch: the variety of learners and activities make_statement cycles
# through); each request sends one with fresh random ids.
TEMPLATES = 50
_ID_MARK = "00000000-0000-4000-8000-000000000000"


def _templates(batch: int, seed: int) -> list[list[bytes]]:
    """Each template batch split around its statement ids (``parts[i]`` precedes id ``i``)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    templates = []
    for number in range(TEMPLATES):
        statements = [make_statement(seed + number * batch + i, now) for i in range(batch)]
        for statement in statements:
            statement["id"] = _ID_MARK
        templates.append(orjson.dumps(statements).split(_ID_MARK.encode()))
    return templates


def _fresh_ids(count: int) -> list[bytes]:
    """``count`` random (version 4 shaped) UUIDs as text, cheaply: the client shares the cores
    with the server, so it should spend as little CPU per request as it can."""
    raw = os.urandom(16 * count).hex()
    return [
        f"{raw[i : i + 8]}-{raw[i + 8 : i + 12]}-4{raw[i + 13 : i + 16]}-"
        f"a{raw[i + 17 : i + 20]}-{raw[i + 20 : i + 32]}".encode()
        for i in range(0, 32 * count, 32)
    ]


def client(
    port: int, auth: dict[str, str], batch: int, seconds: float, seed: int, out: Any
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    templates = _templates(batch, seed * 10_000_000)
    stored = 0
    errors = 0
    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        parts = templates[sent % TEMPLATES]
        ids = _fresh_ids(batch)
        body = b"".join([piece for pair in zip(parts, [*ids, b""], strict=True) for piece in pair])
        sent += 1
        connection.request("POST", "/xAPI/statements", body=body, headers=auth)
        response = connection.getresponse()
        response.read()
        if response.status == 200:
            stored += batch
        else:
            errors += 1
    out.put((stored, errors))


def round_(
    port: int, auth: dict[str, str], clients: int, batch: int, seconds: float, seed: int
) -> tuple[float, int]:
    queue: Any = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(
            target=client, args=(port, auth, batch, seconds, seed * 100 + i, queue)
        )
        for i in range(clients)
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    return sum(r[0] for r in results) / elapsed, sum(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", default="1,4")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--warmup", type=float, default=3, help="seconds of one untimed client first"
    )
    parser.add_argument(
        "--threads", action="store_true", help="also print the server's CPU per thread name"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lrs-post-") as directory:
        data_dir = Path(directory)
        key, secret = create_credential(data_dir)
        port = free_port()
        auth = headers(key, secret)
        pids: list[int] = []
        with served(data_dir, port, pids):
            if args.warmup:
                # Untimed: the first requests pay one-off costs (the store's first parts, code
                # paths warming up) that no later round repeats.
                round_(port, auth, 1, args.batch, args.warmup, 999)
            seed = 0
            for clients in [int(c) for c in args.clients.split(",")]:
                rates = []
                costs = []
                for run in range(args.runs):
                    seed += 1
                    cpu_before = cpu_seconds(pids[0])
                    threads_before = thread_cpu(pids[0]) if args.threads else {}
                    started = time.monotonic()
                    rate, errors = round_(port, auth, clients, args.batch, args.seconds, seed)
                    stored = rate * (time.monotonic() - started)
                    cost = (cpu_seconds(pids[0]) - cpu_before) * 1000 * 100 / max(stored, 1)
                    rates.append(rate)
                    costs.append(cost)
                    if args.threads:
                        threads = thread_cpu(pids[0])
                        spent = {
                            name: (seconds - threads_before.get(name, 0.0)) * 1e5 / max(stored, 1)
                            for name, seconds in threads.items()
                        }
                        print(
                            "  ms per 100 by thread: "
                            + ", ".join(
                                f"{name}={value:.1f}"
                                for name, value in sorted(spent.items(), key=lambda i: -i[1])
                                if value >= 0.05
                            ),
                            flush=True,
                        )
                    print(
                        f"clients={clients} run={run + 1} statements/s={rate:,.0f} "
                        f"server_cpu_ms_per_100={cost:.1f} errors={errors} "
                        f"load={os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
                print(
                    f"clients={clients} batch={args.batch} median/s={median(rates):,.0f} "
                    f"median_server_cpu_ms_per_100={median(costs):.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
