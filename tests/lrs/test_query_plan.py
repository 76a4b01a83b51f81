"""GET /statements pages read in several steps (``query.plan``, ``read.page``) give exactly the
rows of the single reference query (``query.build_sql``, what every page ran before): every
filter kind and pair of kinds, ascending, ``since``/``until``, paging with ``more`` while new
statements arrive, voided statements, StatementRefs, ``statements/read/mine``, and the chunked
reading of a first key whose candidates mostly fail the other keys."""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import replace
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

from aspects.lrs.statements import read
from aspects.lrs.statements.prepare import incoming
from aspects.lrs.statements.query import (
    REFERENCES_SQL,
    Filters,
    build_sql,
    next_page,
    parse_filters,
    plan,
    references,
)
from aspects.lrs.statements.writer import Batch, StatementWriter
from aspects.store.settings import StoreSettings
from aspects.xapi.agents import agent_keys
from tests.lrs import statements_helpers
from tests.lrs.statements_helpers import statement

module_store = statements_helpers.module_store
lrs_store = statements_helpers.lrs_store

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
AUTHORITIES = [{"objectType": "Agent", "mbox": f"mailto:authority{n}@example.org"} for n in (1, 2)]
LEARNERS = [{"objectType": "Agent", "mbox": f"mailto:learner{n}@example.org"} for n in range(4)]
VERBS = [f"http://example.org/verbs/v{n}" for n in range(3)]
ACTIVITIES = [f"http://example.org/activities/a{n}" for n in range(4)]
PARENTS = [f"http://example.org/courses/c{n}" for n in range(2)]
REGISTRATIONS = ["6f0b7c7e-35c5-4a8e-9d44-000000000001", "6f0b7c7e-35c5-4a8e-9d44-000000000002"]


def _random_statement(rng: random.Random) -> dict[str, Any]:
    context: dict[str, Any] = {
        "contextActivities": {"parent": [{"id": rng.choice(PARENTS)}]},
        "instructor": rng.choice(LEARNERS),
    }
    if rng.random() < 0.5:
        context["registration"] = rng.choice(REGISTRATIONS)
    target: dict[str, Any] = {"id": rng.choice(ACTIVITIES)}
    if rng.random() < 0.1:
        target = {**rng.choice(LEARNERS)}
    return statement(
        actor=rng.choice(LEARNERS),
        verb={"id": rng.choice(VERBS)},
        object=target,
        context=context,
    )


def _write(client: Client, database: str, batches: list[tuple[list[dict[str, Any]], int]]) -> None:
    async def run() -> None:
        writer = StatementWriter(client, database)
        writer.start()
        try:
            for items, authority in batches:
                await writer.write(
                    Batch([incoming(item) for item in items], AUTHORITIES[authority], "1.0.3")
                )
        finally:
            await writer.stop()

    asyncio.run(run())


def _reference(client: Client, database: str, filters: Filters) -> list[tuple[str, Any]]:
    """The rows of the single query every page ran before (ids and stored times)."""
    found = client.query(REFERENCES_SQL.format(database=database)).result_rows
    sql, parameters = build_sql(database, filters, references(found))
    rows = client.query(sql, parameters=parameters).result_rows
    return [(row[2], row[1]) for row in rows]


def _page(client: Client, database: str, filters: Filters) -> list[tuple[str, Any]]:
    return [(row[2], row[1]) for row in read.page(client, database, filters)]


def _filters(params: dict[str, str], authority: str | None = None) -> Filters:
    return replace(parse_filters(params, authority), bound="2100-01-01T00:00:00+00:00")


def _param_sets() -> list[dict[str, str]]:
    kinds: dict[str, list[dict[str, str]]] = {
        "agent": [{"agent": orjson.dumps(LEARNERS[0]).decode()}],
        "related_agent": [{"agent": orjson.dumps(LEARNERS[1]).decode(), "related_agents": "true"}],
        "verb": [{"verb": VERBS[1]}],
        "activity": [{"activity": ACTIVITIES[2]}],
        "related_activity": [{"activity": PARENTS[0], "related_activities": "true"}],
        "registration": [{"registration": REGISTRATIONS[0]}],
    }
    sets: list[dict[str, str]] = [{}]
    for size in (1, 2, 3):
        for combination in itertools.combinations(kinds, size):
            if "agent" in combination and "related_agent" in combination:
                continue
            if "activity" in combination and "related_activity" in combination:
                continue
            merged: dict[str, str] = {}
            for kind in combination:
                merged.update(kinds[kind][0])
            sets.append(merged)
    return sets


