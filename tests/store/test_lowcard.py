"""LowCardinality(String) columns sent dictionary-encoded (aspects.store.lowcard, the native
``low_cardinality`` of native/src/lowcard.rs): the encoding itself, and the same rows stored
as when the columns go as String or when ClickHouse computes them."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import random
import struct
import uuid
from collections.abc import Callable, Iterator, Sequence

import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.store import lowcard
from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings
from aspects.store.statements import (
    PackedStatements,
    StatementPacker,
    insert_packed,
)
from aspects.transform.fast import native_state
from tests.store.raw_rows import raw_rows

STATE = native_state()
pytestmark = pytest.mark.skipif(
    STATE != "loaded" and os.environ.get("ASPECTS_EXPECT_COMPILED") != "1",
    reason=f"native module {STATE}",
)
STORED = dt.datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
Encoder = Callable[[Sequence[bytes], int], bytes | None]


@pytest.fixture
def encode() -> Encoder:
    assert STATE == "loaded", f"the native module is not loaded: {STATE}"
    encoder = lowcard.native_encoder()
    assert encoder is not None
    return encoder


def _column(values: list[bytes]) -> bytes:
    out = bytearray()
    for value in values:
        length = len(value)
        while length >= 0x80:
            out.append((length & 0x7F) | 0x80)
            length >>= 7
        out.append(length)
        out += value
    return bytes(out)


def _decode(data: bytes) -> list[bytes]:
    """The values of a LowCardinality(String) Native column (reference reader)."""
    version, flags, count = struct.unpack_from("<QQQ", data)
    assert version == 1
    assert flags & ~0xFF == 1 << 9 | 1 << 10
    at = 24
    keys = []
    for _ in range(count):
        length, shift = 0, 0
        while True:
            byte = data[at]
            at += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        keys.append(data[at : at + length])
        at += length
    assert len(set(keys)) == len(keys)
    (rows,) = struct.unpack_from("<Q", data, at)
    at += 8
    width = "BHI"[flags & 0xFF]
    indexes = struct.unpack_from(f"<{rows}{width}", data, at)
    assert at + rows * struct.calcsize(width) == len(data)
    return [keys[index] for index in indexes]


@pytest.mark.parametrize("distinct", [1, 256, 257, 65536, 65537])
def test_encoding_round_trips(encode: Encoder, distinct: int) -> None:
    rng = random.Random(distinct)
    pool = [b"", "é".encode() * 70, *(f"v{index}".encode() for index in range(distinct - 2))]
    pool = pool[:distinct]
    values = pool + [rng.choice(pool) for _ in range(3000)]
    rng.shuffle(values)
    parts = [_column(values[:10]), b"", _column(values[10:])]
    encoded = encode(parts, len(values))
    assert encoded is not None
    assert _decode(encoded) == values
    assert encoded[8] == (0 if distinct <= 256 else 1 if distinct <= 65536 else 2)


def test_bad_columns_are_refused(encode: Encoder) -> None:
    assert encode([_column([b"a", b"b"])], 3) is None
    assert encode([_column([b"a", b"b"])], 1) is None
    assert encode([b"\x05ab"], 1) is None  # cut short
    assert encode([b"\x80"], 1) is None  # length cut short


def test_constant() -> None:
    assert _decode(lowcard.constant(_column([b"tracking-log"]), 5)) == [b"tracking-log"] * 5
    assert _decode(lowcard.constant(_column([b""]), 0)) == []


@pytest.fixture
def other_dbs(chdb_client: Client, store_settings: StoreSettings) -> Iterator[list[str]]:
    names = [store_settings.database + suffix for suffix in ("_b", "_c")]
    for name in names:
        migrate(chdb_client, store_settings.model_copy(update={"database": name}))
    yield names
    for name in names:
        chdb_client.command(f"DROP DATABASE IF EXISTS {name}")


def _statement(rng: random.Random, index: int) -> bytes:
    actor: dict[str, object] = (
        {"mbox": f"mailto:p{index % 400}@x.org"}
        if index % 7 == 0
        else {"account": {"homePage": "https://lms", "name": f"learner-{index % 300}-ü"}}
    )
    course = f"course-v1:Org{index % 5}+C{index % 13}+2026"
    statement = {
        "id": str(uuid.uuid4()),
        "timestamp": f"2026-0{1 + index % 3}-0{1 + index % 9}T10:00:{index % 60:02d}Z",
        "actor": actor,
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/v{rng.randrange(20)}"},
        "object": {
            "id": f"http://lms/{course}/x{index}" if index % 11 else "http://lms/nowhere",
            "definition": {"type": f"http://t/{rng.randrange(3)}"} if index % 4 else {},
        },
    }
    return orjson.dumps(statement)


def test_same_rows_as_strings_and_as_clickhouse_computes(
    chdb_client: Client,
    store: Client,
    store_settings: StoreSettings,
    other_dbs: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    derive = importlib.import_module("aspects.transform._fast").derive_columns
    rng = random.Random(5)
    parts: list[PackedStatements] = []
    for size in (700, 1, 300):  # parts joined into one column: their dictionaries merged
        packer = StatementPacker()
        for _ in range(size):
            packer.add(str(uuid.uuid4()), _statement(rng, rng.randrange(10_000)), "a")
        part = packer.build()
        parts.append(part.with_derived(derive(part.texts)))
    assert all(part.derived is not None for part in parts)
    plain = [PackedStatements(part.ids, part.texts, part.actors) for part in parts]
    as_strings, computed = other_dbs

    assert insert_packed(chdb_client, store_settings.database, parts, STORED, "src") == 1001
    assert insert_packed(chdb_client, computed, plain, STORED, "src") == 1001
    monkeypatch.setattr(lowcard, "native_encoder", lambda: None)
    assert insert_packed(chdb_client, as_strings, parts, STORED, "src") == 1001

    rows = raw_rows(chdb_client, store_settings.database)
    assert len(rows) == 1001
    assert len({row[4 + 1] for row in rows}) > 256  # actor_id: UInt16 indexes
    assert rows == raw_rows(chdb_client, as_strings) == raw_rows(chdb_client, computed)
