"""Reading statements back from ``lrs_statements`` (blocking; routes call it in a thread)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

from aspects.lrs.statements.query import REFERENCES_SQL, Filters, Plan, plan, references


@dataclass(frozen=True, slots=True)
class Found:
    statement: dict[str, Any]
    stored: datetime
    voided: bool


def one(client: Client, database: str, statement_id: str, authority: str | None) -> Found | None:
    """The statement with this id (voided or not), None when absent (or not the caller's)."""
    table = f"{database}.lrs_statements"
    parameters: dict[str, Any] = {"id": statement_id}
    mine = ""
    if authority is not None:
        parameters["authority"] = authority
        mine = " AND authority = {authority:String}"
    result = client.query(
        f"SELECT statement, stored_time, voiding_target FROM {table} "
        f"WHERE statement_id = toUUID({{id:String}}){mine} LIMIT 1",
        parameters=parameters,
    )
    if not result.result_rows:
        return None
    text, stored, voiding_target = result.result_rows[0]
    voided = False
    if not voiding_target:  # a voiding statement itself cannot be voided
        count = client.query(
            f"SELECT count() FROM {database}.lrs_statement_keys "
            "WHERE key = concat('V ', {id:String})",
            parameters={"id": statement_id},
        ).result_rows[0][0]
        voided = count > 0
    return Found(orjson.loads(text), stored, voided)


def page(
    client: Client, database: str, filters: Filters
) -> list[tuple[dict[str, Any], datetime, str]]:
    """Up to ``filters.limit + 1`` (statement, stored, id) in the requested order."""
    found = client.query(REFERENCES_SQL.format(database=database)).result_rows
    steps = plan(database, filters, references(found))
    if steps.direct is not None:
        rows = client.query(
            steps.direct, parameters=steps.parameters, settings=steps.settings
        ).result_rows
    elif (pairs := _own(client, steps, filters.limit + 1)) is None:
        # the first chunk of candidates did not decide: the single query
        assert steps.fallback is not None
        sql, parameters = steps.fallback
        rows = client.query(sql, parameters=parameters).result_rows
    else:
        if steps.referencing is not None:
            pairs += client.query(steps.referencing, parameters=steps.parameters).result_rows
        if not pairs:
            return []
        rows = client.query(
            steps.fetch,
            parameters={**steps.parameters, "pairs": [tuple(pair) for pair in pairs]},
            settings=steps.settings,
        ).result_rows
    return [(orjson.loads(text), stored, statement_id) for text, stored, statement_id in rows]


def _own(client: Client, steps: Plan, wanted: int) -> list[Any] | None:
    """(stored_time, statement_id) of up to ``wanted`` statements having every key of the query
    themselves, in the requested order, from the first key's first chunk of candidates (those
    whose row has the other keys); None when that chunk is not enough to tell."""
    assert steps.own is not None
    assert steps.checks is not None
    candidates = client.query(steps.own, parameters=steps.parameters).result_rows
    if not candidates:
        return []
    kept = client.query(
        steps.checks,
        parameters={**steps.parameters, "pairs": [tuple(pair) for pair in candidates]},
        settings=steps.settings,
    ).result_rows
    if len(kept) >= wanted or len(candidates) < steps.chunk:
        return list(kept)
    return None


def attachments(client: Client, database: str, hashes: list[str]) -> list[tuple[str, str, bytes]]:
    """(sha2, content type, content) of the stored attachment bodies among ``hashes``."""
    if not hashes:
        return []
    result = client.query(
        f"SELECT sha2, content_type, content FROM {database}.lrs_attachments FINAL "
        "WHERE sha2 IN {hashes:Array(String)}",
        parameters={"hashes": hashes},
        column_formats={"content": "bytes"},
    )
    return [(row[0], row[1], bytes(row[2])) for row in result.result_rows]
