"""Migration 0023: the report facts merge each closed month into one part (fewer parts to read
per report; docs/reports.md, "Course-level reports (session 4)")."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from aspects.store.migrate import migrations, render
from aspects.store.settings import StoreSettings

FACTS = [
    "fact_enrollment",
    "fact_video",
    "fact_problem",
    "fact_navigation",
    "fact_grades",
    "fact_completion",
    "fact_forum",
]


def test_every_partitioned_fact_table_merges_closed_months(
    store: Client, store_settings: StoreSettings
) -> None:
    for table in FACTS:
        created = str(store.command(f"SHOW CREATE TABLE {store_settings.database}.{table}"))
        assert "PARTITION BY toYYYYMM(emission_time)" in created, table
        assert "min_age_to_force_merge_seconds = 3600" in created, table
        assert "min_age_to_force_merge_on_partition_only = 1" in created, table


def test_on_a_cluster_the_settings_go_to_each_shards_local_table() -> None:
    (migration,) = [m for m in migrations() if m.version == 23]
    statements = render(migration.sql, StoreSettings(cluster="analytics", database="aspects"))
    assert [s.split()[2] for s in statements] == [f"aspects.{t}_local" for t in FACTS]
    assert all("ON CLUSTER analytics MODIFY SETTING" in " ".join(s.split()) for s in statements)
