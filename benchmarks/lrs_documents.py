"""State resource throughput and latency against `aspects lrs serve` (SQLite documents database).

    .venv/bin/python benchmarks/lrs_documents.py [--seconds 20] [--clients 1 4] [--runs 3]
                                                 [--data-dir DIR]

Each client loops over its own learners: PUT a ~1 KB JSON state document (If-Match with the
ETag it last saw, as a careful client does), POST a small merge into it, GET it back. Prints
requests/s and p50/p95 latency per run and the median over runs, for each client count.
Every request is authenticated (HTTP Basic; the secret is verified with scrypt once per
process, then remembered). There is no target in issue 4 for documents; this is the figure
to watch for regressions (auth, SQLite locking).
"""

from __future__ import annotations

import argparse
import http.client
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import orjson
from lrs_common import create_credential, free_port, headers, median, percentile, served

ACTIVITY = "https://lms.example.org/xblock/block-v1:Org+C1+2024+type@video+block@intro"


def client_loop(
    port: int, auth: dict[str, str], client: int, until: float, latencies: list[float]
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    etags: dict[int, str] = {}
    learner = 0
    document = {"position": 0, "transcript": "x" * 900, "speed": 1.25}
    while time.monotonic() < until:
        learner = (learner + 1) % 200
        agent = {"account": {"homePage": "https://lms.example.org", "name": f"c{client}-{learner}"}}
        query = urllib.parse.urlencode(
            {"activityId": ACTIVITY, "agent": orjson.dumps(agent).decode(), "stateId": "video"}
        )
        url = f"/xAPI/activities/state?{query}"
        document["position"] = learner
        put_headers = dict(auth)
        if learner in etags:
            put_headers["If-Match"] = etags[learner]
        for method, body, extra in (
            ("PUT", orjson.dumps(document), put_headers),
            ("POST", b'{"speed": 1.5}', auth),
            ("GET", None, auth),
        ):
            started = time.perf_counter()
            connection.request(method, url, body=body, headers=extra)
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if response.status not in (200, 204):
                raise RuntimeError(f"{method} answered {response.status}")
            if method == "GET":
                etags[learner] = response.getheader("ETag") or ""


def run(port: int, auth: dict[str, str], clients: int, seconds: float) -> tuple[float, list[float]]:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=client_loop, args=(port, auth, n, until, latencies[n]))
        for n in range(clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    merged = [value for values in latencies for value in values]
    return len(merged) / elapsed, merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="aspects-bench-docs-"))
    key, secret = create_credential(data_dir)
    auth = headers(key, secret)
    port = free_port()
    with served(data_dir, port):
        # warm-up: the first request pays scrypt and opens the database
        run(port, auth, 1, 1)
        for clients in args.clients:
            rates, p50s, p95s = [], [], []
            for number in range(1, args.runs + 1):
                rate, latencies = run(port, auth, clients, args.seconds)
                p50 = percentile(latencies, 0.5) * 1000
                p95 = percentile(latencies, 0.95) * 1000
                rates.append(rate)
                p50s.append(p50)
                p95s.append(p95)
                print(
                    f"clients={clients} run={number}: {rate:,.0f} requests/s, "
                    f"p50 {p50:.1f} ms, p95 {p95:.1f} ms ({len(latencies):,} requests)"
                )
            print(
                f"clients={clients} median of {args.runs}: {median(rates):,.0f} requests/s, "
                f"p50 {median(p50s):.1f} ms, p95 {median(p95s):.1f} ms"
            )


if __name__ == "__main__":
    main()
