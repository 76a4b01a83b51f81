"""Tombstones: the hashed actor ids of erased learners, which every write path filters out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

from aspects.store.statements import TOMBSTONE_TABLE, actor_hash, forget_tombstones


def record_tombstones(client: Client, database: str, actor_ids: Iterable[str]) -> int:
    """Record a tombstone per actor id (idempotent); this process's writers see it at once."""
    now = datetime.now(UTC)
    rows = [[actor_hash(actor_id), now] for actor_id in sorted(set(actor_ids)) if actor_id]
    if rows:
        client.insert(
            f"{database}.{TOMBSTONE_TABLE}", rows, column_names=["actor_hash", "erased_at"]
        )
    forget_tombstones(client, database)
    return len(rows)


def is_erased(client: Client, database: str, actor_id: str) -> bool:
    """True when this actor id has a tombstone (read from the store, not the cache)."""
    found = client.command(
        f"SELECT count() FROM {database}.{TOMBSTONE_TABLE} WHERE actor_hash = {{h:String}}",
        parameters={"h": actor_hash(actor_id)},
    )
    return int(str(found)) > 0


def tombstone_count(client: Client, database: str) -> int:
    found = client.command(f"SELECT uniqExact(actor_hash) FROM {database}.{TOMBSTONE_TABLE}")
    return int(str(found))
