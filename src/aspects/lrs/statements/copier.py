"""The LRS's copy of its statements into the raw table, off the request path.

A request is answered once its statements are in ``lrs_statements`` (the LRS's source of truth).
Storing them in ``xapi_statements`` as well, inside the request, cost most of a POST: the report
materialized views attached to the raw table run inside every INSERT, and their cost per INSERT
hardly depends on its size. So :class:`RawCopier` copies what the writer committed in large
batches, every ``lrs.copy_interval_seconds`` or as soon as :data:`COPY_ROWS` statements are
held, whichever comes first, one INSERT per batch: at a high rate the copies are large and few
(each costs ~110-150 ms of CPU in the report views whatever its size), and one copy's size stays
bounded.

Nothing is lost on a crash: after every copy the copier records how far it got
(``lrs_raw_copy``, one row per ``lrs.instance``), and a restarted process first copies every
statement stored after that. Copying a statement twice is harmless (the raw table and the report
tables collapse copies of one statement id). Within one process ``stored`` only grows, so the
windows (copied_through, committed_through] cover every statement the process wrote exactly once;
several processes sharing a store each copy their own windows (a statement of another process
that falls inside one is merely copied twice).

The rows come from memory when it can: the writer hands over, with each flush, the flushed
statements' raw-table columns (:class:`~aspects.lrs.statements.rawblock.HeldRows`: ids, stored
times, stamped texts); when what is held covers the whole window, the copy inserts them as one
Native block with the derived columns computed by the native code (no read-back, no JSON
extraction by ClickHouse; a flush with a statement the native code is not sure of goes in a
second block without them, which ClickHouse fills). Otherwise (after a restart or a replay: the
window starts before what is held; a writer that handed nothing over; copies failing long
enough that holding was given up) the copy runs inside ClickHouse (``INSERT ... SELECT``).

Erased learners stay erased: while a tombstone exists the rows are read back and go through
``insert_statements``' tombstone filter, whatever is held (a learner erased between the flush
and the copy is deleted from ``lrs_statements`` and has a tombstone: neither path copies them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from aspects.lrs.statements.rawblock import HeldRows, raw_blocks
from aspects.lrs.statements.sql import load
from aspects.store import lowcard
from aspects.store.statements import TABLE, StatementRow, erased_hashes, insert_statements

SOURCE = "lrs"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Held statements beyond this count (copies failing for a long while) are dropped and the
# window copied by INSERT ... SELECT: memory stays bounded (~1.3 KB per statement).
MAX_HELD = 200_000
# Copy as soon as this many statements are held, before the interval (~65 MB held at most).
COPY_ROWS = 50_000
# A window holds each statement once: nothing for ClickHouse to collapse inside the block (the
# ingest's packed inserts into this table skip that pass too).
_INSERT_SETTINGS = {"optimize_on_insert": 0}
log = logging.getLogger(__name__)


def _param(moment: datetime) -> str:
    """A DateTime64(6) parameter with its microseconds (a datetime object would lose them)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _utc(value: Any) -> datetime:
    if not isinstance(value, datetime):
        return _EPOCH
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def cancel_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a background loop and wait until it has stopped (None: nothing to stop)."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class RawCopier:
    """Copies the statements its writer committed into ``xapi_statements`` (module docstring)."""

    def __init__(
        self,
        client: Client,
        database: str,
        *,
        name: str = "lrs",
        interval: float = 0.5,
        from_memory: bool = True,
        derive: bool = True,
        copy_rows: int = COPY_ROWS,
    ) -> None:
        """``from_memory``: copy from what the writer hands over when it covers the window
        (module docstring); ``derive``: with the derived columns computed by the native build
        when it is loaded (else ClickHouse computes them from the JSON); ``copy_rows``: copy
        before the interval once this many statements are held."""
        self._client = client
        self._database = database
        self._name = name
        self._interval = interval
        self._lock = threading.Lock()  # the two positions below
        self._copy_lock = threading.Lock()  # one copy at a time (the loop and a final flush)
        self._copied_through: datetime | None = None
        self._committed_through = _EPOCH
        self._task: asyncio.Task[None] | None = None
        self._copy_rows = copy_rows
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._insert_sql = load("copy_insert.sql", database)
        self._select_sql = load("copy_select.sql", database)
        # What the writer handed over since the last copy, and the newest ``stored`` of a
        # statement it did not (a window starting below that is copied inside ClickHouse).
        self._from_memory = from_memory
        self._held: list[HeldRows] = []  # under self._lock
        self._held_count = 0  # under self._lock
        self._gap_through = _EPOCH  # under self._lock
        from aspects.transform.fast import native_derive  # here: it imports the transformer

        self._derive = native_derive() if from_memory and derive else None
        self._encode = lowcard.native_encoder() if from_memory else None
        # What the copies from memory did (tests and benchmarks read them): how many, and how
        # many statements went with their derived columns.
        self.memory_copies = 0
        self.derived_statements = 0

    # -- state -------------------------------------------------------------------------------

    def resume(self) -> datetime:
        """Read (or, the first time, record) how far this process copied; returns the newest
        ``stored`` already in ``lrs_statements``, which the writer must stamp after."""
        recorded = self._client.query(
            load("copy_watermark.sql", self._database), parameters={"name": self._name}
        ).result_rows
        newest = _utc(self._client.query(load("copy_start.sql", self._database)).result_rows[0][0])
        if recorded and recorded[0][0] is not None:
            copied = _utc(recorded[0][0])
        else:
            copied = newest
            self._record(copied)
        with self._lock:
            self._copied_through = copied
            self._committed_through = max(self._committed_through, newest)
            self._gap_through = max(self._gap_through, newest)  # stored before: not held
        return newest

    def committed(self, through: datetime, held: HeldRows | None = None) -> None:
        """The writer stored every statement of this process up to ``through``; ``held``:
        those it stored since its last call, as the raw table's columns (None: not given)."""
        with self._lock:
            self._committed_through = max(self._committed_through, through)
            if held is None or not self._from_memory:
                self._gap_through = max(self._gap_through, through)
            elif held.count:
                self._held.append(held)
                self._held_count += held.count
                if self._held_count > MAX_HELD:
                    self._gap_through = max(self._gap_through, through)
                    self._held.clear()
                    self._held_count = 0
            many = self._held_count >= self._copy_rows
        if many and self._wake is not None and self._loop is not None:
            # Called from the flush's thread: wake the copy loop through its event loop.
            self._loop.call_soon_threadsafe(self._wake.set)

    def pending(self) -> bool:
        with self._lock:
            return (
                self._copied_through is not None and self._committed_through > self._copied_through
            )

    # -- copying -----------------------------------------------------------------------------

    def copy_pending(self) -> bool:
        """Copy the window committed since the last copy (blocking); False when nothing was
        pending. Raises what the store raises (the window then stays pending)."""
        with self._copy_lock:
            if self._copied_through is None:
                self.resume()
            with self._lock:
                lower, upper = self._copied_through, self._committed_through
                held = list(self._held)
                whole = lower is not None and self._gap_through <= lower
            if lower is None or upper <= lower:
                return False
            self._copy(lower, upper, held if whole else None)
            self._record(upper)
            with self._lock:
                self._copied_through = upper
                # Those taken are copied; any handed over meanwhile are the next window's.
                if self._held[: len(held)] == held:
                    del self._held[: len(held)]
                    self._held_count -= sum(part.count for part in held)
            return True

    def _copy(self, lower: datetime, upper: datetime, held: list[HeldRows] | None) -> None:
        """Copy the window (lower, upper]: from ``held`` (every statement of the window) when
        given and nobody is erased, else inside ClickHouse or through the tombstone filter."""
        window = {"lower": _param(lower), "upper": _param(upper)}
        if not erased_hashes(self._client, self._database):
            if held is not None:
                for names, block, count in raw_blocks(held, SOURCE, self._derive, self._encode):
                    self._client.raw_insert(
                        f"{self._database}.{TABLE}",
                        names,
                        insert_block=block,
                        fmt="Native",
                        settings=_INSERT_SETTINGS,
                    )
                    if len(names) > 4:
                        self.derived_statements += count
                self.memory_copies += 1
                return
            self._client.command(self._insert_sql, parameters=window, settings=_INSERT_SETTINGS)
            return
        rows = [
            StatementRow(statement_id, text, _utc(stored), SOURCE)
            for statement_id, text, stored in self._client.query(
                self._select_sql, parameters=window
            ).result_rows
        ]
        insert_statements(self._client, self._database, rows)

    def _record(self, through: datetime) -> None:
        self._client.insert(
            f"{self._database}.lrs_raw_copy",
            [[self._name, through, datetime.now(UTC)]],
            column_names=["name", "copied_through", "updated"],
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = self._loop.create_task(self._run())

    async def stop(self) -> None:
        """Stop the loop, then copy what is still pending (a clean stop leaves nothing behind)."""
        await cancel_task(self._task)
        self._task = None
        if self.pending():
            await asyncio.to_thread(self.copy_pending)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            if not self.pending():
                continue
            try:
                await asyncio.to_thread(self.copy_pending)
            except Exception:  # the store failed: the window stays pending, retried next time
                log.exception("copying LRS statements into the raw table failed; will retry")
