"""`aspects ingest PATH`, `aspects ingest errors` and `aspects status` through the real CLI."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from clickhouse_connect.driver.client import Client

from aspects.cli import cli
from aspects.ingest.synthetic import synthetic_lines, write_lines
from aspects.settings import Settings
from tests.ingest.conftest import SECRET, expected, stored_counts


@pytest.fixture
def env(settings: Settings, store: Client) -> dict[str, str]:
    """The CLI on the test's database of the shared embedded engine."""
    return {
        "ASPECTS_DATA_DIR": str(settings.data_dir),
        "ASPECTS_STORE__PATH": str(settings.store.path),
        "ASPECTS_STORE__DATABASE": settings.store.database,
        "ASPECTS_TRANSFORM__SECRET": SECRET,
        "ASPECTS_CONFIG": "",
    }


def test_backfill_errors_and_status(
    tmp_path: Path, settings: Settings, store: Client, env: dict[str, str], templates: list[str]
) -> None:
    lines = list(synthetic_lines(templates, 600, seed=3, malformed_every=100))
    logs = tmp_path / "logs"
    logs.mkdir()
    write_lines(logs / "tracking.log.1.gz", lines[:300])
    write_lines(logs / "tracking.log", lines[300:])
    wanted, rejected = expected(settings, lines)
    runner = CliRunner()

    result = runner.invoke(cli, ["ingest", str(logs), "--workers", "0"], env=env)
    assert result.exit_code == 0, result.output
    assert "ingest summary" in result.output
    assert f"{len(wanted):,}" in result.output
    assert stored_counts(store, settings.store.database)[:2] == (len(wanted), len(wanted))

    result = runner.invoke(cli, ["ingest", "errors", "--json", "--limit", "1000"], env=env)
    assert result.exit_code == 0, result.output
    letters = [orjson.loads(line) for line in result.output.splitlines()]
    assert len(letters) == rejected
    assert {letter["file"] for letter in letters} <= {
        str((logs / name).resolve()) for name in ("tracking.log.1.gz", "tracking.log")
    }
    assert sum(letter["reason"].startswith("invalid JSON") for letter in letters) == 6

    result = runner.invoke(cli, ["ingest", "errors"], env=env)
    assert result.exit_code == 0, result.output
    assert f"{rejected} rejected lines" in result.output

    result = runner.invoke(cli, ["status", "--json"], env=env)
    assert result.exit_code == 0, result.output
    figures = orjson.loads(result.output)
    assert figures["events_read"] == len(lines)
    assert figures["statements_stored"] == len(wanted)
    assert figures["rejected"] == rejected
    assert figures["statements_in_store"] == len(wanted)
    assert figures["emission_lag_seconds"] > 0
    result = runner.invoke(cli, ["status"], env=env)
    assert result.exit_code == 0, result.output
    assert "line read -> queryable" in result.output

    # Again: every file is complete, nothing is read.
    result = runner.invoke(cli, ["ingest", "files", str(logs), "--workers", "0"], env=env)
    assert result.exit_code == 0, result.output
    assert stored_counts(store, settings.store.database)[2] == len(wanted)


def test_missing_path_is_a_usage_error(env: dict[str, str], tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path / "nope")], env=env)
    assert result.exit_code == 2
    assert "does not exist" in result.output
