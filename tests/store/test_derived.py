"""The raw table's derived columns computed natively (native/src/derive.rs) equal ClickHouse's.

Each test inserts the same statements into two fresh databases of the shared chDB engine: once
with the derived columns the native ``derive_columns`` gave (for the statements it is sure of;
the others without), once without any (ClickHouse's EPHEMERAL extraction and DEFAULTs compute
them). Every column of every row must be equal (floats compared by ``repr``: -0.0 is not 0.0).
Statements: every ERB fixture statement, what our transformer makes of every ERB event, and
seeded random variations of them (timestamps, course and block ids, actors, scores, wrong JSON
types, missing members, duplicate keys, escapes, broken texts).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import random
import re
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.privacy.tombstones import record_tombstones
from aspects.store.settings import StoreSettings
from aspects.store.statements import (
    DERIVED_STREAMS,
    PackedStatements,
    StatementPacker,
    actor_id_of,
    insert_packed,
)
from aspects.transform.fast import native_state
from tests.erb import fixture_statements, transformer_statements
from tests.store.raw_rows import raw_rows

STATE = native_state()
pytestmark = pytest.mark.skipif(
    STATE != "loaded" and os.environ.get("ASPECTS_EXPECT_COMPILED") != "1",
    reason=f"native module {STATE}",
)
STORED = dt.datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
Derive = Callable[[bytes], list[bytes] | None]


@pytest.fixture
def derive() -> Derive:
    assert STATE == "loaded", f"the native module is not loaded: {STATE}"
    function: Derive = importlib.import_module("aspects.transform._fast").derive_columns
    return function


def _pack(texts: list[bytes]) -> PackedStatements:
    packer = StatementPacker()
    for text in texts:
        packer.add(str(uuid.uuid4()), text, "someone")
    return packer.build()


def _compare(
    client: Client, derive: Derive, db: str, other: str, texts: list[bytes]
) -> tuple[int, int]:
    """Insert ``texts`` with derived columns where sure (into ``db``) and without (into
    ``other``); every row must be equal. Returns (sure, not sure)."""
    packed = _pack(texts)
    sure = [derive(_pack([text]).texts) is not None for text in texts]
    with_derived = packed.select(sure)
    without = packed.select([not flag for flag in sure])
    # two parts with derived columns: their streams are joined stream by stream
    half = with_derived.count // 2
    first = with_derived.select([index < half for index in range(with_derived.count)])
    second = with_derived.select([index >= half for index in range(with_derived.count)])
    parts = [part.with_derived(derive(part.texts)) for part in (first, second) if part.count] + [
        without
    ]
    assert all(part.derived is not None for part in parts[:-1])
    assert insert_packed(client, db, parts, STORED, "t") == len(texts)
    assert insert_packed(client, other, [packed], STORED, "t") == len(texts)
    assert raw_rows(client, db) == raw_rows(client, other)
    return sum(sure), len(texts) - sum(sure)


def test_fixture_and_transformer_statements_are_all_sure_and_equal(
    store: Client, store_settings: StoreSettings, other_db: str, derive: Derive
) -> None:
    statements = fixture_statements() + transformer_statements()
    assert len(statements) > 100
    texts = [orjson.dumps(statement) for statement in statements]
    sure, unsure = _compare(store, derive, store_settings.database, other_db, texts)
    assert (sure, unsure) == (len(texts), 0)
    # and the course keys are really there (not a comparison of empty columns)
    with_course, dated = store.query(
        f"SELECT countIf(course_key != ''), countIf(emission_time > '2000-01-01') "
        f"FROM {store_settings.database}.xapi_statements"
    ).result_rows[0]
    assert with_course > 0.9 * len(texts)
    assert dated == len(texts)


# --- random variations ---------------------------------------------------------------------------

TIMESTAMPS = [
    "2024-01-02T03:04:05Z",
    "2024-01-02T03:04:05.1Z",
    "2024-01-02T03:04:05.123456+00:00",
    "2024-01-02T03:04:05.1234567891-11:45",
    "2024-02-29T23:59:59.999999+05:30",
    "2023-02-29T00:00:00Z",
    "2024-12-31T23:30:00-01:00",
    "1901-01-01T00:00:00+05:00",
    "2298-12-31T23:59:59-05:00",
    "1899-12-31T23:59:59Z",
    "2299-12-31T23:59:59Z",
    "2300-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59.5Z",
    "2024-01-02T24:00:00Z",
    "2024-01-02T23:59:60Z",
    "2024-01-02 03:04:05",
    "2024-01-02T03:04:05",
    "2024-01-02T03:04:05z",
    "2024-01-02T03:04:05+0530",
    "2024-01-02T03:04:05.Z",
    "2024-01-02T03:04",
    "2024-13-02T03:04:05Z",
    "  2024-01-02T03:04:05Z",
    "2024-01-02T03:04:05Zjunk",
    "garbage",
    "",
    None,
    5,
    {"a": 1},
]
IDS = [
    "http://lms/course/course-v1:edX+DemoX+Demo_Course",
    "http://lms/xblock/block-v1:edX+DemoX+Demo_Course+type@problem+block@abc",
    "block-v1:a+b+c+type@video+block@1?x=1#y",
    "course-v1:a+b",
    "course-v1:a+b+c course-v1:d+e+f",
    "xcourse-v1:o r+g+h",
    "course-v1:a\u000bb+c+d",
    "course-v1:a\u00a0x+b+c",
    'course-v1:a"b+c+d',
    "course-v1:é+ü+🎉",
    "course-v1:a+b+c\u0000d",
    "block-v1:\fa",
    "block-v1:/x block-v1:z+y+w",
    "block-v1:block-v1:a+b+c",
    "course-v1:a+b+c@d?e#f",
    "course-v1:+b+c",
    "http://lms/courses/course-v1:a/b+c/x",
    "",
    "\t course-v1:t+u+v\n",
]
NUMBERS: list[Any] = [
    0, 1, -1, 3, 0.5, -0.0, 1e308, -1e-308, 5e-324, 1.7976931348623157e308,
    (1 << 63) - 1, -(1 << 63), (1 << 64) - 1, 1 << 64, 10**30, 0.1, 2.5e-5,
    "1.5", "x", True, False, None, [], {},
]  # fmt: skip
NUMBER_TEXTS = [
    b"0.30000000000000004441", b"2.2250738585072011e-308", b"9007199254740993", b"1E2",
    b"-0", b"-0.0e0", b"1e-400", b"1e400", b"123456789012345678901234567890", b"0.1e-999",
    b"4.9406564584124654e-324", b"1.7976931348623158e308", b"18446744073709551616", b"01",
    b"1.", b".5", b"-", b"+1", b"0x10", b"1e+0", b"100000000000000000000000e-20",
]  # fmt: skip
BOOLS: list[Any] = [True, False, None, 0, 1, "true", [], {}]
STRINGS: list[Any] = ["x", "", "é\u2028", 'a\\b"c', None, 5, 1.5, True, [], {"a": 1}]


def _member(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]``, made a dict when it is not one."""
    if not isinstance(parent.get(key), dict):
        parent[key] = {}
    value: dict[str, Any] = parent[key]
    return value


