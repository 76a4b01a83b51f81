"""The group-commit writer: concurrent requests share INSERTs; conflicts stay per request."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.lrs.statements import read
from aspects.lrs.statements.prepare import incoming
from aspects.lrs.statements.query import parse_filters
from aspects.lrs.statements.ready import Ready, read_json_body
from aspects.lrs.statements.writer import Batch, Conflict, StatementWriter
from aspects.privacy.tombstones import record_tombstones
from aspects.store.settings import StoreSettings
from tests.lrs import statements_helpers
from tests.lrs.statements_helpers import statement

module_store = statements_helpers.module_store
lrs_store = statements_helpers.lrs_store
AUTHORITY = {"objectType": "Agent", "mbox": "mailto:authority@example.org"}


class CountingWriter(StatementWriter):
    """Counts the commits (one INSERT per table each) the writer makes."""

    commits = 0

    def _store(self, accepted: Any, count: int) -> None:
        type(self).commits += 1
        super()._store(accepted, count)


def count(client: Client, settings: StoreSettings, table: str) -> int:
    return int(client.command(f"SELECT count() FROM {settings.database}.{table}"))


def test_concurrent_requests_share_commits_and_conflicts_stay_per_request(
    lrs_store: tuple[Client, StoreSettings],
) -> None:
    client, settings = lrs_store
    CountingWriter.commits = 0
    writer = CountingWriter(client, settings.database)
    shared = statement()
    rival = incoming({**shared, "verb": {"id": "http://example.org/verbs/rival"}})

    async def scenario() -> list[Any]:
        writer.start()
        try:
            batches = [
                Batch([incoming(statement()) for _ in range(10)], AUTHORITY, "1.0.3")
                for _ in range(20)
            ]
            batches.append(Batch([incoming(shared)], AUTHORITY, "2.0.0"))
            batches.append(Batch([incoming(statement()), rival], AUTHORITY, "2.0.0"))
            return await asyncio.gather(*(writer.write(b) for b in batches), return_exceptions=True)
        finally:
            await writer.stop()

    outcomes = asyncio.run(scenario())
    assert all(isinstance(outcome, list) and len(outcome) == 10 for outcome in outcomes[:20])
    assert outcomes[20] == [shared["id"]]
    assert isinstance(outcomes[21], Conflict)  # the rival came second: its whole batch is refused
    assert CountingWriter.commits < 22 / 2
    assert count(client, settings, "lrs_statements") == 201
    assert count(client, settings, "xapi_statements") == 201


def test_same_content_again_is_a_no_op(lrs_store: tuple[Client, StoreSettings]) -> None:
    client, settings = lrs_store
    writer = StatementWriter(client, settings.database)
    sent = statement()

    async def scenario() -> tuple[list[str], list[str]]:
        first = await writer.write(Batch([incoming(sent)], AUTHORITY, "1.0.3"))
        second = await writer.write(Batch([incoming(sent)], AUTHORITY, "1.0.3"))
        await writer.stop()
        return first, second

    first, second = asyncio.run(scenario())
    assert first == second == [sent["id"]]
    assert count(client, settings, "lrs_statements") == 1
    with pytest.raises(Conflict):
        asyncio.run(
            writer.write(
                Batch([incoming({**sent, "verb": {"id": "http://x.org/v"}})], AUTHORITY, "1.0.3")
            )
        )


def test_statements_stored_before_the_key_table_are_indexed_at_start(
    lrs_store: tuple[Client, StoreSettings],
) -> None:
    """A store upgraded to migration 0014 with statements in it: the next start indexes them."""
    client, settings = lrs_store
    mine = statement(actor={"objectType": "Agent", "mbox": "mailto:old@example.org"})
    others = [statement() for _ in range(3)]

    async def write(items: list[dict[str, Any]]) -> None:
        writer = StatementWriter(client, settings.database)
        writer.start()
        await writer.write(Batch([incoming(s) for s in items], AUTHORITY, "2.0.0"))
        await writer.stop()

    asyncio.run(write([mine, *others]))
    client.command(f"TRUNCATE TABLE {settings.database}.lrs_statement_keys")  # as before 0014
    agent = parse_filters({"agent": orjson.dumps(mine["actor"]).decode()}, None)
    assert read.page(client, settings.database, agent) == []

    newer = statement(actor=mine["actor"])
    asyncio.run(write([newer]))  # start-up indexes the older statements; the view the new one
    found = [row[2] for row in read.page(client, settings.database, agent)]
    assert found == [newer["id"], mine["id"]]
    assert count(client, settings, "lrs_statement_keys") == int(
        client.command(
            f"SELECT count() FROM (SELECT DISTINCT key, statement_id "
            f"FROM {settings.database}.lrs_statement_keys)"
        )
    )


def _ready(statements: list[dict[str, Any]], version: str = "1.0.3") -> list[Ready]:
    """Statements as a receive worker returns them (the worker's function, run here)."""
    outcome = read_json_body(orjson.dumps(statements), version, AUTHORITY, False, None)
    assert outcome[0] == "ok", outcome
    return [Ready(*outcome[1])]


def test_worker_prepared_statements_keep_every_writer_rule(
    lrs_store: tuple[Client, StoreSettings], tmp_path: Path
) -> None:
    """Ids, conflicts, same-content no-ops and erased learners hold for statements a receive
    worker prepared, mixed with statements read in the process, through the journal."""
    client, settings = lrs_store
    erased_actor = {"objectType": "Agent", "mbox": "mailto:erased-worker@example.org"}
    record_tombstones(client, settings.database, [erased_actor["mbox"]])
    writer = StatementWriter(
        client, settings.database, journal=tmp_path / "journal", exclusive=True
    )
    shared = statement()
    kept = [statement() for _ in range(3)]
    gone = statement(actor=erased_actor)

    async def scenario() -> list[Any]:
        writer.start()
        try:
            first = await writer.write(Batch(_ready([*kept, gone]), AUTHORITY, "1.0.3"))
            mixed = await writer.write(Batch([incoming(shared)], AUTHORITY, "1.0.3"))
            again = await writer.write(Batch(_ready([shared]), AUTHORITY, "1.0.3"))
            rival = {**shared, "verb": {"id": "http://example.org/verbs/rival"}}
            conflict = await asyncio.gather(
                writer.write(Batch(_ready([statement(), rival]), AUTHORITY, "1.0.3")),
                return_exceptions=True,
            )
            await writer.visible()
            return [first, mixed, again, conflict[0]]
        finally:
            await writer.stop()

    first, mixed, again, conflict = asyncio.run(scenario())
    assert first == [s["id"] for s in [*kept, gone]]
    assert mixed == again == [shared["id"]]
    assert isinstance(conflict, Conflict)
    stored = {
        row[0]: orjson.loads(row[1])
        for row in client.query(
            f"SELECT toString(statement_id), statement FROM {settings.database}.lrs_statements"
        ).result_rows
    }
    assert set(stored) == {s["id"] for s in [*kept, shared]}  # not the erased learner's
    for sent in kept:
        got = stored[sent["id"]]
        assert got["authority"] == AUTHORITY
        assert got["timestamp"] == got["stored"]
        assert {
            k: v for k, v in got.items() if k not in ("stored", "timestamp", "authority", "version")
        } == sent
    assert count(client, settings, "xapi_statements") == 4
