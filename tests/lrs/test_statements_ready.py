"""Bodies read by a receive worker (``aspects.lrs.statements.ready``) give the same answers and
the same rows as the in-process path; only the key order of the stored JSON text may differ."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import signal
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from aspects.lrs.statements.prepare import (
    INDEX_COLUMNS,
    activity_definitions,
    format_time,
    index_row,
    stored_statement,
)
from aspects.lrs.statements.ready import (
    SPLIT_STATEMENTS,
    Ready,
    ReceivePool,
    Stamps,
    read_json_body,
    read_json_share,
    share_bounds,
)
from aspects.lrs.statements.receive import statements_from
from aspects.xapi.fast import native_prepare
from aspects.xapi.validation import StatementInvalid
from tests.lrs.native_block import decode
from tests.lrs.statements_helpers import statement

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.example.org", "name": "k"}}
STORED = datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=UTC)
ACTIVITY = {"id": "http://example.org/activities/b", "objectType": "Activity"}


def _variety() -> list[dict[str, Any]]:
    """Statements exercising every column of the row and every default the LRS fills in."""
    no_id = statement()
    del no_id["id"]
    group = {
        "objectType": "Group",
        "name": "team",
        "member": [
            {"mbox": "mailto:a@example.org"},
            {"account": {"homePage": "http://example.org/", "name": "b"}},
        ],
    }
    return [
        statement(),
        no_id,
        statement(timestamp="2026-11-01T00:00:00.000Z", version="1.0.0"),
        statement(authority={"objectType": "Agent", "mbox": "mailto:someone@example.org"}),
        statement(
            context={
                "registration": str(uuid.uuid4()).upper(),
                "instructor": {"mbox": "mailto:teacher@example.org"},
                "team": group,
                "contextActivities": {"parent": ACTIVITY, "grouping": [ACTIVITY]},
            }
        ),
        statement(actor=group),
        statement(
            object={
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:sub@example.org"},
                "verb": {"id": "http://example.org/verbs/did"},
                "object": {
                    "id": "http://example.org/activities/c",
                    "definition": {"name": {"en": "C"}, "type": "http://example.org/t"},
                },
                "context": {"contextActivities": {"other": ACTIVITY}},
            }
        ),
        statement(
            verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
            object={"objectType": "StatementRef", "id": str(uuid.uuid4()).upper()},
        ),
        statement(object={"objectType": "Agent", "mbox": "mailto:other@example.org"}),
        statement(
            attachments=[
                {
                    "usageType": "http://example.org/usage",
                    "display": {"en": "file"},
                    "contentType": "text/plain",
                    "length": 3,
                    "sha2": hashlib.sha256(b"abc").hexdigest(),
                    "fileUrl": "http://example.org/file.txt",
                }
            ]
        ),
    ]


def _in_process(body: bytes, version: str) -> list[tuple[str, list[Any], list[Any]]]:
    """(text, row, definitions) of each statement as the writer builds them in the process,
    the n-th stored at STORED + n microseconds."""
    items, _ = statements_from("application/json", body, version)
    built = []
    for index, item in enumerate(items):
        at = STORED + timedelta(microseconds=index)
        stored = stored_statement(item, at, AUTHORITY, version)
        text = orjson.dumps(stored).decode()
        definitions = []
        for activity_id, definition in activity_definitions(stored):
            dumped = orjson.dumps(definition, option=orjson.OPT_SORT_KEYS)
            digest = hashlib.blake2b(dumped, digest_size=16).hexdigest()
            definitions.append((index, activity_id, digest, dumped.decode()))
        built.append((text, index_row(item, stored, at, text), definitions))
    return built


def _by_worker(body: bytes, version: str) -> Ready:
    outcome = read_json_body(body, version, AUTHORITY, False, None)
    assert outcome[0] == "ok", outcome
    return Ready(*outcome[1])


def stamped_rows(parts: list[Ready], base: datetime = STORED) -> list[list[Any]]:
    """The rows of ``parts`` stamped one after the other from ``base`` (as a commit does),
    read back from their Native blocks; their journal lines checked against the texts."""
    stamps = Stamps(base)
    rows: list[list[Any]] = []
    for part in parts:
        stamped = part.stamped(stamps, len(rows))
        names, decoded = decode(stamped.block)
        assert names == INDEX_COLUMNS
        assert [row[0] for row in decoded] == stamped.ids
        assert [row[3] for row in decoded] == stamped.hashes
        assert [text.decode() for text in stamped.texts()] == [row[2] for row in decoded]
        lines = stamped.journal().splitlines()
        assert [orjson.loads(line) for line in lines] == [
            ["S", row[3], orjson.loads(row[2])] for row in decoded
        ]
        rows += decoded
    return rows


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_worker_rows_equal_in_process_rows(version: str) -> None:
    sent = _variety()
    body = orjson.dumps(sent)
    expected = _in_process(body, version)
    ready = _by_worker(body, version)
    got = stamped_rows([ready])
    assert len(got) == len(expected) == len(sent) == ready.count
    assert ready.given == ["id" in original for original in sent]
    assert ready.definitions == [d for _, _, found in expected for d in found]
    for original, ready_row, (text, row, _) in zip(sent, got, expected, strict=True):
        if "id" in original:  # the LRS's own ids are random: equal only when the client gave one
            assert orjson.loads(ready_row[2]) == orjson.loads(text)
            assert ready_row[0] == row[0]
            assert ready_row[3] == row[3]  # content hash
        else:
            assert {**orjson.loads(ready_row[2]), "id": ""} == {**orjson.loads(text), "id": ""}
        assert ready_row[1] == row[1]
        assert ready_row[4:] == row[4:]


def test_missing_timestamp_is_the_stored_time_and_a_given_one_is_kept() -> None:
    given = statement(timestamp="2026-11-01T00:00:00.000Z")
    absent = statement()
    first, second = stamped_rows([_by_worker(orjson.dumps([given, absent]), "2.0.0")])
    first_text = first[2]
    second_text = second[2]
    assert orjson.loads(first_text)["timestamp"] == "2026-11-01T00:00:00.000Z"
    assert orjson.loads(first_text)["stored"] == "2026-11-28T01:02:03.456789Z"
    assert orjson.loads(second_text)["timestamp"] == "2026-11-28T01:02:03.456790Z"
    assert orjson.loads(second_text)["stored"] == "2026-11-28T01:02:03.456790Z"
    assert orjson.loads(second_text)["version"] == "2.0.0"
    assert orjson.loads(second_text)["authority"] == AUTHORITY


INVALID = [
    b"not json",
    b"42",
    orjson.dumps([statement(), {"actor": {"mbox": "nope"}}]),
    orjson.dumps([statement(verb={"id": "not an iri"})]),
    orjson.dumps([{**statement(), "unknown": 1}]),
]


@pytest.mark.parametrize("body", INVALID)
def test_invalid_bodies_get_the_in_process_error(body: bytes) -> None:
    with pytest.raises(StatementInvalid) as expected:
        statements_from("application/json", body, "1.0.3")
    outcome = read_json_body(body, "1.0.3", AUTHORITY, False, None)
    assert outcome == ("invalid", expected.value.path, expected.value.rule)


def test_a_batch_with_one_id_twice_is_refused() -> None:
    twice = statement()
    outcome = read_json_body(orjson.dumps([twice, twice]), "1.0.3", AUTHORITY, False, None)
    assert outcome == ("invalid", "statements[1].id", "the same id appears twice in the batch")


def test_put_takes_the_parameter_id_and_refuses_a_different_one() -> None:
    sent = statement()
    del sent["id"]
    wanted = str(uuid.uuid4()).upper()
    outcome = read_json_body(orjson.dumps(sent), "1.0.3", AUTHORITY, True, wanted)
    assert outcome[0] == "ok"
    ready = Ready(*outcome[1])
    assert ready.ids == [wanted.lower()]
    assert orjson.loads(stamped_rows([ready])[0][2])["id"] == wanted.lower()
    other = read_json_body(orjson.dumps(statement()), "1.0.3", AUTHORITY, True, wanted)
    assert other == (
        "invalid",
        "statementId",
        "differs from the id of the statement in the body",
    )
    array = read_json_body(orjson.dumps([statement()]), "1.0.3", AUTHORITY, True, wanted)
    assert array == ("invalid", "body", "must be a single statement object")


def _large(count: int) -> list[dict[str, Any]]:
    return [statement(context={"registration": str(uuid.uuid4())}) for _ in range(count)]


def test_a_pool_splits_a_large_body_between_idle_workers_with_the_same_outcome() -> None:
    """A real pool of two spawned workers; a lone request's array is read in two shares."""
    sent = _large(120)
    duplicate = [*_large(70), *_large(70)]
    duplicate[100] = {**duplicate[100], "id": duplicate[3]["id"]}  # across the two shares
    bad_late = [*_large(90), statement(verb={"id": "not an iri"}), *_large(20)]
    bad_early = [statement(actor={"mbox": "nope"}), *_large(90)]

    split: list[bool] = []

    class Recording(ReceivePool):
        async def _read_split(self, *args: Any) -> list[Ready] | None:
            ready = await super()._read_split(*args)
            split.append(ready is not None)
            return ready

    async def scenario() -> list[Any]:
        pool = Recording(2, split=True)
        outcomes: list[Any] = []
        try:
            for body in (sent, duplicate, bad_late, bad_early, b"[not json"):
                data = body if isinstance(body, bytes) else orjson.dumps(body)
                try:
                    outcomes.append(await pool.read(data, "1.0.3", AUTHORITY, False, None))
                except StatementInvalid as error:
                    outcomes.append((error.path, error.rule))
            # Another request in flight: the workers are not idle, the body is read whole.
            with pool.opened(), pool.opened():
                whole = await pool.read(orjson.dumps(sent), "1.0.3", AUTHORITY, False, None)
            assert [i for r in whole for i in r.ids] == [s["id"] for s in sent]
        finally:
            pool.close()
        return outcomes

    ready, *errors = asyncio.run(scenario())
    assert len(ready) == 2  # two shares
    assert sum(part.count for part in ready) > 2 * SPLIT_STATEMENTS
    whole = _by_worker(orjson.dumps(sent), "1.0.3")
    assert [i for r in ready for i in r.ids] == [s["id"] for s in sent]
    assert stamped_rows(ready) == stamped_rows([whole])
    for body, error in zip((duplicate, bad_late, bad_early, b"[not json"), errors, strict=True):
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        with pytest.raises(StatementInvalid) as expected:
            statements_from("application/json", data, "1.0.3")
        assert error == (expected.value.path, expected.value.rule)
    assert errors[0] == ("statements[100].id", "the same id appears twice in the batch")
    # The valid body was read in shares (the cross-share duplicate raised from there); the
    # invalid ones fell back to one worker; the short one and the one beside another request
    # were never split.
    assert split == [True, False, False]


