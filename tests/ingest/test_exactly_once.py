"""Exactly once under kill -9: a real follower process killed at random points, many times.

The follower runs as `aspects ingest follow` in a subprocess with its own embedded store (chDB
allows one data directory per process). While a writer appends lines and rotates the log (by
rename and by copytruncate), the follower is killed with SIGKILL at random moments and restarted.
At the end every valid event must be stored exactly once: the count with FINAL, the count of
distinct ids and the expected ids agree, and the exact counters (written with the checkpoints)
say every line was read once.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from aspects.ingest.synthetic import synthetic_lines
from aspects.settings import Settings
from tests.ingest.conftest import SECRET, expected

KILLS = 8
LINES_PER_BURST = 10

_CHECK = """
import json, sys
from pathlib import Path
from aspects.store.client import open_client
from aspects.store.settings import StoreSettings
client = open_client(StoreSettings(), Path(sys.argv[1]))
query = "SELECT DISTINCT statement_id FROM aspects.xapi_statements"
ids = [str(row[0]) for row in client.query(query).result_rows]
print(json.dumps({
    "final": int(client.command("SELECT count() FROM aspects.xapi_statements FINAL")),
    "distinct": len(ids),
    "ids": ids,
}))
"""


def _env(data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ASPECTS_")}
    env.update(
        ASPECTS_DATA_DIR=str(data_dir),
        ASPECTS_TRANSFORM__SECRET=SECRET,
        ASPECTS_INGEST__BATCH_SIZE="30",
        ASPECTS_INGEST__FLUSH_INTERVAL="0.1",
        ASPECTS_INGEST__POLL_INTERVAL="0.02",
    )
    return env


def _start(log: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    data_dir.mkdir(exist_ok=True)
    command = [sys.executable, "-c", "from aspects.cli import main; main()"]
    with (data_dir / "follower.log").open("ab") as output:  # a pipe could fill up and block it
        return subprocess.Popen(
            [*command, "ingest", "follow", str(log)],
            env=_env(data_dir),
            stdout=output,
            stderr=output,
        )


def _shift(log: Path) -> None:
    """logrotate's numbering: tracking.log.N -> .N+1, oldest first."""
    numbered = sorted((int(p.name.rsplit(".", 1)[1]), p) for p in log.parent.glob(log.name + ".*"))
    for number, path in reversed(numbered):
        path.rename(log.parent / f"{log.name}.{number + 1}")


def _counter(data_dir: Path, name: str) -> int:
    path = data_dir / "ingest.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=30) as connection:
        try:
            row = connection.execute(
                "SELECT value FROM ingest_counters WHERE name = ?", (name,)
            ).fetchone()
        except sqlite3.OperationalError:
            return 0
    return int(row[0]) if row else 0


def _hang_report(process: subprocess.Popen[bytes], data_dir: Path) -> str:
    """What the follower was doing when it did not stop: its threads' stacks (py-spy, when
    installed) and the end of its log, so an intermittent hang can be diagnosed from CI output."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    stacks = "py-spy not installed"
    if Path(spy).exists():
        dump = subprocess.run(
            [spy, "dump", "--native", "--pid", str(process.pid)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        stacks = dump.stdout + dump.stderr
    log_tail = (data_dir / "follower.log").read_text(errors="replace")[-5000:]
    return f"the follower did not exit within 180 s of SIGTERM\n{stacks}\n{log_tail}"


@pytest.mark.slow
def test_kill_9_at_random_points_stores_every_event_exactly_once(
    settings: Settings, templates: list[str]
) -> None:
    # Not pytest's tmp_path: concurrent pytest runs prune older base temp dirs, and this test
    # lasts long enough to lose its files that way.
    with tempfile.TemporaryDirectory(prefix="ingest-exactly-once-") as directory:
        _kill_9_run(Path(directory), settings, templates)


def _kill_9_run(tmp_path: Path, settings: Settings, templates: list[str]) -> None:
    rng = random.Random(1234)
    data_dir = tmp_path / "var"
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "tracking.log"
    source = synthetic_lines(templates, 100_000, seed=99, malformed_every=97)
    written: list[bytes] = []

    def write_burst() -> None:
        burst = [next(source) for _ in range(LINES_PER_BURST)]
        with log.open("ab") as handle:
            handle.writelines(burst)
        written.extend(burst)

    def rotate(kind: int) -> None:
        if kind == 1:  # by rename
            _shift(log)
            log.rename(logs / "tracking.log.1")
        elif kind == 2:  # by copytruncate
            _shift(log)
            shutil.copyfile(log, logs / "tracking.log.1")
            with log.open("r+b") as handle:
                handle.truncate(0)

    write_burst()
    process = _start(log, data_dir)
    try:
        for kill in range(KILLS):
            # Wait until the (re)started follower stores something: from then on it is busy,
            # so the kill lands while it reads, inserts or checkpoints.
            baseline = _counter(data_dir, "events_read")
            deadline = time.monotonic() + 300
            while _counter(data_dir, "events_read") == baseline:
                assert time.monotonic() < deadline, (data_dir / "follower.log").read_text()
                write_burst()
                time.sleep(0.05)
            run_for = rng.uniform(0.1, 1.5)
            rotate_at = rng.uniform(0.0, run_for) if kill % 3 else None
            began = time.monotonic()
            while time.monotonic() - began < run_for:
                if rotate_at is not None and time.monotonic() - began >= rotate_at:
                    rotate(kill % 3)
                    rotate_at = None
                write_burst()
                time.sleep(rng.uniform(0.0, 0.05))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=120)
            write_burst()  # written while the follower is down
            if kill % 4 == 3:
                rotate(1 + kill % 2)  # rotated while it is down
                write_burst()
            process = _start(log, data_dir)
        # Let the last follower catch up, then stop it cleanly.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and _counter(data_dir, "events_read") < len(written):
            assert process.poll() is None, (data_dir / "follower.log").read_text()[-3000:]
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            raise AssertionError(_hang_report(process, data_dir)) from None
        # Not 0: the shutdown deadline (aspects.shutdown) ended a stuck follower; its log has
        # the threads' stacks.
        assert process.returncode == 0, (data_dir / "follower.log").read_text()[-5000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    log_text = (data_dir / "follower.log").read_text()
    assert _counter(data_dir, "events_read") == len(written), log_text[-3000:]
    wanted, rejected = expected(settings, written)
    assert _counter(data_dir, "rejected") == rejected
    result = subprocess.run(
        [sys.executable, "-c", _CHECK, str(data_dir)],
        env=_env(data_dir),
        capture_output=True,
        check=True,
    )
    stored = json.loads(result.stdout)
    assert stored["final"] == stored["distinct"] == len(wanted)
    assert set(stored["ids"]) == wanted
