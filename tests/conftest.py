"""Fixtures shared by every test package.

chDB allows one data directory per process and shuts down when its last connection closes, so
the whole test process shares one embedded engine (``chdb_client``); tests isolate themselves by
database (``store_settings`` gives each test its own).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from aspects.store.client import open_client
from aspects.store.settings import StoreSettings


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
def chdb_client(chdb_dir: Path) -> Client:
    return open_client(StoreSettings(path=chdb_dir), chdb_dir)


@pytest.fixture
def store_settings(chdb_dir: Path) -> StoreSettings:
    """Settings of a fresh database of the shared embedded engine, dropped after the test."""
    return StoreSettings(path=chdb_dir, database=f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def store(chdb_client: Client, store_settings: StoreSettings) -> Iterator[Client]:
    """The shared client, with the test's database migrated to the latest version."""
    from aspects.store.migrate import migrate

    migrate(chdb_client, store_settings)
    yield chdb_client
    chdb_client.command(f"DROP DATABASE IF EXISTS {store_settings.database}")


@pytest.fixture
def other_db(chdb_client: Client, store_settings: StoreSettings) -> Iterator[str]:
    """A second migrated database beside ``store``'s (to compare two ways of writing)."""
    from aspects.store.migrate import migrate

    settings = store_settings.model_copy(update={"database": store_settings.database + "_b"})
    migrate(chdb_client, settings)
    yield settings.database
    chdb_client.command(f"DROP DATABASE IF EXISTS {settings.database}")
