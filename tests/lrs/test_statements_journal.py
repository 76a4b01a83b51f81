"""The writer's write-ahead journal and id filter: statements answered before they are in the
store are durable (replayed after a crash), readable (a read stores what is pending first),
conflict-checked, and erasable; the id filter never hides a stored id."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.lrs.app import exclusive_writer
from aspects.lrs.statements.idfilter import IdFilter
from aspects.lrs.statements.journal import Journal, statement_line
from aspects.lrs.statements.prepare import format_time, incoming, stored_statement
from aspects.lrs.statements.writer import Batch, Conflict, StatementWriter
from aspects.privacy.tombstones import record_tombstones
from aspects.settings import Settings
from aspects.store.settings import StoreSettings
from aspects.store.statements import actor_id_of
from tests.lrs import statements_helpers
from tests.lrs.statements_helpers import statement
from tests.support import free_port, wait_until_serving

module_store = statements_helpers.module_store
lrs_store = statements_helpers.lrs_store
AUTHORITY = {"objectType": "Agent", "mbox": "mailto:authority@example.org"}
ASPECTS = str(Path(sys.executable).parent / "aspects")


def stored_ids(client: Client, settings: StoreSettings) -> list[str]:
    rows = client.query(
        f"SELECT toString(statement_id) FROM {settings.database}.lrs_statements"
    ).result_rows
    return sorted(row[0] for row in rows)


def slow_writer(client: Client, settings: StoreSettings, journal: Path, **extra: Any) -> Any:
    """A journaled writer whose flusher never runs by itself during a test."""
    return StatementWriter(client, settings.database, journal=journal, flush_interval=3600, **extra)


def test_answered_statements_wait_in_the_journal_until_a_read_or_the_flush(
    lrs_store: tuple[Client, StoreSettings], tmp_path: Path
) -> None:
    client, settings = lrs_store
    writer = slow_writer(client, settings, tmp_path / "journal")
    sent = [statement() for _ in range(3)]

    async def scenario() -> None:
        writer.start()
        try:
            before = writer.consistent_through()
            assert await writer.write(Batch([incoming(s) for s in sent], AUTHORITY, "2.0.0"))
            # Answered, durable in the journal, not in the store yet.
            assert stored_ids(client, settings) == []
            assert list((tmp_path / "journal").glob("*.journal"))
            # Consistent-through stays below the pending statements.
            assert writer.consistent_through() < datetime.now(UTC)
            assert writer.consistent_through() >= before
            await writer.visible()
            assert stored_ids(client, settings) == sorted(s["id"] for s in sent)
            assert not list((tmp_path / "journal").glob("*.journal"))
            assert writer.consistent_through() >= datetime.now(UTC).replace(microsecond=0)
        finally:
            await writer.stop()

    asyncio.run(scenario())


def test_conflicts_are_detected_against_pending_statements(
    lrs_store: tuple[Client, StoreSettings], tmp_path: Path
) -> None:
    client, settings = lrs_store
    writer = slow_writer(client, settings, tmp_path / "journal")
    sent = statement()
    rival = {**sent, "verb": {"id": "http://example.org/verbs/rival"}}

    async def scenario() -> tuple[Any, Any]:
        writer.start()
        try:
            await writer.write(Batch([incoming(sent)], AUTHORITY, "2.0.0"))
            again = await writer.write(Batch([incoming(sent)], AUTHORITY, "2.0.0"))
            other = statement()
            refused = await asyncio.gather(
                writer.write(Batch([incoming(other), incoming(rival)], AUTHORITY, "2.0.0")),
                return_exceptions=True,
            )
            return again, refused[0]
        finally:
            await writer.stop()

    again, refused = asyncio.run(scenario())
    assert again == [sent["id"]]
    assert isinstance(refused, Conflict)
    assert stored_ids(client, settings) == [sent["id"]]  # the refused batch stored nothing


def test_a_crashed_writers_journal_is_stored_at_the_next_start_once(
    lrs_store: tuple[Client, StoreSettings], tmp_path: Path
) -> None:
    """What a process killed after answering leaves behind: complete lines (answered requests)
    and a torn last line (a request never answered). Written here with the journal's own
    functions; the HTTP crash test below does it with a real kill -9."""
    client, settings = lrs_store
    directory = tmp_path / "journal"
    now = datetime.now(UTC)
    texts = []
    for position, sent in enumerate(statement() for _ in range(4)):
        item = incoming(sent)
        stamped = now.replace(microsecond=position)
        kept = stored_statement(item, stamped, AUTHORITY, "2.0.0")
        texts.append((item.content_hash, orjson.dumps(kept).decode(), sent["id"]))
    journal = Journal(directory)
    journal.append(statement_line(h, t) for h, t, _ in texts[:3])
    journal.append([statement_line(texts[3][0], texts[3][1])[:40]])  # torn by the crash
    journal.close()
    # One of them had reached the store before the crash: it is not stored twice.
    first = StatementWriter(client, settings.database)

    async def store_first() -> None:
        first.start()
        await first.write(Batch([incoming(orjson.loads(texts[0][1]))], AUTHORITY, "2.0.0"))
        await first.stop()

    asyncio.run(store_first())
    restarted = slow_writer(client, settings, directory)

    async def restart() -> None:
        restarted.start()
        await restarted.stop()

    asyncio.run(restart())
    assert stored_ids(client, settings) == sorted(t[2] for t in texts[:3])
    stored = client.query(
        f"SELECT statement FROM {settings.database}.lrs_statements "
        "WHERE statement_id = {id:UUID}",
        parameters={"id": texts[1][2]},
    ).result_rows[0][0]
    assert orjson.loads(stored)["stored"] == format_time(now.replace(microsecond=1))
    assert not list(directory.glob("*.journal"))


def test_pending_statements_of_a_learner_erased_meanwhile_are_not_stored(
    lrs_store: tuple[Client, StoreSettings], tmp_path: Path
) -> None:
    client, settings = lrs_store
    writer = slow_writer(client, settings, tmp_path / "journal")
    erased = statement(actor={"objectType": "Agent", "mbox": "mailto:gone@example.org"})
    kept = statement()

    async def scenario() -> None:
        writer.start()
        try:
            await writer.write(Batch([incoming(erased), incoming(kept)], AUTHORITY, "2.0.0"))
            # The erasure runs while both are pending: its tombstone must stop the flush.
            record_tombstones(client, settings.database, [actor_id_of(erased)])
            await writer.visible()
        finally:
            await writer.stop()

    asyncio.run(scenario())
    assert stored_ids(client, settings) == [kept["id"]]


def test_the_id_filter_never_hides_a_stored_id(lrs_store: tuple[Client, StoreSettings]) -> None:
    client, settings = lrs_store
    before = statement()
    plain = StatementWriter(client, settings.database)

    async def store_before() -> None:
        plain.start()
        await plain.write(Batch([incoming(before)], AUTHORITY, "2.0.0"))
        await plain.stop()

    asyncio.run(store_before())
    loaded = IdFilter.load(client, settings.database)
    assert loaded.may_contain(before["id"])
    fresh = [str(uuid.uuid4()) for _ in range(1000)]
    assert sum(loaded.may_contain(i) for i in fresh) < 50  # "maybe" is rare for new ids
    counter = IdFilter(10)
    made_up = [str(uuid.UUID(int=n)) for n in range(500)]  # not random: still exact
    for statement_id in made_up[:250]:
        counter.add(statement_id)
    assert all(counter.may_contain(i) for i in made_up[:250])

    # An exclusive writer still refuses a rival of a statement stored before it started.
    exclusive = StatementWriter(client, settings.database, exclusive=True)
    rival = {**before, "verb": {"id": "http://example.org/verbs/rival"}}

    async def scenario() -> list[Any]:
        exclusive.start()
        try:
            mine = statement()
            await exclusive.write(Batch([incoming(mine)], AUTHORITY, "2.0.0"))
            return await asyncio.gather(
                exclusive.write(Batch([incoming(rival)], AUTHORITY, "2.0.0")),
                exclusive.write(Batch([incoming(before)], AUTHORITY, "2.0.0")),
                exclusive.write(
                    Batch(
                        [incoming({**mine, "verb": {"id": "http://example.org/v/x"}})],
                        AUTHORITY,
                        "2.0.0",
                    )
                ),
                return_exceptions=True,
            )
        finally:
            await exclusive.stop()

    outcomes = asyncio.run(scenario())
    assert isinstance(outcomes[0], Conflict)
    assert outcomes[1] == [before["id"]]
    assert isinstance(outcomes[2], Conflict)


def _children(pid: int) -> list[int]:
    """Child processes of ``pid`` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (not a zombie: an orphan's zombie is reaped by init)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_statements_answered_before_a_kill_9_are_there_after_a_restart(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ASPECTS_DATA_DIR": str(tmp_path),
        # The flush would come long after the kill: only the journal can bring them back.
        "ASPECTS_LRS__FLUSH_INTERVAL_SECONDS": "10",
    }
    env.pop("ASPECTS_CONFIG", None)
    created = subprocess.run(
        [ASPECTS, "lrs", "credentials", "create", "--name", "crash", "--scope", "all", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    credential = orjson.loads(created.stdout)
    auth = (credential["key"], credential["secret"])
    sent = [statement() for _ in range(5)]

    def serve() -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        server = subprocess.Popen(
            [ASPECTS, "lrs", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}/xAPI"
        wait_until_serving(f"{base}/about", server, 60, "the LRS")
        return server, base

    server, base = serve()
    try:
        headers = {"X-Experience-API-Version": "2.0.0"}
        with httpx.Client(base_url=base, auth=auth, headers=headers) as http:
            assert http.post("/statements", json=sent).status_code == 200
        workers = _children(server.pid)
        assert len(workers) >= 2  # lrs.receive_workers (and the pool's resource tracker)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        assert list((tmp_path / "lrs-journal" / "lrs").glob("*.journal"))
        # Its receive workers do not outlive it (they would wait on their queue forever).
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in workers if _alive(pid)]
        server, base = serve()
        with httpx.Client(base_url=base, auth=auth, headers=headers) as http:
            for item in sent:
                found = http.get("/statements", params={"statementId": item["id"]})
                assert found.status_code == 200
                assert found.json()["verb"] == item["verb"]
            listed = http.get("/statements", params={"limit": 10}).json()["statements"]
            assert [s["id"] for s in listed] == [s["id"] for s in reversed(sent)]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_id_filter_is_on_only_where_the_lrs_is_the_only_writer(tmp_path: Path) -> None:
    embedded = Settings(data_dir=tmp_path)
    server = Settings(data_dir=tmp_path, store=StoreSettings(url="http://db.example.org:8123"))
    assert exclusive_writer(embedded) is True  # chDB admits one process per data directory
    assert exclusive_writer(server) is False  # other LRS processes may share the server
    told = server.model_copy(
        update={"lrs": server.lrs.model_copy(update={"exclusive_writer": True})}
    )
    assert exclusive_writer(told) is True
    refused = embedded.model_copy(
        update={"lrs": embedded.lrs.model_copy(update={"exclusive_writer": False})}
    )
    assert exclusive_writer(refused) is False


def test_a_backlog_of_pending_statements_is_stored_before_more_are_taken(
    lrs_store: tuple[Client, StoreSettings], tmp_path: Path
) -> None:
    client, settings = lrs_store
    writer = slow_writer(client, settings, tmp_path / "journal", max_pending=5)
    first = [statement() for _ in range(5)]

    async def scenario() -> list[str]:
        writer.start()
        try:
            await writer.write(Batch([incoming(s) for s in first], AUTHORITY, "2.0.0"))
            assert stored_ids(client, settings) == []  # below the limit: pending
            await writer.write(Batch([incoming(statement())], AUTHORITY, "2.0.0"))
            return stored_ids(client, settings)  # the backlog went first
        finally:
            await writer.stop()

    assert asyncio.run(scenario()) == sorted(s["id"] for s in first)
