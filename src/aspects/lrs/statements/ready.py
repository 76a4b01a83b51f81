"""Reading JSON statement bodies in worker processes, so that requests use both cores.

One Python process serves the LRS (the embedded store admits one process, and the group-commit
writer must be the only one stamping ``stored``), so its global interpreter lock caps it: parsing,
validating and preparing 100 statements, then building their rows at the commit, took about half
of the server's Python time. A :class:`ReceivePool` runs that part in ``lrs.receive_workers``
spawned processes: a worker turns a request's body (or its share of it) into one :class:`Ready`:
the statements' ``lrs_statements`` rows packed as one Native block, ``stored`` left as
fixed-width placeholders, and their ids and content hashes. The writer only stamps it in place
(:meth:`Ready.stamped`), journals its texts and hands the block to the flush as it is; it keeps
every semantic it has for in-process items (the id check, conflicts, atomic batches, the
journal, erasure). So the server unpickles a few objects per request, not ~30 per statement,
and serialises no rows (docs/lrs.md, "Session 7").

A worker runs the same functions as the in-process path (:func:`~aspects.lrs.statements.receive.
statements_from` and :mod:`~aspects.lrs.statements.prepare`), so a request gets the same answer
and its statements the same rows either way; only the order of the keys in the stored JSON text
differs (``stored`` and ``timestamp`` come last). Only ``application/json`` bodies go to the
workers: ``multipart/mixed`` ones (attachments, signatures) are read in the process as before.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import multiprocessing
import os
import struct
import sys
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from aspects.lrs.collector import tune_collector
from aspects.lrs.statements.prepare import (
    DEFAULT_VERSION,
    STAMP_WIDTH,
    Incoming,
    activity_definitions,
    format_time,
    index_row,
    pack_rows,
    unstamped_text,
    with_id,
)
from aspects.lrs.statements.receive import (
    DUPLICATE,
    prepare_share,
    read_statements,
    statements_from,
)
from aspects.lrs.statements.workerpipe import Worker, WorkerDied
from aspects.store.statements import actor_id_of
from aspects.xapi.fast import native_prepare, native_verdicts, sure_valid
from aspects.xapi.validation import StatementInvalid

log = logging.getLogger(__name__)
# index_row is called with this instead of the commit's time: no column but ``stored_time``
# depends on it, and the writer puts the real one there.
_UNSTAMPED = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS = struct.Struct("<q")
# A body this large (bytes, a few dozen statements) is split between idle workers, in shares of
# at least this many statements.
SPLIT_BYTES = 16_384
SPLIT_STATEMENTS = 20
# How often a worker checks that the server that spawned it is alive.
ORPHAN_CHECK_SECONDS = 1.0


@dataclass(slots=True)
class Ready:
    """Statements prepared outside the commit, their ``lrs_statements`` rows packed as one
    Native block (:func:`~aspects.lrs.statements.prepare.pack_rows`).

    A receive worker makes one per request (or per share of one) with ``stored`` left as
    placeholders: the ``stored_time`` values (zeros, from offset ``columns[1]``; ``columns``:
    where each column's values start, then the block's end) and, in each JSON
    text, ``stored`` and the ``timestamp`` the client did not give
    (:data:`~aspects.lrs.statements.prepare.STAMP_PLACEHOLDER`, at the offsets in ``spans``).
    The commit writes them in place (:meth:`stamped`) and journals the texts
    (:meth:`journal`); the flush sends the blocks as they are. The conflict check reads only
    ``ids``, ``hashes`` and ``given``. ``spans``: per statement, its text's start and end and
    its two placeholders' offsets in ``block`` (-1: none). ``definitions``: (index of the
    statement, activity id, definition hash, definition JSON)."""

    ids: list[str]
    hashes: list[str]
    given: list[bool]
    block: bytes
    columns: array[int]
    spans: array[int]
    definitions: list[tuple[int, str, str, str]] = field(default_factory=list)
    stamped_already: bool = False

    @classmethod
    def of_rows(
        cls,
        rows: list[list[Any]],
        given: list[bool],
        has_timestamp: list[bool] | None = None,
        definitions: list[tuple[int, str, str, str]] | None = None,
    ) -> Ready:
        """``rows`` (index_row lists) packed: stamped when ``has_timestamp`` is None, else
        their texts end with the placeholders of ``unstamped_text``."""
        block, columns, spans = pack_rows(rows, has_timestamp)
        return cls(
            [row[0] for row in rows],
            [row[3] for row in rows],
            given,
            block,
            array("q", columns),
            array("q", spans),
            definitions or [],
            has_timestamp is None,
        )

    @property
    def count(self) -> int:
        return len(self.ids)

    def texts(self) -> list[bytes]:
        """Each statement's JSON text (UTF-8), in order."""
        spans = self.spans
        block = self.block
        return [block[spans[at] : spans[at + 1]] for at in range(0, len(spans), 4)]

    def stamped(self, stamps: Stamps, position: int) -> Ready:
        """These statements stored at the ``stamps`` from ``position`` on, one microsecond
        apart: the placeholders overwritten (the lengths do not change)."""
        if self.stamped_already:
            raise ValueError("these statements are stamped already")
        block = bytearray(self.block)
        count = self.count
        first = stamps.micros + position
        times = array("q", range(first, first + count))
        if sys.byteorder != "little":
            times.byteswap()
        block[self.columns[1] : self.columns[1] + 8 * count] = times.tobytes()
        spans = self.spans
        for index in range(count):
            stamp = stamps.at(position + index).encode()
            at = spans[4 * index + 2]
            block[at : at + STAMP_WIDTH] = stamp
            at = spans[4 * index + 3]
            if at >= 0:
                block[at : at + STAMP_WIDTH] = stamp
        return Ready(
            self.ids,
            self.hashes,
            self.given,
            bytes(block),
            self.columns,
            spans,
            self.definitions,
            True,
        )

    def journal(self) -> bytes:
        """The journal lines of these statements (:func:`~aspects.lrs.statements.journal.
        statement_line`'s format, which the replay reads)."""
        view = memoryview(self.block)
        spans = self.spans
        pieces: list[bytes | memoryview] = []
        for index, digest in enumerate(self.hashes):
            pieces += (
                b'["S","',
                digest.encode(),
                b'",',
                view[spans[4 * index] : spans[4 * index + 1]],
                b"]\n",
            )
        return b"".join(pieces)

    def raw_columns(self) -> tuple[bytes, bytes, bytes]:
        """The statements' ids, stored times and texts as Native column values, as the raw
        table takes them (the copier's :class:`~aspects.lrs.statements.rawblock.HeldRows`):
        slices of the block, whose first three columns are laid out the same way."""
        count = self.count
        if not count:
            return b"", b"", b""
        block = self.block
        columns = self.columns
        return (
            block[columns[0] : columns[0] + 16 * count],
            block[columns[1] : columns[1] + 8 * count],
            block[columns[2] : self.spans[4 * count - 3]],
        )

    def actors(self) -> list[str]:
        """Each statement's actor id (``actor_id_of``: the tombstone filter's key)."""
        return [actor_id_of(text.decode()) for text in self.texts()]

    def subset(self, keep: list[bool]) -> Ready:
        """Only the statements whose ``keep`` is true (the block rebuilt from their texts: rare,
        for re-posted statements and erased learners)."""
        if all(keep):
            return self
        rows: list[list[Any]] = []
        has_timestamp: list[bool] = []
        given: list[bool] = []
        renumbered: dict[int, int] = {}
        spans = self.spans
        for index, text in enumerate(self.texts()):
            if not keep[index]:
                continue
            renumbered[index] = len(rows)
            statement = orjson.loads(text)
            item = Incoming(statement, self.ids[index], self.hashes[index], self.given[index])
            (micros,) = _MICROS.unpack_from(self.block, self.columns[1] + 8 * index)
            stored = _UNSTAMPED + timedelta(microseconds=micros)
            rows.append(index_row(item, statement, stored, text))
            has_timestamp.append(spans[4 * index + 3] < 0)
            given.append(self.given[index])
        definitions = [
            (renumbered[index], activity_id, digest, text)
            for index, activity_id, digest, text in self.definitions
            if index in renumbered
        ]
        return Ready.of_rows(
            rows, given, None if self.stamped_already else has_timestamp, definitions
        )


