"""Migrations against the real ClickHouse engine (chDB)."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.store.migrate import (
    current_version,
    migrate,
    migrations,
    render,
    retention_tables,
    split_statements,
)
from aspects.store.settings import StoreSettings
from aspects.store.statements import StatementRow, insert_statements

STATEMENT = {
    "id": "a10da8af-8e6a-5d1c-b7d5-cdabaacc0ba8",
    "actor": {
        "objectType": "Agent",
        "account": {"homePage": "http://localhost:18000", "name": "32e08e30-f8ae"},
    },
    "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en": "attempted"}},
    "object": {
        "id": "http://localhost:18000/xblock/block-v1:edX+DemoX+Demo_Course+type@problem+block@3fc5",
        "objectType": "Activity",
        "definition": {"type": "http://adlnet.gov/expapi/activities/question"},
    },
    "result": {"score": {"max": 1, "min": 0, "raw": 0, "scaled": 0}, "success": False},
    "timestamp": "2020-07-15T05:59:29.700909+00:00",
    "version": "1.0.3",
}


def _row(statement: dict[str, object]) -> StatementRow:
    return StatementRow(
        uuid.UUID(str(statement["id"])),
        orjson.dumps(statement).decode(),
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "test",
    )


def test_migrations_are_numbered_from_one_without_gaps_in_order() -> None:
    versions = [migration.version for migration in migrations()]
    assert versions == sorted(versions)
    assert versions[0] == 1
    assert len(set(versions)) == len(versions)


def test_migrate_is_idempotent(chdb_client: Client, store_settings: StoreSettings) -> None:
    applied = migrate(chdb_client, store_settings)
    assert [m.version for m in applied] == [m.version for m in migrations()]
    assert migrate(chdb_client, store_settings) == []
    assert current_version(chdb_client, store_settings) == migrations()[-1].version
    chdb_client.command(f"DROP DATABASE {store_settings.database}")


@pytest.mark.parametrize("start", [m.version for m in migrations()])
def test_upgrade_from_every_earlier_version_keeps_data(
    chdb_client: Client, store_settings: StoreSettings, start: int
) -> None:
    migrate(chdb_client, store_settings, target=start)
    assert current_version(chdb_client, store_settings) == start
    insert_statements(chdb_client, store_settings.database, [_row(STATEMENT)])
    migrate(chdb_client, store_settings)
    assert current_version(chdb_client, store_settings) == migrations()[-1].version
    count = chdb_client.command(f"SELECT count() FROM {store_settings.database}.xapi_statements")
    assert count == 1
    chdb_client.command(f"DROP DATABASE {store_settings.database}")


def test_extracted_columns(store: Client, store_settings: StoreSettings) -> None:
    insert_statements(store, store_settings.database, [_row(STATEMENT)])
    row = next(
        store.query(
            f"SELECT * EXCEPT statement FROM {store_settings.database}.xapi_statements"
        ).named_results()
    )
    assert row["statement_id"] == uuid.UUID(STATEMENT["id"])  # type: ignore[arg-type]
    assert row["emission_time"] == dt.datetime(2020, 7, 15, 5, 59, 29, 700909)
    assert row["actor_id"] == "32e08e30-f8ae"
    assert row["verb_id"] == "http://adlnet.gov/expapi/verbs/attempted"
    assert row["course_key"] == "course-v1:edX+DemoX+Demo_Course"
    assert row["org"] == "edX"
    assert row["block_id"] == "block-v1:edX+DemoX+Demo_Course+type@problem+block@3fc5"
    assert row["object_type"] == "http://adlnet.gov/expapi/activities/question"
    assert row["result_success"] is False
    assert row["result_score_scaled"] == 0.0
    assert row["result_score_max"] == 1.0
    assert row["result_completion"] is None


def test_course_key_from_context_when_object_is_not_a_block(
    store: Client, store_settings: StoreSettings
) -> None:
    statement = dict(
        STATEMENT,
        id=str(uuid.uuid4()),
        object={"id": "http://localhost:18000/forum/thread/abc", "objectType": "Activity"},
        context={
            "contextActivities": {
                "parent": [{"id": "http://localhost:18000/course/course-v1:MITx+6.002x+2024"}]
            }
        },
    )
    statement.pop("result")
    insert_statements(store, store_settings.database, [_row(statement)])
    course, org, block = store.query(
        f"SELECT course_key, org, block_id FROM {store_settings.database}.xapi_statements"
    ).result_rows[0]
    assert (course, org, block) == ("course-v1:MITx+6.002x+2024", "MITx", "")


def test_duplicate_statements_collapse(store: Client, store_settings: StoreSettings) -> None:
    for _ in range(3):
        insert_statements(store, store_settings.database, [_row(STATEMENT)])
    table = f"{store_settings.database}.xapi_statements"
    assert store.command(f"SELECT count() FROM {table} FINAL") == 1
    store.command(f"OPTIMIZE TABLE {table} FINAL")
    assert store.command(f"SELECT count() FROM {table}") == 1


def test_retention_ttl_set_and_removed(chdb_client: Client, store_settings: StoreSettings) -> None:
    assert ("xapi_statements", "emission_time") in retention_tables()
    with_ttl = store_settings.model_copy(update={"retention_days": 30})
    migrate(chdb_client, with_ttl)
    table = f"{store_settings.database}.xapi_statements"
    assert "TTL toDateTime(emission_time) + toIntervalDay(30)" in chdb_client.command(
        f"SHOW CREATE TABLE {table}"
    )
    # An old statement is deleted by the TTL once parts merge; a recent one stays.
    recent = dict(STATEMENT, id=str(uuid.uuid4()), timestamp=dt.datetime.now(dt.UTC).isoformat())
    insert_statements(chdb_client, store_settings.database, [_row(STATEMENT), _row(recent)])
    chdb_client.command(f"OPTIMIZE TABLE {table} FINAL")
    assert chdb_client.command(f"SELECT count() FROM {table}") == 1
    migrate(chdb_client, store_settings)  # retention unset again
    assert "TTL" not in chdb_client.command(f"SHOW CREATE TABLE {table}")
    chdb_client.command(f"DROP DATABASE {store_settings.database}")


def test_split_statements_ignores_comments_and_blank_chunks() -> None:
    sql = "-- a comment; with a semicolon\nSELECT 1;\n\n-- only a comment\n;\nSELECT 2;\n"
    assert split_statements(sql) == ["SELECT 1", "SELECT 2"]


def test_cluster_rendering_parses(chdb_client: Client) -> None:
    """Cluster DDL cannot run here (no ZooKeeper/Keeper, no cluster), so it is parsed by
    ClickHouse's own parser (formatQuery) and its shape is checked."""
    settings = StoreSettings(cluster="analytics")
    rendered = [statement for m in migrations() for statement in render(m.sql, settings)]
    for statement in rendered:
        chdb_client.query("SELECT formatQuery({q:String})", parameters={"q": statement})
        if statement.startswith("INSERT"):
            # A backfill (0030) is DML: through the Distributed tables it reaches every shard.
            assert "_local" not in statement
        else:
            assert "ON CLUSTER analytics" in statement
    local = next(s for s in rendered if ".xapi_statements_local" in s.split("(")[0])
    assert "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/aspects/" in local
    distributed = next(s for s in rendered if "Distributed(" in s and ".xapi_statements " in s)
    assert "Distributed(analytics, aspects, xapi_statements_local, cityHash64(statement_id))" in (
        distributed
    )
