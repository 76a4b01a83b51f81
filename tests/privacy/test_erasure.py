"""Erasure end to end: ingest a site, erase one learner, re-ingest the same logs, and prove that
no row of the learner is left anywhere and every report equals a site that never had them."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client
from sqlalchemy import select

from aspects.courses.pii import ensure_pii_table
from aspects.ingest.backfill import backfill
from aspects.ingest.live import open_state
from aspects.ingest.state import dead_letters_table, queue_table
from aspects.lrs.db import DocumentRow, make_sessionmaker
from aspects.models.registry import reports, run_report
from aspects.privacy.erasure import purge_pending, remaining_rows
from aspects.privacy.service import erase_learner
from aspects.privacy.subject import Subject, resolve, transformer_actors
from aspects.privacy.tombstones import is_erased
from aspects.settings import Settings
from aspects.store.settings import StoreSettings
from aspects.store.statements import StatementRow, insert_statements
from tests.privacy.conftest import COURSE, make_settings, mentions

USER_ID, USERNAME = 103, "learner00003"
OTHER_ID, OTHER_NAME = 101, "learner00001"
FORWARD = [{"name": "copy", "url": "http://127.0.0.1:9/xapi"}]


def _logs(source: Path, target: Path, *, without_learner: bool) -> Path:
    """A copy of the demo logs, plus malformed lines of both learners (dead letters)."""
    shutil.copytree(source, target)
    live = target / "tracking.log"
    if without_learner:
        kept = [
            line for line in live.read_bytes().splitlines() if not mentions(line, USER_ID, USERNAME)
        ]
        live.write_bytes(b"\n".join(kept) + b"\n")
        for path in sorted(target.glob("*.gz")):
            lines = gzip.decompress(path.read_bytes()).splitlines()
            kept = [line for line in lines if not mentions(line, USER_ID, USERNAME)]
            path.write_bytes(gzip.compress(b"\n".join(kept) + b"\n"))
    broken = [f'{{"username": "{OTHER_NAME}", "context": {{"user_id": {OTHER_ID}, "cour']
    if not without_learner:
        broken.append(f'{{"username": "{USERNAME}", "context": {{"user_id": {USER_ID}, "cour')
    with live.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(broken) + "\n")
    return target


def _ingest(settings: Settings, client: Client, logs: Path, *, again: bool = False) -> None:
    state = open_state(settings)
    try:
        backfill(settings, client, state, [logs], workers=0, again=again)
    finally:
        state.close()


def _figures(client: Client, database: str) -> dict[str, Any]:
    """Every report of the course (pseudonymous reports; PII reports with PII on)."""
    until = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    figures = {}
    for name, report in reports().items():
        wanted = report.parameters
        parameters: dict[str, Any] = {"course_key": COURSE} if "course_key" in wanted else {}
        if "until" in wanted:
            parameters["until"] = until
        result = run_report(client, database, name, parameters, pii_enabled=True)
        # Ingest lag depends on when each site was ingested, not on who is in it.
        keep = [i for i, column in enumerate(result.columns) if "lag" not in column]
        figures[name] = sorted(repr([row[i] for i in keep]) for row in result.rows)
    return figures


def _add_pii(client: Client, settings: Settings, users: list[tuple[int, str]]) -> None:
    actors = transformer_actors(settings)
    ensure_pii_table(client, settings.store, True)
    now = dt.datetime.now(dt.UTC)
    client.insert(
        f"{settings.store.database}.user_pii",
        [
            [actors.pseudonym(str(user_id)), str(user_id), name, f"{name}@example.com", name, now]
            for user_id, name in users
        ],
        column_names=["actor_id", "user_id", "username", "email", "name", "updated_at"],
    )


def _add_documents(settings: Settings) -> None:
    actors = transformer_actors(settings)
    factory = make_sessionmaker(settings)
    with factory.begin() as session:
        for user_id in (USER_ID, OTHER_ID):
            agent = f"Agent|account|http://localhost:18000|{actors.pseudonym(str(user_id))}"
            for kind in ("state", "agent_profile"):
                session.add(
                    DocumentRow(
                        kind=kind,
                        scope_hash=uuid.uuid4().hex,
                        key_hash=uuid.uuid4().hex,
                        activity_id="http://localhost:18000/xblock/x" if kind == "state" else "",
                        agent=agent,
                        registration="",
                        document_id="bookmark",
                        content=b'{"position": 3}',
                        content_type="application/json",
                        etag="0" * 40,
                        updated=dt.datetime.now(dt.UTC),
                    )
                )


def _documents(settings: Settings) -> list[str]:
    with make_sessionmaker(settings)() as session:
        return list(session.scalars(select(DocumentRow.agent)))


def _ingest_rows(settings: Settings, table: Any, column: str, needle: str) -> int:
    """Rows of an ingest table whose column contains ``needle`` (counted here: blobs too)."""
    state = open_state(settings)
    try:
        with state.engine.connect() as connection:
            values = connection.scalars(select(table.c[column])).all()
    finally:
        state.close()
    return sum(
        needle.encode() in value if isinstance(value, bytes) else needle in value
        for value in values
    )


def test_erase_then_reingest_leaves_no_row_and_reports_equal_a_site_without_the_learner(
    tmp_path: Path,
    demo_logs: Path,
    store: Client,
    store_settings: StoreSettings,
    other_database: StoreSettings,
) -> None:
    settings = make_settings(
        tmp_path / "data", store_settings, courses={"pii": True}, ingest={"forward": FORWARD}
    )
    baseline = make_settings(tmp_path / "baseline", other_database)
    logs = _logs(demo_logs, tmp_path / "logs", without_learner=False)
    _ingest(settings, store, logs)
    _ingest(baseline, store, _logs(demo_logs, tmp_path / "logs-b", without_learner=True))
    _add_pii(store, settings, [(USER_ID, USERNAME), (OTHER_ID, OTHER_NAME)])
    _add_pii(store, baseline, [(OTHER_ID, OTHER_NAME)])
    _add_documents(settings)

    subject = resolve(settings, str(USER_ID))
    actor = next(iter(subject.actor_ids))
    before = remaining_rows(store, settings.store, subject)
    assert before["xapi_statements"] > 20
    assert before["user_pii"] == 1
    assert sum(count for name, count in before.items() if name.startswith("fact_")) > 0
    assert _figures(store, store_settings.database) != _figures(store, other_database.database)
    assert _ingest_rows(settings, queue_table, "statement", actor) > 0
    assert _ingest_rows(settings, dead_letters_table, "line", f'"user_id": {USER_ID}') == 1

    # The PII table tells their username (events hashed by username are theirs too).
    assert USERNAME in erase_subject_usernames(store, settings)

    report = erase_learner(store, settings, subject)

    assert report.rows["xapi_statements"] == before["xapi_statements"]
    assert report.documents == 2
    assert report.dead_letters == 1
    assert report.queued_forwards > 0
    assert is_erased(store, store_settings.database, actor)
    assert all(count == 0 for count in remaining_rows(store, settings.store, subject).values())
    assert [agent for agent in _documents(settings) if actor in agent] == []
    assert len(_documents(settings)) == 2  # the other learner's documents stay
    assert _ingest_rows(settings, queue_table, "statement", actor) == 0
    assert _ingest_rows(settings, dead_letters_table, "line", f'"user_id": {OTHER_ID}') == 1
    expected = _figures(store, other_database.database)
    assert _figures(store, store_settings.database) == expected
    # The rows are physically gone too, once the background purge is done.
    deadline = time.monotonic() + 120
    while purge_pending(store, settings.store) and time.monotonic() < deadline:
        time.sleep(0.2)
    on_disk = remaining_rows(store, settings.store, subject, physical=True)
    assert all(count == 0 for count in on_disk.values()), on_disk

    # Replaying the old logs (and an LRS-style write) brings nothing back.
    _ingest(settings, store, logs, again=True)
    row = StatementRow(
        uuid.uuid4(),
        orjson.dumps(
            {
                "actor": {"account": {"homePage": "https://elsewhere", "name": actor}},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                "object": {"id": f"https://x/{COURSE}"},
            }
        ).decode(),
        dt.datetime.now(dt.UTC),
        "lrs",
    )
    assert insert_statements(store, store_settings.database, [row]) == 0
    assert all(count == 0 for count in remaining_rows(store, settings.store, subject).values())
    assert _figures(store, store_settings.database) == expected


def erase_subject_usernames(client: Client, settings: Settings) -> set[str]:
    from aspects.privacy.service import expand_subject

    return set(
        expand_subject(client, settings, Subject(user_ids=frozenset({str(USER_ID)}))).usernames
    )