def _ready(items: list[Incoming], authority: dict[str, Any], version: str) -> tuple[Any, ...]:
    """The fields of one :class:`Ready` (a plain tuple: it crosses the process boundary)."""
    rows: list[list[Any]] = []
    has_timestamp: list[bool] = []
    definitions: list[tuple[int, str, str, str]] = []
    for index, item in enumerate(items):
        # What stored_statement makes of it, ``stored`` (and the ``timestamp`` that defaults
        # to it) left to the commit. A ``stored`` the client sent is replaced, as there.
        statement = dict(item.statement)
        statement.pop("stored", None)
        statement["authority"] = authority
        statement.setdefault("version", DEFAULT_VERSION[version])
        rows.append(index_row(item, statement, _UNSTAMPED, unstamped_text(statement)))
        has_timestamp.append("timestamp" in statement)
        for activity_id, definition in activity_definitions(statement):
            text = orjson.dumps(definition, option=orjson.OPT_SORT_KEYS)
            digest = hashlib.blake2b(text, digest_size=16).hexdigest()
            definitions.append((index, activity_id, digest, text.decode()))
    block, columns, spans = pack_rows(rows, has_timestamp)
    return (
        [item.statement_id for item in items],
        [item.content_hash for item in items],
        [item.given_id for item in items],
        block,
        array("q", columns),
        array("q", spans),
        definitions,
    )


