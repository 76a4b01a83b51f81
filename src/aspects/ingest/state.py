"""The ingest's transactional state: checkpoints, dead letters, forwarding queue, counters.

SQLAlchemy 2 on SQLite (``<data_dir>/ingest.sqlite3``) by default, any SQLAlchemy URL through
``ingest.database_url``.

Why dead letters live here and not in ClickHouse: everything a batch produces besides its
statements (checkpoints, dead letters, queued forwards, counters) is written in ONE transaction,
after the statements are stored. A crash before that commit re-reads the batch: its statements
collapse in the ReplacingMergeTree, and its dead letters, forwards and counts are written once,
with the checkpoint. That makes every figure exact under kill -9, which a second store could
not promise. Dead letters are few and operational (listed, inspected, deleted), which suits a
small transactional table.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from aspects.ingest.files import FileIdentity

metadata = MetaData()

files_table = Table(
    "ingest_files",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("path", Text, nullable=False),
    Column("device", Integer, nullable=False),
    Column("inode", Integer, nullable=False),
    # Bytes (uncompressed) read AND stored: everything before it is done.
    Column("offset", Integer, nullable=False),
    # The file was read to its end after it stopped growing (rotated or backfilled).
    Column("complete", Boolean, nullable=False, default=False),
    Column("updated_at", Float, nullable=False),
)

streams_table = Table(
    "ingest_streams",
    metadata,
    # A followed path and the fingerprint of the file it was reading at the last commit.
    Column("path", String(1024), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("updated_at", Float, nullable=False),
)

dead_letters_table = Table(
    "ingest_dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("offset", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("line", LargeBinary, nullable=False),
    Column("line_bytes", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    # One line of one file is rejected once, however often the file is read again.
    UniqueConstraint("fingerprint", "offset", name="uq_dead_letter_line"),
)

queue_table = Table(
    "ingest_forward_queue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", String(100), nullable=False),
    Column("statement_id", String(36), nullable=False),
    Column("statement", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("failed_reason", Text, nullable=True),
    Column("enqueued_at", Float, nullable=False),
    UniqueConstraint("target", "statement_id", name="uq_forward_statement"),
    Index("ix_forward_target_failed_id", "target", "failed_reason", "id"),
)

counters_table = Table(
    "ingest_counters",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Float, nullable=False),
)

# Counter names (figures of `aspects status`).
EVENTS_READ = "events_read"
STATEMENTS_STORED = "statements_stored"
REJECTED = "rejected"
SKIPPED = "skipped"
FORWARDED = "forwarded"
FORWARD_REJECTED = "forward_rejected"
# Gauges: the latest values, not sums.
LAG_LAST_MS = "lag_last_ms"
LAG_P95_MS = "lag_p95_ms"
LAST_COMMIT_AT = "last_commit_at"


@dataclass(frozen=True, slots=True)
class Position:
    """How far a file is read and stored."""

    path: str
    identity: FileIdentity
    offset: int
    complete: bool = False


@dataclass(frozen=True, slots=True)
class DeadLetter:
    fingerprint: str
    path: str
    offset: int
    reason: str
    line: bytes
    line_bytes: int


@dataclass(frozen=True, slots=True)
class QueuedStatement:
    target: str
    statement_id: str
    statement: str


@dataclass
class BatchRecord:
    """What one stored batch changes in the state, written in one transaction."""

    positions: dict[str, Position] = field(default_factory=dict)
    streams: dict[str, str] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    forwards: list[QueuedStatement] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, value: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


@dataclass(frozen=True, slots=True)
class StoredDeadLetter:
    id: int
    path: str
    offset: int
    reason: str
    line: bytes
    line_bytes: int
    created_at: float


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'ingest.sqlite3').resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: `aspects status` reads while the follower writes; synchronous=NORMAL stays durable
    # across a process kill (the case we promise), at a fraction of FULL's cost.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class IngestState:
    """Access to the ingest tables; one instance per process, shared by its threads."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- checkpoints -------------------------------------------------------------------------

    def position(self, fingerprint: str) -> Position | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(files_table).where(files_table.c.fingerprint == fingerprint)
            ).first()
        if row is None:
            return None
        identity = FileIdentity(row.device, row.inode, row.fingerprint)
        return Position(row.path, identity, row.offset, row.complete)

    def stream(self, path: str) -> str | None:
        """Fingerprint of the file the follower of ``path`` was reading at its last commit."""
        with self.engine.connect() as connection:
            value = connection.execute(
                select(streams_table.c.fingerprint).where(streams_table.c.path == path)
            ).scalar()
        return None if value is None else str(value)

    def record(self, batch: BatchRecord) -> None:
        """Write everything a stored batch changes, atomically."""
        now = time.time()
        with self.engine.begin() as connection:
            for position in batch.positions.values():
                self._upsert(
                    connection,
                    files_table,
                    ["fingerprint"],
                    {
                        "fingerprint": position.identity.fingerprint,
                        "path": position.path,
                        "device": position.identity.device,
                        "inode": position.identity.inode,
                        "offset": position.offset,
                        "complete": position.complete,
                        "updated_at": now,
                    },
                )
            for path, fingerprint in batch.streams.items():
                self._upsert(
                    connection,
                    streams_table,
                    ["path"],
                    {"path": path, "fingerprint": fingerprint, "updated_at": now},
                )
            inserted = 0
            if batch.dead_letters:
                inserted = self._insert_ignore(
                    connection,
                    dead_letters_table,
                    [
                        {
                            "fingerprint": letter.fingerprint,
                            "path": letter.path,
                            "offset": letter.offset,
                            "reason": letter.reason,
                            "line": letter.line,
                            "line_bytes": letter.line_bytes,
                            "created_at": now,
                        }
                        for letter in batch.dead_letters
                    ],
                    count=True,
                )
            if batch.forwards:
                self._insert_ignore(
                    connection,
                    queue_table,
                    [
                        {
                            "target": item.target,
                            "statement_id": item.statement_id,
                            "statement": item.statement,
                            "attempts": 0,
                            "failed_reason": None,
                            "enqueued_at": now,
                        }
                        for item in batch.forwards
                    ],
                )
            counts = dict(batch.counts)
            if REJECTED in counts:
                # Count a rejected line once, even when a re-read file rejects it again.
                counts[REJECTED] = inserted
            for name, value in counts.items():
                self._add(connection, name, value)
            for name, gauge in batch.gauges.items():
                self._upsert(connection, counters_table, ["name"], {"name": name, "value": gauge})

    def _upsert(
        self, connection: Connection, table: Table, keys: list[str], values: dict[str, Any]
    ) -> None:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=keys,
            set_={name: value for name, value in values.items() if name not in keys},
        )
        connection.execute(statement)

    def _insert_ignore(
        self,
        connection: Connection,
        table: Table,
        rows: Sequence[dict[str, Any]],
        *,
        count: bool = False,
    ) -> int:
        """Insert rows, skipping those already there; with ``count``, how many were new."""
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        before = (
            connection.execute(select(func.count()).select_from(table)).scalar_one() if count else 0
        )
        connection.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))
        if not count:
            return 0
        after = connection.execute(select(func.count()).select_from(table)).scalar_one()
        return int(after) - int(before)

    def _add(self, connection: Connection, name: str, value: float) -> None:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(counters_table).values(name=name, value=value)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["name"],
                set_={"value": counters_table.c.value + statement.excluded.value},
            )
        )

    def add_counts(self, counts: dict[str, int]) -> None:
        with self.engine.begin() as connection:
            for name, value in counts.items():
                self._add(connection, name, value)

    def counters(self) -> dict[str, float]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(counters_table.c.name, counters_table.c.value))
            return {name: float(value) for name, value in rows}

    # -- dead letters ------------------------------------------------------------------------

    def dead_letters(self, limit: int = 100, offset: int = 0) -> list[StoredDeadLetter]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(dead_letters_table)
                .order_by(dead_letters_table.c.id)
                .limit(limit)
                .offset(offset)
            ).all()
        return [
            StoredDeadLetter(
                row.id, row.path, row.offset, row.reason, row.line, row.line_bytes, row.created_at
            )
            for row in rows
        ]

    def dead_letter_count(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(dead_letters_table)
                ).scalar_one()
            )

    # -- forwarding queue --------------------------------------------------------------------

    def pending(self, target: str, limit: int) -> list[tuple[int, str]]:
        """The oldest ``limit`` statements waiting for ``target``: (queue id, JSON text)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(queue_table.c.id, queue_table.c.statement)
                .where(queue_table.c.target == target, queue_table.c.failed_reason.is_(None))
                .order_by(queue_table.c.id)
                .limit(limit)
            ).all()
        return [(int(row[0]), str(row[1])) for row in rows]

    def delivered(self, ids: Iterable[int]) -> int:
        """Remove delivered statements and count them as forwarded, atomically."""
        id_list = list(ids)
        with self.engine.begin() as connection:
            removed = connection.execute(delete(queue_table).where(queue_table.c.id.in_(id_list)))
            count = int(removed.rowcount or 0)
            self._add(connection, FORWARDED, count)
        return count

    def attempted(self, ids: Iterable[int]) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(queue_table)
                .where(queue_table.c.id.in_(list(ids)))
                .values(attempts=queue_table.c.attempts + 1)
            )

    def refused(self, ids: Iterable[int], reason: str) -> None:
        """Park statements the remote LRS refuses for good, so they no longer block the queue."""
        id_list = list(ids)
        with self.engine.begin() as connection:
            connection.execute(
                update(queue_table)
                .where(queue_table.c.id.in_(id_list))
                .values(failed_reason=reason[:2000], attempts=queue_table.c.attempts + 1)
            )
            self._add(connection, FORWARD_REJECTED, len(id_list))

    def queue_depths(self) -> dict[str, tuple[int, int]]:
        """Per target: (statements waiting, statements refused by the remote)."""
        depths: dict[str, tuple[int, int]] = {}
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    queue_table.c.target,
                    func.count().filter(queue_table.c.failed_reason.is_(None)),
                    func.count().filter(queue_table.c.failed_reason.is_not(None)),
                ).group_by(queue_table.c.target)
            )
            for target, waiting, failed in rows:
                depths[str(target)] = (int(waiting), int(failed))
        return depths