def _vary(rng: random.Random, base: dict[str, Any]) -> dict[str, Any]:
    s: dict[str, Any] = json.loads(json.dumps(base))
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(12)
        if kind == 0:
            s["timestamp"] = rng.choice(TIMESTAMPS)
        elif kind == 1:
            _member(s, "object")["id"] = rng.choice(IDS)
        elif kind == 2:
            lists = _member(_member(s, "context"), "contextActivities")
            name = rng.choice(["parent", "grouping", "category", "other"])
            items: list[Any] = [
                rng.choice([{"id": rng.choice(IDS)}, {"x": 1}, {"id": 5}, "x", {}, None])
                for _ in range(rng.randint(0, 3))
            ]
            lists[name] = rng.choice([items, items, items, {"id": rng.choice(IDS)}, "x"])
        elif kind == 3:
            actor: dict[str, Any] = {}
            for key in rng.sample(["account", "mbox", "mbox_sha1sum", "openid", "name"], 2):
                actor[key] = (
                    {"name": rng.choice(STRINGS), "homePage": "h"}
                    if key == "account" and rng.random() < 0.8
                    else rng.choice(STRINGS)
                )
            s["actor"] = actor
        elif kind == 4:
            s["verb"] = rng.choice([{"id": rng.choice(STRINGS)}, {"id": "v", "display": {}}, None])
        elif kind == 5:
            score = _member(_member(s, "result"), "score")
            score[rng.choice(["scaled", "raw", "max", "min"])] = rng.choice(NUMBERS)
        elif kind == 6:
            result = _member(s, "result")
            result[rng.choice(["success", "completion"])] = rng.choice(BOOLS)
            result["duration"] = rng.choice(STRINGS)
        elif kind == 7:  # missing members
            path = rng.choice([[], ["actor"], ["object"], ["context"], ["result"]])
            node: Any = s
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict) and node:
                del node[rng.choice(list(node))]
        elif kind == 8:
            _member(s, "object")["definition"] = rng.choice(
                [{"type": rng.choice(STRINGS)}, {"name": {"en": "x"}}, "x", None]
            )
        elif kind == 9:
            _member(s, "context")["registration"] = rng.choice(STRINGS)
        elif kind == 10:
            s[rng.choice(["actor", "object", "context", "result"])] = rng.choice(
                [None, "x", 1, [], {}]
            )
        else:
            s["extra"] = {"deep": [[[[{"a": rng.choice(NUMBERS)}]]]], "text": "\\u00e9"}
    return s


