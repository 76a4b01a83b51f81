"""The rows the LRS stores from packed Native blocks (``aspects.lrs.statements.prepare.
pack_rows``, made by the receive workers and stamped by the commit) equal, column by column, the
rows clickhouse-connect stores from :func:`~aspects.lrs.statements.prepare.index_row`'s lists
(the path before session 7), for every ERB fixture statement, the shapes of
tests/lrs/test_statements_ready.py and seeded random variations; so do the key table's rows
the view derives from them. Only the JSON text's key order may differ (a worker writes
``stored`` and a defaulted ``timestamp`` last)."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.lrs.statements.prepare import (
    INDEX_COLUMNS,
    index_row,
    merge_blocks,
    stored_statement,
)
from aspects.lrs.statements.ready import Ready, Stamps, read_json_body
from aspects.lrs.statements.receive import statements_from
from aspects.lrs.statements.writer import StatementWriter
from aspects.store.settings import StoreSettings
from aspects.xapi.validation import StatementInvalid, validate_statement
from tests.lrs.native_block import decode
from tests.lrs.statements_helpers import statement
from tests.lrs.test_statements_ready import AUTHORITY, _variety

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "erb" / "xapi"
BASE = datetime(2026, 11, 28, 7, 0, 0, 999_950, tzinfo=UTC)  # stamps cross a second


def _fixtures() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(FIXTURES.glob("*.json")):
        value = json.loads(path.read_text())
        found += value if isinstance(value, list) else [value]
    return found


def _valid(statements: list[dict[str, Any]], version: str) -> list[dict[str, Any]]:
    """The statements this LRS accepts (a few ERB fixtures break a rule, e.g. score max)."""
    accepted = []
    for sent in statements:
        try:
            validate_statement(sent, version)
        except StatementInvalid:
            continue
        accepted.append(sent)
    return accepted


def _random(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Variations: with or without timestamp and a client's ``stored``, registrations,
    related activities and agents, long and non-ASCII texts (multi-byte LEB128 lengths)."""
    shapes = _variety()
    out = []
    for _ in range(count):
        sent = dict(rng.choice(shapes))
        sent["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if rng.random() < 0.5:
            sent["timestamp"] = f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T01:02:03.4Z"
        if rng.random() < 0.2:
            sent["stored"] = "2026-01-01T00:00:00.000Z"  # the LRS replaces it
        if rng.random() < 0.4:
            parents = [
                {"id": f"http://example.org/é/{rng.randint(0, 5)}"}
                for _ in range(rng.randint(0, 4))
            ]
            sent["context"] = {
                "registration": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "contextActivities": {"parent": parents},
                "instructor": {"mbox": f"mailto:t{rng.randint(0, 3)}@example.org"},
            }
        if rng.random() < 0.1:
            sent["result"] = {"response": "x" * rng.choice([100, 20_000, 200_000])}
        out.append(sent)
    return out


def _old_rows(sent: list[dict[str, Any]], version: str) -> list[list[Any]]:
    """The rows as the writer built them before session 7, in commit order from BASE."""
    items, _ = statements_from("application/json", orjson.dumps(sent), version)
    rows = []
    for position, item in enumerate(items):
        stored = BASE + timedelta(microseconds=position)
        full = stored_statement(item, stored, AUTHORITY, version)
        rows.append(index_row(item, full, stored, orjson.dumps(full).decode()))
    return rows


def _select(client: Client, database: str) -> list[list[Any]]:
    rows = client.query(
        f"SELECT {', '.join(INDEX_COLUMNS)} FROM {database}.lrs_statements ORDER BY statement_id"
    ).result_rows
    return [[str(row[0]), *row[1:]] for row in rows]


def _keys(client: Client, database: str) -> list[tuple[Any, ...]]:
    return list(
        client.query(
            f"SELECT * EXCEPT (statement_id), toString(statement_id) "
            f"FROM {database}.lrs_statement_keys ORDER BY ALL"
        ).result_rows
    )


def _compare(
    client: Client, packed_db: str, old_db: str, sent: list[dict[str, Any]], version: str
) -> None:
    old = _old_rows(sent, version)
    client.insert(f"{old_db}.lrs_statements", old, column_names=INDEX_COLUMNS)
    # The worker's path, in shares as a split body would be, stamped one after the other.
    stamps = Stamps(BASE)
    parts = []
    for start in range(0, len(sent), 7):
        outcome = read_json_body(
            orjson.dumps(sent[start : start + 7]), version, AUTHORITY, False, None
        )
        assert outcome[0] == "ok", outcome
        parts.append(Ready(*outcome[1]).stamped(stamps, start))
    StatementWriter(client, packed_db)._insert_index(parts)
    got, expected = _select(client, packed_db), _select(client, old_db)
    assert len(got) == len(expected) == len(sent)
    for new_row, old_row in zip(got, expected, strict=True):
        assert orjson.loads(new_row[2]) == orjson.loads(old_row[2])
        assert new_row[:2] == old_row[:2]
        assert new_row[3:] == old_row[3:]
    assert _keys(client, packed_db) == _keys(client, old_db)
    # The rows read in the process (and replayed ones), packed as they are: texts equal too.
    client.command(f"TRUNCATE TABLE {packed_db}.lrs_statements")
    client.command(f"TRUNCATE TABLE {packed_db}.lrs_statement_keys")
    StatementWriter(client, packed_db)._insert_index([Ready.of_rows(old, [True] * len(old))])
    assert _select(client, packed_db) == expected
    assert _keys(client, packed_db) == _keys(client, old_db)


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_packed_rows_equal_the_rows_of_the_old_path(
    store: Client, store_settings: StoreSettings, other_db: str, version: str
) -> None:
    sent = [{**s, "id": str(uuid.uuid4())} for s in [*_valid(_fixtures(), version), *_variety()]]
    sent += _random(random.Random(version), 300)
    assert len(sent) > 350
    assert len(_valid(_fixtures(), version)) > 50
    _compare(store, store_settings.database, other_db, sent, version)


def test_a_subset_of_a_packed_share_keeps_its_rows_and_placeholders() -> None:
    """Dropping statements (re-posted ones, erased learners) rebuilds the block: the kept
    statements' rows and texts, stamped later, equal those of the whole share."""
    sent = [statement(), statement(timestamp="2026-01-01T00:00:00Z"), *_random(random.Random(3), 9)]
    outcome = read_json_body(orjson.dumps(sent), "2.0.0", AUTHORITY, False, None)
    whole = Ready(*outcome[1])
    keep = [index % 3 != 1 for index in range(whole.count)]
    part = whole.subset(keep)
    assert part.ids == [i for i, k in zip(whole.ids, keep, strict=True) if k]
    assert part.given == [True] * part.count
    assert [d[1:] for d in part.definitions] == [d[1:] for d in whole.definitions if keep[d[0]]]
    _, all_rows = decode(whole.stamped(Stamps(BASE), 0).block)
    _, kept_rows = decode(part.stamped(Stamps(BASE), 0).block)
    expected_rows = [row for row, k in zip(all_rows, keep, strict=True) if k]
    assert len(kept_rows) == len(expected_rows) == sum(keep)

    def unstamped(text: str) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(text)
        stored = value.pop("stored")
        if value.get("timestamp") == stored:
            del value["timestamp"]
        return value

    for position, (got, expected) in enumerate(zip(kept_rows, expected_rows, strict=True)):
        assert got[0] == expected[0]
        assert got[1] == BASE + timedelta(microseconds=position)
        assert unstamped(got[2]) == unstamped(expected[2])
        assert got[3:] == expected[3:]
    assert whole.subset([True] * whole.count) is whole
    # a stamped share keeps its stored times and texts
    stamped = whole.stamped(Stamps(BASE), 5)
    _, rows = decode(stamped.subset(keep).block)
    _, every = decode(stamped.block)
    assert rows == [row for row, k in zip(every, keep, strict=True) if k]


def test_a_share_cannot_be_stamped_twice() -> None:
    outcome = read_json_body(orjson.dumps([statement()]), "2.0.0", AUTHORITY, False, None)
    stamped = Ready(*outcome[1]).stamped(Stamps(BASE), 0)
    with pytest.raises(ValueError):
        stamped.stamped(Stamps(BASE), 0)


def test_merged_blocks_read_as_the_rows_of_each_block_in_turn() -> None:
    """The flush merges the pending blocks into one (the Array columns' running counts carried
    on): the rows read back are those of each block, in order, empty arrays included."""
    rng = random.Random(7)
    parts = []
    for size in (1, 7, 3, 20):
        sent = _random(rng, size)
        outcome = read_json_body(orjson.dumps(sent), "2.0.0", AUTHORITY, False, None)
        parts.append(Ready(*outcome[1]).stamped(Stamps(BASE), 0))
    expected = [row for part in parts for row in decode(part.block)[1]]
    assert any(row[13] == [] for row in expected)
    assert any(len(row[10]) > 1 for row in expected)
    merged = merge_blocks([(p.block, list(p.columns), p.count) for p in parts])
    names, rows = decode(merged)
    assert names == INDEX_COLUMNS
    assert rows == expected
