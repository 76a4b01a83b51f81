"""Migration 0015's key-table view gives exactly the rows 0014's view gave.

0015 only moves the statement's timestamp out of the ARRAY JOIN (read once per statement, not once
per key); here the statements go through the LRS writer into ``lrs_statements`` (the view fills
``lrs_statement_keys``) and the stored keys are compared with 0014's SELECT run over the same
statements: agents, groups, context and related activities, registrations, StatementRefs,
voiding, timestamps earlier and later than ``stored``, and none.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from clickhouse_connect.driver.client import Client

from aspects.lrs.statements.prepare import incoming
from aspects.lrs.statements.writer import Batch, StatementWriter
from aspects.store.migrate import migrations
from aspects.store.settings import StoreSettings
from aspects.xapi.validation import VOIDED
from tests.lrs.statements_helpers import statement

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.example.org", "name": "k"}}


def _statements() -> list[dict[str, Any]]:
    target = statement(timestamp="2020-01-02T03:04:05.678Z")
    group = {
        "objectType": "Group",
        "name": "G",
        "member": [{"mbox": "mailto:a@example.org"}, {"account": {"homePage": "h:", "name": "b"}}],
    }
    return [
        target,
        statement(timestamp="2999-01-01T00:00:00Z"),  # later than stored: retained from stored
        statement(
            actor=group,
            object={"objectType": "Agent", "mbox": "mailto:c@example.org"},
            context={
                "registration": str(uuid.uuid4()),
                "instructor": {"mbox": "mailto:i@example.org"},
                "contextActivities": {
                    "parent": {"id": "http://example.org/course"},
                    "grouping": [{"id": "http://example.org/program"}],
                },
            },
        ),
        statement(object={"objectType": "StatementRef", "id": target["id"]}),
        statement(
            verb={"id": VOIDED, "display": {"en-US": "voided"}},
            object={"objectType": "StatementRef", "id": target["id"]},
        ),
        statement(
            object={
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:sub@example.org"},
                "verb": {"id": "http://example.org/verbs/planned"},
                "object": {"id": "http://example.org/activities/sub"},
            },
            timestamp="2021-06-01T12:00:00+02:00",
        ),
    ]


def _view_select_of(version: int, database: str) -> str:
    """The SELECT of the key-table view as a migration defines it."""
    sql = next(m.sql for m in migrations() if m.version == version)
    body = sql[sql.index("CREATE MATERIALIZED VIEW") :]
    select = body[re.search(r"\bAS\s*\n", body).end() :]  # type: ignore[union-attr]
    return select.split(";")[0].replace("${db}", database)


def test_view_rows_equal_those_of_0014(store: Client, store_settings: StoreSettings) -> None:
    database = store_settings.database

    async def write() -> None:
        writer = StatementWriter(store, database)
        items = [incoming(s) for s in _statements()]
        await writer.write(Batch(items, AUTHORITY, "2.0.0"))
        await writer.stop()

    view = store.command(
        "SELECT as_select FROM system.tables WHERE database = {db:String} "
        "AND name = 'lrs_statement_keys_mv'",
        parameters={"db": database},
    )
    assert "AS keys" in str(view)  # 0015's view, not 0014's
    asyncio.run(write())
    columns = "key, stored_time, statement_id, retained_from"
    stored = store.query(
        f"SELECT {columns} FROM {database}.lrs_statement_keys ORDER BY {columns}"
    ).result_rows
    expected = store.query(
        f"SELECT {columns} FROM ({_view_select_of(14, database)}) ORDER BY {columns}"
    ).result_rows
    assert len(stored) > 6 * 4  # every statement has several keys
    assert stored == expected
    kinds = {row[0].split(" ", 1)[0] for row in stored}
    assert kinds == {"v", "w", "r", "R", "V", "a", "A", "o", "O"}
    retained = {row[3] for row in stored}
    assert min(retained).year == 2020  # the timestamp, when earlier than stored
    assert len(retained) == 6  # one per statement (later timestamps: stored)