def _text(rng: random.Random, statement: dict[str, Any]) -> bytes:
    """The statement as text: orjson, ASCII-escaped json, indented, or altered textually."""
    way = rng.randrange(10)
    if way == 0:
        text = json.dumps(statement, ensure_ascii=True).encode()
    elif way == 1:
        text = json.dumps(statement, indent=1, ensure_ascii=False).encode()
    else:
        try:
            text = orjson.dumps(statement)
        except TypeError:  # integers past 64 bits
            text = json.dumps(statement, separators=(",", ":"), ensure_ascii=False).encode()
    if way == 2:  # a duplicate key in front (ClickHouse keeps the first value)
        path = rng.choice([b"{", b'"actor":{', b'"verb":{', b'"object":{', b'"result":{'])
        at = text.find(path)
        key = rng.choice([b'"verb"', b'"id"', b'"timestamp"', b'"mbox"', b'"raw"', b'"zz"'])
        value = rng.choice([b'"dup"', b'{"id":"course-v1:d+u+p"}', b"1", b"null"])
        if at >= 0:
            text = text[: at + len(path)] + key + b":" + value + b"," + text[at + len(path) :]
    elif way == 4 and b'"raw":' in text:  # number texts that are not the shortest form
        literal = rng.choice(NUMBER_TEXTS)
        text = re.sub(rb'"raw":[^,}]*', b'"raw":' + literal, text, count=1)
    elif way == 3:  # broken or odd texts
        text = rng.choice(
            [
                text[: rng.randrange(len(text))],
                text + b"x",
                b" \n" + text + b" ",
                text.replace(b'"', b"'", 1),
                b"[" + text + b"]",
                text.replace(b"}", b',"bad":"\\ud800"}', 1),
                text.replace(b"}", b',"n":1e400}', 1),
                text.replace(b"}", b',"t":"a\tb"}', 1),
                text.replace(b"}", b',"deep":' + b"[" * 200 + b"]" * 200 + b"}", 1),
            ]
        )
    return text


def test_random_variations_give_the_sameraw_rows(
    store: Client, store_settings: StoreSettings, other_db: str, derive: Derive
) -> None:
    rng = random.Random(20261128)
    bases = fixture_statements() + transformer_statements()
    texts = [_text(rng, _vary(rng, rng.choice(bases))) for _ in range(3000)]
    sure, unsure = _compare(store, derive, store_settings.database, other_db, texts)
    assert min(sure, unsure) > 500, (sure, unsure)


def test_streams_layout(derive: Derive) -> None:
    """One stream per column, two per Nullable one; rows concatenate stream by stream."""
    a = orjson.dumps({"timestamp": "1970-01-02T00:00:00.5Z", "result": {"score": {"raw": 2}}})
    b = orjson.dumps({"actor": {"mbox_sha1sum": "ab"}, "result": {"success": False}})
    streams = derive(_pack([a, b]).texts)
    assert streams is not None
    assert len(streams) == DERIVED_STREAMS == 20
    assert streams[0] == (86_400_500_000).to_bytes(8, "little") + bytes(8)
    assert streams[1] == b"\x00" + b"\x07sha1:ab"
    assert streams[9:11] == [b"\x01\x00", b"\x00\x00"]  # result_success: NULL, false
    assert streams[15:17] == [b"\x00\x01", orjson_float(2.0) + bytes(8)]  # score raw: 2, NULL
    assert derive(b"") == [b""] * 20
    assert derive(_pack([a, b"{"]).texts) is None
    assert derive(b"\x05{}") is None  # a length past the end


def orjson_float(value: float) -> bytes:
    import struct

    return struct.pack("<d", value)


def test_mixed_parts_and_the_erasure_filter(
    store: Client, store_settings: StoreSettings, other_db: str, derive: Derive
) -> None:
    db = store_settings.database
    record_tombstones(store, db, ["gone"])

    def statement(actor: str) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "actor": {"account": {"homePage": "h", "name": actor}},
            "verb": {"id": "v"},
            "object": {"id": "http://lms/xblock/block-v1:O+C+R+type@html+block@x"},
            "timestamp": "2026-01-02T03:04:05.123456+00:00",
        }

    statements = [statement(actor) for actor in ["kept", "gone", "kept", "kept", "gone"]]
    parts = []
    for group in (statements[:2], statements[2:4], statements[4:]):
        packer = StatementPacker()
        packer.add_all(group)
        parts.append(packer.build())
    parts[0] = parts[0].with_derived(derive(parts[0].texts))
    parts[2] = parts[2].with_derived(derive(parts[2].texts))
    assert parts[0].derived is not None
    assert parts[1].derived is None
    assert parts[0].select([True, False]).derived is None  # a cut part leaves them to ClickHouse
    with pytest.raises(ValueError):
        parts[1].with_derived([b""] * 3)
    assert insert_packed(store, db, parts, STORED, "t") == 3
    plain = [PackedStatements(part.ids, part.texts, part.actors) for part in parts]
    assert insert_packed(store, other_db, plain, STORED, "t") == 5
    kept = {str(s["id"]) for s in statements if actor_id_of(s) == "kept"}
    assert {row[0] for row in raw_rows(store, db)} == kept
    assert raw_rows(store, db) == [row for row in raw_rows(store, other_db) if row[0] in kept]
