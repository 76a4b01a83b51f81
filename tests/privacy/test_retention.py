"""Retention everywhere: every ClickHouse table that holds learners' data is under a TTL (statements
or PII), expired rows disappear from each of them, and the ingest's SQL stores are swept by age.

Old data is made the way it arrives in production: tracking logs of past days (backfill), LRS
POSTs of statements with past timestamps, a PII import. Two tables carry only the time they were
stored (LRS attachment bodies and activity definitions) and the voiding index its stored time,
so for them rows are backdated through their writers' own INSERT shapes.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from clickhouse_connect.driver.client import Client
from sqlalchemy import func, select, update

from aspects.courses.pii import ensure_pii_table
from aspects.demo.generate import DemoConfig, write_logs
from aspects.ingest.backfill import backfill
from aspects.ingest.live import open_state
from aspects.ingest.state import (
    BatchRecord,
    DeadLetter,
    QueuedStatement,
    dead_letters_table,
    queue_table,
)
from aspects.lrs.app import create_app
from aspects.lrs.auth import create_credential
from aspects.lrs.db import make_sessionmaker
from aspects.models.rollup import refresh
from aspects.privacy.erasure import identity_tables
from aspects.privacy.retention import (
    IngestSweep,
    ingest_cutoffs,
    materialize,
    pii_tables,
    start_sweeper,
    sweep_ingest,
)
from aspects.serve import Site, start_retention
from aspects.settings import Settings
from aspects.store.migrate import apply_retention, retention_tables
from aspects.store.settings import StoreSettings
from aspects.store.statements import StatementRow, insert_statements
from tests.privacy.conftest import COURSE, demo_course, make_settings
from tests.support import serve_app

DAYS = 7
# Tables that deliberately have no retention, and why (none of them may name a learner).
EXEMPT = {
    "privacy_tombstones": "hashes of erased ids; must outlive every replayable log",
    "api_keys": "credentials of integrations",
    "courses": "course structure",
    "course_blocks": "course structure",
    "schema_migrations": "bookkeeping",
    "lrs_raw_copy": "the LRS's copy checkpoint",
    "operator_kpis_refreshes": "the operator_kpis cache's last refresh (one row)",
}
HOME = "http://localhost:18000"
ACTIVITY = "http://localhost:18000/xblock/block-v1:Priv+P101+2026+type@video+block@e1"


def _declared() -> dict[str, str]:
    return dict(retention_tables()) | dict(pii_tables())


def _engine(client: Client, db: str, table: str) -> str:
    return str(
        client.command(
            "SELECT engine_full FROM system.tables "
            "WHERE database = {db:String} AND name = {t:String}",
            parameters={"db": db, "t": table},
        )
    )


def test_every_table_is_under_a_retention_or_deliberately_exempt(
    store: Client, store_settings: StoreSettings
) -> None:
    db = store_settings.database
    ensure_pii_table(store, store_settings, True)
    tables = {
        str(name)
        for (name,) in store.query(
            "SELECT name FROM system.tables WHERE database = {db:String} "
            "AND engine LIKE '%MergeTree'",
            parameters={"db": db},
        ).result_rows
    }
    declared = _declared()
    assert tables - set(declared) - set(EXEMPT) == set(), "a table without retention"
    personal = {table.name for table in identity_tables(store, store_settings)}
    assert personal & set(EXEMPT) == set(), "an exempt table names learners"
    assert {"xapi_statements", "lrs_statements", "user_pii", "fact_video"} <= set(declared)
    # The PII table got its TTL the moment it was created (not at the next migrate).
    with_pii = store_settings.model_copy(update={"pii_retention_days": 3})
    store.command(f"DROP TABLE {db}.user_pii")
    ensure_pii_table(store, with_pii, True)
    assert "toIntervalDay(3)" in _engine(store, db, "user_pii")
    assert "TTL" not in _engine(store, db, "xapi_statements")


def _agent(name: str) -> dict[str, object]:
    return {"objectType": "Agent", "account": {"homePage": HOME, "name": name}}


def _lrs_statement(timestamp: dt.datetime) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "actor": _agent(str(uuid.uuid4())),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {
            "id": ACTIVITY,
            "definition": {"name": {"en-US": f"video {timestamp:%j}"}},
        },
        "timestamp": timestamp.isoformat(),
    }


@pytest.fixture
def lrs_url(tmp_path: Path, store: Client, store_settings: StoreSettings) -> Iterator[str]:
    settings = make_settings(tmp_path, store_settings)
    app = create_app(settings, store, make_sessionmaker(settings))
    with app.state.sessionmaker() as session:
        created, secret = create_credential(
            session, name="etl", scopes=["all"], home_page="https://lrs.example.org"
        )
    basic = base64.b64encode(f"{created.key}:{secret}".encode()).decode()
    with serve_app(app, "LRS") as url:
        yield f"{url}/xAPI|Basic {basic}"


def _split(
    client: Client, db: str, table: str, expression: str, now: dt.datetime
) -> tuple[int, int]:
    """(rows clearly older than the retention, rows clearly within it); an hour's margin each
    side, so that the seconds between the TTL's `now` and ours cannot move a row."""
    old = now - dt.timedelta(days=DAYS, hours=1)
    new = now - dt.timedelta(days=DAYS) + dt.timedelta(hours=1)
    row = client.query(
        f"SELECT countIf(toDateTime({expression}) < {{old:DateTime}}), "
        f"countIf(toDateTime({expression}) >= {{new:DateTime}}) FROM {db}.{table}",
        parameters={"old": old.replace(tzinfo=None), "new": new.replace(tzinfo=None)},
    ).result_rows[0]
    return int(row[0]), int(row[1])