def test_a_pool_splits_only_without_the_native_receive_path() -> None:
    """With the native path a lone request's body goes whole to one worker (splitting it cost
    more than it saved); without it, it is split as before."""
    seen: list[int] = []

    class Recording(ReceivePool):
        async def _read_whole(self, *args: Any) -> list[Ready]:
            seen.append(len(args[0]))
            return await super()._read_whole(*args)

    async def scenario() -> list[Ready]:
        pool = Recording(2)
        try:
            return await pool.read(orjson.dumps(_large(120)), "1.0.3", AUTHORITY, False, None)
        finally:
            pool.close()

    ready = asyncio.run(scenario())
    assert sum(part.count for part in ready) == 120
    assert len(ready) == (1 if native_prepare() is not None else 2)
    assert len(seen) == (1 if native_prepare() is not None else 0)


def test_a_dead_worker_is_replaced_and_the_request_read_again() -> None:
    """A worker killed (as the kernel's out-of-memory killer would) breaks its pool; the next
    request is read by new workers instead of failing."""

    async def scenario() -> tuple[list[Ready], list[Ready]]:
        pool = ReceivePool(1)
        try:
            await pool.started()
            first = await pool.read(orjson.dumps([statement()]), "1.0.3", AUTHORITY, False, None)
            for process in pool.processes():
                os.kill(process.pid, signal.SIGKILL)
                process.join()
            sent = orjson.dumps([statement(), statement()])
            second = await pool.read(sent, "1.0.3", AUTHORITY, False, None)
        finally:
            pool.close()
        return first, second

    first, second = asyncio.run(scenario())
    assert sum(part.count for part in first) == 1
    assert sum(part.count for part in second) == 2


