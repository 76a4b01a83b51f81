"""The packed insert path: statements laid out as Native columns where they are made."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import clickhouse_connect
import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.privacy.tombstones import record_tombstones
from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings
from aspects.store.statements import (
    PackedStatements,
    StatementPacker,
    actor_id_of,
    insert_packed,
    uuid_bytes,
)
from tests.store.endpoint_server import ADMIN, start_server


def test_packed_statements_through_the_http_endpoint(tmp_path: Path) -> None:
    """Server mode: the same Native block and settings over HTTP (``aspects db serve``)."""
    (tmp_path / "server").mkdir()
    server = start_server(tmp_path / "server")
    try:
        client = clickhouse_connect.get_client(
            host="127.0.0.1", port=server.port, username=ADMIN[0], password=ADMIN[1]
        )
        settings = StoreSettings(database="packed_http")
        migrate(client, settings)
        statements = [_statement(f"h{index}", index * 40) for index in range(3)]
        stored_time = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
        assert insert_packed(client, "packed_http", [_pack(statements)], stored_time, "x") == 3
        rows = client.query(
            "SELECT statement, actor_id FROM packed_http.xapi_statements ORDER BY actor_id"
        ).result_rows
        assert [(orjson.loads(text), actor) for text, actor in rows] == [
            (statement, statement["actor"]["account"]["name"])  # type: ignore[index]
            for statement in statements
        ]
        client.close()
    finally:
        assert server.stop() == 0


def _statement(actor: str, size: int = 0) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"account": {"homePage": "https://lms", "name": actor}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {
            "id": "http://lms/course-v1:Org+C+1/x",
            "definition": {"name": {"en": "é" * size}},
        },
        "timestamp": "2026-01-02T03:04:05.123456+00:00",
    }


def _pack(statements: list[dict[str, object]]) -> PackedStatements:
    packer = StatementPacker()
    for statement in statements:
        packer.add(str(statement["id"]), orjson.dumps(statement), actor_id_of(statement))
    return packer.build()


@pytest.mark.parametrize(
    "value", ["00000000-0000-0000-0000-000000000000", "5b1a95f6-88f1-4319-a735-7b86d145acfd"]
)
def test_uuid_bytes_round_trip(value: str) -> None:
    packed = PackedStatements(uuid_bytes(value), b"\x00", ["a"])
    assert [str(item) for item in packed.ids_each()] == [value]


def test_packed_statements_are_stored_as_given(
    store: Client, store_settings: StoreSettings
) -> None:
    # Lengths around the one- and two-byte length prefixes, and one past the lookup table.
    statements = [_statement(f"a{index}", size) for index, size in enumerate([0, 60, 8000, 9000])]
    parts = [_pack(statements[:1]), _pack([]), _pack(statements[1:])]
    assert [part.count for part in parts] == [1, 0, 3]
    assert [orjson.loads(text) for part in parts for text in part.texts_each()] == statements
    stored_time = dt.datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
    db = store_settings.database
    assert insert_packed(store, db, parts, stored_time, "tracking-log") == 4
    rows = store.query(
        "SELECT toString(statement_id), statement, stored_time, source, actor_id, emission_time "
        f"FROM {db}.xapi_statements"
    ).result_rows
    by_id = {row[0]: row[1:] for row in rows}
    assert len(by_id) == 4
    for statement in statements:
        text, stored, source, actor, emitted = by_id[str(statement["id"])]
        assert orjson.loads(text) == statement
        assert stored.replace(tzinfo=dt.UTC) == stored_time
        assert source == "tracking-log"
        assert actor == actor_id_of(statement)
        assert emitted.isoformat().startswith("2026-01-02T03:04:05.123456")
    assert insert_packed(store, db, [_pack([])], stored_time, "tracking-log") == 0


def test_packed_statements_of_erased_learners_are_left_out(
    store: Client, store_settings: StoreSettings
) -> None:
    db = store_settings.database
    record_tombstones(store, db, ["gone"])
    statements = [_statement(actor) for actor in ["kept", "gone", "kept", "gone"]]
    stored_time = dt.datetime.now(dt.UTC)
    assert (
        insert_packed(store, db, [_pack(statements[:2]), _pack(statements[2:])], stored_time, "t")
        == 2
    )
    ids = {
        row[0]
        for row in store.query(
            f"SELECT toString(statement_id) FROM {db}.xapi_statements"
        ).result_rows
    }
    assert ids == {str(statements[0]["id"]), str(statements[2]["id"])}


def test_select_keeps_ids_texts_and_actors_together() -> None:
    statements = [_statement(f"a{index}", index * 50) for index in range(5)]
    packed = _pack(statements).select([True, False, False, True, True])
    assert packed.count == 3
    assert packed.actors == ["a0", "a3", "a4"]
    assert [str(item) for item in packed.ids_each()] == [
        str(statements[i]["id"]) for i in (0, 3, 4)
    ]
    assert [orjson.loads(text) for text in packed.texts_each()] == [
        statements[i] for i in (0, 3, 4)
    ]


def test_add_all_packs_like_add_and_is_all_or_nothing() -> None:
    statements = [_statement("a", 10), _statement("b", 9000)]
    statements.append({**_statement("c"), "actor": {"mbox": "mailto:c@example.com"}})
    packer = StatementPacker()
    packer.add_all(statements)
    assert packer.build() == _pack(statements)
    unserialisable = {**_statement("d"), "result": {"score": {"raw": 1 << 70}}}
    for bad in (
        unserialisable,
        {**_statement("e"), "id": "not-a-uuid"},
        {**_statement("e"), "id": "abcd"},  # hex, but not 16 bytes
    ):
        with pytest.raises((TypeError, ValueError)):
            packer.add_all([_statement("f"), bad])
    assert len(packer) == 3
    assert packer.build() == _pack(statements)


def _row(statement: dict[str, object]) -> tuple[bytes, bytes, str]:
    """What the native transformer gives for a statement (aspects.transform.fast)."""
    return uuid.UUID(str(statement["id"])).bytes, orjson.dumps(statement), actor_id_of(statement)


def test_add_rows_packs_like_add_all() -> None:
    # Lengths around the one- and two-byte length prefixes, and past the lookup table (16 KiB).
    statements = [_statement(f"a{index}", size) for index, size in enumerate([0, 60, 9000])]
    statements.append({**_statement("c"), "actor": {"mbox": "mailto:c@example.com"}})
    statements.append({**_statement("d"), "id": "00000000-0000-0000-0000-000000000000"})
    statements.append({**_statement("e"), "id": "ffffffff-ffff-ffff-ffff-fffffffffffe"})
    expected = StatementPacker()
    expected.add_all(statements)
    packer = StatementPacker()
    packer.add_rows([_row(statement) for statement in statements[:2]])
    packer.add_rows([])
    packer.add_rows([_row(statement) for statement in statements[2:]])
    assert packer.build() == expected.build()
    assert [str(item) for item in packer.build().ids_each()] == [s["id"] for s in statements]


def test_add_rows_is_all_or_nothing() -> None:
    good = [_row(_statement("a", 20))]
    packer = StatementPacker()
    packer.add_rows(good)
    before = packer.build()
    short = (uuid.uuid4().bytes[:15], b"{}", "x")
    long = (uuid.uuid4().bytes + b"\x00", b"{}", "y")
    for bad in ([short], [*good, short, long], [*good, (uuid.uuid4().bytes, "{}", "z")]):
        with pytest.raises((TypeError, ValueError)):
            packer.add_rows(bad)  # type: ignore[arg-type]
        assert packer.build() == before
