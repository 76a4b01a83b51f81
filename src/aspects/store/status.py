"""What `aspects db status` reports: schema version, rows and sizes per table."""

from __future__ import annotations

from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from aspects.store.migrate import current_version, migrations
from aspects.store.settings import StoreSettings


@dataclass(frozen=True)
class TableStatus:
    name: str
    engine: str
    rows: int
    bytes_on_disk: int
    uncompressed_bytes: int


@dataclass(frozen=True)
class StoreStatus:
    version: int
    latest_version: int
    tables: list[TableStatus]


def store_status(client: Client, settings: StoreSettings) -> StoreStatus:
    """Version and per-table figures from system.tables and system.parts."""
    result = client.query(
        """
        SELECT t.name, t.engine,
               sum(p.rows), sum(p.bytes_on_disk), sum(p.data_uncompressed_bytes)
        FROM system.tables AS t
        LEFT JOIN (SELECT * FROM system.parts WHERE active) AS p
            ON p.database = t.database AND p.table = t.name
        WHERE t.database = {db:String}
        GROUP BY t.name, t.engine
        ORDER BY t.name
        """,
        parameters={"db": settings.database},
    )
    tables = [
        TableStatus(name, engine, int(rows), int(size), int(raw))
        for name, engine, rows, size, raw in result.result_rows
    ]
    return StoreStatus(current_version(client, settings), migrations()[-1].version, tables)
