"""The receive worker's native statement path (``receive.prepare_share``, native/src/prepare.rs)
against the Python path it replaces (``statements_from`` + ``ready._ready``), byte for byte:
ids, content hashes, "id given" flags, the packed Native block, its column offsets and
placeholder spans, and the activity definitions with their hashes, for the ERB fixtures, the
transformer's statements, the benchmark's statements, seeded variations (both xAPI versions,
long and non-ASCII texts, floats, duplicate keys, with and without id and timestamp,
StatementRef/voiding) and random mutations; a body the native code does not handle answers
None (the Python path then decides), never something different. The packed rows are also
stored through the writer and read back equal to the Python path's rows.

New ids come from ``os.urandom`` in both paths (uuid.uuid4 reads it); the tests replace it with
a seeded stream so that both paths draw the same ids."""

from __future__ import annotations

import copy
import os
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from benchmarks.lrs_common import make_statement
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from aspects.lrs.statements.prepare import INDEX_COLUMNS
from aspects.lrs.statements.ready import SPLIT_BYTES, Ready, Stamps, _ready, share_bounds
from aspects.lrs.statements.receive import prepare_share, read_statements, statements_from
from aspects.lrs.statements.writer import StatementWriter
from aspects.store.settings import StoreSettings
from aspects.xapi.fast import native_prepare
from aspects.xapi.validation import StatementInvalid
from tests.erb import fixture_statements, transformer_statements
from tests.lrs.statements_helpers import V1, credential, make_app
from tests.lrs.test_statements_packed import _random
from tests.lrs.test_statements_ready import AUTHORITY, _variety

pytestmark = pytest.mark.skipif(
    native_prepare() is None and os.environ.get("ASPECTS_EXPECT_COMPILED") != "1",
    reason="the native module is not built",
)
VERSIONS = ["1.0.3", "2.0.0"]
GROUP_AUTHORITY = {
    "objectType": "Group",
    "member": [
        {"account": {"homePage": "https://lrs.example.org", "name": "app"}},
        {"mbox": "mailto:Someone@Example.org"},
    ],
}


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """``reseed(n)``: os.urandom from here on draws from a stream seeded with ``n``."""

    def reseed(seed: int) -> None:
        rng = random.Random(seed)
        monkeypatch.setattr(os, "urandom", lambda count: rng.randbytes(count))

    return reseed


def _python(
    body: bytes, version: str, authority: dict[str, Any], bounds: tuple[int, int] | None = None
) -> tuple[Any, ...]:
    """What the worker's Python path returns for the body (or the slice ``bounds``)."""
    if bounds is None:
        items, _ = statements_from("application/json", body, version)
    else:
        start, end = bounds
        raw = orjson.loads(body)[start:end]
        items = read_statements(raw, version, offset=start)
    return _ready(items, authority, version)


def _plain(fields: tuple[Any, ...]) -> tuple[Any, ...]:
    ids, hashes, given, block, columns, spans, definitions = fields
    return (ids, hashes, given, block, list(columns), list(spans), definitions)


def _check(
    reseed: Callable[[int], None],
    body: bytes,
    version: str,
    authority: dict[str, Any] = AUTHORITY,
) -> bool:
    """The native answer equals the Python path's (True), or is None (False: not handled)."""
    reseed(7)
    native = prepare_share(body, version, authority)
    if native is None:
        return False
    reseed(7)
    expected = _python(body, version, authority)
    assert native[0] == "ok"
    assert _plain(native[1]) == _plain(expected)
    return True


def _valid(statements: list[dict[str, Any]], version: str) -> list[dict[str, Any]]:
    accepted = []
    for sent in statements:
        try:
            statements_from("application/json", orjson.dumps(sent), version)
        except StatementInvalid:
            continue
        accepted.append(sent)
    return accepted


def _corpus(version: str) -> list[dict[str, Any]]:
    now = "2026-11-28T10:00:00.123456+00:00"
    found = _valid([*fixture_statements(), *transformer_statements(), *_variety()], version)
    found += [make_statement(index, now) for index in range(50)]
    found += _random(random.Random(version), 120)
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_each_statement_alone_equals_the_python_path(
    seeded: Callable[[int], None], version: str
) -> None:
    corpus = _corpus(version)
    handled = sum(_check(seeded, orjson.dumps(sent), version) for sent in corpus)
    # Everything sure valid is handled: most of the corpus (Groups, SubStatements,
    # attachments, contextAgents, a client's authority are the Python path's).
    assert handled >= 0.7 * len(corpus), (handled, len(corpus))


