"""The embedded engine behind the endpoint: chDB connections, per-request state, sessions.

chDB runs the SQL. This module only decides which connection runs a request and puts that
connection in the state the request asks for (database, settings), because chDB keeps that
state per connection while ClickHouse's HTTP interface keeps it per request or per session:

- Several ``chdb.connect(path)`` connections of one process run queries in parallel, so each
  request borrows a connection of its role's pool (admin or read-only) and gives it back.
- Read-only connections have ``readonly = 1`` set once when they open. ClickHouse then refuses
  writes, DDL, table functions (``file()``, ``url()``) and any settings change, including
  ``readonly`` itself, so a client cannot lift it.
- A ``session_id`` gets its own connection for the session's life: ``SET``, ``USE`` and
  temporary tables persist between its requests, like a ClickHouse session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aspects.store.allocator import configure_chdb_allocator

configure_chdb_allocator()  # chDB's allocator options are read when chDB loads, just below

import chdb  # noqa: E402
from chdb import _chdb as chdb_core  # noqa: E402

from aspects.store.endpoint.protocol import (  # noqa: E402
    SESSION_IS_LOCKED,
    SESSION_NOT_FOUND,
    EndpointError,
    QueryRequest,
    error_code,
)

ADMIN = "admin"
READER = "reader"
_INSERT_CHUNK = 1 << 20  # appends of ~1 MiB: measured as fast as one big append
_READ_ONLY = 0  # chdb query_class.READ_ONLY: SELECT, SHOW, DESCRIBE...: a result set
_CONTROL = 3  # chdb query_class.CONTROL: SET, USE and the like change connection state
_IDLE_PER_POOL = 16


@dataclass(slots=True)
class Outcome:
    """What a request produced: the formatted result and ClickHouse's summary figures."""

    body: bytes
    read_rows: int = 0
    read_bytes: int = 0
    written_rows: int = 0
    written_bytes: int = 0
    elapsed: float = 0.0
    result_format: str | None = None  # set when the statement produces a result set


@dataclass(slots=True)
class _Connection:
    """A chDB connection and the request state we know it is in (None: not known)."""

    handle: Any  # chdb.state.sqlitelike.Connection (untyped)
    role: str
    database: str | None
    settings: dict[str, str] | None


@dataclass(slots=True)
class _Session:
    connection: _Connection
    lock: threading.Lock
    timeout: float
    last_used: float


class Engine:
    """Owns the embedded database for the endpoint's process.

    ``close()`` (on shutdown) closes every connection; the first one, opened in ``__init__``,
    keeps the engine alive between requests (chDB shuts down when its last connection closes).
    """

    def __init__(self, path: Path) -> None:
        self._path = str(path.resolve())
        path.mkdir(parents=True, exist_ok=True)
        # chDB installs its own handlers for SIGTERM & co. at connect time, which kill the
        # process before the server can finish requests and close the engine.
        chdb_core.set_signal_handlers_enabled(0)  # type: ignore[attr-defined]
        self._keeper = chdb.connect(self._path)  # type: ignore[no-untyped-call]
        self.version, self.timezone = (
            self._keeper.query("SELECT version(), timezone()", "TSV").bytes().decode().split()
        )
        self._lock = threading.Lock()
        self._idle: dict[str, list[_Connection]] = {ADMIN: [], READER: []}
        # (user, role, session id) -> session: one user cannot enter another's session.
        self._sessions: dict[tuple[str, str, str], _Session] = {}
        self._closed = False

    # -- connections -------------------------------------------------------------------------

    def _open(self, role: str) -> _Connection:
        handle = chdb.connect(self._path)  # type: ignore[no-untyped-call]
        if role == READER:
            handle.query("SET readonly = 1", "TSV")
        return _Connection(handle, role, database="default", settings=_baseline(role))

    @contextmanager
    def _pooled(self, role: str) -> Iterator[_Connection]:
        with self._lock:
            idle = self._idle[role]
            connection = idle.pop() if idle else None
        if connection is None:
            connection = self._open(role)
        try:
            yield connection
        finally:
            # A connection in an unknown state (after SET or USE in the SQL, or a failed
            # SET) is closed: its state must not leak into another request.
            keep = connection.settings is not None
            with self._lock:
                if keep and not self._closed and len(self._idle[role]) < _IDLE_PER_POOL:
                    self._idle[role].append(connection)
                    keep = False
                else:
                    keep = True
            if keep:
                connection.handle.close()

    @contextmanager
    def _session(self, role: str, user: str, request: QueryRequest) -> Iterator[_Connection]:
        assert request.session_id is not None
        key = (user, role, request.session_id)
        now = time.monotonic()
        expired: list[_Session] = []
        with self._lock:
            for other_key, other in list(self._sessions.items()):
                if now - other.last_used > other.timeout and not other.lock.locked():
                    expired.append(self._sessions.pop(other_key))
            session = self._sessions.get(key)
            if session is None:
                if request.session_check:
                    raise EndpointError(
                        SESSION_NOT_FOUND, f"Session {request.session_id} not found"
                    )
                session = _Session(self._open(role), threading.Lock(), request.session_timeout, now)
                self._sessions[key] = session
            if not session.lock.acquire(blocking=False):
                raise EndpointError(
                    SESSION_IS_LOCKED,
                    f"Session {request.session_id} is locked by a concurrent client",
                )
        for stale in expired:
            stale.connection.handle.close()
        try:
            yield session.connection
        finally:
            session.timeout = request.session_timeout
            session.last_used = time.monotonic()
            session.lock.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections = [c for pool in self._idle.values() for c in pool]
            connections += [s.connection for s in self._sessions.values()]
            self._idle = {ADMIN: [], READER: []}
            self._sessions.clear()
        for connection in connections:
            connection.handle.close()
        self._keeper.close()

    # -- requests ----------------------------------------------------------------------------

    def execute(self, role: str, request: QueryRequest, user: str = "") -> Outcome:
        """Run one request of ``user`` as ``role`` (blocking: call it from a worker thread)."""
        if request.session_id is None:
            with self._pooled(role) as connection:
                return _run(connection, request, per_request=True)
        with self._session(role, user, request) as connection:
            return _run(connection, request, per_request=False)


