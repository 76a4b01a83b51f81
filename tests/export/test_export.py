"""Researcher exports: de-identified statements of one course, as JSON lines and Parquet."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from clickhouse_connect.driver.client import Client

from aspects.cli import cli
from aspects.export.deidentify import HOME_PAGE, Deidentifier
from aspects.export.writer import export_course
from aspects.store.settings import StoreSettings
from aspects.store.statements import StatementRow, insert_statements

COURSE = "course-v1:Exp+E1+2026"
OTHER = "course-v1:Exp+E2+2026"


def _statement(actor: dict[str, object], course: str, minute: int) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "name": "Jane Doe", **actor},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": f"http://lms/course/{course}", "objectType": "Activity"},
        "context": {"instructor": {"mbox": "mailto:prof@example.com", "name": "Prof"}},
        "authority": {"account": {"homePage": "https://lrs", "name": "etl-credential"}},
        "timestamp": f"2026-03-01T10:{minute:02d}:00Z",
    }


@pytest.fixture
def course_rows(store: Client, store_settings: StoreSettings) -> list[dict[str, object]]:
    pseudonymous = {"account": {"homePage": "http://lms", "name": str(uuid.uuid4())}}
    with_email = {"mbox": "mailto:jane@example.com"}
    statements = [_statement(pseudonymous, COURSE, m) for m in range(3)]
    statements += [_statement(with_email, COURSE, 10), _statement(pseudonymous, OTHER, 20)]
    rows = [
        StatementRow(
            uuid.UUID(str(s["id"])), orjson.dumps(s).decode(), dt.datetime.now(dt.UTC), "test"
        )
        for s in statements
    ]
    insert_statements(store, store_settings.database, rows)
    return statements


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_jsonl_export_is_de_identified_and_salts_cannot_be_joined(
    tmp_path: Path,
    store: Client,
    store_settings: StoreSettings,
    course_rows: list[dict[str, object]],
) -> None:
    plain, salted, other_salt = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    db = store_settings.database
    assert export_course(store, db, COURSE, plain, "jsonl", Deidentifier("site")) == 4
    export_course(store, db, COURSE, salted, "jsonl", Deidentifier("site", "s1"))
    export_course(store, db, COURSE, other_salt, "jsonl", Deidentifier("site", "s2"))
    exported = _jsonl(plain)
    text = plain.read_text()
    for secret in ("jane@example.com", "Jane Doe", "prof@example.com", "Prof", "etl-credential"):
        assert secret not in text
    assert [s["timestamp"] for s in exported] == sorted(s["timestamp"] for s in exported)
    stored_id = course_rows[0]["actor"]["account"]["name"]  # type: ignore[index]
    names = [s["actor"]["account"]["name"] for s in exported]  # type: ignore[index]
    assert names[:3] == [stored_id] * 3  # unsalted: the store's pseudonym, joinable with reports
    assert names[3] != stored_id
    assert "@" not in names[3]
    assert all(s["actor"]["account"]["homePage"] == HOME_PAGE for s in exported)  # type: ignore[index]
    one = {s["actor"]["account"]["name"] for s in _jsonl(salted)}  # type: ignore[index]
    two = {s["actor"]["account"]["name"] for s in _jsonl(other_salt)}  # type: ignore[index]
    assert len(one) == len(two) == 2
    assert not one & two
    assert not one & set(names)


def test_parquet_export_through_the_cli(
    tmp_path: Path,
    store: Client,
    store_settings: StoreSettings,
    course_rows: list[dict[str, object]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASPECTS_STORE__PATH", str(store_settings.path))
    monkeypatch.setenv("ASPECTS_STORE__DATABASE", store_settings.database)
    monkeypatch.setenv("ASPECTS_DATA_DIR", str(tmp_path))
    output = tmp_path / "course.parquet"
    result = CliRunner().invoke(
        cli,
        [
            "export",
            "--course",
            COURSE,
            "--format",
            "parquet",
            "--output",
            str(output),
            "--random-salt",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(output)
    assert table.num_rows == 4
    assert table.column_names == [
        "statement_id",
        "timestamp",
        "actor",
        "verb",
        "object",
        "statement",
    ]
    assert "jane@example.com" not in str(table.to_pylist())
    assert course_rows[0]["actor"]["account"]["name"] not in table.column("actor").to_pylist()  # type: ignore[index]
