"""Writing statements into the raw xAPI table (the one way every component stores xAPI).

Two ways in: :func:`insert_statements` takes :class:`StatementRow` objects (the LRS, tests);
:func:`insert_packed` takes :class:`PackedStatements`, statements already laid out as the bytes
of ClickHouse's Native format by :class:`StatementPacker` wherever they were made (ingest's worker
processes), so the inserting process only concatenates bytes instead of converting each row.

Erased learners stay erased: every row passes the tombstone filter (:func:`without_erased`)
before it is inserted. Tombstones (``privacy_tombstones``, written by ``aspects privacy erase``)
hold the SHA-256 of an actor id; each process keeps them as a set per client and database and
re-reads it at most every :data:`TOMBSTONE_REFRESH_SECONDS`, so a write costs nothing extra
while nobody has been erased, and one hash per row otherwise.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
import weakref
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from aspects.store import lowcard
from aspects.store.native_format import PREFIXES, leb128, native_string

TABLE = "xapi_statements"
TOMBSTONE_TABLE = "privacy_tombstones"
# How stale a writer's view of the tombstones may be; erasure waits longer than this between
# recording tombstones and deleting (privacy.erase_wait_seconds).
TOMBSTONE_REFRESH_SECONDS = 2.0
_COLUMNS = ["statement_id", "statement", "stored_time", "source"]


@dataclass(frozen=True, slots=True)
class StatementRow:
    """What a writer gives; ClickHouse extracts every other column from ``statement``.

    ``actor_id``: the raw table's actor id of the statement (see :func:`actor_id_of`) when the
    writer knows it; only used by the tombstone filter, which otherwise parses the statement.
    """

    statement_id: UUID
    statement: str
    stored_time: datetime
    source: str
    actor_id: str | None = None


def actor_id_of(statement: str | dict[str, Any]) -> str:
    """The actor id ClickHouse extracts into ``xapi_statements.actor_id`` (same precedence)."""
    try:
        value = orjson.loads(statement) if isinstance(statement, str) else statement
    except orjson.JSONDecodeError:
        return ""
    actor = value.get("actor") if isinstance(value, dict) else None
    if not isinstance(actor, dict):
        return ""
    account = actor.get("account")
    if isinstance(account, dict):
        return str(account.get("name", ""))
    if "mbox" in actor:
        return str(actor["mbox"])
    if "mbox_sha1sum" in actor:
        return "sha1:" + str(actor["mbox_sha1sum"])
    if "openid" in actor:
        return str(actor["openid"])
    return ""


def actor_hash(actor_id: str) -> str:
    """What a tombstone keeps of an actor id: its SHA-256, hex."""
    return hashlib.sha256(actor_id.encode()).hexdigest()


class _Tombstones:
    """One database's tombstone hashes, as this process last read them."""

    def __init__(self) -> None:
        self.hashes: frozenset[str] = frozenset()
        self.read_at = float("-inf")
        self.lock = threading.Lock()


# Per client (weakly: a closed, dropped client takes its cache along) and database. A cache, not
# configuration: it holds nothing a caller could set, only what the store says.
_CACHES: weakref.WeakKeyDictionary[Client, dict[str, _Tombstones]] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache(client: Client, database: str) -> _Tombstones:
    with _CACHES_LOCK:
        per_client = _CACHES.setdefault(client, {})
        return per_client.setdefault(database, _Tombstones())


def erased_hashes(client: Client, database: str) -> frozenset[str]:
    """The tombstone hashes of ``database``, re-read when older than the refresh interval."""
    cache = _cache(client, database)
    if time.monotonic() - cache.read_at < TOMBSTONE_REFRESH_SECONDS:
        return cache.hashes
    with cache.lock:
        if time.monotonic() - cache.read_at < TOMBSTONE_REFRESH_SECONDS:
            return cache.hashes
        try:
            result = client.query(f"SELECT DISTINCT actor_hash FROM {database}.{TOMBSTONE_TABLE}")
            rows = result.result_rows
        except DatabaseError as error:
            # A database not migrated to 0060 yet has no tombstones; any other failure must
            # stop the write (failing open could store an erased learner again).
            if "UNKNOWN_TABLE" not in str(error):
                raise
            rows = []
        cache.hashes = frozenset(_text(row[0]) for row in rows)
        cache.read_at = time.monotonic()
        return cache.hashes


