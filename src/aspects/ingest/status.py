"""Figures of the ingest for `aspects status`: counters, queue depths and lag."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

from aspects.ingest.state import (
    EVENTS_READ,
    FORWARD_REJECTED,
    FORWARDED,
    LAG_LAST_MS,
    LAG_P95_MS,
    LAST_COMMIT_AT,
    REJECTED,
    SKIPPED,
    STATEMENTS_STORED,
    IngestState,
)


@dataclass
class IngestStatus:
    events_read: int = 0
    statements_stored: int = 0
    rejected: int = 0
    skipped: int = 0
    forwarded: int = 0
    forward_rejected: int = 0
    # target -> (waiting, refused by the remote)
    queues: dict[str, tuple[int, int]] = field(default_factory=dict)
    # line read -> row queryable, from the live follower's recent batches
    lag_p95_seconds: float | None = None
    lag_last_seconds: float | None = None
    last_commit_at: datetime | None = None
    # store side; None when the store could not be asked
    newest_emission: datetime | None = None
    emission_lag_seconds: float | None = None
    statements_in_store: int | None = None
    store_error: str | None = None


def ingest_status(state: IngestState, client: Client | None, database: str) -> IngestStatus:
    """Counters from the state database; the newest emission time from the store."""
    counters = state.counters()
    status = IngestStatus(
        events_read=int(counters.get(EVENTS_READ, 0)),
        statements_stored=int(counters.get(STATEMENTS_STORED, 0)),
        rejected=int(counters.get(REJECTED, 0)),
        skipped=int(counters.get(SKIPPED, 0)),
        forwarded=int(counters.get(FORWARDED, 0)),
        forward_rejected=int(counters.get(FORWARD_REJECTED, 0)),
        queues=state.queue_depths(),
    )
    if LAG_P95_MS in counters:
        status.lag_p95_seconds = counters[LAG_P95_MS] / 1000
    if LAG_LAST_MS in counters:
        status.lag_last_seconds = counters[LAG_LAST_MS] / 1000
    if LAST_COMMIT_AT in counters:
        status.last_commit_at = datetime.fromtimestamp(counters[LAST_COMMIT_AT], UTC)
    if client is None:
        return status
    try:
        newest, rows = client.query(
            f"SELECT max(emission_time), count() FROM {database}.xapi_statements"
        ).result_rows[0]
    except Exception as error:
        status.store_error = f"{type(error).__name__}: {str(error)[:200]}"
        return status
    status.statements_in_store = int(rows)
    if rows:
        moment = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
        status.newest_emission = moment
        status.emission_lag_seconds = time.time() - moment.timestamp()
    return status