def test_every_filter_kind_and_pair_gives_the_reference_rows_and_pages(
    lrs_store: tuple[Client, StoreSettings],
) -> None:
    client, settings = lrs_store
    database = settings.database
    rng = random.Random(11)
    first = [_random_statement(rng) for _ in range(150)]
    _write(client, database, [(first[:100], 0), (first[100:], 1)])
    # StatementRefs and voiding: a voided statement, a voiding statement (kept, matching
    # through its target), a reference to a statement, a voiding of a voiding (void itself).
    voiding = statement(
        actor=LEARNERS[3],
        verb={"id": VOIDED},
        object={"objectType": "StatementRef", "id": first[3]["id"]},
    )
    pointer = statement(
        actor=LEARNERS[2],
        verb={"id": VERBS[0]},
        object={"objectType": "StatementRef", "id": first[5]["id"]},
    )
    void_of_voiding = statement(
        verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": voiding["id"]}
    )
    _write(client, database, [([voiding, pointer, void_of_voiding], 0)])
    later = [_random_statement(rng) for _ in range(40)]

    mine = agent_keys(AUTHORITIES[1], members=False)[0]
    checked = 0
    for position, params in enumerate(_param_sets()):
        for extra in ({}, {"limit": "7", "ascending": "true"}):
            authority = mine if position % 3 == 0 else None
            filters = _filters({**params, **extra}, authority)
            expected = _reference(client, database, filters)
            assert _page(client, database, filters) == expected, (params, extra, authority)
            checked += 1
    assert checked > 50

    # Paging while statements arrive, for a pair of keys and a single key, both orders: the
    # first page fixes the bound (as the route does), later arrivals stay out of every page.
    for params in (
        {"agent": orjson.dumps(LEARNERS[0]).decode(), "verb": VERBS[0], "limit": "3"},
        {"activity": PARENTS[1], "related_activities": "true", "limit": "5"},
        {
            "agent": orjson.dumps(LEARNERS[1]).decode(),
            "related_agents": "true",
            "limit": "4",
            "ascending": "true",
        },
    ):
        stored = client.query(f"SELECT max(stored_time) FROM {database}.lrs_statements")
        bound = stored.result_rows[0][0].isoformat() + "+00:00"
        filters = replace(parse_filters(params, None), bound=bound)
        whole = [row[0] for row in _page(client, database, replace(filters, limit=500))]
        seen: list[str] = []
        pages = 0
        while True:
            rows = _page(client, database, filters)
            assert rows == _reference(client, database, filters)
            if pages == 0:
                _write(client, database, [(later[:10], 0)])  # arrive between pages
                later = later[10:]
            seen += [statement_id for statement_id, _ in rows[: filters.limit]]
            pages += 1
            if len(rows) <= filters.limit:
                break
            last_id, last_stored = rows[filters.limit - 1]
            filters = next_page(filters, last_stored, last_id)
        assert pages > 1
        assert seen == whole, params

    # The voided statement is never in a page; the voiding statement matches through its target.
    everything = [row[0] for row in _page(client, database, _filters({"limit": "0"}))]
    assert first[3]["id"] not in everything
    assert voiding["id"] in everything
    by_target = _filters({"agent": orjson.dumps(first[5]["actor"]).decode(), "verb": VERBS[0]})
    if first[5]["verb"]["id"] == VERBS[0]:
        assert pointer["id"] in [row[0] for row in _page(client, database, by_target)]


def test_a_first_chunk_without_enough_matches_falls_back_to_the_single_query(
    lrs_store: tuple[Client, StoreSettings],
) -> None:
    """Agent + verb where the agent's newest 1,200 statements have another verb: the first
    chunk of candidates has no match, so the page comes from the single query; oldest first,
    the first chunk decides. Either way the rows equal the reference."""
    client, settings = lrs_store
    database = settings.database
    actor = LEARNERS[0]
    wanted = [statement(actor=actor, verb={"id": VERBS[0]}) for _ in range(8)]
    others = [statement(actor=actor, verb={"id": VERBS[1]}) for _ in range(1_200)]
    _write(client, database, [(wanted, 0), (others, 0)])
    for extra, decided in (
        ({"limit": "100"}, False),
        ({"limit": "3"}, False),
        ({"ascending": "true", "limit": "3"}, True),
    ):
        filters = _filters({"agent": orjson.dumps(actor).decode(), "verb": VERBS[0], **extra})
        steps = plan(database, filters, references([]))
        assert steps.direct is None
        assert steps.chunk < len(others)
        assert (read._own(client, steps, filters.limit + 1) is not None) == decided
        rows = _page(client, database, filters)
        assert rows == _reference(client, database, filters)
        newest_first = [s["id"] for s in reversed(wanted)]
        expected = newest_first[::-1] if extra.get("ascending") else newest_first
        assert [statement_id for statement_id, _ in rows] == expected[: filters.limit + 1]
