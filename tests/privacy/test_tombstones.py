"""The tombstone filter of the one insert path, and subjects named by id, UUID or username."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.privacy.subject import SubjectError, resolve
from aspects.privacy.tombstones import record_tombstones, tombstone_count
from aspects.store.settings import StoreSettings
from aspects.store.statements import StatementRow, actor_id_of, insert_statements
from tests.privacy.conftest import make_settings


def _row(actor: dict[str, object], **extra: object) -> StatementRow:
    text = orjson.dumps(
        {"actor": actor, "verb": {"id": "http://x/v"}, "object": {"id": "http://x"}}
    )
    return StatementRow(uuid.uuid4(), text.decode(), dt.datetime.now(dt.UTC), "test", **extra)  # type: ignore[arg-type]


def test_actor_id_follows_the_raw_table_extraction(
    store: Client, store_settings: StoreSettings
) -> None:
    actors = [
        {"account": {"homePage": "https://lms", "name": "acc-1"}},
        {"mbox": "mailto:a@example.com"},
        {"mbox_sha1sum": "ab" * 20},
        {"openid": "https://id.example.com/a"},
    ]
    rows = [_row(actor) for actor in actors]
    assert insert_statements(store, store_settings.database, rows) == 4
    stored = dict(
        store.query(
            "SELECT toString(statement_id), actor_id "
            f"FROM {store_settings.database}.xapi_statements"
        ).result_rows
    )
    assert {str(row.statement_id): actor_id_of(row.statement) for row in rows} == stored


def test_tombstoned_actors_are_not_stored_again(
    store: Client, store_settings: StoreSettings
) -> None:
    db = store_settings.database
    gone = {"account": {"homePage": "https://lms", "name": "gone"}}
    kept = {"account": {"homePage": "https://lms", "name": "kept"}}
    assert record_tombstones(store, db, ["gone", "mailto:b@example.com"]) == 2
    assert record_tombstones(store, db, ["gone"]) == 1  # idempotent
    assert tombstone_count(store, db) == 2
    rows = [
        _row(gone),
        _row(kept),
        _row({"mbox": "mailto:b@example.com"}),
        _row(kept, actor_id="gone"),
    ]
    assert insert_statements(store, db, rows) == 1
    actors = store.query(f"SELECT actor_id FROM {db}.xapi_statements").result_rows
    assert actors == [("kept",)]
    # The tombstone table holds hashes only, never the identifiers.
    text = str(store.query(f"SELECT * FROM {db}.privacy_tombstones").result_rows)
    assert "gone" not in text
    assert "example.com" not in text


def test_subject_by_user_id_uuid_and_username(
    tmp_path: Path, store_settings: StoreSettings
) -> None:
    settings = make_settings(tmp_path, store_settings)
    by_id = resolve(settings, "42")
    assert by_id.user_ids == {"42"}
    assert len(by_id.actor_ids) == 1
    assert resolve(settings, "42") == by_id  # keyed hash: stable
    actor = next(iter(by_id.actor_ids))
    assert resolve(settings, actor).actor_ids == {actor}
    with pytest.raises(SubjectError, match="needs PII on"):
        resolve(settings, "jdoe")
    with_pii = make_settings(tmp_path, store_settings, courses={"pii": True})
    assert resolve(with_pii, "jdoe").usernames == {"jdoe"}
    assert resolve(with_pii, "jdoe").actor_ids.isdisjoint(by_id.actor_ids)
