"""The raw copy from memory (``aspects.lrs.statements.rawblock``): the raw table's rows the copier
inserts from the flushed blocks equal, every column (FINAL), those the ``INSERT ... SELECT`` from
``lrs_statements`` gives, for the ERB fixtures and varied statements, with the derived columns
computed by the native build or by ClickHouse; and a window that starts before what the copier
holds (a restart after a crash) is still copied whole, inside ClickHouse."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.lrs.statements.copier import RawCopier
from aspects.lrs.statements.prepare import INDEX_COLUMNS
from aspects.lrs.statements.ready import Ready, Stamps, read_json_body
from aspects.lrs.statements.receive import statements_from
from aspects.lrs.statements.sql import load
from aspects.lrs.statements.writer import Batch, StatementWriter
from aspects.store.native_format import native_string
from aspects.store.settings import StoreSettings
from aspects.transform.fast import native_state
from tests.lrs.statements_helpers import statement
from tests.lrs.test_statements_packed import _fixtures, _random, _valid
from tests.lrs.test_statements_ready import AUTHORITY, _variety
from tests.store.raw_rows import raw_rows

NEVER = 3600.0  # a copy interval that never comes within a test
_WINDOW = {"lower": "1970-01-01 00:00:00.000000", "upper": "2200-01-01 00:00:00.000000"}


def _sent(version: str) -> list[dict[str, Any]]:
    """ERB fixtures first (the native code is sure of them), then varied statements, with now
    and then one the native code leaves to ClickHouse (a timestamp before 1901)."""
    sent = [{**s, "id": str(uuid.uuid4())} for s in [*_valid(_fixtures(), version), *_variety()]]
    for number, varied in enumerate(_random(random.Random(version), 200)):
        sent.append(varied)
        if number % 40 == 39:
            sent.append(statement(timestamp="1850-01-01T00:00:00Z"))
    return sent


def _batches(sent: list[dict[str, Any]], version: str) -> list[Batch]:
    """Requests of 7 statements, alternately read as a receive worker does (packed ``Ready``)
    and in the process (``Incoming``: multipart bodies, ``receive_workers = 0``)."""
    batches = []
    for number, start in enumerate(range(0, len(sent), 7)):
        body = orjson.dumps(sent[start : start + 7])
        if number % 2:
            items, _ = statements_from("application/json", body, version)
            batches.append(Batch(items, AUTHORITY, version))
        else:
            outcome = read_json_body(body, version, AUTHORITY, False, None)
            assert outcome[0] == "ok", outcome
            batches.append(Batch([Ready(*outcome[1])], AUTHORITY, version))
    return batches


def _write(writer: StatementWriter, batches: list[Batch], flush_every: int) -> None:
    """Commit the batches, flushing every ``flush_every`` of them (several held blocks per
    copy), then stop (flush and copy what is pending)."""

    async def scenario() -> None:
        writer.start()
        for number, batch in enumerate(batches):
            await writer.write(batch)
            if number % flush_every == flush_every - 1:
                await asyncio.to_thread(writer.flush)
        await writer.stop()

    asyncio.run(scenario())


def _reference(client: Client, source_db: str, db: str) -> None:
    """``db``'s raw table filled the old way: ``source_db``'s lrs_statements rows copied into
    ``db`` and its copy_insert.sql run over every stored time."""
    columns = ", ".join(INDEX_COLUMNS)
    client.command(
        f"INSERT INTO {db}.lrs_statements ({columns}) "
        f"SELECT {columns} FROM {source_db}.lrs_statements"
    )
    client.command(load("copy_insert.sql", db), parameters=_WINDOW)


@pytest.mark.parametrize(
    ("version", "derive"), [("1.0.3", True), ("2.0.0", True), ("2.0.0", False)]
)
def test_raw_rows_copied_from_memory_equal_those_of_insert_select(
    store: Client,
    store_settings: StoreSettings,
    other_db: str,
    tmp_path: Path,
    version: str,
    derive: bool,
) -> None:
    if derive and native_state() != "loaded":
        pytest.skip("the native build is not loaded: ClickHouse computes the derived columns")
    db = store_settings.database
    copier = RawCopier(store, db, interval=NEVER, derive=derive)
    writer = StatementWriter(store, db, copier=copier, journal=tmp_path / "journal")
    sent = _sent(version)
    assert len(sent) > 250
    _write(writer, _batches(sent, version), flush_every=5)
    assert copier.memory_copies == 1  # one copy of the whole window, from memory
    # with the native build: the first flushes (ERB fixtures) with their derived columns, the
    # others (some statements the native code leaves to ClickHouse) in a second block
    assert 0 < copier.derived_statements < len(sent) if derive else copier.derived_statements == 0
    _reference(store, db, other_db)
    got, expected = raw_rows(store, db), raw_rows(store, other_db)
    assert len(got) == len(sent)
    assert got == expected
    # the source and the derived columns were really filled (not all defaults)
    assert {row[3] for row in got} == {"lrs"}
    assert len({row[5] for row in got}) > 1  # actor_id
    assert any(row[13] is not None for row in got)  # result_success


def test_a_window_before_what_is_held_is_copied_inside_clickhouse(
    store: Client, store_settings: StoreSettings, other_db: str, tmp_path: Path
) -> None:
    """Statements committed by a process that crashed before copying (its journal flushed,
    its copier never ran) are copied by the next process's first copy, together with that
    process's own (held) statements: INSERT ... SELECT for that window, then from memory."""
    db = store_settings.database
    first = StatementWriter(store, db, copier=RawCopier(store, db, interval=NEVER))

    async def crash() -> None:
        first.start()
        await first.write(_batches([statement() for _ in range(5)], "2.0.0")[0])
        # no stop(): the copier never runs

    asyncio.run(crash())
    copier = RawCopier(store, db, interval=NEVER)
    second = StatementWriter(store, db, copier=copier, journal=tmp_path / "journal")

    async def restart() -> None:
        second.start()
        await second.write(_batches([statement() for _ in range(4)], "2.0.0")[0])
        await asyncio.to_thread(second.flush)
        assert copier.copy_pending()  # the crashed process's window: not held
        await second.write(_batches([statement() for _ in range(3)], "2.0.0")[0])
        await second.stop()  # flush, then this window from memory

    asyncio.run(restart())
    assert copier.memory_copies == 1
    _reference(store, db, other_db)
    got = raw_rows(store, db)
    assert len(got) == 12
    assert got == raw_rows(store, other_db)
    assert store.command(f"SELECT max(copied_through) FROM {db}.lrs_raw_copy") == store.command(
        f"SELECT max(stored_time) FROM {db}.lrs_statements"
    )


def test_held_rows_are_the_flushed_statements_columns() -> None:
    """``Ready.raw_columns`` cuts the ids, stored times and texts out of a stamped block."""
    sent = [statement(), statement(timestamp="2026-01-01T00:00:00Z")]
    outcome = read_json_body(orjson.dumps(sent), "2.0.0", AUTHORITY, False, None)
    base = datetime(2026, 11, 28, 7, 0, 0, tzinfo=UTC)
    part = Ready(*outcome[1]).stamped(Stamps(base), 0)
    ids, times, texts = part.raw_columns()
    assert ids == b"".join(
        uuid.UUID(s["id"]).bytes[7::-1] + uuid.UUID(s["id"]).bytes[:7:-1] for s in sent
    )
    micros = int(base.timestamp()) * 1_000_000
    assert times == micros.to_bytes(8, "little") + (micros + 1).to_bytes(8, "little")
    first, second = part.texts()
    assert texts == native_string(first) + native_string(second)
    assert orjson.loads(first)["stored"] == "2026-11-28T07:00:00.000000Z"
