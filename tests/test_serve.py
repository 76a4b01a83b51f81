"""`aspects serve` as a user runs it: a real process with every service on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import clickhouse_connect
import httpx
import pytest

from aspects.demo.generate import DemoConfig, format_line, generate_events
from aspects.transform import Transformer, parse_line
from aspects.transform.settings import TransformSettings
from tests.demo.test_generate import small_course
from tests.support import free_port


@pytest.fixture
def site(tmp_path: Path) -> tuple[subprocess.Popen[str], dict[str, str], Path]:
    live = tmp_path / "logs" / "tracking.log"
    live.parent.mkdir()
    live.write_text("")
    env = dict(
        os.environ,
        ASPECTS_DATA_DIR=str(tmp_path / "var"),
        ASPECTS_STORE__ENDPOINT_PORT=str(free_port()),
        ASPECTS_STORE__READONLY_PASSWORD="reader-pass",
        ASPECTS_LRS__PORT=str(free_port()),
        ASPECTS_INGEST__PATHS=f'["{live}"]',
        ASPECTS_INGEST__FLUSH_INTERVAL="0.2",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "aspects.cli", "serve", "--no-dashboards"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "SIGTERM stops everything" in line:
            break
    else:
        raise AssertionError("serve did not start:\n" + "".join(lines))
    yield process, env, live
    if process.poll() is None:
        process.kill()
        process.wait()


def test_serve_ingests_live_lines_serves_them_and_stops_cleanly(
    site: tuple[subprocess.Popen[str], dict[str, str], Path],
) -> None:
    process, env, live = site
    reader = clickhouse_connect.get_client(
        host="127.0.0.1",
        port=int(env["ASPECTS_STORE__ENDPOINT_PORT"]),
        username="aspects_reader",
        password="reader-pass",
    )
    config = DemoConfig(learners=2, weeks=1, start=dt.date(2026, 3, 2))
    events = [event for _day, day in generate_events(config, [small_course()]) for event in day]
    lines = [format_line(event, logger_prefix=True) for event in events]
    transformer = Transformer(TransformSettings(), secret="any")
    expected = {
        statement["id"] for line in lines for statement in transformer.transform(parse_line(line))
    }
    assert len(expected) >= len(events)
    with live.open("a") as handle:
        handle.writelines(line + "\n" for line in lines)
    deadline = time.monotonic() + 30
    count = 0
    while time.monotonic() < deadline:
        count = int(reader.command("SELECT count() FROM aspects.xapi_statements FINAL"))
        if count == len(expected):
            break
        time.sleep(0.2)
    assert count == len(expected)

    about = httpx.get(f"http://127.0.0.1:{env['ASPECTS_LRS__PORT']}/xAPI/about", timeout=10)
    assert about.status_code == 200
    assert "2.0.0" in about.json()["version"]

    reports = httpx.get(f"http://127.0.0.1:{env['ASPECTS_LRS__PORT']}/api/v1/reports", timeout=10)
    assert reports.status_code == 401  # the reports API is served beside the LRS, never open
    assert reports.json()["code"]

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert process.stdout is not None
    assert "stopped" in process.stdout.read()
