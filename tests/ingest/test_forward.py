"""Forwarding: a persistent queue that survives an outage of the remote LRS, filters, back-off."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.ingest.backfill import backfill
from aspects.ingest.forward import Forwarder
from aspects.ingest.settings import ForwardTarget
from aspects.ingest.state import FORWARD_REJECTED, FORWARDED, IngestState, QueuedStatement
from aspects.ingest.synthetic import synthetic_lines, write_lines
from aspects.settings import Settings
from aspects.transform import MalformedEvent, MalformedLine, Transformer, parse_line
from tests.ingest.conftest import SECRET
from tests.support import free_port, wait_until_serving

ASPECTS = str(Path(sys.executable).parent / "aspects")


def _wanted_for(settings: Settings, lines: list[bytes], org: str) -> set[str]:
    """Ids of the statements of events of ``org``: the event's ``context.org_id``, else the
    organisation of its ``context.course_id`` (the documented filter rule)."""
    transformer = Transformer(settings.transform, secret=SECRET)
    ids: set[str] = set()
    for line in lines:
        try:
            event = parse_line(line)
            statements = transformer.transform(event)
        except (MalformedLine, MalformedEvent):
            continue
        context = event.get("context", {})
        course = context.get("course_id", "")
        event_org = context.get("org_id") or (
            course.removeprefix("course-v1:").split("+")[0]
            if course.startswith("course-v1:")
            else ""
        )
        if event_org == org:
            ids.update(statement["id"] for statement in statements)
    return ids


@pytest.fixture
def lrs_dir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A data dir for our LRS, with a credential (created through the real CLI)."""
    data_dir = tmp_path / "lrs"
    env = {key: value for key, value in os.environ.items() if not key.startswith("ASPECTS_")}
    env["ASPECTS_DATA_DIR"] = str(data_dir)
    created = subprocess.run(
        [
            ASPECTS,
            "lrs",
            "credentials",
            "create",
            "--name",
            "forward-test",
            "--scope",
            "all",
            "--json",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return data_dir, orjson.loads(created.stdout)


def _serve_lrs(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ASPECTS_")}
    env["ASPECTS_DATA_DIR"] = str(data_dir)
    server = subprocess.Popen(
        [ASPECTS, "lrs", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_serving(f"http://127.0.0.1:{port}/xAPI/about", server, 90, "the LRS")
    return server


def _stored_in_lrs(port: int, credential: dict[str, str]) -> set[str]:
    ids: set[str] = set()
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        auth=(credential["key"], credential["secret"]),
        headers={"X-Experience-API-Version": "1.0.3"},
        timeout=30,
    ) as client:
        url = "/xAPI/statements?limit=500"
        while url:
            page = client.get(url).json()
            ids.update(item["id"] for item in page["statements"])
            url = page.get("more") or ""
    return ids


def test_queue_survives_an_outage_of_our_lrs_and_delivers_once_it_is_back(
    tmp_path: Path,
    settings: Settings,
    store: Client,
    state: IngestState,
    templates: list[str],
    lrs_dir: tuple[Path, dict[str, str]],
) -> None:
    data_dir, credential = lrs_dir
    port = free_port()
    target = ForwardTarget(
        name="remote",
        url=f"http://127.0.0.1:{port}/xAPI",
        username=credential["key"],
        password=credential["secret"],
        orgs=["Org1"],
        batch_size=50,
        max_backoff=0.5,
    )
    settings.ingest.forward = [target]
    lines = list(synthetic_lines(templates, 400, seed=21))
    log = tmp_path / "tracking.log"
    write_lines(log, lines)
    backfill(settings, store, state, [log], workers=0)
    wanted = _wanted_for(settings, lines, "Org1")
    assert 0 < len(wanted) < len(lines)
    assert state.queue_depths() == {"remote": (len(wanted), 0)}

    forwarder = Forwarder(state, [target])
    try:
        # The remote is down: nothing is lost, the target backs off.
        assert forwarder.send_due() == 0
        assert forwarder.idle_for() > 0
        assert state.queue_depths() == {"remote": (len(wanted), 0)}
        server = _serve_lrs(data_dir, port)
        try:
            assert forwarder.drain(timeout=120)
            assert _stored_in_lrs(port, credential) == wanted
            # Sending the same statements again (a re-read log) is harmless.
            backfill(settings, store, state, [log], workers=0, again=True)
            assert state.queue_depths()["remote"][0] == len(wanted)
            assert forwarder.drain(timeout=120)
            assert _stored_in_lrs(port, credential) == wanted
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        forwarder.close()
    counters = state.counters()
    assert counters[FORWARDED] == 2 * len(wanted)
    assert counters.get(FORWARD_REJECTED, 0) == 0
    assert state.queue_depths() == {}


class _Remote(BaseHTTPRequestHandler):
    """Stand-in LRS: refuses (400) any batch holding a statement whose id is in ``bad``,
    or answers ``status`` to everything while it is set."""

    bad: set[str] = set()  # noqa: RUF012 - configured per test
    status: int | None = None
    received: list[list[str]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ids = [item["id"] for item in body]
        type(self).received.append(ids)
        code = type(self).status or (400 if set(ids) & type(self).bad else 200)
        payload = orjson.dumps(ids if code == 200 else {"error": "refused"})
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def remote() -> Iterator[str]:
    """A minimal real HTTP server, a stand-in where our LRS cannot be made to refuse on demand."""
    _Remote.bad, _Remote.status, _Remote.received = set(), None, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Remote)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/xAPI"
    server.shutdown()
    server.server_close()


def _queue(state: IngestState, count: int) -> list[str]:
    from aspects.ingest.state import BatchRecord

    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(count)]
    record = BatchRecord(
        forwards=[QueuedStatement("t", sid, orjson.dumps({"id": sid}).decode()) for sid in ids]
    )
    state.record(record)
    return ids


def test_refused_statements_are_isolated_and_parked(remote: str, state: IngestState) -> None:
    ids = _queue(state, 10)
    _Remote.bad = {ids[6]}
    forwarder = Forwarder(state, [ForwardTarget(name="t", url=remote, batch_size=10)])
    try:
        assert forwarder.send_due() == 9
    finally:
        forwarder.close()
    assert state.queue_depths() == {"t": (0, 1)}
    assert state.counters()[FORWARD_REJECTED] == 1
    assert state.counters()[FORWARDED] == 9
    delivered = {sid for batch in _Remote.received for sid in batch} - {ids[6]}
    assert delivered == set(ids) - {ids[6]}


def test_failures_back_off_exponentially_then_recover(remote: str, state: IngestState) -> None:
    ids = _queue(state, 5)
    now = [1000.0]
    target = ForwardTarget(name="t", url=remote, batch_size=100, max_backoff=4.0)
    forwarder = Forwarder(state, [target], clock=lambda: now[0])
    _Remote.status = 503
    pauses = []
    try:
        for _ in range(6):
            assert forwarder.send_due() == 0
            pause = forwarder.idle_for()
            pauses.append(pause)
            assert forwarder.send_due() == 0  # not due yet: no request
            now[0] += pause
        assert len(_Remote.received) == 6
        assert pauses[1] > pauses[0] * 1.0 or pauses[2] > pauses[0]
        assert all(0.25 <= pause <= 4.0 for pause in pauses)
        assert max(pauses[3:]) > 1.9  # grown to the ceiling's range
        _Remote.status = None
        assert forwarder.send_due() == len(ids)
        assert forwarder.idle_for() == 0
    finally:
        forwarder.close()
    assert state.queue_depths() == {}
