"""Group commit: one INSERT for what concurrent requests bring, each answered once it is durable.

An INSERT into chDB costs ~10-20 ms of CPU whatever its size up to ~1,000 rows. Requests hand
their statements to :class:`StatementWriter` and wait; a single worker takes everything queued,
checks ids (same content = no-op, different content = 409 for that request only, which then
stores nothing), stamps ``stored`` in commit order, builds the LRS's rows (``lrs_statements``,
its source of truth, and the attachment and activity tables), then answers every waiting
request. The worker is also the only place that assigns ``stored``, which makes
``X-Experience-API-Consistent-Through`` exact.

With a journal (what ``aspects lrs serve`` uses), a commit is durable once its statements are
appended and synced to the write-ahead journal (:mod:`aspects.lrs.statements.journal`); the rows
stay pending in memory and a flusher inserts them every ``lrs.flush_interval_seconds`` (or
sooner when many are pending) in one INSERT per table, so the store's fixed cost per INSERT is
paid a few times a second instead of once per commit. Pending statements count for the id check
(conflicts), readers first call :meth:`StatementWriter.visible` (which flushes what is pending:
read-your-writes), ``X-Experience-API-Consistent-Through`` stays below the oldest pending
statement, the tombstones are re-read before every flush (an erased learner's pending rows are
dropped), and a restarted process inserts what its journal holds and the store lacks before it
takes requests. Without a journal every commit inserts before it answers.

The raw table (``xapi_statements``, where the report views run) is written after the flush, in
large batches, by :class:`~aspects.lrs.statements.copier.RawCopier` (see there: nothing is lost
on a crash).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

from aspects.lrs.statements.copier import RawCopier, cancel_task
from aspects.lrs.statements.idfilter import IdFilter
from aspects.lrs.statements.journal import Journal, attachment_line, read_segments, remove
from aspects.lrs.statements.keys import index_older_statements
from aspects.lrs.statements.prepare import (
    INDEX_COLUMNS,
    Incoming,
    activity_definitions,
    index_row,
    merge_blocks,
    stored_statement,
)
from aspects.lrs.statements.rawblock import HeldRows
from aspects.lrs.statements.ready import Ready, Stamps
from aspects.store.statements import actor_hash, actor_id_of, erased_hashes, forget_tombstones

_MICROSECOND = timedelta(microseconds=1)
# A flush holds each statement id once (the id check covers pending statements) and each key of
# a statement once, so ClickHouse's pass that collapses duplicates inside an inserted block
# (ReplacingMergeTree) finds nothing: skipping it took ~25% off the CPU of 5,000-row INSERTs,
# key-table view included (medians of 6, 3.2-3.5 -> 2.4-2.7 ms per 100 statements).
_INSERT_SETTINGS = {"optimize_on_insert": 0}
_ID_CHECK_CHUNK = 10_000
# Flush sooner than the interval once this many statements are pending. One INSERT of 10,000
# rows (key-table view included) cost 1.88 ms of CPU per 100 statements against 2.29 for two of
# 5,000 (steady state, medians of 8 alternated, load 9-10), and half the parts to merge; below
# 10,000 statements/s the interval (1 s) flushes first anyway.
FLUSH_ROWS = 10_000
log = logging.getLogger(__name__)


class Conflict(Exception):
    """A statement id already stored with different content."""

    def __init__(self, statement_id: str) -> None:
        super().__init__(f"statement {statement_id} already exists with different content")
        self.statement_id = statement_id


@dataclass(slots=True)
class Batch:
    """One request's statements, all stored or none: read in the process (``Incoming``, one
    per statement), or by workers (:mod:`aspects.lrs.statements.ready`: ``Ready``, one per
    worker's share, its rows packed)."""

    items: list[Incoming] | list[Ready]
    authority: dict[str, Any]
    version: str

    @property
    def count(self) -> int:
        return sum(item.count if isinstance(item, Ready) else 1 for item in self.items)


@dataclass(slots=True)
class _Rows:
    """Rows of committed statements for the store: ``lrs_statements`` (stamped, packed
    blocks), attachment bodies, activity definitions; ``ids`` maps id -> content hash."""

    index: list[Ready] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    attachments: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    definitions: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    first: datetime | None = None  # the first ``stored`` stamped for them
    through: datetime | None = None  # the last

    def extend(self, other: _Rows) -> None:
        self.index.extend(other.index)
        self.ids.update(other.ids)
        self.attachments.update(other.attachments)
        for key, row in other.definitions.items():
            self.definitions.setdefault(key, row)
        if self.first is None:
            self.first = other.first
        if other.through is not None:
            self.through = other.through


# A statement (read in the process) or a worker's share accepted by a commit, with which of
# the share's statements to store (None: all; the others were stored already).
_Accepted = tuple[Batch, Incoming | Ready, list[bool] | None]


@dataclass(slots=True)
class _Waiting:
    batch: Batch
    future: asyncio.Future[list[str]]


def _held(parts: list[Ready], through: datetime) -> HeldRows:
    """The raw table's columns of the statements of ``parts`` (stamped and stored), which the
    copier inserts from memory instead of reading them back (aspects.lrs.statements.rawblock)."""
    columns = [part.raw_columns() for part in parts if part.count]
    return HeldRows(
        through,
        sum(part.count for part in parts),
        b"".join(column[0] for column in columns),
        b"".join(column[1] for column in columns),
        b"".join(column[2] for column in columns),
    )


class StatementWriter:
    """The single writer of the LRS's statements (see the module docstring)."""

    def __init__(
        self,
        client: Client,
        database: str,
        max_rows: int = 20_000,
        side_client: Client | None = None,
        copier: RawCopier | None = None,
        journal: Path | None = None,
        flush_interval: float = 1.0,
        flush_rows: int = FLUSH_ROWS,
        exclusive: bool = False,
        max_pending: int = 100_000,
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
        # The journal and what it holds that the store does not have yet (module docstring).
        self._journal_directory = journal
        self._journal: Journal | None = None
        self._journal_lock = threading.Lock()  # an append and its pending rows vs a rotation
        self._flush_lock = threading.Lock()  # one flush at a time
        self._flush_interval = flush_interval
        self._flush_rows = flush_rows
        self._max_pending = max_pending
        self._pending: list[_Rows] = []  # under self._lock
        self._pending_ids: dict[str, str] = {}  # under self._lock
        self._unflushed = 0  # statements answered and not yet in the store; under self._lock
        self._flushed_segments: list[Path] = []  # under self._flush_lock
        self._flush_wake: asyncio.Event | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # The only writer of lrs_statements: an in-memory filter of the stored ids spares the
        # id check's query for ids certainly new (aspects.lrs.statements.idfilter).
        self._exclusive = exclusive
        self._ids: IdFilter | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        # Stamp after every statement already stored (the clock may have gone back since), so
        # the copier's windows keep covering everything this writer commits.
        index_older_statements(self._client, self._database)
        if self._journal_directory is not None:
            self._replay(self._journal_directory)
            self._journal = Journal(self._journal_directory)
        if self._exclusive and self._ids is None:
            self._ids = IdFilter.load(self._client, self._database)
        newest = self._copier.resume()
        with self._lock:
            self._last_stored = max(self._last_stored, newest)
        loop = self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run())
        if self._journal is not None:
            self._flush_wake = asyncio.Event()
            self._flusher = loop.create_task(self._flush_loop())
        self._copier.start()

    async def stop(self) -> None:
        """Stop taking requests, store what is pending, then copy what the raw table lacks."""
        await cancel_task(self._task)
        self._task = None
        await cancel_task(self._flusher)
        self._flusher = None
        if self._journal is not None:
            await asyncio.to_thread(self.flush)
            with self._journal_lock:
                self._journal.close()
            self._journal = None
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
        with self._lock:
            backlog = self._unflushed
        if backlog >= self._max_pending:
            # The store is not keeping up (or failing): store the backlog before taking more,
            # so memory stays bounded and a failing store fails the request instead.
            await self.visible()
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiting(batch, future))
        self._wake.set()
        return await future

    def consistent_through(self) -> datetime:
        """Every statement stored at or before this instant is visible to readers."""
        with self._lock:
            if self._in_flight is not None:
                return self._in_flight - _MICROSECOND
            first = self._pending[0].first if self._pending else None
            if first is not None:
                return first - _MICROSECOND
        return max(datetime.now(UTC), self._last_stored)

    async def visible(self) -> None:
        """Return once every statement answered so far is in the store (read-your-writes)."""
        with self._lock:
            unflushed = self._unflushed
        if unflushed:
            await asyncio.to_thread(self.flush)

    def flush(self) -> None:
        """Insert the pending rows into the store (blocking); the journal segments they came
        from are deleted afterwards. On failure they stay pending (and in the journal)."""
        with self._flush_lock:
            with self._journal_lock:
                closed = self._journal.rotate() if self._journal is not None else None
                with self._lock:
                    taken, self._pending = self._pending, []
            if closed is not None:
                self._flushed_segments.append(closed)
            rows = _Rows()
            for part in taken:
                rows.extend(part)
            if rows.ids:
                try:
                    # Re-read the tombstones: a learner erased while their statements were
                    # pending must not come back with this INSERT.
                    forget_tombstones(self._client, self._database)
                    inserted = self._insert(rows)
                except BaseException:
                    with self._lock:
                        self._pending[:0] = taken
                    raise
                if rows.through is not None:
                    self._copier.committed(rows.through, _held(inserted, rows.through))
                with self._lock:
                    for statement_id in rows.ids:
                        self._pending_ids.pop(statement_id, None)
                    self._unflushed -= len(rows.ids)
            remove(self._flushed_segments)
            self._flushed_segments.clear()

    async def _flush_loop(self) -> None:
        assert self._flush_wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_wake.wait(), self._flush_interval)
            self._flush_wake.clear()
            with self._lock:
                pending = bool(self._pending)
            if not pending:
                continue
            try:
                await asyncio.to_thread(self.flush)
            except Exception:  # the store failed: the rows stay pending, retried next time
                log.exception("storing the LRS's pending statements failed; will retry")

    def _replay(self, directory: Path) -> None:
        """Insert what a previous process journaled and the store lacks (blocking)."""
        recovered = read_segments(directory)
        rows = _Rows(attachments=recovered.attachments)
        parsed = [(digest, text, orjson.loads(text)) for digest, text in recovered.statements]
        known: dict[str, str] = {}
        replayed: list[list[Any]] = []
        ids = [statement["id"] for _, _, statement in parsed]
        for start in range(0, len(ids), _ID_CHECK_CHUNK):
            known.update(self._existing(ids[start : start + _ID_CHECK_CHUNK]))
        for digest, text, statement in parsed:
            statement_id = statement["id"]
            if statement_id in known or statement_id in rows.ids:
                continue
            stored = datetime.fromisoformat(statement["stored"])
            item = Incoming(statement, statement_id, digest)
            replayed.append(index_row(item, statement, stored, text))
            rows.ids[statement_id] = digest
            self._add_definitions(rows, statement, stored)
        if replayed:
            rows.index.append(Ready.of_rows(replayed, [True] * len(replayed)))
        if rows.ids or rows.attachments:
            forget_tombstones(self._client, self._database)
            self._insert(rows)
            log.info("stored %d statements found in the journal %s", len(rows.ids), directory)
        remove(recovered.segments)

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
                    not taken or rows + self._queue[0].batch.count <= self._max_rows
                ):
                    waiting = self._queue.pop(0)
                    taken.append(waiting)
                    rows += waiting.batch.count
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
        # Ids the LRS made up (uuid4) are new; only the clients' need checking.
        ids: set[str] = set()
        for batch in batches:
            for item in batch.items:
                if isinstance(item, Ready):
                    ids.update(i for i, given in zip(item.ids, item.given, strict=True) if given)
                elif item.given_id:
                    ids.add(item.statement_id)
        # Pending statements first: the flusher drops an id from there only once it is stored.
        with self._lock:
            known = {i: self._pending_ids[i] for i in ids if i in self._pending_ids}
        unknown = [i for i in ids if i not in known]
        if self._ids is not None:
            unknown = [i for i in unknown if self._ids.may_contain(i)]
        known.update(self._existing(unknown))
        outcomes: list[list[str] | Conflict] = []
        accepted: list[_Accepted] = []
        count = 0
        for batch in batches:
            fresh: list[_Accepted] = []
            new: dict[str, str] = {}
            conflict: Conflict | None = None
            for item in batch.items:
                pairs = (
                    zip(item.ids, item.hashes, strict=True)
                    if isinstance(item, Ready)
                    else ((item.statement_id, item.content_hash),)
                )
                keep: list[bool] = []
                for statement_id, digest in pairs:
                    seen = known.get(statement_id)
                    if seen is not None and seen != digest:
                        conflict = Conflict(statement_id)
                        break
                    keep.append(seen is None)
                    if seen is None:
                        new[statement_id] = digest
                if conflict is not None:
                    break
                if any(keep):
                    fresh.append((batch, item, None if all(keep) else keep))
            if conflict is not None:
                outcomes.append(conflict)
                continue
            known.update(new)
            accepted += fresh
            count += len(new)
            outcomes.append(
                [
                    i
                    for item in batch.items
                    for i in (item.ids if isinstance(item, Ready) else [item.statement_id])
                ]
            )
        if accepted:
            self._store(accepted, count)
        return outcomes

    def _stamp(self, count: int) -> datetime:
        with self._lock:
            base = max(datetime.now(UTC), self._last_stored + _MICROSECOND)
            self._in_flight = base
            self._last_stored = base + _MICROSECOND * (count - 1)
        return base

    def _store(self, accepted: list[_Accepted], count: int) -> None:
        base = self._stamp(count)
        try:
            rows = self._rows(accepted, base, count)
            if self._ids is not None:
                for statement_id in rows.ids:
                    self._ids.add(statement_id)
            if self._journal is None:
                through = base + _MICROSECOND * (count - 1)
                self._copier.committed(through, _held(self._insert(rows), through))
                return
            lines = [part.journal() for part in rows.index]
            lines += [
                attachment_line(sha2, kind, content)
                for sha2, (kind, content) in rows.attachments.items()
            ]
            with self._journal_lock:
                self._journal.append(lines)
                with self._lock:
                    self._pending.append(rows)
                    self._pending_ids.update(rows.ids)
                    self._unflushed += len(rows.ids)
                    many = sum(len(part.ids) for part in self._pending) >= self._flush_rows
            if many and self._flush_wake is not None and self._loop is not None:
                # This runs in a worker thread: wake the flusher through its event loop.
                self._loop.call_soon_threadsafe(self._flush_wake.set)
        finally:
            with self._lock:
                self._in_flight = None

    def _rows(self, accepted: list[_Accepted], base: datetime, count: int) -> _Rows:
        """The rows of the accepted statements, stamped from ``base`` on in commit order."""
        rows = _Rows(first=base, through=base + _MICROSECOND * (count - 1))
        # Erased learners stay erased: the statements of an actor with a tombstone are
        # skipped (the store's tombstone rule, aspects.store.statements).
        erased = erased_hashes(self._client, self._database)
        stamps = Stamps(base)
        position = 0
        here: list[list[Any]] = []  # rows of the statements read in this process
        for batch, item, keep in accepted:
            if isinstance(item, Ready):
                # Prepared by a worker: only ``stored`` (and ``timestamp``) to write in.
                if erased:
                    actors = item.actors()
                    keep = [
                        (keep is None or keep[index]) and actor_hash(actor) not in erased
                        for index, actor in enumerate(actors)
                    ]
                part = item if keep is None else item.subset(keep)
                if not part.count:
                    continue
                part = part.stamped(stamps, position)
                position += part.count
                rows.index.append(part)
                rows.ids.update(zip(part.ids, part.hashes, strict=True))
                for _, activity_id, digest, definition in part.definitions:
                    key = (activity_id, digest)
                    if key not in self._known_definitions and key not in rows.definitions:
                        rows.definitions[key] = [activity_id, digest, definition, base]
                continue
            stored = base + _MICROSECOND * position
            position += 1
            statement = stored_statement(item, stored, batch.authority, batch.version)
            if erased and actor_hash(actor_id_of(statement)) in erased:
                continue
            text = orjson.dumps(statement).decode()
            here.append(index_row(item, statement, stored, text))
            rows.ids[item.statement_id] = item.content_hash
            rows.attachments.update(item.attachments)
            self._add_definitions(rows, statement, base)
        if here:
            rows.index.append(Ready.of_rows(here, [True] * len(here)))
        return rows

    def _add_definitions(self, rows: _Rows, statement: dict[str, Any], stored: datetime) -> None:
        """The statement's activity definitions this writer has not stored yet."""
        for activity_id, definition in activity_definitions(statement):
            body = orjson.dumps(definition, option=orjson.OPT_SORT_KEYS)
            digest = hashlib.blake2b(body, digest_size=16).hexdigest()
            key = (activity_id, digest)
            if key not in self._known_definitions and key not in rows.definitions:
                rows.definitions[key] = [activity_id, digest, body.decode(), stored]

    def _insert(self, rows: _Rows) -> list[Ready]:
        """Insert the rows, without those of learners erased meanwhile (blocking); returns the
        ``lrs_statements`` blocks inserted."""
        erased = erased_hashes(self._client, self._database)
        index = rows.index
        if erased:
            index = [
                part.subset([actor_hash(actor) not in erased for actor in part.actors()])
                for part in index
            ]
        if self._side_client is None:
            self._insert_side(self._client, rows.attachments, rows.definitions)
            self._insert_index(index)
        else:
            # Two connections: lrs_statements and the attachment / activity tables are
            # written at the same time.
            pending = self._pool.submit(
                self._insert_side, self._side_client, rows.attachments, rows.definitions
            )
            self._insert_index(index)
            pending.result()
        self._known_definitions.update(rows.definitions)
        if len(self._known_definitions) > 100_000:
            self._known_definitions.clear()
        return index

    def _insert_index(self, index: list[Ready]) -> None:
        """One INSERT of the packed blocks, merged into one (prepare.merge_blocks)."""
        blocks = [(part.block, list(part.columns), part.count) for part in index if part.count]
        if blocks:
            self._client.raw_insert(
                f"{self._database}.lrs_statements",
                INDEX_COLUMNS,
                insert_block=blocks[0][0] if len(blocks) == 1 else merge_blocks(blocks),
                fmt="Native",
                settings=_INSERT_SETTINGS,
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
