"""Writing statements into the raw xAPI table (the one way every component stores xAPI).

Erased learners stay erased: every row passes the tombstone filter (:func:`without_erased`)
before it is inserted. Tombstones (``privacy_tombstones``, written by ``aspects privacy erase``)
hold the SHA-256 of an actor id; each process keeps them as a set per client and database and
re-reads it at most every :data:`TOMBSTONE_REFRESH_SECONDS`, so a write costs nothing extra
while nobody has been erased, and one hash per row otherwise.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

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