def read_json_body(
    body: bytes,
    version: str,
    authority: dict[str, Any],
    single: bool,
    statement_id: str | None,
) -> tuple[Any, ...]:
    """What a worker does for one request: ``("ok", [ready fields...])`` or ``("invalid", path,
    rule)`` with the exact error of the in-process path (``routes._store``)."""
    if statement_id is None and not single:
        # One native call when every statement is sure valid (receive.prepare_share: the same
        # fields byte for byte); None leaves the body to the Python path below.
        native = prepare_share(body, version, authority)
        if native is not None:
            return native
    try:
        items, _ = statements_from("application/json", body, version, single=single)
        if statement_id is not None:
            if items[0].given_id and items[0].statement_id != statement_id.lower():
                raise StatementInvalid(
                    "statementId", "differs from the id of the statement in the body"
                )
            items = [with_id(items[0], statement_id)]
    except StatementInvalid as error:
        return ("invalid", error.path, error.rule)
    return ("ok", _ready(items, authority, version))


def read_json_slice(
    raw: bytes, offset: int, version: str, authority: dict[str, Any]
) -> tuple[Any, ...]:
    """A worker's share of a request's array (``raw``: the JSON of the statements from index
    ``offset`` on): ``("ok", [ready fields...])``, or ``("invalid",)`` and the caller reads the
    whole body again in one worker for the exact first error."""
    try:
        sure = sure_valid(raw, version)  # native verdicts (aspects.xapi.fast)
        items = read_statements(orjson.loads(raw), version, offset=offset, sure=sure)
    except StatementInvalid:
        return ("invalid",)
    return ("ok", _ready(items, authority, version))


def read_json_share(
    body: bytes, share: int, shares: int, version: str, authority: dict[str, Any]
) -> tuple[Any, ...]:
    """A worker's share (number ``share`` of ``shares``) of a request's array, the worker
    parsing the whole body itself (the server does not parse it to cut it: ~0.5 ms per 100
    statements of its time): :func:`read_json_slice`'s answer, ``("ok", None)`` for a share
    past the end, or ``("unsplit",)`` when the body is not an array large enough to share."""
    native = prepare_share(body, version, authority, share, shares, SPLIT_STATEMENTS)
    if native is not None:
        return native
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ("unsplit",)
    if not isinstance(data, list) or len(data) < 2 * SPLIT_STATEMENTS:
        return ("unsplit",)
    start, end = share_bounds(len(data), share, shares)
    if start >= end:
        return ("ok", None)
    return read_json_slice(orjson.dumps(data[start:end]), start, version, authority)


