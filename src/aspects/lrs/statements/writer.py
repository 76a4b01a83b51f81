"""Group commit: one INSERT for what concurrent requests bring, each answered once it is stored.

An INSERT into chDB costs ~10 ms whatever its size up to ~1,000 rows, so one INSERT per request
caps the LRS near 10k statements/s. Requests hand their statements to :class:`StatementWriter`
and wait; a single worker takes everything queued, checks ids against the store (same content =
no-op, different content = 409 for that request only, which then stores nothing), stamps
``stored`` in commit order, inserts the LRS's rows (``lrs_statements``, its source of truth, and
the attachment and activity tables), then answers every waiting request. The worker is also the
only place that assigns ``stored``, which makes ``X-Experience-API-Consistent-Through`` exact.

The raw table (``xapi_statements``, where the report views run) is written after the answer, in
large batches, by :class:`~aspects.lrs.statements.copier.RawCopier` (see there: nothing is lost
on a crash).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

from aspects.lrs.statements.copier import RawCopier, cancel_task
from aspects.lrs.statements.keys import index_older_statements
from aspects.lrs.statements.prepare import (
    INDEX_COLUMNS,
    Incoming,
    activity_definitions,
    index_row,
    stored_statement,
)
from aspects.store.statements import actor_hash, actor_id_of, erased_hashes

_MICROSECOND = timedelta(microseconds=1)


class Conflict(Exception):
    """A statement id already stored with different content."""

    def __init__(self, statement_id: str) -> None:
        super().__init__(f"statement {statement_id} already exists with different content")
        self.statement_id = statement_id


@dataclass(slots=True)
class Batch:
    """One request's statements, all stored or none."""

    items: list[Incoming]
    authority: dict[str, Any]
    version: str


@dataclass(slots=True)
class _Waiting:
    batch: Batch
    future: asyncio.Future[list[str]]