@pytest.mark.parametrize(
    "base",
    [
        STORED,
        datetime(2026, 12, 31, 23, 59, 59, 999_990, tzinfo=UTC),  # crosses a second and a year
        datetime(2026, 11, 28, 0, 0, 0, 0, tzinfo=UTC),
    ],
)
def test_stamps_equal_formatting_each_time(base: datetime) -> None:
    stamps = Stamps(base)
    for position in range(30):
        assert stamps.at(position) == format_time(base + timedelta(microseconds=position))


def test_shares_cover_the_array_once_in_order() -> None:
    for count in (2 * SPLIT_STATEMENTS, 41, 99, 100, 1000):
        for shares in (1, 2, 3, 8):
            bounds = [share_bounds(count, share, shares) for share in range(shares)]
            assert bounds[0][0] == 0
            assert bounds[-1][1] == count
            assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
            sizes = [end - start for start, end in bounds if end > start]
            assert all(size >= SPLIT_STATEMENTS for size in sizes)
    # a body that is not a large array is not shared; a share past the end is empty
    assert read_json_share(b"[1", 0, 2, "1.0.3", AUTHORITY) == ("unsplit",)
    assert read_json_share(orjson.dumps(_large(10)), 0, 2, "1.0.3", AUTHORITY) == ("unsplit",)
    assert read_json_share(orjson.dumps(_large(45)), 2, 3, "1.0.3", AUTHORITY) == ("ok", None)
