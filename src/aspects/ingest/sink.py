"""Batches: collecting converted lines, then storing them, statements first.

The order is what makes ingest exactly-once: a checkpoint never runs ahead of stored
statements. :meth:`Batch.store` inserts the statements, then writes checkpoints, dead letters,
queued forwards and counters in one transaction. A crash between the two re-reads the batch; its
statements carry the same deterministic ids and collapse in the ReplacingMergeTree, while the
rest is written once. Storing the same batch again after a failure is therefore always safe.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain

from clickhouse_connect.driver.client import Client

from aspects.ingest.convert import Converted, Labels
from aspects.ingest.files import FileIdentity
from aspects.ingest.settings import ForwardTarget
from aspects.ingest.state import (
    EVENTS_READ,
    LAG_LAST_MS,
    LAG_P95_MS,
    LAST_COMMIT_AT,
    REJECTED,
    SKIPPED,
    STATEMENTS_STORED,
    BatchRecord,
    DeadLetter,
    IngestState,
    Position,
    QueuedStatement,
)
from aspects.store.statements import (
    PackedStatements,
    actor_hash,
    erased_hashes,
    insert_packed,
)

SOURCE = "tracking-log"
_LAG_WINDOW = 5000


@dataclass(frozen=True, slots=True)
class Flushed:
    """Figures of one stored batch."""

    events: int
    statements: int
    rejected: int
    skipped: int
    seconds: float


class LagTracker:
    """Recent delays from reading a line to its row being queryable (for p95)."""

    def __init__(self) -> None:
        self._lags: deque[float] = deque(maxlen=_LAG_WINDOW)
        self._lock = threading.Lock()

    def add(self, lag: float, count: int) -> None:
        with self._lock:
            self._lags.extend([lag] * min(count, _LAG_WINDOW))

    def p95(self) -> float:
        with self._lock:
            ordered = sorted(self._lags)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


@dataclass
class Batch:
    """Lines read from one or more files, ready to be stored."""

    # Packed by the converters (a list of parts, joined only by the INSERT).
    statements: list[PackedStatements] = field(default_factory=list)
    labels: list[Labels] = field(default_factory=list)
    statement_count: int = 0
    positions: dict[str, Position] = field(default_factory=dict)
    streams: dict[str, str] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    events: int = 0
    skipped: int = 0
    read_times: list[tuple[float, int]] = field(default_factory=list)

    def store(
        self,
        client: Client,
        database: str,
        state: IngestState,
        targets: Sequence[ForwardTarget] = (),
        lags: LagTracker | None = None,
    ) -> Flushed:
        """Insert the statements, then record everything else in one transaction."""
        began = time.monotonic()
        # Statements of erased learners (privacy tombstones) are neither stored nor forwarded.
        stored = insert_packed(client, database, self.statements, datetime.now(UTC), SOURCE)
        queued = (
            forwards(self.statements, self.labels, targets, erased_hashes(client, database))
            if targets
            else []
        )
        record = BatchRecord(
            positions=self.positions,
            streams=self.streams,
            dead_letters=self.dead_letters,
            forwards=queued,
            counts={EVENTS_READ: self.events, STATEMENTS_STORED: stored, SKIPPED: self.skipped},
        )
        if self.dead_letters:
            record.counts[REJECTED] = len(self.dead_letters)
        now = time.time()
        if self.read_times:
            record.gauges[LAG_LAST_MS] = (now - self.read_times[0][0]) * 1000
            if lags is not None:
                for read_at, count in self.read_times:
                    lags.add(now - read_at, count)
                record.gauges[LAG_P95_MS] = lags.p95() * 1000
        record.gauges[LAST_COMMIT_AT] = now
        state.record(record)
        return Flushed(
            self.events,
            stored,
            len(self.dead_letters),
            self.skipped,
            time.monotonic() - began,
        )


def forwards(
    statements: Sequence[PackedStatements],
    labels: Sequence[Labels],
    targets: Sequence[ForwardTarget],
    erased: frozenset[str] = frozenset(),
) -> list[QueuedStatement]:
    """The statements each target wants (its event and organisation filters), leaving out those
    of erased learners (``erased``: tombstone hashes)."""
    # statement id, JSON, event name, organisation
    each: list[tuple[str, str, str, str]] = []
    rows = chain.from_iterable(
        zip(part.ids_each(), part.texts_each(), part.actors, strict=True) for part in statements
    )
    expanded = ((name, org) for name, org, count in labels for _ in range(count))
    for (uuid, json, actor), (name, org) in zip(rows, expanded, strict=True):
        if erased and actor_hash(actor) in erased:
            continue
        each.append((str(uuid), json.decode(), name, org))
    queued: list[QueuedStatement] = []
    for target in targets:
        events = set(target.events) if target.events is not None else None
        orgs = set(target.orgs) if target.orgs is not None else None
        for statement_id, text, name, org in each:
            if events is not None and name not in events:
                continue
            if orgs is not None and org not in orgs:
                continue
            queued.append(QueuedStatement(target.name, statement_id, text))
    return queued


class Sink:
    """Collects converted chunks into the current batch. Not thread-safe: one reader owns it."""

    def __init__(self) -> None:
        self.batch = Batch()
        self.started: float | None = None

    @property
    def events(self) -> int:
        """Lines waiting in the batch."""
        return self.batch.events

    @property
    def statements(self) -> int:
        return self.batch.statement_count

    @property
    def dirty(self) -> bool:
        return bool(self.batch.events or self.batch.positions or self.batch.streams)

    def add(
        self,
        converted: Converted,
        path: str,
        identity: FileIdentity,
        *,
        complete: bool = False,
        stream: str | None = None,
        read_at: float | None = None,
    ) -> None:
        """Add a converted chunk; the file's checkpoint moves to the chunk's end when stored."""
        if self.started is None:
            self.started = time.monotonic()
        batch = self.batch
        if converted.count:
            batch.statements += converted.parts
            batch.labels.extend(converted.labels)
            batch.statement_count += converted.count
        batch.events += converted.events
        batch.skipped += converted.skipped
        for offset, reason, line, length in converted.rejected:
            batch.dead_letters.append(
                DeadLetter(identity.fingerprint, path, offset, reason, line, length)
            )
        self.mark(path, identity, converted.end, complete=complete, stream=stream)
        if read_at is not None and converted.events:
            batch.read_times.append((read_at, converted.events))

    def mark(
        self, path: str, identity: FileIdentity, offset: int, *, complete: bool, stream: str | None
    ) -> None:
        """Move a checkpoint (also without lines: a file finished, a stream switched files)."""
        if self.started is None:
            self.started = time.monotonic()
        self.batch.positions[identity.fingerprint] = Position(path, identity, offset, complete)
        if stream is not None:
            self.batch.streams[stream] = identity.fingerprint

    def detach(self) -> Batch:
        """The current batch; the sink starts a new one."""
        batch = self.batch
        self.batch = Batch()
        self.started = None
        return batch
