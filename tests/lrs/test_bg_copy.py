"""The copy into the raw table goes early once enough statements are held: at a high rate the
copies stay bounded in size instead of waiting for ``lrs.copy_interval_seconds``."""

from __future__ import annotations

import asyncio
import time

from clickhouse_connect.driver.client import Client

from aspects.lrs.statements.copier import RawCopier
from aspects.lrs.statements.prepare import incoming
from aspects.lrs.statements.writer import Batch, StatementWriter
from aspects.store.settings import StoreSettings
from tests.lrs import statements_helpers
from tests.lrs.statements_helpers import statement

module_store = statements_helpers.module_store
lrs_store = statements_helpers.lrs_store
AUTHORITY = {"objectType": "Agent", "mbox": "mailto:authority@example.org"}
NEVER = 3600.0  # a copy interval that never comes within a test


def _raw(client: Client, settings: StoreSettings) -> int:
    return int(client.command(f"SELECT count() FROM {settings.database}.xapi_statements"))


def test_a_copy_starts_before_the_interval_once_copy_rows_are_held(
    lrs_store: tuple[Client, StoreSettings],
) -> None:
    client, settings = lrs_store
    copier = RawCopier(client, settings.database, interval=NEVER, copy_rows=10)
    # No journal: every commit stores its rows and hands them to the copier at once.
    writer = StatementWriter(client, settings.database, copier=copier)

    async def scenario() -> tuple[int, int]:
        writer.start()
        try:
            await writer.write(Batch([incoming(statement()) for _ in range(6)], AUTHORITY, "2.0.0"))
            await asyncio.sleep(1.0)
            below = _raw(client, settings)  # 6 held < 10: the interval (never) decides
            await writer.write(Batch([incoming(statement()) for _ in range(6)], AUTHORITY, "2.0.0"))
            deadline = time.monotonic() + 20
            while _raw(client, settings) < 12 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return below, _raw(client, settings)
        finally:
            await writer.stop()

    below, copied = asyncio.run(scenario())
    assert below == 0
    assert copied == 12  # 12 held >= 10: copied without waiting for the interval
    assert copier.memory_copies == 1
