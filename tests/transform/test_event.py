"""Event.get's any-depth lookups equal ERB's search, key by key, on fixtures and random events."""

from __future__ import annotations

import random
from typing import Any

import pytest

from aspects.transform.event import MAX_DEPTH, Event
from tests.transform.conftest import event_files, load_json


def erb_find(source: dict[str, Any], key: str) -> Any:
    """ERB's ``find_nested``, written plainly: the reference the index must equal."""
    if key in source:
        return source[key]
    for value in source.values():
        if isinstance(value, dict):
            found = erb_find(value, key)
            if found is not None:
                return found
    return None


def expected(raw: dict[str, Any], key: str) -> Any:
    value = erb_find(raw, key)
    return None if value is None or (value != 0 and not value) else value


def keys_of(value: Any, out: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            out.add(key)
            keys_of(item, out)
    elif isinstance(value, list):
        for item in value:
            keys_of(item, out)
    return out


def check_every_key(raw: dict[str, Any]) -> int:
    keys = keys_of(raw, {"no-such-key"})
    event = Event(raw, "test")
    for key in sorted(keys):
        assert event.get(key) == expected(raw, key), key
        assert type(event.get(key)) is type(expected(raw, key)), key
    return len(keys)


def test_every_key_of_every_fixture_is_found_as_erb_finds_it() -> None:
    checked = sum(check_every_key(load_json(path)) for path in event_files())
    assert checked > 2000


def _random_value(rng: random.Random, depth: int, names: list[str]) -> Any:
    roll = rng.random()
    if depth < 5 and roll < 0.35:
        return {rng.choice(names): _random_value(rng, depth + 1, names) for _ in range(4)}
    return rng.choice([None, "", 0, 0.0, False, True, "x", 7, [], {}, ["a"], [{"k": 1}]])


def test_random_events_with_repeated_keys_nones_and_empties() -> None:
    """Few key names at many depths: shadowing, None hiding, empty values, shared objects."""
    rng = random.Random(20261127)
    names = ["a", "b", "c", "k", "session", "data"]
    for _ in range(3000):
        raw = _random_value(rng, 0, names)
        if not isinstance(raw, dict):
            continue
        if rng.random() < 0.3 and isinstance(raw.get("data"), dict):
            raw["event"] = raw["data"]  # the same object twice, as logged events hold it
        check_every_key(raw)


def test_nesting_deeper_than_the_bound_is_refused() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(MAX_DEPTH + 5):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(RecursionError):
        Event({"data": deep}, "test").get("missing")


def check_prefetch(raw: dict[str, Any], rng: random.Random) -> None:
    keys = sorted(keys_of(raw, {"no-such-key"}))
    wanted = tuple(rng.sample(keys, k=min(len(keys), rng.randrange(1, 8))))
    event = Event(raw, "test")
    if rng.random() < 0.5:
        event.get(wanted[0])  # a key already searched is kept
    event.prefetch(wanted)
    for key in keys:
        assert event.get(key) == expected(raw, key), key
        assert type(event.get(key)) is type(expected(raw, key)), key


def test_prefetch_finds_every_key_as_erb_finds_it() -> None:
    """One walk for several keys gives what each key's own search gives (fixtures, random)."""
    rng = random.Random(20261128)
    for path in event_files():
        for _ in range(5):
            check_prefetch(load_json(path), rng)
    names = ["a", "b", "c", "k", "session", "data"]
    for _ in range(3000):
        raw = _random_value(rng, 0, names)
        if not isinstance(raw, dict) or not raw:
            continue
        if rng.random() < 0.3 and isinstance(raw.get("data"), dict):
            raw["event"] = raw["data"]
        check_prefetch(raw, rng)


def test_prefetch_refuses_nesting_deeper_than_the_bound() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(MAX_DEPTH + 5):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(RecursionError):
        Event({"data": deep}, "test").prefetch(("missing", "other"))
