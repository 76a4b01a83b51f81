"""Every column of the raw table's rows, comparable across databases (floats by repr)."""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.client import Client

from aspects.store.statements import DERIVED_COLUMNS


def raw_rows(client: Client, db: str) -> list[tuple[Any, ...]]:
    """The rows of ``db.xapi_statements`` (FINAL) by statement id: id, statement, stored time,
    source and every derived column."""
    names = ", ".join(name for name, _ in DERIVED_COLUMNS)
    rows = client.query(
        f"SELECT toString(statement_id), statement, stored_time, source, {names} "
        f"FROM {db}.xapi_statements FINAL ORDER BY statement_id"
    ).result_rows
    return [tuple(repr(v) if isinstance(v, float) else v for v in row) for row in rows]