def forget_tombstones(client: Client, database: str) -> None:
    """Make the next write of this process re-read the tombstones (after an erasure)."""
    _cache(client, database).read_at = float("-inf")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def without_erased(
    client: Client, database: str, rows: Sequence[StatementRow]
) -> Sequence[StatementRow]:
    """``rows`` minus the statements of erased learners (``rows`` itself when none applies)."""
    hashes = erased_hashes(client, database)
    if not hashes or not rows:
        return rows
    kept = [
        row
        for row in rows
        if actor_hash(row.actor_id if row.actor_id is not None else actor_id_of(row.statement))
        not in hashes
    ]
    return rows if len(kept) == len(rows) else kept


def insert_statements(client: Client, database: str, rows: Sequence[StatementRow]) -> int:
    """Insert rows in one INSERT (batch big: each INSERT costs ~10 ms on chDB); returns the count
    inserted, which leaves out the statements of erased learners (see :func:`without_erased`).

    Duplicates (same statement id, timestamp and course) collapse in the table; readers use
    FINAL or deduplicated derived tables.
    """
    rows = without_erased(client, database, rows)
    if not rows:
        return 0
    columns: list[Sequence[Any]] = [
        [row.statement_id for row in rows],
        [row.statement for row in rows],
        [row.stored_time for row in rows],
        [row.source for row in rows],
    ]
    client.insert(
        f"{database}.{TABLE}",
        columns,
        column_names=_COLUMNS,
        column_oriented=True,
    )
    return len(rows)


# --- statements packed in the Native format ---------------------------------------------------
#
# ClickHouse's Native format is column-oriented: per block, the number of columns and rows (each
# LEB128), then per column its name, its type (both strings) and its values. A UUID value is its
# two 64-bit halves, each little-endian, high half first; a String value is its LEB128 length
# and its bytes; DateTime64(6) an Int64 of microseconds. The ``source`` column and the derived
# LowCardinality columns go dictionary-encoded (aspects.store.lowcard), so ClickHouse does not
# hash every row to convert them.

_UUID_HALVES = struct.Struct("<QQ")
_LOW_64 = (1 << 64) - 1
_INT64 = struct.Struct("<q")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# optimize_on_insert: ClickHouse would collapse duplicates inside each inserted block for the
# ReplacingMergeTree raw table and the report tables. Readers never rely on that (duplicates
# across INSERTs only collapse in merges, so they read with FINAL or deduplicate), and skipping
# it cut the INSERT's CPU by ~20% (25 -> 20 us per statement, all views, measured).
_PACKED_INSERT_SETTINGS = {"optimize_on_insert": 0}


# The raw table's derived columns (migration 0001), in its order, with the Native type of their
# streams (the LowCardinality ones are String streams, re-encoded at insert when the native
# encoder is loaded: aspects.store.lowcard). An INSERT that carries them
# skips the EPHEMERAL JSON extraction and the DEFAULT expressions (chDB ~4 us less per statement).
DERIVED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("emission_time", "DateTime64(6, 'UTC')"),
    ("actor_id", "String"),
    ("verb_id", "String"),
    ("object_id", "String"),
    ("object_type", "String"),
    ("registration", "String"),
    ("course_key", "String"),
    ("org", "String"),
    ("block_id", "String"),
    ("result_success", "Nullable(Bool)"),
    ("result_completion", "Nullable(Bool)"),
    ("result_score_scaled", "Nullable(Float64)"),
    ("result_score_raw", "Nullable(Float64)"),
    ("result_score_max", "Nullable(Float64)"),
    ("result_duration", "String"),
)
# A Nullable column is two streams (null map, values), the others one.
_STREAMS_OF = tuple(2 if kind.startswith("Nullable") else 1 for _, kind in DERIVED_COLUMNS)
DERIVED_STREAMS = sum(_STREAMS_OF)


