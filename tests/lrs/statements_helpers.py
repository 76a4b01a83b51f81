"""Shared helpers of the statements tests: an LRS app over the test's store database."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI

from aspects.lrs.app import create_app
from aspects.lrs.auth import create_credential
from aspects.lrs.db import make_sessionmaker
from aspects.settings import Settings
from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings

V1 = {"X-Experience-API-Version": "1.0.3"}
V2 = {"X-Experience-API-Version": "2.0.0"}


def make_app(
    tmp_path: Path, store: Client, store_settings: StoreSettings, receive_workers: int = 0
) -> FastAPI:
    settings = Settings(data_dir=tmp_path, store=store_settings)
    return create_app(settings, store, make_sessionmaker(settings), receive_workers)


def credential(app: FastAPI, *scopes: str, name: str = "test") -> dict[str, str]:
    with app.state.sessionmaker() as session:
        created, secret = create_credential(
            session, name=name, scopes=scopes, home_page="https://lrs.example.org"
        )
    token = base64.b64encode(f"{created.key}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def statement(**changes: Any) -> dict[str, Any]:
    """A valid statement with a fresh id; keyword arguments replace top-level properties."""
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "name": "L", "mbox": "mailto:learner@example.org"},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/experienced",
            "display": {"en-US": "experienced", "en-GB": "experienced (GB)", "fr": "vécu"},
        },
        "object": {
            "id": "http://example.org/activities/a",
            "definition": {"name": {"en-US": "Activity A", "fr": "Activité A"}},
        },
    }
    base.update(changes)
    return base


@pytest.fixture(scope="module")
def module_store(chdb_client: Client, chdb_dir: Path) -> Iterator[tuple[Client, StoreSettings]]:
    """One migrated database per test module (migrating costs seconds; tests truncate instead)."""
    settings = StoreSettings(path=chdb_dir, database=f"test_lrs_{uuid.uuid4().hex[:12]}")
    migrate(chdb_client, settings)
    yield chdb_client, settings
    chdb_client.command(f"DROP DATABASE IF EXISTS {settings.database}")


@pytest.fixture
def lrs_store(module_store: tuple[Client, StoreSettings]) -> tuple[Client, StoreSettings]:
    """The module's database with the tables the LRS writes emptied."""
    client, settings = module_store
    for table in (
        "xapi_statements",
        "lrs_statements",
        "lrs_attachments",
        "lrs_activities",
        "lrs_raw_copy",
        "lrs_statement_keys",
    ):
        client.command(f"TRUNCATE TABLE IF EXISTS {settings.database}.{table}")
    return client, settings