class StatementWriter:
    """The single writer of the LRS's statements (see the module docstring)."""

    def __init__(
        self,
        client: Client,
        database: str,
        max_rows: int = 20_000,
        side_client: Client | None = None,
        copier: RawCopier | None = None,
    ) -> None:
        self._client = client
        self._copier = copier if copier is not None else RawCopier(client, database)
        self._side_client = side_client
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lrs-side-insert")
        self._known_definitions: set[tuple[str, str]] = set()
        self._database = database
        self._max_rows = max_rows
        self._queue: list[_Waiting] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self._last_stored = datetime.now(UTC)
        self._in_flight: datetime | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        # Stamp after every statement already stored (the clock may have gone back since), so
        # the copier's windows keep covering everything this writer commits.
        index_older_statements(self._client, self._database)
        newest = self._copier.resume()
        with self._lock:
            self._last_stored = max(self._last_stored, newest)
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._copier.start()

    async def stop(self) -> None:
        """Stop taking requests, then copy what the raw table still lacks."""
        await cancel_task(self._task)
        self._task = None
        await self._copier.stop()

    @property
    def copier(self) -> RawCopier:
        return self._copier

    # -- API -------------------------------------------------------------------------------

    async def write(self, batch: Batch) -> list[str]:
        """Store the batch; returns the ids stored or already there. Raises :class:`Conflict`."""
        if self._task is None or self._wake is None:
            self.start()
        assert self._wake is not None
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiting(batch, future))
        self._wake.set()
        return await future

    def consistent_through(self) -> datetime:
        """Every statement stored at or before this instant is visible to readers."""
        with self._lock:
            if self._in_flight is not None:
                return self._in_flight - _MICROSECOND
        return max(datetime.now(UTC), self._last_stored)

    # -- the worker ------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                taken: list[_Waiting] = []
                rows = 0
                while self._queue and (
                    not taken or rows + len(self._queue[0].batch.items) <= self._max_rows
                ):
                    waiting = self._queue.pop(0)
                    taken.append(waiting)
                    rows += len(waiting.batch.items)
                try:
                    outcomes = await asyncio.to_thread(self._commit, [w.batch for w in taken])
                except Exception as error:  # the store failed: every waiting request learns it
                    for waiting in taken:
                        if not waiting.future.done():
                            waiting.future.set_exception(error)
                    continue
                for waiting, outcome in zip(taken, outcomes, strict=True):
                    if waiting.future.done():
                        continue
                    if isinstance(outcome, Conflict):
                        waiting.future.set_exception(outcome)
                    else:
                        waiting.future.set_result(outcome)

    def _existing(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        result = self._client.query(
            "SELECT toString(statement_id), toString(content_hash) "
            f"FROM {self._database}.lrs_statements "
            "WHERE statement_id IN {ids:Array(UUID)}",
            parameters={"ids": list(ids)},
        )
        return {row[0]: row[1] for row in result.result_rows}

    def _commit(self, batches: list[Batch]) -> list[list[str] | Conflict]:
        ids = list({item.statement_id for batch in batches for item in batch.items})
        known = self._existing(ids)
        outcomes: list[list[str] | Conflict] = []
        accepted: list[tuple[Batch, Incoming]] = []
        for batch in batches:
            fresh: list[Incoming] = []
            conflict: Conflict | None = None
            for item in batch.items:
                seen = known.get(item.statement_id)
                if seen is None:
                    fresh.append(item)
                elif seen != item.content_hash:
                    conflict = Conflict(item.statement_id)
                    break
            if conflict is not None:
                outcomes.append(conflict)
                continue
            for item in fresh:
                known[item.statement_id] = item.content_hash
                accepted.append((batch, item))
            outcomes.append([item.statement_id for item in batch.items])
        if accepted:
            self._store(accepted)
        return outcomes

    def _stamp(self, count: int) -> datetime:
        with self._lock:
            base = max(datetime.now(UTC), self._last_stored + _MICROSECOND)
            self._in_flight = base
            self._last_stored = base + _MICROSECOND * (count - 1)
        return base

    def _store(self, accepted: list[tuple[Batch, Incoming]]) -> None:
        base = self._stamp(len(accepted))
        try:
            # Erased learners stay erased: the statements of an actor with a tombstone are
            # skipped (the store's tombstone rule, aspects.store.statements).
            erased = erased_hashes(self._client, self._database)
            index: list[list[Any]] = []
            statements: list[dict[str, Any]] = []
            kept: list[tuple[Batch, Incoming]] = []
            for position, (batch, item) in enumerate(accepted):
                stored = base + _MICROSECOND * position
                statement = stored_statement(item, stored, batch.authority, batch.version)
                if erased and actor_hash(actor_id_of(statement)) in erased:
                    continue
                text = orjson.dumps(statement).decode()
                index.append(index_row(item, statement, stored, text))
                statements.append(statement)
                kept.append((batch, item))
            accepted = kept
            side = self._side_rows(accepted, statements, base)
            if self._side_client is None:
                self._insert_side(self._client, *side)
                self._insert_index(index)
            else:
                # Two connections: lrs_statements and the attachment / activity tables are
                # written at the same time.
                pending = self._pool.submit(self._insert_side, self._side_client, *side)
                self._insert_index(index)
                pending.result()
            self._copier.committed(self._last_stored)
            self._known_definitions.update(key for key in side[1])
            if len(self._known_definitions) > 100_000:
                self._known_definitions.clear()
        finally:
            with self._lock:
                self._in_flight = None

    def _side_rows(
        self,
        accepted: list[tuple[Batch, Incoming]],
        statements: list[dict[str, Any]],
        base: datetime,
    ) -> tuple[dict[str, tuple[str, bytes]], dict[tuple[str, str], list[Any]]]:
        """Attachment bodies and activity definitions not yet known to this writer."""
        attachments: dict[str, tuple[str, bytes]] = {}
        definitions: dict[tuple[str, str], list[Any]] = {}
        for (_, item), statement in zip(accepted, statements, strict=True):
            attachments.update(item.attachments)
            for activity_id, definition in activity_definitions(statement):
                body = orjson.dumps(definition, option=orjson.OPT_SORT_KEYS)
                digest = hashlib.blake2b(body, digest_size=16).hexdigest()
                key = (activity_id, digest)
                if key not in self._known_definitions:
                    definitions[key] = [activity_id, digest, body.decode(), base]
        return attachments, definitions

    def _insert_index(self, index: list[list[Any]]) -> None:
        if index:
            self._client.insert(
                f"{self._database}.lrs_statements", index, column_names=INDEX_COLUMNS
            )

    def _insert_side(
        self,
        client: Client,
        attachments: dict[str, tuple[str, bytes]],
        definitions: dict[tuple[str, str], list[Any]],
    ) -> None:
        if attachments:
            client.insert(
                f"{self._database}.lrs_attachments",
                [
                    [sha2, kind, content, datetime.now(UTC)]
                    for sha2, (kind, content) in attachments.items()
                ],
                column_names=["sha2", "content_type", "content", "stored_time"],
            )
        if definitions:
            client.insert(
                f"{self._database}.lrs_activities",
                list(definitions.values()),
                column_names=["activity_id", "definition_hash", "definition", "stored_time"],
            )
