"""The LRS's copy of its statements into the raw table, off the request path.

A request is answered once its statements are in ``lrs_statements`` (the LRS's source of truth).
Storing them in ``xapi_statements`` as well, inside the request, cost most of a POST: the report
materialized views attached to the raw table run inside every INSERT, and their cost per INSERT
hardly depends on its size. So :class:`RawCopier` copies what the writer committed in large
batches, every ``lrs.copy_interval_seconds``, one INSERT per batch.

Nothing is lost on a crash: after every copy the copier records how far it got
(``lrs_raw_copy``, one row per ``lrs.instance``), and a restarted process first copies every
statement stored after that. Copying a statement twice is harmless (the raw table and the report
tables collapse copies of one statement id). Within one process ``stored`` only grows, so the
windows (copied_through, committed_through] cover every statement the process wrote exactly once;
several processes sharing a store each copy their own windows (a statement of another process
that falls inside one is merely copied twice).

Erased learners stay erased: while no tombstone exists the copy runs inside ClickHouse
(``INSERT ... SELECT``); otherwise the rows go through ``insert_statements``' tombstone filter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from aspects.lrs.statements.sql import load
from aspects.store.statements import StatementRow, erased_hashes, insert_statements

SOURCE = "lrs"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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
        self, client: Client, database: str, *, name: str = "lrs", interval: float = 0.5
    ) -> None:
        self._client = client
        self._database = database
        self._name = name
        self._interval = interval
        self._lock = threading.Lock()  # the two positions below
        self._copy_lock = threading.Lock()  # one copy at a time (the loop and a final flush)
        self._copied_through: datetime | None = None
        self._committed_through = _EPOCH
        self._task: asyncio.Task[None] | None = None
        self._insert_sql = load("copy_insert.sql", database)
        self._select_sql = load("copy_select.sql", database)

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
        return newest

    def committed(self, through: datetime) -> None:
        """The writer stored every statement of this process up to ``through``."""
        with self._lock:
            self._committed_through = max(self._committed_through, through)

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
            if lower is None or upper <= lower:
                return False
            self._copy(lower, upper)
            self._record(upper)
            with self._lock:
                self._copied_through = upper
            return True

    def _copy(self, lower: datetime, upper: datetime) -> None:
        window = {"lower": _param(lower), "upper": _param(upper)}
        if not erased_hashes(self._client, self._database):
            # A window holds each statement once: nothing for ClickHouse to collapse inside
            # the block (the ingest's packed inserts into this table skip that pass too).
            self._client.command(
                self._insert_sql, parameters=window, settings={"optimize_on_insert": 0}
            )
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
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the loop, then copy what is still pending (a clean stop leaves nothing behind)."""
        await cancel_task(self._task)
        self._task = None
        if self.pending():
            await asyncio.to_thread(self.copy_pending)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if not self.pending():
                continue
            try:
                await asyncio.to_thread(self.copy_pending)
            except Exception:  # the store failed: the window stays pending, retried next time
                log.exception("copying LRS statements into the raw table failed; will retry")
