"""`aspects courses pii-import`: refused without PII, imports with it (bad lines reported)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from clickhouse_connect.driver.client import Client

from aspects.cli import cli
from aspects.courses.pii import pii_table_exists
from aspects.store.settings import StoreSettings


def test_pii_import(
    store: Client, store_settings: StoreSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert store_settings.path is not None
    monkeypatch.setenv("ASPECTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ASPECTS_STORE__PATH", str(store_settings.path))
    monkeypatch.setenv("ASPECTS_STORE__DATABASE", store_settings.database)
    users = tmp_path / "users.csv"
    users.write_text("external_user_id,username,email,name\nu-1,ada,ada@example.org,Ada\n,x,,\n")
    runner = CliRunner()
    refused = runner.invoke(cli, ["courses", "pii-import", str(users)])
    assert refused.exit_code == 1
    assert "PII is disabled" in refused.output
    assert not pii_table_exists(store, store_settings.database)
    monkeypatch.setenv("ASPECTS_COURSES__PII", "true")
    done = runner.invoke(cli, ["courses", "pii-import", str(users)])
    assert done.exit_code == 0, done.output
    assert "rejected line 3: no actor_id" in done.output
    assert "imported 1 learners, rejected 1" in done.output
    rows = store.query(
        f"SELECT actor_id, username, email, name FROM {store_settings.database}.user_pii FINAL"
    )
    assert rows.result_rows == [("u-1", "ada", "ada@example.org", "Ada")]
