"""Backfill of plain and gzipped rotated logs: complete, exactly once, dead letters kept."""

from __future__ import annotations

import gzip
from pathlib import Path

from clickhouse_connect.driver.client import Client

from aspects.ingest.backfill import backfill
from aspects.ingest.state import EVENTS_READ, REJECTED, STATEMENTS_STORED, IngestState
from aspects.ingest.synthetic import synthetic_lines, write_lines
from aspects.models import run_report
from aspects.settings import Settings
from tests.ingest.conftest import expected, stored_counts


def _site(tmp_path: Path, templates: list[str]) -> tuple[Path, list[bytes]]:
    """Three rotated files (two gzipped) and the live one, 1,500 lines, 1 in 250 malformed."""
    lines = list(synthetic_lines(templates, 1500, seed=7, malformed_every=250))
    logs = tmp_path / "logs"
    logs.mkdir()
    parts = [lines[:400], lines[400:800], lines[800:1200], lines[1200:]]
    names = ["tracking.log.3.gz", "tracking.log.2.gz", "tracking.log.1", "tracking.log"]
    for name, part in zip(names, parts, strict=True):
        write_lines(logs / name, part)
    return logs, lines


def _report_figures(store: Client, database: str) -> dict[str, list[tuple[object, ...]]]:
    """Figures of report models (aspects.models) that must not move when logs are re-read."""
    kpis = run_report(store, database, "operator_kpis")
    keep = [kpis.columns.index(name) for name in ("day", "statements", "active_learners")]
    course = "course-v1:Org1+Course1+2026_T1"
    videos = run_report(store, database, "video_engagement", {"course_key": course})
    return {
        "operator_kpis": [tuple(row[i] for i in keep) for row in kpis.rows],
        "video_engagement": videos.rows,
    }


def test_backfill_stores_every_statement_once_and_rerun_adds_nothing(
    tmp_path: Path, settings: Settings, store: Client, state: IngestState, templates: list[str]
) -> None:
    logs, lines = _site(tmp_path, templates)
    wanted, rejected = expected(settings, lines)
    assert rejected > len(lines) // 250  # malformed lines and malformed events
    database = settings.store.database
    seen: list[tuple[int, int]] = []

    summary = backfill(
        settings, store, state, [logs], workers=2, progress=lambda b, e: seen.append((b, e))
    )
    assert summary.files == 4
    assert summary.events == len(lines)
    assert summary.rejected == rejected
    assert summary.statements == len(wanted)
    assert sum(b for b, _ in seen) == sum(p.stat().st_size for p in logs.iterdir())
    assert sum(e for _, e in seen) == len(lines)
    final, distinct, _ = stored_counts(store, database)
    assert final == distinct == len(wanted)
    ids = {
        str(row[0])
        for row in store.query(f"SELECT statement_id FROM {database}.xapi_statements").result_rows
    }
    assert ids == wanted

    # A report-style figure: plays per course, from the deduplicated table.
    report = (
        f"SELECT course_key, count() FROM {database}.xapi_statements FINAL "
        "WHERE verb_id = 'https://w3id.org/xapi/video/verbs/played' GROUP BY course_key "
        "ORDER BY course_key"
    )
    plays = store.query(report).result_rows
    models = _report_figures(store, database)
    assert sum(row[1] for row in models["operator_kpis"]) == len(wanted)
    assert models["video_engagement"]
    assert plays
    assert sum(count for _, count in plays) > 0

    # Second run: complete files are skipped.
    again = backfill(settings, store, state, [logs], workers=0)
    assert again.files_skipped == 4
    assert again.events == 0

    # Forced re-read: rows are inserted again, yet nothing is counted twice.
    forced = backfill(settings, store, state, [logs], workers=1, again=True)
    assert forced.events == len(lines)
    final, distinct, raw = stored_counts(store, database)
    assert raw == 2 * len(wanted)  # really inserted twice, before merges
    assert final == distinct == len(wanted)
    assert store.query(report).result_rows == plays
    assert _report_figures(store, database) == models
    counters = state.counters()
    assert counters[REJECTED] == rejected  # dead letters once, though read twice
    assert counters[EVENTS_READ] == 2 * len(lines)
    assert counters[STATEMENTS_STORED] == 2 * len(wanted)
    assert state.dead_letter_count() == rejected


def test_dead_letters_point_at_their_line(
    tmp_path: Path, settings: Settings, store: Client, state: IngestState, templates: list[str]
) -> None:
    logs, lines = _site(tmp_path, templates)
    backfill(settings, store, state, [logs], workers=0)
    letters = state.dead_letters(limit=1000)
    assert len(letters) == expected(settings, lines)[1]
    assert sum(letter.reason.startswith("invalid JSON") for letter in letters) == len(lines) // 250
    for letter in letters:
        path = Path(letter.path)
        data = (
            gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        )
        assert data[letter.offset : letter.offset + letter.line_bytes] == letter.line
        assert letter.reason


def test_dead_letter_lines_are_bounded(
    tmp_path: Path, settings: Settings, store: Client, state: IngestState
) -> None:
    huge = b'{"name": "' + b"x" * 100_000 + b"\n"
    path = tmp_path / "tracking.log"
    path.write_bytes(b'{"name": "ok", "time": "2026-01-01T00:00:00+00:00"}\n' + huge)
    summary = backfill(settings, store, state, [path], workers=0)
    assert summary.rejected == 1
    assert summary.skipped == 1
    (letter,) = state.dead_letters()
    assert letter.line_bytes == len(huge) - 1
    assert len(letter.line) == settings.ingest.dead_letter_max_bytes


def test_a_grown_live_file_is_read_from_where_the_last_run_ended(
    tmp_path: Path, settings: Settings, store: Client, state: IngestState, templates: list[str]
) -> None:
    lines = list(synthetic_lines(templates, 300, seed=8))
    log = tmp_path / "tracking.log"
    write_lines(log, lines[:200])
    first = backfill(settings, store, state, [log], workers=0)
    with log.open("ab") as handle:
        handle.writelines(lines[200:])
    second = backfill(settings, store, state, [log], workers=0)
    assert (first.events, second.events) == (200, 100)
    wanted, _ = expected(settings, lines)
    final, distinct, raw = stored_counts(store, settings.store.database)
    assert final == distinct == raw == len(wanted)
