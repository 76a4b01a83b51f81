"""Superset bootstrap timings: `aspects dashboards init` from scratch and again (idempotent).

Prints medians of RUNS runs each (wall time and the CPU time of the processes init starts,
with the load average: the machine is shared). Needs .venv-superset (`make superset-venv`);
with `--venv` it also times creating a fresh Superset virtualenv in a temporary folder (pip's
cache makes later runs faster than the very first one on a machine). With `--postgres DSN` (a
PostgreSQL server where that user may create databases, e.g.
`postgresql://aspects@127.0.0.1:5432/postgres`) the metadata goes to a fresh database per run,
dropped afterwards, instead of SQLite.

    .venv/bin/python benchmarks/dashboards_bootstrap.py [--runs 3] [--venv] [--postgres DSN]
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from aspects.dashboards.superset import init  # noqa: E402
from aspects.dashboards.venv import ensure_venv  # noqa: E402
from aspects.settings import Settings, load_settings  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed_init(settings: Settings) -> tuple[float, float]:
    """Wall seconds of `init`, and CPU seconds of the processes it ran (waited for)."""
    started, cpu = time.monotonic(), _children_cpu()
    init(settings)
    return time.monotonic() - started, _children_cpu() - cpu


class _PostgresDatabases:
    """A fresh database per run on the given server (psycopg, from the main virtualenv)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def create(self) -> str:
        import psycopg

        name = f"aspects_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.dsn.rsplit("/", 1)[0] + f"/{name}"

    def drop(self, url: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[-1]}" WITH (FORCE)')


def _summary(label: str, runs: list[tuple[float, float]]) -> str:
    walls = [round(wall, 1) for wall, _ in runs]
    cpus = [round(cpu, 1) for _, cpu in runs]
    return (
        f"{label}: median {statistics.median(walls):.1f} s wall of {walls}, "
        f"CPU of its processes median {statistics.median(cpus):.1f} s of {cpus}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--venv", action="store_true", help="also time a fresh virtualenv")
    parser.add_argument("--postgres", metavar="DSN", help="metadata in PostgreSQL (see above)")
    args = parser.parse_args()
    postgres = _PostgresDatabases(args.postgres) if args.postgres else None
    scratch: list[tuple[float, float]] = []
    again: list[tuple[float, float]] = []
    venvs = []
    print(f"load average before: {os.getloadavg()}", flush=True)
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as directory:
            metadata_url = postgres.create() if postgres else None
            settings = load_settings(
                data_dir=Path(directory),
                store={"readonly_password": "benchmark"},
                dashboards={
                    "venv": REPO / ".venv-superset",
                    "admin_password": "benchmark",
                    "metadata_url": metadata_url,
                },
            )
            try:
                scratch.append(_timed_init(settings))
                again.append(_timed_init(settings))
            finally:
                if postgres and metadata_url:
                    postgres.drop(metadata_url)
        if args.venv:
            with tempfile.TemporaryDirectory() as directory:
                venvs.append(ensure_venv(Path(directory) / "venv").seconds)
    where = "PostgreSQL" if postgres else "SQLite"
    print(_summary(f"init from scratch ({where} metadata)", scratch))
    print(_summary(f"init again, idempotent ({where} metadata)", again))
    if venvs:
        print(f"fresh Superset virtualenv: median {statistics.median(venvs):.1f} s of {venvs}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
