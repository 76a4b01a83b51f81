"""The synthetic site of benchmarks/reports.py, shared by the privacy and reports-API benchmarks.

``dataset(path, statements, reuse)`` generates it (or reuses a directory filled by any of these
benchmarks with ``--reuse``) and returns the open client and store settings.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from clickhouse_connect.driver.client import Client

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from aspects.courses.olx import demo_course_path, read_olx  # noqa: E402
from aspects.courses.store import store_structure  # noqa: E402
from aspects.store.client import open_client  # noqa: E402
from aspects.store.migrate import migrate  # noqa: E402
from aspects.store.settings import StoreSettings  # noqa: E402


def report_bench() -> ModuleType:
    """benchmarks/reports.py as a module (its generator and report cases)."""
    spec = importlib.util.spec_from_file_location(
        "bench_reports", Path(__file__).with_name("reports.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dataset(path: Path, statements: int, reuse: bool) -> tuple[Client, StoreSettings, ModuleType]:
    bench = report_bench()
    settings = StoreSettings(path=path, database=bench.DATABASE)
    client = open_client(settings, path)
    if not reuse:
        client.command(f"DROP DATABASE IF EXISTS {bench.DATABASE}")
        migrate(client, settings)
        demo = read_olx(demo_course_path())
        when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for number in range(bench.COURSES):
            structure = bench.copy_structure(demo, bench.course_key(number))
            store_structure(client, bench.DATABASE, structure, "olx", when)
        print(f"generating {statements:,} statements in {path}", file=sys.stderr)
        seconds = bench.generate(client, statements, demo)
        print(f"generated {statements:,} statements in {seconds:.0f} s", file=sys.stderr)
        client.command(f"OPTIMIZE TABLE {bench.DATABASE}.xapi_statements FINAL")
    else:
        migrate(client, settings)  # our tables (tombstones, API keys) on an older dataset
    return client, settings, bench
