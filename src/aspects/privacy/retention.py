"""Retention everywhere: ClickHouse TTLs, and a sweep of the SQL stores that have none.

In ClickHouse every table that holds statements or rows derived from them declares
``-- aspects:retention <table> <time>`` in a migration and follows ``store.retention_days``; the
PII tables declare ``-- aspects:pii-retention`` and follow ``store.pii_retention_days``. Both are
TTLs, set by aspects.store.migrate.apply_retention on every migrate (so at every start of
`aspects serve`) and when the PII table is created: rows expire as parts merge, with no process
of ours running. :func:`materialize` forces it now.

The ingest's dead letters and forwarding queue live in a SQL database (SQLite by default,
aspects.ingest.state), which has no TTL: :func:`sweep_ingest` deletes what is older than the
retention, and `aspects serve` runs it every ``privacy.retention_sweep_seconds``
(:class:`RetentionSweeper`). Dead letters are raw tracking-log lines with usernames in clear, so
they follow the shorter of the two retentions; queued forwards are pseudonymous statements and
follow ``store.retention_days``. Both are aged by when they were recorded.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client
from sqlalchemy import delete, inspect

from aspects.periodic import PeriodicTask
from aspects.privacy.stores import existing_engine
from aspects.settings import Settings
from aspects.store.migrate import apply_retention, pii_retention_tables, retention_tables
from aspects.store.settings import StoreSettings

log = logging.getLogger(__name__)
_DAY = 86_400.0


def pii_tables() -> list[tuple[str, str]]:
    """Every (table, time expression) declared as a PII table."""
    return pii_retention_tables()


def materialize(client: Client, settings: StoreSettings) -> list[str]:
    """Apply the retention TTLs, then expire the existing rows now (a mutation per table).

    Returns the tables handled. Without this, expired rows go at the next merges.
    """
    tables = apply_retention(client, settings)
    days = {
        **{table: settings.retention_days for table, _ in retention_tables()},
        **{table: settings.pii_retention_days for table, _ in pii_retention_tables()},
    }
    on_cluster = f" ON CLUSTER {settings.cluster}" if settings.cluster else ""
    suffix = "_local" if settings.cluster else ""
    for table in tables:
        if days.get(table) is not None:
            client.command(
                f"ALTER TABLE {settings.database}.{table}{suffix}{on_cluster} MATERIALIZE TTL",
                settings={"mutations_sync": 2},
            )
    return tables


@dataclass(frozen=True)
class IngestSweep:
    dead_letters: int = 0
    queued_forwards: int = 0


def ingest_cutoffs(store: StoreSettings, now: float) -> tuple[float | None, float | None]:
    """(dead letters, queued forwards): delete what was recorded before these times (None: keep)."""
    limits = [days for days in (store.retention_days, store.pii_retention_days) if days]
    dead = now - min(limits) * _DAY if limits else None
    queued = now - store.retention_days * _DAY if store.retention_days else None
    return dead, queued


def sweep_ingest(settings: Settings, now: float | None = None) -> IngestSweep:
    """Delete expired dead letters and queued forwards from the ingest database (if it exists)."""
    from aspects.ingest.state import dead_letters_table, queue_table

    dead_before, queued_before = ingest_cutoffs(settings.store, time.time() if now is None else now)
    if dead_before is None and queued_before is None:
        return IngestSweep()
    engine = existing_engine(settings.ingest.database_url, settings.data_dir / "ingest.sqlite3")
    if engine is None:
        return IngestSweep()
    try:
        if not inspect(engine).has_table(dead_letters_table.name):
            return IngestSweep()
        dead = queued = 0
        with engine.begin() as connection:
            if dead_before is not None:
                dead = connection.execute(
                    delete(dead_letters_table).where(dead_letters_table.c.created_at < dead_before)
                ).rowcount
            if queued_before is not None:
                queued = connection.execute(
                    delete(queue_table).where(queue_table.c.enqueued_at < queued_before)
                ).rowcount
        return IngestSweep(int(dead or 0), int(queued or 0))
    finally:
        engine.dispose()


class RetentionSweeper(PeriodicTask):
    """A daemon thread that runs :func:`sweep_ingest` now and every ``interval`` seconds."""

    def __init__(self, settings: Settings, interval: float) -> None:
        super().__init__(
            "aspects-retention-sweep",
            interval,
            what="retention sweep",
            log=log,
            join_timeout=30,
        )
        self._settings = settings

    def run_once(self) -> None:
        swept = sweep_ingest(self._settings)
        if swept.dead_letters or swept.queued_forwards:
            log.info(
                "retention: deleted %d dead letters, %d queued forwards",
                swept.dead_letters,
                swept.queued_forwards,
            )


def start_sweeper(settings: Settings) -> RetentionSweeper | None:
    """The sweeper `aspects serve` runs; None when no retention is set (nothing to sweep)."""
    if settings.store.retention_days is None and settings.store.pii_retention_days is None:
        return None
    return RetentionSweeper(settings, settings.privacy.retention_sweep_seconds).start()