def _baseline(role: str) -> dict[str, str]:
    return {"readonly": "1"} if role == READER else {}


def _run(connection: _Connection, request: QueryRequest, per_request: bool) -> Outcome:
    conn = connection.handle._conn  # the engine connection: no result post-processing
    _prepare(connection, request, per_request)
    if request.data is not None:
        return _insert(conn, request)
    query_class = conn.classify_query(request.sql)["query_class"].value
    if query_class == _CONTROL:
        # SET, USE and the like: from now on we do not know this connection's state.
        connection.database = None
        connection.settings = None
    try:
        result = conn.query(request.sql, request.default_format, params=request.params)
    except RuntimeError as error:
        raise _engine_error(error) from None
    return Outcome(
        body=result.bytes() or b"",
        read_rows=result.rows_read(),
        read_bytes=result.bytes_read(),
        written_rows=result.rows_written(),
        written_bytes=result.bytes_written(),
        elapsed=result.elapsed(),
        result_format=request.result_format if query_class == _READ_ONLY else None,
    )


def _prepare(connection: _Connection, request: QueryRequest, per_request: bool) -> None:
    """Put the connection in the database and settings the request asks for.

    Per request (no session), settings the request does not name go back to their defaults;
    in a session they stay, as ``SET`` in a ClickHouse session does. Statements are only sent
    for what differs from the known state, so a client that repeats its settings pays nothing.
    """
    conn = connection.handle._conn
    database = request.database or ("default" if per_request else None)
    if database is not None and database != connection.database:
        connection.database = None
        _statement(conn, f"USE {_identifier(database)}")
        connection.database = database
    known = connection.settings
    if per_request:
        assert known is not None  # pooled connections in an unknown state are closed
        wanted = {**_baseline(connection.role), **request.settings}
        assignments = [f"{k} = {_literal(v)}" for k, v in wanted.items() if known.get(k) != v]
        assignments += [f"{name} = DEFAULT" for name in known if name not in wanted]
    else:
        # Unknown state (after SET or USE in the SQL): send every setting the request names,
        # except what cannot have changed (a reader's readonly).
        current = _baseline(connection.role) if known is None else known
        wanted = {**current, **request.settings}
        assignments = [
            f"{k} = {_literal(v)}" for k, v in request.settings.items() if current.get(k) != v
        ]
    if not assignments:
        return
    connection.settings = None  # if the SET fails part of it may have applied
    _statement(conn, "SET " + ", ".join(assignments))
    connection.settings = wanted


def _insert(conn: Any, request: QueryRequest) -> Outcome:
    assert request.data is not None
    assert request.data_format is not None
    data = request.data
    try:
        inserter = conn.send_insert(request.sql, request.data_format)
    except RuntimeError as error:
        raise _engine_error(error) from None
    try:
        for start in range(0, len(data), _INSERT_CHUNK):
            conn.insert_append(inserter, data[start : start + _INSERT_CHUNK])
        result = conn.insert_done(inserter)
    except RuntimeError as error:
        with suppress(RuntimeError):  # the failure may have ended it already
            conn.insert_cancel(inserter)
        raise _engine_error(error) from None
    return Outcome(
        body=b"",
        written_rows=result.rows_written(),
        written_bytes=result.bytes_written(),
        elapsed=result.elapsed(),
    )


def _statement(conn: Any, sql: str) -> None:
    try:
        conn.query(sql, "TSV")
    except RuntimeError as error:
        raise _engine_error(error) from None


def _engine_error(error: RuntimeError) -> EndpointError:
    message = str(error)
    # send_insert wraps engine messages; keep ClickHouse's own text.
    start = message.find("Code: ")
    if start > 0:
        message = message[start:]
    return EndpointError(error_code(message), message)


def _identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
