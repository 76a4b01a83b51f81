"""chDB's allocator options (aspects.store.allocator): set before chDB loads, the operator's win.

The options take effect only when chDB loads, once per process, and this test process has
chDB loaded already (the shared engine), so the end-to-end checks run in fresh interpreters
and read the options back from chDB's own jemalloc report (system.jemalloc_stats).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aspects.store import allocator

_PROBE = """
import sys
from pathlib import Path
from aspects.store.client import open_client
from aspects.store.settings import StoreSettings

path = Path(sys.argv[1])
client = open_client(StoreSettings(path=path / "clickhouse"), path)
stats = client.query("SELECT * FROM system.jemalloc_stats").result_rows[0][0]
print(next(line.strip() for line in stats.splitlines() if "opt.dirty_decay_ms" in line))
"""


def _decay_in_fresh_process(tmp_path: Path, environ: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_embedded_client_keeps_freed_pages(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k != allocator.VARIABLE}
    line = _decay_in_fresh_process(tmp_path, environ)
    assert line.startswith("opt.dirty_decay_ms: 60000"), line


def test_operator_options_win(tmp_path: Path) -> None:
    environ = dict(os.environ, **{allocator.VARIABLE: "dirty_decay_ms:7000"})
    line = _decay_in_fresh_process(tmp_path, environ)
    assert line.startswith("opt.dirty_decay_ms: 7000"), line


def test_sets_default_only_before_chdb_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "chdb", raising=False)
    environ: dict[str, str] = {}
    assert allocator.configure_chdb_allocator(environ)
    assert environ == {allocator.VARIABLE: allocator.OPTIONS}

    mine = {allocator.VARIABLE: "dirty_decay_ms:5000"}
    assert allocator.configure_chdb_allocator(mine)
    assert mine == {allocator.VARIABLE: "dirty_decay_ms:5000"}

    monkeypatch.setitem(sys.modules, "chdb", sys)  # loaded: too late to change anything
    late: dict[str, str] = {}
    assert not allocator.configure_chdb_allocator(late)
    assert late == {}
