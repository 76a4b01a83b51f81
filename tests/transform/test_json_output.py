"""``Transformer.transform_json`` writes exactly ``orjson.dumps`` of ``transform``'s statements.

The JSON output builds the commonest events' statements from cached JSON pieces instead of
dicts (``Builder.statement_json``); these tests hold it byte-identical to the dict path on every
fixture (as fixtures and as logged lines, ERB-strict and default, pseudonyms and PII), on many
random variations of them (values needing JSON escapes, unicode, floats, empty and missing
values, wrong types), and with the same errors.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from aspects.transform import (
    MalformedEvent,
    MalformedLine,
    StaticCourseNames,
    Transformer,
    parse_line,
)
from aspects.transform.identity import ExternalIds
from aspects.transform.settings import TransformSettings
from aspects.transform.xapi.registry import json_transforms
from tests.transform.conftest import erb_transformer, event_files, load_json
from tests.transform.test_logline import as_logged

FIXTURES = event_files()


def outcome(transformer: Transformer, event: dict[str, Any], json_output: bool) -> Any:
    """The statements' JSON texts, or the error's reason (what a caller can observe)."""
    try:
        if json_output:
            return transformer.transform_json(copy.deepcopy(event))
        return [orjson.dumps(s) for s in transformer.transform(copy.deepcopy(event))]
    except MalformedEvent as error:
        return ("MalformedEvent", error.reason)


def assert_same(transformer: Transformer, event: dict[str, Any]) -> None:
    assert outcome(transformer, event, True) == outcome(transformer, event, False)


def transformers() -> list[Transformer]:
    emails = ExternalIds(by_user_id={}, emails={"10": "ann@example.com"})
    return [
        erb_transformer(erb_strict=True),
        erb_transformer(),
        Transformer(
            TransformSettings(lms_root_url="https://lms.example.org/"),
            secret="s",
            course_names=StaticCourseNames({"course-v1:edX+DemoX+Demo_Course": 'A "named" é'}),
        ),
        Transformer(
            TransformSettings(pii=True, transformer_version="v\u2028\n\"'"),
            secret="s",
            external_ids=emails,
        ),
    ]


def test_the_json_output_covers_the_commonest_families() -> None:
    names = set(json_transforms())
    assert {"play_video", "edx.forum.thread.created", "edx.ui.lms.link_clicked"} <= names
    assert "problem_check" in names  # one question; several go the dict path


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_fixture_gives_the_same_bytes(path: Path) -> None:
    event = load_json(path)
    for transformer in transformers():
        assert_same(transformer, event)
        try:
            logged = parse_line(as_logged(event, prefix=True))
        except MalformedLine:  # pragma: no cover - every fixture is a valid line
            raise
        assert_same(transformer, logged)


def test_every_fixture_statement_is_written(strict: Transformer) -> None:
    """Not vacuous: the JSON output gives statements, and parses back to transform's dicts."""
    written = 0
    for path in FIXTURES:
        if "anonymous" in path.name:
            continue
        event = load_json(path)
        texts = strict.transform_json(copy.deepcopy(event))
        assert [orjson.loads(t) for t in texts] == strict.transform(event)
        for text in texts:  # the documented place of the id: no parse needed to read it
            assert text.startswith(b'{"id":"')
            assert text[7:43].decode() == orjson.loads(text)["id"]
            assert text[43:45] == b'",'
        written += len(texts)
    assert written >= 80


# Values that stress JSON escaping, unicode, float formatting and ERB's empty values.
STRANGE: list[Any] = [
    'quote " backslash \\ slash /',
    "control \x00\x01\x1f tab\t newline\n",
    "unicode é ü 漢字 \U0001f600 \u2028\u2029",
    "",
    0,
    0.0,
    -0.0,
    1e-7,
    123456789.123456789,
    1.5e300,
    2**53 + 1,
    -17,
    True,
    False,
    None,
    [],
    {},
    ["a", 'b\\"', 3],
    {"nested": {"x": None, "y": [None, 1.25]}},
]


def mutate(event: Any, rng: random.Random, rate: float) -> Any:
    """A copy with some leaf values (and a few containers) replaced by strange ones."""
    if isinstance(event, dict):
        out: dict[str, Any] = {}
        for key, value in event.items():
            if key in ("name", "event_type") or rng.random() > rate * 4:
                out[key] = mutate(value, rng, rate) if isinstance(value, dict | list) else value
            else:
                out[key] = copy.deepcopy(rng.choice(STRANGE))
        return out
    if isinstance(event, list):
        return [mutate(member, rng, rate) for member in event]
    return event


def test_random_variations_give_the_same_bytes_and_errors() -> None:
    rng = random.Random(20261127)
    fixtures = [load_json(p) for p in FIXTURES]
    candidates = [
        f for f in fixtures if (f.get("name") or f.get("event_type")) in json_transforms()
    ]
    assert len(candidates) >= 40
    written = errors = 0
    for transformer in transformers():
        for _ in range(600):
            event = mutate(rng.choice(candidates), rng, rng.choice([0.02, 0.05, 0.1]))
            if rng.random() < 0.3 and isinstance(event.get("context"), dict):
                event = parse_line(as_logged(event, prefix=False))
            # the same user and time again (cached actor, shared timestamp) or new ones
            if rng.random() < 0.5 and isinstance(event.get("context"), dict):
                event["context"]["user_id"] = rng.choice([1, 2, "x\u00e9", 3.5])
            json_result = outcome(transformer, event, True)
            assert json_result == outcome(transformer, event, False), json.dumps(event)[:400]
            if isinstance(json_result, tuple):
                errors += 1
            else:
                written += len(json_result)
    # both sides exercised
    assert written > 1000
    assert errors > 50