def uuid_bytes(statement_id: str) -> bytes:
    """A UUID as ClickHouse lays it out in Native/RowBinary (two little-endian halves)."""
    value = int(statement_id.replace("-", ""), 16)
    return _UUID_HALVES.pack(value >> 64, value & _LOW_64)


@dataclass(frozen=True, slots=True)
class PackedStatements:
    """Statements as two Native columns, and each one's actor id (for the tombstone filter).

    ``ids``: 16 bytes per statement (:func:`uuid_bytes`); ``texts``: per statement, the LEB128
    length and the UTF-8 JSON; ``actors``: the actor id of each statement (:func:`actor_id_of`).
    Cheap to pickle (two bytes objects and a list of short strings), so worker processes send them.
    """

    ids: bytes
    texts: bytes
    actors: list[str]
    # The raw table's derived columns of these statements as Native streams
    # (:data:`DERIVED_COLUMNS`; a Nullable column is two streams: its null map, then its values),
    # made by the native ``derive_columns``; None: ClickHouse computes them from ``statement``.
    derived: tuple[bytes, ...] | None = None

    @property
    def count(self) -> int:
        return len(self.actors)

    def texts_each(self) -> Iterator[bytes]:
        """Each statement's JSON (UTF-8), in order."""
        data = self.texts
        position = 0
        end = len(data)
        while position < end:
            length = 0
            shift = 0
            while True:
                byte = data[position]
                position += 1
                length |= (byte & 0x7F) << shift
                if byte < 0x80:
                    break
                shift += 7
            yield data[position : position + length]
            position += length

    def ids_each(self) -> Iterator[UUID]:
        for start in range(0, len(self.ids), 16):
            high, low = _UUID_HALVES.unpack_from(self.ids, start)
            yield UUID(int=(high << 64) | low)

    def select(self, keep: Sequence[bool]) -> PackedStatements:
        """Only the statements whose ``keep`` is true."""
        ids = self.ids
        texts = [
            native_string(text)
            for text, wanted in zip(self.texts_each(), keep, strict=True)
            if wanted
        ]
        return PackedStatements(
            b"".join(
                ids[index * 16 : index * 16 + 16] for index, wanted in enumerate(keep) if wanted
            ),
            b"".join(texts),
            [actor for actor, wanted in zip(self.actors, keep, strict=True) if wanted],
            None,  # derived columns are not cut (rare: erased learners); ClickHouse computes them
        )

    def with_derived(self, streams: Sequence[bytes] | None) -> PackedStatements:
        """These statements with their derived columns (``derive_columns(self.texts)``: None
        when the native code was not sure of one of them, which leaves them to ClickHouse)."""
        if streams is None:
            return (
                self
                if self.derived is None
                else PackedStatements(self.ids, self.texts, self.actors)
            )
        if len(streams) != DERIVED_STREAMS or len(streams[0]) != 8 * self.count:
            raise ValueError("derived streams do not match the statements")
        return PackedStatements(self.ids, self.texts, self.actors, tuple(streams))


