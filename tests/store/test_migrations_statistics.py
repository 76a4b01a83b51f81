"""Migrations 0040-0041: the report tables and the raw table without automatic column statistics
(docs/ingest.md)."""

from __future__ import annotations

import datetime as dt

from clickhouse_connect.driver.client import Client

from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings
from tests.erb import fixture_statements
from tests.models.statements import save, voiding

TABLES = [
    "xapi_statements",
    "voided_statements",
    "fact_enrollment",
    "fact_video",
    "fact_problem",
    "fact_navigation",
    "fact_grades",
    "fact_completion",
    "fact_forum",
    "fact_activity",
    "activity_day_changes",
]
STORED = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)


def _rows(client: Client, database: str) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows (FINAL, sorted); activity_day_changes' insert time left out."""
    out = {}
    for table in TABLES:
        columns = [
            row[0]
            for row in client.query(
                "SELECT name FROM system.columns WHERE database = {db:String} "
                "AND table = {table:String} AND name != 'inserted_at' "
                "AND default_kind != 'EPHEMERAL' ORDER BY position",
                parameters={"db": database, "table": table},
            ).result_rows
        ]
        rows = client.query(
            f"SELECT {', '.join(columns)} FROM {database}.{table} FINAL"
        ).result_rows
        out[table] = sorted(tuple(str(value) for value in row) for row in rows)
    return out


def _statistics(client: Client, database: str) -> dict[str, set[str]]:
    """The statistics kinds found in each table's active parts."""
    out: dict[str, set[str]] = {}
    for table, kinds in client.query(
        "SELECT table, groupUniqArrayArray(statistics) FROM system.parts_columns "
        "WHERE database = {db:String} AND active GROUP BY table",
        parameters={"db": database},
    ).result_rows:
        out[table] = set(kinds)
    return out


def _optimize(client: Client, database: str) -> None:
    for table in TABLES:
        client.command(f"OPTIMIZE TABLE {database}.{table} FINAL")


def test_tables_lose_statistics_and_keep_their_rows(
    chdb_client: Client, store_settings: StoreSettings
) -> None:
    """A store with data migrated to 0036, then to the end: the new parts of the raw table and
    of the report tables carry no statistics, and every one of them holds the same rows as a
    store left at 0036 that was given the same statements."""
    statements = [s for s in fixture_statements() if "id" in s]
    statements.append(voiding(statements[0], STORED))
    database = store_settings.database
    reference = f"{database}_ref"
    for db in (database, reference):
        migrate(chdb_client, store_settings.model_copy(update={"database": db}), target=36)
        save(chdb_client, db, statements[: len(statements) // 2], STORED)
    before = _rows(chdb_client, database)
    assert sum(map(len, before.values())) > 0
    migrate(chdb_client, store_settings)
    settings = dict(
        chdb_client.query(
            "SELECT name, create_table_query FROM system.tables WHERE database = {db:String}",
            parameters={"db": database},
        ).result_rows
    )
    for table in TABLES:
        assert "auto_statistics_types = ''" in settings[table], table
    assert _rows(chdb_client, database) == before  # metadata only
    for db in (database, reference):
        save(chdb_client, db, statements[len(statements) // 2 :], STORED)
        _optimize(chdb_client, db)
    after = _rows(chdb_client, database)
    assert after == _rows(chdb_client, reference)
    assert all(after.values()), {table: len(rows) for table, rows in after.items()}
    statistics, old = _statistics(chdb_client, database), _statistics(chdb_client, reference)
    for table in TABLES:
        assert statistics[table] == set(), table
        assert old[table] == {"Basic", "UniqV2"}, table
    for db in (database, reference):
        chdb_client.command(f"DROP DATABASE {db}")
