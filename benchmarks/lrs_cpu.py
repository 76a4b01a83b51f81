"""CPU time of the LRS's POST path per 100-statement request, in-process, step by step.

    .venv/bin/python benchmarks/lrs_cpu.py [--requests 40] [--runs 3] [--batch 100]

CPU time (``time.process_time``: every thread of the process, chDB's included) rather than
wall time, so that the figures mean something on a machine other work loads. Steps:

- ``receive``: body bytes -> validated, prepared statements (``statements_from``; with
  ``--workers``, what a receive worker does: parsing, validation and the rows but ``stored``,
  which the server then only stamps in ``commit``; one native call for sure-valid bodies,
  ``--python-receive`` to compare with the worker's Python path);
- ``commit``: the group-commit writer committing one request alone (id check, rows, and the
  write-ahead journal append + fdatasync; with ``--no-journal`` the INSERT into the LRS tables
  instead); ``of_which_*`` split out the store round trips (id check query, INSERT);
- ``flush``: the journal's pending rows stored in the LRS tables (with the key-table view) in one
  INSERT per table, as the writer's flusher does, divided per request;
- ``copy``: the background copy of those statements into the raw table (with its report views),
  measured over the whole run and divided per request (it runs in large batches).

With ``--dispatch``, instead: the serving process's CPU per POST outside storing, i.e. the ASGI
layers (uvicorn excluded): the same request through the app with the POST fast path
(``aspects.lrs.statements.fastpost``) and without it, alternated, ``store_body`` replaced by
a stub answering the ids so that only the routing, middleware, authentication (cached),
dependency solving and the response differ. Timed as the event loop thread's CPU
(``time.thread_time``: chDB's threads are not involved).

With ``--pool``, instead: the hand-off to the receive workers, ``ReceivePool.read`` of one
``--batch``-statement body at a time by a pool of 2 spawned workers: the wall time per read
(median, 90th percentile) and this process's CPU per read (the pool's threads included, the
workers' not).

Run it against an older checkout (``PYTHONPATH=old/src``) to compare: steps the older writer
lacks print 0.

Runs in its own process on a fresh embedded store (chDB allows one data directory per process).
Prints the median over ``--runs`` of each step's median per request, and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from lrs_common import make_statement

from aspects.lrs.statements.ready import Ready, read_json_body
from aspects.lrs.statements.receive import statements_from
from aspects.lrs.statements.writer import Batch, StatementWriter
from aspects.store.client import open_client
from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.example.org", "name": "b"}}


def one_run(
    client: object,
    database: str,
    requests: int,
    batch: int,
    seed: int,
    journal: Path | None,
    workers: bool = False,
) -> dict[str, float]:
    return asyncio.run(_one_run(client, database, requests, batch, seed, journal, workers))


async def _one_run(
    client: object,
    database: str,
    requests: int,
    batch: int,
    seed: int,
    journal: Path | None,
    workers: bool,
) -> dict[str, float]:
    options: dict[str, Any] = {}
    if journal is not None:
        options = {"journal": journal, "flush_interval": 3600, "exclusive": True}
    try:
        writer = StatementWriter(client, database, **options)  # type: ignore[arg-type]
    except TypeError:  # an older writer without a journal
        writer = StatementWriter(client, database)  # type: ignore[arg-type]
    writer.start()  # its background tasks never run: this coroutine does not yield
    copier = getattr(writer, "copier", None)
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    bodies = [
        orjson.dumps([make_statement(seed + r * batch + i, now) for i in range(batch)])
        for r in range(requests)
    ]
    receive: list[float] = []
    commit: list[float] = []
    parts: dict[str, list[float]] = {"id_check": [], "lrs_insert": []}
    # The commit's two store round trips, timed where the writer makes them.
    for label, name in (("id_check", "_existing"), ("lrs_insert", "_insert_index")):
        method = getattr(writer, name, None)
        if method is None:  # an older writer (run against an older checkout to compare)
            continue

        def timed(*args: object, _method: object = method, _label: str = label) -> object:
            started = time.process_time()
            try:
                return _method(*args)  # type: ignore[operator]
            finally:
                parts[_label].append((time.process_time() - started) * 1000)

        setattr(writer, name, timed)
    for body in bodies:
        started = time.process_time()
        if workers:
            # What a receive worker does (aspects.lrs.statements.ready), timed here in-process.
            outcome = read_json_body(body, "1.0.3", AUTHORITY, False, None)
            fields = outcome[1]
            # One packed Ready per request (session 7 on), or one Ready per statement (before).
            items: list[Any] = (
                [Ready(*fields)] if isinstance(fields, tuple) else [Ready(*f) for f in fields]
            )
        else:
            items, _ = statements_from("application/json", body, "1.0.3")
        middle = time.process_time()
        writer._commit([Batch(items, AUTHORITY, "1.0.3")])
        ended = time.process_time()
        receive.append((middle - started) * 1000)
        commit.append((ended - middle) * 1000)
    flush = 0.0
    if hasattr(writer, "flush"):
        started = time.process_time()
        writer.flush()
        flush = (time.process_time() - started) * 1000 / requests
    copy = 0.0
    if copier is not None:
        started = time.process_time()
        copier.copy_pending()
        copy = (time.process_time() - started) * 1000 / requests
    return {
        "receive": statistics.median(receive),
        "commit": statistics.median(commit),
        "flush": flush,
        "copy": copy,
        "of_which_id_check": statistics.median(parts["id_check"] or [0.0]),
        "of_which_lrs_insert": statistics.median(parts["lrs_insert"] or [0.0]),
    }


def dispatch_runs(directory: Path, client: Any, settings: StoreSettings, args: Any) -> None:
    """``--dispatch`` (module docstring): CPU ms per request through each app, medians."""
    import base64

    from aspects.lrs import app as app_module
    from aspects.lrs.auth import create_credential
    from aspects.lrs.db import make_sessionmaker
    from aspects.lrs.statements import routes
    from aspects.settings import Settings

    fastpost: Any = None
    with contextlib.suppress(ImportError):  # an older checkout: the full path only
        from aspects.lrs.statements import fastpost

    async def stub(state: Any, body: bytes, *args: Any) -> list[str]:
        return ids

    routes.store_body = stub  # type: ignore[assignment]
    if fastpost is not None:
        fastpost.store_body = stub
    full = Settings(data_dir=directory / "lrs", store=settings)
    apps = {}
    for fast in (False, True) if fastpost is not None else (False,):
        options = {"fast_post": fast} if fastpost is not None else {}
        apps[fast] = app_module.create_app(full, client, make_sessionmaker(full), 0, **options)
    with apps[False].state.sessionmaker() as session:
        created, secret = create_credential(
            session, name="bench", scopes=["all"], home_page="https://lrs.example.org"
        )
    token = base64.b64encode(f"{created.key}:{secret}".encode())
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    statements = [make_statement(i, now) for i in range(args.batch)]
    ids = [str(statement["id"]) for statement in statements]
    body = orjson.dumps(statements)
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", b"Basic " + token),
        (b"content-type", b"application/json"),
        (b"x-experience-api-version", b"1.0.3"),
        (b"content-length", str(len(body)).encode()),
    ]

    async def request(app: Any) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/xAPI/statements",
            "raw_path": b"/xAPI/statements",
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8080),
            "state": {},
        }
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    async def measure() -> dict[bool, list[float]]:
        for app in apps.values():
            assert await request(app) == 200  # fills the credential cache (scrypt once)
        per: dict[bool, list[float]] = {fast: [] for fast in apps}
        for _ in range(args.runs):
            for fast, app in apps.items():
                times = []
                for _ in range(args.requests):
                    started = time.thread_time()
                    await request(app)
                    times.append((time.thread_time() - started) * 1000)
                per[fast].append(statistics.median(times))
        return per

    per = asyncio.run(measure())
    for fast, figures in per.items():
        name = "fast path" if fast else "FastAPI"
        print(
            f"dispatch {name}: loop thread CPU ms per request, medians of {args.requests} per run: "
            + " ".join(f"{v:.3f}" for v in figures)
            + f" median={statistics.median(figures):.3f}",
            flush=True,
        )
    print(f"load={os.getloadavg()}", flush=True)


def pool_runs(args: Any) -> None:
    """``--pool`` (module docstring)."""
    from aspects.lrs.statements.ready import ReceivePool

    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    bodies = [
        orjson.dumps([make_statement(r * args.batch + i, now) for i in range(args.batch)])
        for r in range(50)
    ]

    async def measure() -> tuple[list[float], float]:
        pool = ReceivePool(2)
        try:
            await pool.started()
            for body in bodies[:5]:
                await pool.read(body, "1.0.3", AUTHORITY, False, None)
            walls = []
            started_cpu = time.process_time()
            for index in range(args.requests):
                started = time.perf_counter()
                await pool.read(bodies[index % len(bodies)], "1.0.3", AUTHORITY, False, None)
                walls.append((time.perf_counter() - started) * 1000)
            cpu = (time.process_time() - started_cpu) * 1000 / args.requests
        finally:
            pool.close()
        return walls, cpu

    for run in range(args.runs):
        walls, cpu = asyncio.run(measure())
        walls.sort()
        print(
            f"pool run={run + 1}: wall ms per read median={statistics.median(walls):.3f} "
            f"p90={walls[int(len(walls) * 0.9)]:.3f}; server CPU ms per read={cpu:.3f} "
            f"load={os.getloadavg()}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--no-journal", action="store_true", help="commit straight to the store")
    parser.add_argument(
        "--workers",
        action="store_true",
        help="receive as a receive worker does (receive = the worker's CPU, commit = the server's)",
    )
    parser.add_argument(
        "--python-receive",
        action="store_true",
        help="with --workers: the worker's Python path, the native one-call path "
        "(receive.prepare_share, native/src/prepare.rs) switched off in this process",
    )
    parser.add_argument(
        "--dispatch",
        action="store_true",
        help="the ASGI layers' CPU per POST, with and without the fast path (docstring)",
    )
    parser.add_argument(
        "--pool",
        action="store_true",
        help="the hand-off to 2 receive workers: wall and server CPU per read (docstring)",
    )
    args = parser.parse_args()
    if args.pool:
        pool_runs(args)
        return
    if args.python_receive:
        import aspects.lrs.statements.ready as ready_module

        # ready.py calls prepare_share first and falls back to the Python path on None.
        ready_module.prepare_share = lambda *_args, **_kwargs: None
    with tempfile.TemporaryDirectory(prefix="lrs-cpu-") as directory:
        settings = StoreSettings(path=Path(directory), database="bench")
        client = open_client(settings, Path(directory))
        migrate(client, settings)
        if args.dispatch:
            dispatch_runs(Path(directory), client, settings, args)
            return
        # Warm up (first INSERTs into fresh tables are slower).
        journal = None if args.no_journal else Path(directory) / "journal"
        one_run(client, "bench", 5, args.batch, 0, journal)
        results = []
        for run in range(args.runs):
            figures = one_run(
                client,
                "bench",
                args.requests,
                args.batch,
                (run + 1) * 10_000_000,
                journal,
                args.workers,
            )
            results.append(figures)
            print(
                f"run={run + 1} " + " ".join(f"{k}={v:.1f}ms" for k, v in figures.items()),
                flush=True,
            )
        medians = {k: statistics.median(r[k] for r in results) for k in results[0]}
        total = medians["receive"] + medians["commit"] + medians["flush"] + medians["copy"]
        print(
            f"median CPU ms per {args.batch}-statement request: "
            + " ".join(f"{k}={v:.1f}" for k, v in medians.items())
            + f" total={total:.1f} -> {args.batch * 1000 / total:,.0f} statements per CPU-second"
            + f" load={os.getloadavg()}",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
