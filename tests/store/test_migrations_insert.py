"""Migrations 0035-0039: cheaper INSERTs and merges of the raw table (docs/ingest.md)."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
from clickhouse_connect.driver.client import Client

from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings
from aspects.store.statements import StatementRow, insert_statements


def _rows(count: int) -> list[StatementRow]:
    rows = []
    for index in range(count):
        statement = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"statement-{index}")),
            "actor": {"account": {"homePage": "http://lms", "name": f"learner-{index % 7}"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
            "object": {"id": f"http://lms/xblock/block-v1:Org+C{index % 3}+R+type@problem+block@p"},
            "timestamp": f"2026-0{1 + index % 3}-15T05:59:29.700909+00:00",
        }
        rows.append(
            StatementRow(
                uuid.UUID(statement["id"]),  # type: ignore[arg-type]
                orjson.dumps(statement).decode(),
                dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
                "test",
            )
        )
    return rows


def _statements(client: Client, database: str) -> list[tuple[str, str]]:
    return sorted(
        (str(row[0]), row[1])
        for row in client.query(
            f"SELECT statement_id, statement FROM {database}.xapi_statements FINAL"
        ).result_rows
    )


def test_statement_codec_is_zstd1_and_old_parts_stay_readable(
    chdb_client: Client, store_settings: StoreSettings
) -> None:
    database = store_settings.database
    migrate(chdb_client, store_settings, target=34)
    before = _rows(40)
    insert_statements(chdb_client, database, before[:20])  # parts written with ZSTD(3)
    migrate(chdb_client, store_settings, target=35)
    codec = chdb_client.command(
        "SELECT compression_codec FROM system.columns WHERE database = {db:String} "
        "AND table = 'xapi_statements' AND name = 'statement'",
        parameters={"db": database},
    )
    assert codec == "CODEC(ZSTD(1))"
    # Metadata only: no mutation rewrites the existing parts.
    mutations = chdb_client.command(
        "SELECT count() FROM system.mutations WHERE database = {db:String}",
        parameters={"db": database},
    )
    assert mutations == 0
    insert_statements(chdb_client, database, before[20:])  # parts written with ZSTD(1)
    expected = sorted((str(row.statement_id), row.statement) for row in before)
    assert _statements(chdb_client, database) == expected
    chdb_client.command(f"OPTIMIZE TABLE {database}.xapi_statements FINAL")  # both kinds merged
    assert _statements(chdb_client, database) == expected
    chdb_client.command(f"DROP DATABASE {database}")


def _skip_indexes(client: Client, database: str) -> list[str]:
    return [
        row[0]
        for row in client.query(
            "SELECT name FROM system.data_skipping_indices WHERE database = {db:String} "
            "AND table = 'xapi_statements' ORDER BY name",
            parameters={"db": database},
        ).result_rows
    ]


def test_bloom_filters_dropped_from_a_store_with_data(
    chdb_client: Client, store_settings: StoreSettings
) -> None:
    """Migration 0036 on a store with data: the two bloom filters go, idx_verb_id stays, the
    rows and the reads that filter by statement id, actor and verb give the same answers."""
    database = store_settings.database
    migrate(chdb_client, store_settings, target=35)
    assert _skip_indexes(chdb_client, database) == [
        "idx_actor_id",
        "idx_statement_id",
        "idx_verb_id",
    ]
    rows = _rows(60)
    insert_statements(chdb_client, database, rows[:30])  # parts with the bloom filters
    reads = {
        "id": f"SELECT count() FROM {database}.xapi_statements FINAL "
        f"WHERE statement_id = '{rows[3].statement_id}'",
        "actor": f"SELECT count() FROM {database}.xapi_statements FINAL "
        "WHERE toString(actor_id) IN ['learner-2'] OR statement_id IN "
        f"['{rows[40].statement_id}']",
        "voidings": f"SELECT count() FROM {database}.xapi_statements FINAL "
        "WHERE actor_id IN ['learner-2'] AND verb_id = 'http://adlnet.gov/expapi/verbs/attempted'",
    }

    def expected_counts(inserted: list[StatementRow]) -> dict[str, int]:
        """The reads' answers worked out from the rows themselves."""
        learner = [row for row in inserted if '"name":"learner-2"' in row.statement]
        ids = {row.statement_id for row in inserted}
        return {
            "id": int(rows[3].statement_id in ids),
            "actor": len({row.statement_id for row in learner} | ({rows[40].statement_id} & ids)),
            "voidings": len(learner),
        }

    before = {name: chdb_client.command(sql) for name, sql in reads.items()}
    assert before == expected_counts(rows[:30])
    migrate(chdb_client, store_settings)
    assert _skip_indexes(chdb_client, database) == ["idx_verb_id"]
    assert {name: chdb_client.command(sql) for name, sql in reads.items()} == before
    insert_statements(chdb_client, database, rows[30:])  # parts without them
    expected = sorted((str(row.statement_id), row.statement) for row in rows)
    assert _statements(chdb_client, database) == expected
    after = {name: chdb_client.command(sql) for name, sql in reads.items()}
    assert after == expected_counts(rows)
    assert after != before
    chdb_client.command(f"OPTIMIZE TABLE {database}.xapi_statements FINAL")  # both kinds merged
    assert _statements(chdb_client, database) == expected
    assert {name: chdb_client.command(sql) for name, sql in reads.items()} == after
    chdb_client.command(f"DROP DATABASE {database}")
