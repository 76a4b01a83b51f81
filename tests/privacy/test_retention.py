"""PII retention: a TTL on the PII tables, separate from the statements' retention."""

from __future__ import annotations

import datetime as dt

from clickhouse_connect.driver.client import Client

from aspects.courses.pii import ensure_pii_table
from aspects.privacy.retention import apply_pii_retention, pii_tables
from aspects.store.settings import StoreSettings


def _engine(store: Client, db: str, table: str) -> str:
    return str(
        store.command(
            "SELECT engine_full FROM system.tables "
            "WHERE database = {db:String} AND name = {t:String}",
            parameters={"db": db, "t": table},
        )
    )


def test_pii_rows_older_than_the_retention_expire(
    store: Client, store_settings: StoreSettings
) -> None:
    db = store_settings.database
    assert ("user_pii", "updated_at") in pii_tables()
    assert apply_pii_retention(store, store_settings, 2) == []  # no PII table yet: nothing to do
    ensure_pii_table(store, store_settings, True)
    now = dt.datetime.now(dt.UTC)
    store.insert(
        f"{db}.user_pii",
        [
            ["old", "1", "old_user", "old@example.com", "Old", now - dt.timedelta(days=3)],
            ["new", "2", "new_user", "new@example.com", "New", now - dt.timedelta(hours=1)],
        ],
        column_names=["actor_id", "user_id", "username", "email", "name", "updated_at"],
    )
    assert apply_pii_retention(store, store_settings, 2, materialize=True) == ["user_pii"]
    store.command(f"OPTIMIZE TABLE {db}.user_pii FINAL")
    assert store.query(f"SELECT actor_id FROM {db}.user_pii").result_rows == [("new",)]
    # The statements' retention is not touched by it, and unsetting removes the TTL.
    assert "TTL" not in _engine(store, db, "xapi_statements")
    apply_pii_retention(store, store_settings, None)
    assert "TTL" not in _engine(store, db, "user_pii")