def test_expired_rows_disappear_from_every_table(
    tmp_path: Path, store: Client, store_settings: StoreSettings, lrs_url: str
) -> None:
    db = store_settings.database
    now = dt.datetime.now(dt.UTC)
    settings = make_settings(tmp_path, store_settings)
    # Tracking logs of the past two weeks: half of them older than the retention.
    logs = tmp_path / "logs"
    logs.mkdir()
    start = now.date() - dt.timedelta(days=2 * DAYS - 1)
    write_logs(DemoConfig(learners=12, weeks=2, start=start, seed=5), [demo_course()], logs)
    state = open_state(settings)
    try:
        backfill(settings, store, state, [logs], workers=0)
    finally:
        state.close()
    # LRS POSTs: a backfilled old statement, a current one, and a voiding of the current one.
    url, auth = lrs_url.split("|")
    headers = {"Authorization": auth, "X-Experience-API-Version": "1.0.3"}
    old_statement = _lrs_statement(now - dt.timedelta(days=3 * DAYS))
    new_statement = _lrs_statement(now)
    voiding = {
        "actor": _agent(str(uuid.uuid4())),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": new_statement["id"]},
    }
    for body in ([old_statement, new_statement], [voiding]):
        answer = httpx.post(f"{url}/statements", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
    # Tables that know only when they were written, backdated through their writers' shapes.
    long_ago = now - dt.timedelta(days=3 * DAYS)
    store.insert(
        f"{db}.lrs_attachments",
        [["0" * 64, "text/plain", "old body", long_ago], ["1" * 64, "text/plain", "new", now]],
        column_names=["sha2", "content_type", "content", "stored_time"],
    )
    store.insert(
        f"{db}.lrs_activities",
        [["http://example.org/old", "a" * 32, "{}", long_ago]],
        column_names=["activity_id", "definition_hash", "definition", "stored_time"],
    )
    old_voiding = {
        "id": str(uuid.uuid4()),
        "actor": _agent(str(uuid.uuid4())),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": str(uuid.uuid4())},
        "timestamp": long_ago.isoformat(),
    }
    # Forum posts are rare in the demo (8% of sessions): one old post, for certain.
    old_post = {
        "id": str(uuid.uuid4()),
        "actor": _agent(str(uuid.uuid4())),
        "verb": {"id": "https://w3id.org/xapi/acrossx/verbs/posted"},
        "object": {
            "id": f"{HOME}/api/discussion/v1/threads/0a1b2c",
            "definition": {"type": "http://id.tincanapi.com/activitytype/discussion"},
        },
        "context": {"contextActivities": {"parent": [{"id": f"{HOME}/course/{COURSE}"}]}},
        "timestamp": long_ago.isoformat(),
    }
    insert_statements(
        store,
        db,
        [
            StatementRow(uuid.UUID(str(made["id"])), orjson.dumps(made).decode(), long_ago, "t")
            for made in (old_voiding, old_post)
        ],
    )
    ensure_pii_table(store, store_settings, True)
    store.insert(
        f"{db}.user_pii",
        [
            ["old", "1", "old_user", "old@example.com", "Old", long_ago],
            ["new", "2", "new_user", "new@example.com", "New", now],
        ],
        column_names=["actor_id", "user_id", "username", "email", "name", "updated_at"],
    )
    # Wait for the LRS's statements to reach the raw table (it may copy them in the background).
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not store.command(
        f"SELECT count() FROM {db}.voided_statements WHERE voided_id = {{i:UUID}}",
        parameters={"i": new_statement["id"]},
    ):
        time.sleep(0.1)

    refresh(store, db, margin=dt.timedelta(0))  # the operator_kpis cache of past days
    # Its change markers collapse per (day, org) when merged: count them merged before, too.
    store.command(f"OPTIMIZE TABLE {db}.activity_day_changes FINAL")
    declared = _declared()
    before = {table: _split(store, db, table, expr, now) for table, expr in declared.items()}
    for table, (old, new) in before.items():
        assert old > 0, (table, old, new)
        assert new > 0, (table, old, new)

    with_retention = store_settings.model_copy(
        update={"retention_days": DAYS, "pii_retention_days": DAYS}
    )
    assert set(materialize(store, with_retention)) == set(declared)
    for table in declared:
        store.command(f"OPTIMIZE TABLE {db}.{table} FINAL")

    for table, expr in declared.items():
        old, new = _split(store, db, table, expr, now)
        assert old == 0, (table, "expired rows remain")
        assert new == before[table][1], (table, "rows within the retention went too")
        assert f"toIntervalDay({DAYS})" in _engine(store, db, table)
    # The LRS stops serving the old statement, and still serves the current one's voiding.
    served = httpx.get(
        f"{url}/statements", params={"statementId": old_statement["id"]}, headers=headers
    )
    assert served.status_code == 404
    # Unsetting the retention removes every TTL again.
    apply_retention(store, store_settings)
    assert all("TTL" not in _engine(store, db, table) for table in declared)


def _ingest_rows(settings: Settings, count: int) -> None:
    state = open_state(settings)
    try:
        batch = BatchRecord()
        for number in range(count):
            batch.dead_letters.append(
                DeadLetter("f" * 64, "/logs/tracking.log", number, "bad", b'{"username": "x"', 15)
            )
            batch.forwards.append(QueuedStatement("remote", str(uuid.uuid4()), "{}"))
        state.record(batch)
    finally:
        state.close()


def _ingest_counts(settings: Settings) -> tuple[int, int]:
    state = open_state(settings)
    try:
        with state.engine.connect() as connection:
            dead = connection.execute(select(func.count()).select_from(dead_letters_table))
            queued = connection.execute(select(func.count()).select_from(queue_table))
            return int(dead.scalar_one()), int(queued.scalar_one())
    finally:
        state.close()


def test_ingest_dead_letters_and_queue_are_swept_by_age(
    tmp_path: Path, store_settings: StoreSettings
) -> None:
    settings = make_settings(
        tmp_path, store_settings.model_copy(update={"retention_days": 30, "pii_retention_days": 2})
    )
    assert sweep_ingest(settings).dead_letters == 0  # no ingest database yet: nothing created
    assert not (tmp_path / "ingest.sqlite3").exists()
    _ingest_rows(settings, 3)
    now = time.time()
    assert sweep_ingest(settings, now=now) == IngestSweep()  # nothing is old yet
    assert _ingest_counts(settings) == (3, 3)
    # Three days on: dead letters (usernames in clear) follow the shorter PII retention.
    swept = sweep_ingest(settings, now=now + 3 * 86_400)
    assert (swept.dead_letters, swept.queued_forwards) == (3, 0)
    swept = sweep_ingest(settings, now=now + 31 * 86_400)
    assert (swept.dead_letters, swept.queued_forwards) == (0, 3)
    assert _ingest_counts(settings) == (0, 0)
    assert ingest_cutoffs(StoreSettings(), now) == (None, None)


def test_aspects_serve_runs_the_sweep_periodically(
    tmp_path: Path, store_settings: StoreSettings
) -> None:
    settings = make_settings(tmp_path, store_settings.model_copy(update={"retention_days": 1}))
    privacy = settings.privacy.model_copy(update={"retention_sweep_seconds": 0.2})
    settings = settings.model_copy(update={"privacy": privacy})
    assert start_sweeper(make_settings(tmp_path, store_settings)) is None  # no retention set
    site = Site()
    start_retention(settings, site)
    try:
        assert [service.name for service in site.services] == ["retention sweep"]
        _ingest_rows(settings, 2)
        state = open_state(settings)
        try:
            with state.engine.begin() as connection:  # recorded two days ago
                aged = time.time() - 2 * 86_400
                connection.execute(update(dead_letters_table).values(created_at=aged))
                connection.execute(update(queue_table).values(enqueued_at=aged))
        finally:
            state.close()
        deadline = time.monotonic() + 10
        while _ingest_counts(settings) != (0, 0) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _ingest_counts(settings) == (0, 0)
    finally:
        site.stop()
    assert site.services == []
