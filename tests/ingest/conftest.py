"""Fixtures of the ingest tests: settings on the shared embedded engine, realistic log lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from aspects.ingest.state import IngestState
from aspects.ingest.synthetic import load_templates
from aspects.settings import Settings
from aspects.store.settings import StoreSettings
from aspects.transform import MalformedEvent, MalformedLine, Transformer, parse_line

FIXTURE_EVENTS = Path(__file__).parent.parent / "fixtures" / "erb" / "events"
SECRET = "ingest-test-secret"


@pytest.fixture(scope="session")
def templates() -> list[str]:
    return load_templates(FIXTURE_EVENTS)


@pytest.fixture
def settings(tmp_path: Path, store_settings: StoreSettings) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        store=store_settings,
        transform={"secret": SECRET},
        ingest={"flush_interval": 0.2, "poll_interval": 0.02},
    )


@pytest.fixture
def state(settings: Settings) -> Iterator[IngestState]:
    from aspects.ingest.live import open_state

    opened = open_state(settings)
    yield opened
    opened.close()


def expected(settings: Settings, lines: list[bytes]) -> tuple[set[str], int]:
    """(statement ids the lines must give, lines to reject), line by line with the transformer."""
    transformer = Transformer(settings.transform, secret=SECRET)
    ids: set[str] = set()
    rejected = 0
    for line in lines:
        try:
            event = parse_line(line)
            ids.update(statement["id"] for statement in transformer.transform(event))
        except (MalformedLine, MalformedEvent):
            rejected += 1
    return ids, rejected


def stored_counts(client: Client, database: str) -> tuple[int, int, int]:
    """(rows read with FINAL, distinct statement ids, raw rows before merging)."""
    final = client.command(f"SELECT count() FROM {database}.xapi_statements FINAL")
    distinct = client.command(f"SELECT uniqExact(statement_id) FROM {database}.xapi_statements")
    raw = client.command(f"SELECT count() FROM {database}.xapi_statements")
    return int(str(final)), int(str(distinct)), int(str(raw))