class StatementPacker:
    """Collects statements into :class:`PackedStatements`.

    The columns grow in two bytearrays: each statement's JSON is copied in and its bytes object
    freed at once. Keeping thousands of ~1 KB bytes objects alive until a join instead cost
    twice the CPU of the serialisation itself (fresh memory for every one; measured 10 vs 5 us
    per statement, serialisation included).
    """

    def __init__(self) -> None:
        self._ids = bytearray()
        self._texts = bytearray()
        self._actors: list[str] = []

    def add(self, statement_id: str, text: bytes, actor_id: str) -> None:
        """``statement_id`` canonical UUID text; ``text`` the statement's UTF-8 JSON."""
        raw = bytes.fromhex(statement_id.replace("-", ""))
        self._ids += raw[7::-1]  # the high half, little-endian
        self._ids += raw[:7:-1]  # the low half
        length = len(text)
        self._texts += PREFIXES[length] if length < 16384 else leb128(length)
        self._texts += text
        self._actors.append(actor_id)

    def add_all(self, statements: Sequence[dict[str, Any]]) -> None:
        """Serialise (orjson) and add statements whose ``id`` is canonical UUID text.

        All or nothing: when one cannot be serialised or has a bad id, the error is raised and
        none is added. The loop of :meth:`add` inlined: it runs for every statement a backfill
        reads.
        """
        ids, columns, actors = self._ids, self._texts, self._actors
        sizes = len(ids), len(columns), len(actors)
        dumps = orjson.dumps
        fromhex = bytes.fromhex
        prefixes = PREFIXES
        try:
            for statement in statements:
                raw = fromhex(statement["id"].replace("-", ""))
                if len(raw) != 16:  # would shift every later id of the block
                    raise ValueError(f"not a UUID: {statement['id']!r}")
                ids += raw[7::-1]  # the high half, little-endian
                ids += raw[:7:-1]  # the low half
                text = dumps(statement)
                length = len(text)
                columns += prefixes[length] if length < 16384 else leb128(length)
                columns += text
                try:  # the transformer's usual, pseudonymous actor
                    actor = statement["actor"]["account"]["name"]
                except (KeyError, TypeError):
                    actor = None
                actors.append(actor if type(actor) is str else actor_id_of(statement))
        except BaseException:
            del ids[sizes[0] :], columns[sizes[1] :], actors[sizes[2] :]
            raise

    def add_rows(self, rows: Sequence[tuple[bytes, bytes, str]]) -> None:
        """Add statements already serialised: (id as the UUID's 16 bytes, big-endian like
        ``UUID.bytes``; the statement's UTF-8 JSON; its actor id), as the native transformer
        (``aspects.transform.fast``) gives them. Packs exactly what :meth:`add_all` packs for the
        same statements, with no Python object per statement besides the row itself.

        All or nothing: an id that is not 16 bytes raises ``ValueError`` and adds none.
        """
        if not rows:
            return
        if any(len(row[0]) != 16 for row in rows):  # would shift every later id of the block
            raise ValueError("a statement id is not 16 bytes")
        ids = b"".join([row[0] for row in rows])
        # Each 8-byte half reversed in one call: big-endian halves -> little-endian halves.
        halves = array("Q", ids)
        halves.byteswap()
        actors = [row[2] for row in rows]
        prefixes = PREFIXES
        columns = self._texts
        size = len(columns)
        try:
            for _, text, _ in rows:
                length = len(text)
                columns += prefixes[length] if length < 16384 else leb128(length)
                columns += text
        except BaseException:
            del columns[size:]
            raise
        self._ids += halves.tobytes()
        self._actors += actors

    def __len__(self) -> int:
        return len(self._actors)

    def build(self) -> PackedStatements:
        return PackedStatements(bytes(self._ids), bytes(self._texts), self._actors)


def without_erased_packed(
    client: Client, database: str, packed: Sequence[PackedStatements]
) -> Sequence[PackedStatements]:
    """``packed`` minus the statements of erased learners (itself when none applies)."""
    hashes = erased_hashes(client, database)
    if not hashes:
        return packed
    kept: list[PackedStatements] = []
    for part in packed:
        keep = [actor_hash(actor) not in hashes for actor in part.actors]
        kept.append(part if all(keep) else part.select(keep))
    return kept


