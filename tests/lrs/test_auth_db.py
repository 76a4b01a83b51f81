"""The LRS database factory: default SQLite location, idempotent tables, write locking."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect

from aspects.lrs.db import CredentialRow, database_url, make_sessionmaker, write_session
from aspects.settings import Settings


def test_default_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert database_url(settings) == f"sqlite:///{(tmp_path / 'data' / 'lrs.sqlite3').resolve()}"
    configured = Settings(data_dir=tmp_path, lrs={"database_url": "sqlite:///elsewhere.db"})
    assert database_url(configured) == "sqlite:///elsewhere.db"


def test_tables_are_created_idempotently_and_rows_survive(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    sessions = make_sessionmaker(settings)
    now = datetime.now(UTC)
    with sessions() as session:
        session.add(
            CredentialRow(
                key="k", name="n", secret_hash="h", scopes="all", authority="{}", created_at=now
            )
        )
        session.commit()
    again = make_sessionmaker(settings)  # a second start-up: no error, data kept
    with again() as session:
        row = session.get(CredentialRow, "k")
        assert row is not None
        assert row.created_at == now  # timezone-aware UTC round trip
    tables = set(inspect(again.kw["bind"]).get_table_names())
    assert {"lrs_credentials", "lrs_documents"} <= tables


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    sessions = make_sessionmaker(Settings(data_dir=tmp_path))
    with sessions() as session:
        session.add(
            CredentialRow(
                key="k",
                name="n",
                secret_hash="h",
                scopes="all",
                authority="{}",
                created_at=datetime.now(),
            )
        )
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()


def test_write_session_takes_the_sqlite_write_lock_at_begin(tmp_path: Path) -> None:
    sessions = make_sessionmaker(Settings(data_dir=tmp_path))
    other = sqlite3.connect(tmp_path / "lrs.sqlite3", timeout=0.1, isolation_level=None)
    with sessions() as reader:
        reader.get(CredentialRow, "x")  # a reading transaction does not block writers
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    with sessions() as writer:
        write_session(writer)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        writer.rollback()
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()