@pytest.mark.parametrize("version", VERSIONS)
def test_whole_arrays_equal_the_python_path(seeded: Callable[[int], None], version: str) -> None:
    corpus = [s for s in _corpus(version) if _check(seeded, orjson.dumps(s), version)]
    rng = random.Random(f"arrays {version}")
    for size in (1, 2, 20, 100, len(corpus)):
        chosen = [dict(s) for s in rng.sample(corpus, min(size, len(corpus)))]
        for position, sent in enumerate(chosen):
            # ids unique in the array (the corpus repeats some), a third of them absent
            sent["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            if position % 3 == 0:
                del sent["id"]
        assert _check(seeded, orjson.dumps(chosen), version)
        assert _check(seeded, orjson.dumps(chosen), version, GROUP_AUTHORITY)
    # the single statement object (a POST of one) as well
    assert _check(seeded, orjson.dumps(corpus[0]), version)


def test_shares_equal_the_python_slices(seeded: Callable[[int], None]) -> None:
    version = "2.0.0"
    now = "2026-11-28T10:00:00Z"
    sent = [make_statement(index, now) for index in range(97)]
    for index in range(0, 97, 5):
        del sent[index]["id"]
    body = orjson.dumps(sent)
    for shares in (2, 3, 4):
        for share in range(shares):
            seeded(share)
            native = prepare_share(body, version, AUTHORITY, share, shares, 20)
            start, end = share_bounds(len(sent), share, shares)
            if start >= end:
                assert native == ("ok", None)
                continue
            seeded(share)
            expected = _python(body, version, AUTHORITY, (start, end))
            assert native is not None
            assert native[0] == "ok"
            assert _plain(native[1]) == _plain(expected)
    assert prepare_share(orjson.dumps(sent[:39]), version, AUTHORITY, 0, 2, 20) == ("unsplit",)
    # not an array: the Python path decides (it answers "unsplit")
    assert prepare_share(orjson.dumps(sent[0]), version, AUTHORITY, 0, 2, 20) is None
    assert prepare_share(orjson.dumps(sent[:40]), version, AUTHORITY, 1, 2, 20) is not None


def test_shares_of_tricky_texts(seeded: Callable[[int], None]) -> None:
    """A share's elements are delimited without parsing the others: strings holding brackets,
    commas, escaped quotes and backslashes, whitespace between elements; a body that is not
    valid JSON has at least one share that is not handled (the pool then reads it whole)."""
    tricky = ['a"],[{', "\\", '\\"', "}]}]", "x,y", "ä\u2028"]
    sent = []
    for index in range(60):
        one = make_statement(index, "2026-11-28T10:00:00Z")
        one["result"]["response"] = tricky[index % len(tricky)] * (index % 4)
        sent.append(one)
    body = b" [ " + b" ,\n ".join(orjson.dumps(one) for one in sent) + b" ]\n"
    for shares in (2, 3):
        for share in range(shares):
            seeded(share)
            native = prepare_share(body, "2.0.0", AUTHORITY, share, shares, 20)
            seeded(share)
            expected = _python(body, "2.0.0", AUTHORITY, share_bounds(len(sent), share, shares))
            assert native is not None
            assert _plain(native[1]) == _plain(expected)
    broken = [body.replace(b"}]", b"}", 1), body[:-3], body + b"x", body.replace(b",", b"", 1)]
    for bad in broken:
        answers = [prepare_share(bad, "2.0.0", AUTHORITY, share, 2, 20) for share in range(2)]
        assert None in answers or all(a == ("unsplit",) for a in answers), answers


def test_text_shapes_equal_the_python_path(seeded: Callable[[int], None]) -> None:
    """Raw JSON the Python side would never write: duplicate keys (the last value at the first
    key's place), escapes, non-ASCII, floats and large integers, upper-case ids, ``stored``."""
    base = make_statement(3, "2026-11-28T10:00:00Z")
    ident = str(uuid.UUID(int=12345)).upper()
    registration = str(uuid.UUID(int=999)).upper()
    texts = [
        '{"actor":{"mbox":"mailto:a@example.org"},"verb":{"id":"http://x.org/v"},'
        '"object":{"id":"http://x.org/a"},"verb":{"id":"http://x.org/w","display":{"en":"é"}}}',
        '{"id":"IDENT","actor":{"mbox_sha1sum":"ABCDEF0123456789ABCDEF0123456789ABCDEF01"},'
        '"verb":{"id":"http://x.org/v"},"object":{"id":"http://x.org/a","definition":'
        '{"name":{"zh":"\\u4e2d\\u6587 \\ud83d\\ude00","en":"a\\"b\\\\c\\n\\t\\u0001\\u007f/"},'
        '"extensions":{"http://x.org/e":[1.5,1e300,-0.0,12345678901234567890,'
        '-9223372036854775808,0.1,1E-7,3.0e2,{"b":1,"a":2,"b":3}]}}},'
        '"context":{"registration":"REG","contextActivities":{"parent":{"id":"http://x.org/p"},'
        '"grouping":[{"id":"http://x.org/g","definition":{}}]}},'
        '"stored":"2026-01-01T00:00:00Z","result":{"score":{"raw":1e2,"max":2.5e2}}}'.replace(
            "IDENT", ident
        ).replace("REG", registration),
        orjson.dumps(
            {
                **base,
                "id": str(uuid.UUID(int=1)),
                "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                "object": {"objectType": "StatementRef", "id": ident},
            }
        ).decode(),
        orjson.dumps(
            {
                **base,
                "id": str(uuid.UUID(int=2)),
                "object": {"objectType": "Agent", "openid": "http://x.org/o"},
                "context": {
                    "instructor": {"name": "ñ", "mbox": "mailto:i@x.org"},
                    "statement": {"objectType": "StatementRef", "id": ident},
                },
            }
        ).decode(),
        orjson.dumps(
            {**base, "id": str(uuid.UUID(int=3)), "result": {"response": "ü" * 250_000}}
        ).decode(),
        orjson.dumps({**base, "version": "1.0.0"}).decode(),
    ]
    for version in VERSIONS:
        handled = [_check(seeded, text.encode(), version) for text in texts]
        assert handled[:5] == [True] * 5, handled
        assert _check(seeded, ("[" + ",".join(texts[:-1]) + "]").encode(), version)


def _mutations(rng: random.Random, statement: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Random damage and oddities: members dropped, values of other types, new members."""
    values: list[Any] = [
        None,
        0,
        1.5,
        "",
        "x",
        "ÄÖ",
        [],
        {},
        [1],
        {"a": None},
        True,
        "http://example.org/é",
        "mailto:x@y",
        str(uuid.UUID(int=5)),
    ]

    def paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        yield at
        if isinstance(value, dict):
            for key, item in value.items():
                yield from paths(item, (*at, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from paths(item, (*at, index))

    every = [p for p in paths(statement) if p]
    for _ in range(12):
        mutated = copy.deepcopy(statement)
        path = rng.choice(every)
        parent = mutated
        for step in path[:-1]:
            parent = parent[step]
        choice = rng.random()
        if choice < 0.3 and isinstance(parent, dict):
            del parent[path[-1]]
        elif choice < 0.8:
            parent[path[-1]] = rng.choice(values)
        elif isinstance(parent, dict):
            parent[rng.choice(["objectType", "id", "extra", "team", "authority", "member"])] = (
                rng.choice(values)
            )
        yield mutated


@pytest.mark.parametrize("version", VERSIONS)
def test_random_mutations_are_equal_or_not_handled(
    seeded: Callable[[int], None], version: str
) -> None:
    rng = random.Random(f"mutations {version}")
    corpus = _corpus(version)
    handled = invalid = 0
    for statement in rng.sample(corpus, 60):
        for mutated in _mutations(rng, statement):
            body = orjson.dumps(mutated)
            try:
                _python(body, version, AUTHORITY)
            except StatementInvalid:
                invalid += 1
                assert prepare_share(body, version, AUTHORITY) is None
                continue
            handled += _check(seeded, body, version)
    assert handled > 100, (handled, invalid)
    assert invalid > 100, (handled, invalid)


def test_not_handled_bodies() -> None:
    """Duplicate ids, invalid statements, Groups and attachments go to the Python path."""
    one = make_statement(1, "2026-11-28T10:00:00Z")
    group = {**one, "actor": {"objectType": "Group", "mbox": "mailto:g@x.org"}}
    attached = {
        **one,
        "attachments": [
            {
                "usageType": "http://x.org/u",
                "display": {"en": "a"},
                "contentType": "text/plain",
                "length": 1,
                "sha2": "ab" * 32,
                "fileUrl": "http://x.org/f",
            }
        ],
    }
    for body in (
        [one, one],
        [one, {**one, "id": one["id"].upper()}],
        [group],
        [attached],
        [{**one, "verb": {}}],
        [],
    ):
        assert prepare_share(orjson.dumps(body), "2.0.0", AUTHORITY) is None
    assert prepare_share(b"[", "2.0.0", AUTHORITY) is None
    assert prepare_share(orjson.dumps([one]), "9.9", AUTHORITY) is None


def _select(client: Client, database: str) -> list[tuple[Any, ...]]:
    return list(
        client.query(
            f"SELECT {', '.join(INDEX_COLUMNS)} FROM {database}.lrs_statements ORDER BY stored_time"
        ).result_rows
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_stored_rows_equal_the_python_paths(
    store: Client,
    store_settings: StoreSettings,
    other_db: str,
    seeded: Callable[[int], None],
    version: str,
) -> None:
    corpus = [s for s in _corpus(version) if _check(seeded, orjson.dumps(s), version)]
    # ids unique in the body (the corpus repeats some), every fourth absent
    corpus = [{**s, "id": str(uuid.UUID(int=n + 1))} for n, s in enumerate(corpus)]
    for sent in corpus[::4]:
        del sent["id"]
    body = orjson.dumps(corpus)
    seeded(11)
    native = prepare_share(body, version, AUTHORITY)
    assert native is not None
    seeded(11)
    expected = _python(body, version, AUTHORITY)
    base = datetime(2026, 11, 28, 7, 0, 0, 999_990, tzinfo=UTC)
    StatementWriter(store, store_settings.database)._insert_index(
        [Ready(*native[1]).stamped(Stamps(base), 0)]
    )
    StatementWriter(store, other_db)._insert_index([Ready(*expected).stamped(Stamps(base), 0)])
    got = _select(store, store_settings.database)
    assert len(got) == len(corpus)
    assert got == _select(store, other_db)


def test_content_hashes_at_blake2b_block_boundaries(seeded: Callable[[int], None]) -> None:
    """The native BLAKE2b (native/src/blake2b.rs) against hashlib's where its 128-byte blocks
    end: canonical texts of exactly 128 * k - 1, 128 * k and 128 * k + 1 bytes."""
    base = {
        "id": str(uuid.UUID(int=77)),
        "actor": {"mbox": "mailto:a@example.org"},
        "verb": {"id": "http://x.org/v"},
        "object": {"id": "http://x.org/a"},
        "result": {"response": ""},
    }
    bare = len(orjson.dumps(base, option=orjson.OPT_SORT_KEYS))
    lengths = [128 * k + d for k in (2, 3, 8, 100) for d in (-1, 0, 1)]
    for length in lengths:
        sent = {**base, "result": {"response": "r" * (length - bare)}}
        assert len(orjson.dumps(sent, option=orjson.OPT_SORT_KEYS)) == length
        assert _check(seeded, orjson.dumps(sent), "2.0.0")


def _app_rows(client: Client, database: str) -> list[tuple[Any, ...]]:
    """lrs_statements rows with the credential's authority (a key each app makes) named
    ``AUTH``, and each text's ``stored`` (and the ``timestamp`` it defaulted) dropped."""
    rows = client.query(
        f"SELECT toString(statement_id), {', '.join(INDEX_COLUMNS[2:])} "
        f"FROM {database}.lrs_statements ORDER BY statement_id"
    ).result_rows
    out = []
    for row in rows:
        text = orjson.loads(row[1])
        stored = text.pop("stored")
        if text.get("timestamp") == stored:
            del text["timestamp"]
        authority = row[5]
        text["authority"] = "AUTH"
        named = [["AUTH" if key == authority else key for key in row[7]]]
        out.append((row[0], text, *row[2:5], "AUTH", row[6], *named, *row[8:]))
    return out


def test_stored_rows_through_the_app_equal_the_in_process_paths(
    tmp_path: Path, store: Client, store_settings: StoreSettings, other_db: str
) -> None:
    """POSTs through the app with two receive worker processes (the native path: bodies of
    100, read whole or split between idle workers as the pool decides, and single statements)
    store the rows the app stores reading the same bodies in the process (the Python path)."""
    version = "1.0.3"
    corpus = [s for s in _corpus(version) if prepare_share(orjson.dumps(s), version, AUTHORITY)]
    corpus = [{**s, "id": str(uuid.UUID(int=n + 1))} for n, s in enumerate(corpus)]
    bodies = [orjson.dumps(corpus[at : at + 100]) for at in range(0, len(corpus) - 5, 100)]
    bodies += [orjson.dumps(one) for one in corpus[-5:]]
    assert max(len(body) for body in bodies) > SPLIT_BYTES
    # every body is one the workers read natively (whole, and in the shares of two workers)
    assert all(prepare_share(body, version, AUTHORITY) for body in bodies)
    assert all(prepare_share(body, version, AUTHORITY, 1, 2, 20) for body in bodies[:-5])
    other = store_settings.model_copy(update={"database": other_db})
    for workers, settings in ((2, store_settings), (0, other)):
        app = make_app(tmp_path / f"workers-{workers}", store, settings, receive_workers=workers)
        with TestClient(app) as test_client:
            test_client.headers.update({**credential(app, "all"), **V1})
            for body in bodies:
                response = test_client.post(
                    "/xAPI/statements",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                assert response.status_code == 200, response.text
    got = _app_rows(store, store_settings.database)
    assert len(got) == len(corpus)
    assert got == _app_rows(store, other_db)