def insert_packed(
    client: Client,
    database: str,
    packed: Sequence[PackedStatements],
    stored_time: datetime,
    source: str,
) -> int:
    """Insert packed statements; returns the count inserted, which leaves out the statements of
    erased learners (as :func:`insert_statements` does). ``stored_time`` must be timezone-aware.

    The parts that carry their derived columns go in one INSERT of all 19 columns, the others
    in a second one of the 4 written columns (ClickHouse extracts the rest). The Python work is
    a few joins whatever the number of statements: the columns are already bytes, and
    ``stored_time`` and ``source`` are the same for every row.
    """
    packed = without_erased_packed(client, database, packed)
    micros = (stored_time - _EPOCH) // timedelta(microseconds=1)
    derived = [part for part in packed if part.derived is not None and part.count]
    plain = [part for part in packed if part.derived is None and part.count]
    count = 0
    for parts, with_derived in ((derived, True), (plain, False)):
        if parts:
            count += _insert_block(client, database, parts, micros, source, with_derived)
    return count


def _insert_block(
    client: Client,
    database: str,
    parts: Sequence[PackedStatements],
    micros: int,
    source: str,
    with_derived: bool,
) -> int:
    """One INSERT of one Native block made of ``parts`` (with their derived columns or not)."""
    count = sum(part.count for part in parts)
    columns, block = native_block(
        count,
        [part.ids for part in parts],
        [part.texts for part in parts],
        [_INT64.pack(micros) * count],
        source,
        [part.derived for part in parts if part.derived] if with_derived else None,
        lowcard.native_encoder() if with_derived else None,
    )
    client.raw_insert(
        f"{database}.{TABLE}",
        columns,
        insert_block=block,
        fmt="Native",
        settings=_PACKED_INSERT_SETTINGS,
    )
    return count


def native_block(
    count: int,
    ids: Sequence[bytes],
    texts: Sequence[bytes],
    times: Sequence[bytes],
    source: str,
    derived: Sequence[Sequence[bytes]] | None,
    encode: lowcard.Encoder | None,
) -> tuple[list[str], bytes]:
    """One Native block of ``count`` raw-table rows: (column names, block). ``ids``, ``texts``
    and ``times`` are the statement_id, statement and stored_time columns' values in pieces
    (joined in order); ``derived``: each piece's derived-column streams
    (:data:`DERIVED_COLUMNS`), None to leave those columns to ClickHouse; ``encode``: the
    LowCardinality encoder for them (None: sent as String). ``source`` is the same for every row.
    The backfill's packed INSERTs and the LRS's copy from memory both send this layout."""
    columns = list(_COLUMNS)
    if derived is not None:
        columns += [name for name, _ in DERIVED_COLUMNS]
    blocks: list[bytes] = [leb128(len(columns)), leb128(count)]
    blocks.append(native_string(b"statement_id") + native_string(b"UUID"))
    blocks.extend(ids)
    blocks.append(native_string(b"statement") + native_string(b"String"))
    blocks.extend(texts)
    blocks.append(native_string(b"stored_time") + native_string(b"DateTime64(6, 'UTC')"))
    blocks.extend(times)
    blocks.append(native_string(b"source") + native_string(lowcard.TYPE.encode()))
    blocks.append(lowcard.constant(native_string(source.encode()), count))
    if derived is not None:
        stream = 0
        for (name, kind), streams in zip(DERIVED_COLUMNS, _STREAMS_OF, strict=True):
            encoded = None
            if encode is not None and name in lowcard.LOW_CARDINALITY:
                encoded = encode([piece[stream] for piece in derived], count)
            if encoded is not None:
                blocks.append(native_string(name.encode()) + native_string(lowcard.TYPE.encode()))
                blocks.append(encoded)
            else:
                blocks.append(native_string(name.encode()) + native_string(kind.encode()))
                for index in range(stream, stream + streams):
                    blocks.extend(piece[index] for piece in derived)
            stream += streams
    return columns, b"".join(blocks)