def share_bounds(count: int, share: int, shares: int) -> tuple[int, int]:
    """[start, end) of share number ``share`` of an array of ``count`` statements read in
    ``shares`` shares of at least SPLIT_STATEMENTS each (the later ones empty if need be)."""
    shares = max(1, min(shares, count // SPLIT_STATEMENTS))
    size = -(-count // shares)
    return min(share * size, count), min((share + 1) * size, count)


def _start_worker(server: int) -> None:
    """Start of each worker: collect garbage as the server does (aspects.lrs.collector), look
    up the native verdicts (:func:`_warm`) and exit when the server is gone. The worker's socket
    ends when the server's does, but a worker busy with a call would not notice a server killed
    outright (``kill -9``, out of memory) until it is done."""
    tune_collector()
    threading.Thread(
        target=_exit_with, args=(server,), name="lrs-worker-orphan-watch", daemon=True
    ).start()
    _warm()


def _exit_with(server: int) -> None:
    while os.getppid() == server:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)


def _warm() -> None:
    """Run by each worker as it starts, so that it has imported this module and looked up the
    native verdicts (~0.25 s of CPU: the build check imports the transformer) before the
    first request; :meth:`ReceivePool.started` waits for it."""
    native_verdicts()


class Stamps:
    """``format_time`` of the times a commit stamps, ``base`` plus a microsecond per statement,
    without formatting each (4.6 us each: ~0.4 ms per 100 statements of the server's time)."""

    def __init__(self, base: datetime) -> None:
        self._base = base
        self.micros = (base - _UNSTAMPED) // timedelta(microseconds=1)
        self._prefix = format_time(base)[:20]  # 2026-11-28T01:02:03.
        self._microsecond = base.astimezone(UTC).microsecond

    def at(self, position: int) -> str:
        microsecond = self._microsecond + position
        if microsecond < 1_000_000:
            return f"{self._prefix}{microsecond:06d}Z"
        return format_time(self._base + timedelta(microseconds=position))


class ReceivePool:
    """``workers`` spawned processes reading JSON bodies (module docstring), each called over
    its own socket pair (:mod:`~aspects.lrs.statements.workerpipe`: no threads in the server).
    Spawned, not forked: the server process runs chDB's threads, which a fork would copy
    mid-flight."""

    def __init__(self, workers: int, split: bool | None = None) -> None:
        """``split``: read a lone request's large array in shares (None: only when the native
        receive path is absent; with it, splitting costs more than it saves: lrs_post.py, 1
        client, 3 pairs at load 7-9, server CPU per 100 statements 19.2 -> 14.9 ms, medians,
        and the rate higher in two pairs of three)."""
        self._workers = workers
        self._split = native_prepare() is None if split is None else split
        self._open = 0  # POST/PUT requests being read or committed now (opened())
        self._context = multiprocessing.get_context("spawn")
        self._pool = [self._spawn() for _ in range(workers)]
        # A worker reads one request at a time; the others wait here, in order, for the first
        # worker free (a worker chosen at once could be stuck behind a long body while another
        # idles: lrs_post.py, 4 clients, served fewer statements per second that way).
        self._idle = list(self._pool)
        self._queue: collections.deque[asyncio.Future[Worker]] = collections.deque()

    def _spawn(self) -> Worker:
        return Worker(self._context, _start_worker, (os.getpid(),), "lrs-receive-worker")

    def processes(self) -> list[multiprocessing.process.BaseProcess]:
        """The worker processes now."""
        return [worker.process for worker in self._pool]

    async def _call(self, function: Callable[..., tuple[Any, ...]], *args: Any) -> tuple[Any, ...]:
        worker = await self._acquire()
        try:
            answer: tuple[Any, ...] = await worker.call(function, *args)
        except WorkerDied:
            # The worker died (killed, out of memory): what the workers run is pure, so a new
            # one reads the body again.
            log.warning("a receive worker died; starting a new one")
            worker.close()
            dead, worker = worker, self._spawn()
            self._pool[self._pool.index(dead)] = worker
            answer = await worker.call(function, *args)
        finally:
            self._release(worker)
        return answer

    async def _acquire(self) -> Worker:
        if self._idle:
            return self._idle.pop()
        waiting: asyncio.Future[Worker] = asyncio.get_running_loop().create_future()
        self._queue.append(waiting)
        try:
            return await waiting
        except asyncio.CancelledError:
            if waiting.done() and not waiting.cancelled():
                self._release(waiting.result())  # handed over as the request was cancelled
            raise

    def _release(self, worker: Worker) -> None:
        while self._queue:
            waiting = self._queue.popleft()
            if not waiting.done():
                waiting.set_result(worker)
                return
        self._idle.append(worker)

    @contextlib.contextmanager
    def opened(self) -> Iterator[None]:
        """Around a request's reading and commit: how many are in flight decides whether a
        body is read in shares (:meth:`read`)."""
        self._open += 1
        try:
            yield
        finally:
            self._open -= 1

    async def started(self) -> None:
        """Return once the workers are spawned and have imported what they run (a few seconds
        of CPU each, which the first requests would otherwise wait for)."""
        await asyncio.gather(*(worker.call(_warm) for worker in self._pool))

    async def read(
        self,
        body: bytes,
        version: str,
        authority: dict[str, Any],
        single: bool,
        statement_id: str | None,
    ) -> list[Ready]:
        """The body's statements, ready to commit; raises :class:`StatementInvalid` as the
        in-process path does."""
        if (
            self._split
            and self._open <= 1
            and self._workers >= 2
            and not single
            and len(body) >= SPLIT_BYTES
        ):
            # This request is alone: the workers are idle, so it is read in shares. (With
            # several requests in flight the workers are busy anyway and splitting would only
            # cost the server its parse and re-serialisation.)
            ready = await self._read_split(body, version, authority, self._workers)
            if ready is not None:
                return ready
        return await self._read_whole(body, version, authority, single, statement_id)

    async def _read_whole(
        self,
        body: bytes,
        version: str,
        authority: dict[str, Any],
        single: bool,
        statement_id: str | None,
    ) -> list[Ready]:
        outcome = await self._call(read_json_body, body, version, authority, single, statement_id)
        if outcome[0] == "invalid":
            raise StatementInvalid(outcome[1], outcome[2])
        return [Ready(*outcome[1])]

    async def _read_split(
        self, body: bytes, version: str, authority: dict[str, Any], shares: int
    ) -> list[Ready] | None:
        """A large array read by several idle workers at once (a lone client waits for its
        request's reading: splitting it shortens the wait). Each worker gets the whole body and
        reads its share (:func:`read_json_share`). None when the body is not a large array or a
        share is invalid: then one worker reads it all, for the exact error."""
        outcomes = await asyncio.gather(
            *(
                self._call(read_json_share, body, share, shares, version, authority)
                for share in range(shares)
            )
        )
        if any(outcome[0] != "ok" for outcome in outcomes):
            return None
        ready = [Ready(*outcome[1]) for outcome in outcomes if outcome[1] is not None]
        # Each share checked its own duplicate ids; the first repeat across shares is the
        # first fault of the whole body (every statement is valid).
        seen: set[str] = set()
        for index, statement_id in enumerate(i for part in ready for i in part.ids):
            if statement_id in seen:
                raise StatementInvalid(f"statements[{index}].id", DUPLICATE)
            seen.add(statement_id)
        return ready

    def close(self) -> None:
        for worker in self._pool:
            worker.close()
