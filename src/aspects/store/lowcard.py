"""LowCardinality(String) columns sent dictionary-encoded in the Native format.

The raw table's LowCardinality columns (``source`` and the derived actor_id, verb_id,
object_type, course_key, org) used to go as String, and ClickHouse converted each row through
a hash table of the column's values. Sent as ClickHouse's own LowCardinality serialization (the
distinct values once, then one small index per row), ClickHouse only inserts the dictionary
(docs/ingest.md, "Session 7": chDB's INSERT of the raw table ~1 us per statement cheaper).

Layout, all integers little-endian (what ClickHouse's SerializationLowCardinality reads, as
clickhouse-connect writes it): UInt64 1 (keys version); UInt64 flags = index width (0: UInt8,
1: UInt16, 2: UInt32) | 1 << 9 (keys in this block) | 1 << 10 (a new dictionary); UInt64 key
count; the keys as a Native String column; UInt64 row count; the indexes.

The derived columns are encoded by the native ``low_cardinality`` (native/src/lowcard.rs) when
that build is loaded; otherwise they go as String, as before.
"""

from __future__ import annotations

import functools
import importlib
import struct
from collections.abc import Callable, Sequence

__all__ = ["LOW_CARDINALITY", "TYPE", "constant", "native_encoder"]

TYPE = "LowCardinality(String)"
# The raw table's derived columns that are LowCardinality(String) (migration 0001).
LOW_CARDINALITY = frozenset({"actor_id", "verb_id", "object_type", "course_key", "org"})
# (String column's parts, row count) -> the LowCardinality encoding, or None when the parts do
# not hold exactly that many well-formed values.
Encoder = Callable[[Sequence[bytes], int], bytes | None]

_HEADER = struct.Struct("<QQQ")
_UINT64 = struct.Struct("<Q")
_FLAGS = 1 << 9 | 1 << 10


@functools.cache
def native_encoder() -> Encoder | None:
    """The native encoder, or None when the native module is not usable (not built, out of
    date, ``ASPECTS_PURE_PYTHON``). Looked up once per process."""
    from aspects.transform.fast import native_state

    if native_state() != "loaded":
        return None
    module = importlib.import_module("aspects.transform._fast")
    encoder: Encoder | None = getattr(module, "low_cardinality", None)
    return encoder


def constant(key: bytes, rows: int) -> bytes:
    """``rows`` copies of one value: a dictionary of one key (``key``: the value as a Native
    String, its LEB128 length and bytes) and a UInt8 index 0 per row."""
    return _HEADER.pack(1, _FLAGS, 1) + key + _UINT64.pack(rows) + bytes(rows)
