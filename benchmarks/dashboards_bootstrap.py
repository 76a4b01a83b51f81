"""Superset bootstrap timings: `aspects dashboards init` from scratch and again (idempotent).

Prints medians of RUNS runs each. Needs .venv-superset (`make superset-venv`); with
`--venv` it also times creating a fresh Superset virtualenv in a temporary folder (pip's cache
makes later runs faster than the very first one on a machine).

    .venv/bin/python benchmarks/dashboards_bootstrap.py [--runs 3] [--venv]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from aspects.dashboards.superset import init  # noqa: E402
from aspects.dashboards.venv import ensure_venv  # noqa: E402
from aspects.settings import load_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--venv", action="store_true", help="also time a fresh virtualenv")
    args = parser.parse_args()
    scratch, again, venvs = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as directory:
            settings = load_settings(
                data_dir=Path(directory),
                store={"readonly_password": "benchmark"},
                dashboards={"venv": REPO / ".venv-superset", "admin_password": "benchmark"},
            )
            started = time.monotonic()
            init(settings)
            scratch.append(time.monotonic() - started)
            started = time.monotonic()
            init(settings)
            again.append(time.monotonic() - started)
        if args.venv:
            with tempfile.TemporaryDirectory() as directory:
                venvs.append(ensure_venv(Path(directory) / "venv").seconds)
    print(f"init from scratch: median {statistics.median(scratch):.1f} s of {scratch}")
    print(f"init again (idempotent): median {statistics.median(again):.1f} s of {again}")
    if venvs:
        print(f"fresh Superset virtualenv: median {statistics.median(venvs):.1f} s of {venvs}")


if __name__ == "__main__":
    main()
