"""The native (Rust) transformer against the Python one: same bytes, or "not handled".

For every line the native answer must be None (not handled: the Python path runs), or a skip
with the same event name, or EXACTLY what the Python path gives: each statement's id (UUID
bytes), ``orjson.dumps`` bytes and actor name, in order. Lines: every ERB fixture in every logged
shape, and seeded random variations of them (user ids, timestamps, unicode and escapes, missing
fields, nulls, wrong types, duplicate keys, deeper nesting, prefixes, garbage).

Coverage cannot silently fall: every fixture of a family in HANDLED_FAMILIES must be handled
natively (family helpers add theirs when ported). ``ASPECTS_EXPECT_COMPILED=1`` (make test)
fails the suite when the native module is not loaded; ``ASPECTS_FAST_LIBRARY=<path>`` tests a
given build instead of the installed one (tests/transform/fast_library.py, native/README.md).
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import aspects.transform.fast as fast_module
from aspects.transform import (
    MalformedEvent,
    MalformedLine,
    StaticCourseNames,
    Transformer,
    event_name,
    parse_line,
)
from aspects.transform.courses import CourseNames
from aspects.transform.fast import FastTransformer, native_state, open_fast, sources_digest
from aspects.transform.identity import ExternalIds
from aspects.transform.native import PURE_ENV
from aspects.transform.settings import TransformSettings
from aspects.transform.xapi import registry
from tests.transform.conftest import (
    ERB_VERSION,
    ROOT,
    event_files,
    everyone_is_the_fixture_user,
    load_json,
)
from tests.transform.fast_library import LIBRARY_ENV, MODULE, requested_library
from tests.transform.test_cli import log_text
from tests.transform.test_logline import PREFIX, as_logged

# Families whose fixtures the native transformer must handle (extend when a family is ported).
HANDLED_FAMILIES = {
    "enrollment",
    "completion",
    "navigation",
    "problem",
    "forum",
    "grading",
    "exam",
    "video",
}

STATE = native_state()
LOADED = STATE == "loaded"
pytestmark = pytest.mark.skipif(
    not LOADED and os.environ.get("ASPECTS_EXPECT_COMPILED") != "1",
    reason=f"native transformer {STATE}",
)

Answer = list[tuple[bytes, bytes, str]] | str | None
ROOT_DIR = Path(__file__).resolve().parents[2]


def test_the_native_module_is_loaded() -> None:
    """Under make test (ASPECTS_EXPECT_COMPILED=1) the native build must be there and fresh."""
    assert STATE == "loaded"


def _settings(**overrides: Any) -> TransformSettings:
    return TransformSettings(lms_root_url=ROOT, transformer_version=ERB_VERSION, **overrides)


def _pair(
    course_names: StaticCourseNames | None = None, **overrides: Any
) -> tuple[Transformer, FastTransformer]:
    names = course_names or StaticCourseNames(
        {"course-v1:edX+DemoX+Demo_Course": 'Demo \u00e9 "course"'}, default=None
    )
    kwargs: dict[str, Any] = {"secret": "test-secret", "course_names": names}
    if overrides.pop("fixture_user", False):
        kwargs["external_ids"] = everyone_is_the_fixture_user()
    python = Transformer(_settings(**overrides), **kwargs)
    fast = open_fast(_settings(**overrides), **kwargs)
    assert fast is not None
    return python, fast


def open_pair(
    settings: TransformSettings, course_names: CourseNames, external_ids: ExternalIds | None
) -> tuple[Transformer, FastTransformer]:
    """The Python transformer and the native one with the same settings and collaborators
    (the family tests' setups); a failure when the native module should be loaded and is not."""
    kwargs: dict[str, Any] = {
        "secret": "test-secret",
        "course_names": course_names,
        "external_ids": external_ids,
    }
    native = open_fast(settings, **kwargs)
    if native is None:
        if os.environ.get("ASPECTS_EXPECT_COMPILED") == "1":
            pytest.fail(f"the native transformer is not loaded: {STATE} (run `make compile`)")
        pytest.skip(f"native transformer {STATE}")
    return Transformer(settings, **kwargs), native


def python_answer(transformer: Transformer, line: bytes) -> Answer:
    """What the Python path gives, in the native answer's shape (None: an error)."""
    try:
        event = parse_line(line)
    except MalformedLine:
        return None
    name = event_name(event)
    if name is None:
        return None
    if not transformer.accepts(name):
        return name
    try:
        statements = transformer.transform(event)
    except MalformedEvent:
        return None
    return [
        (uuid.UUID(s["id"]).bytes, orjson.dumps(s), s["actor"]["account"]["name"])
        for s in statements
    ]


def python_reason(transformer: Transformer, line: bytes) -> str | None:
    """The reason the Python path rejects an accepted event with (None: it does not)."""
    try:
        transformer.transform(parse_line(line))
    except (MalformedLine, MalformedEvent) as error:
        return error.reason
    return None


def compare(python: Transformer, fast: FastTransformer, line: bytes) -> str:
    """'native' | 'skip' | 'rejected' (by the whole-chunk entry point, with the Python path's
    reason) | 'python' (not handled); fails on any difference."""
    native = fast.rows(line)
    if native is None:
        *_, unhandled, _, rejected = fast.chunk(line)
        if not rejected:
            return "python"
        assert len(rejected) == 1, line[:300]
        assert not unhandled, line[:300]
        assert rejected[0][2] == python_reason(python, line), line[:300]
        return "rejected"
    expected = python_answer(python, line)
    assert native == expected, line[:300]
    statements = fast.statements(line)
    assert statements == (native if isinstance(native, str) else [row[1] for row in native])
    return "skip" if isinstance(native, str) else "native"


def shapes(event: dict[str, Any]) -> Iterator[bytes]:
    """The fixture as stored, and as the LMS logs it (event as object/string, prefix)."""
    yield json.dumps(event).encode()
    yield as_logged(event, prefix=False).encode()
    yield as_logged(event, prefix=True).encode()
    yield (as_logged(event, prefix=False) + "\n").encode()


def family_of(name: str) -> str | None:
    for family in registry.FAMILIES:
        if name in family.TRANSFORMS:
            return family.__name__.rsplit(".", 1)[1]
    return None


FIXTURES = [(path.name, load_json(path)) for path in event_files()]


@pytest.mark.parametrize("strict", [False, True], ids=["default", "erb_strict"])
def test_fixtures_in_every_shape(strict: bool) -> None:
    python, fast = _pair(fixture_user=True, erb_strict=strict)
    handled: dict[str, int] = {}
    for name, event in FIXTURES:
        for line in shapes(event):
            outcome = compare(python, fast, line)
            must = family_of(str(event.get("name") or event.get("event_type")))
            if must in HANDLED_FAMILIES and python_answer(python, line) is not None:
                assert outcome == "native", f"{name} ({must}) not handled natively"
            handled[outcome] = handled.get(outcome, 0) + 1
    assert handled.get("native", 0) >= 30


def test_pseudonymous_actors_and_enabled_events() -> None:
    """Actors by keyed hash (no external ids), a course-name source, an allow-list."""
    enabled = ["edx.ui.lms.link_clicked", "edx.course.enrollment.activated"]
    python, fast = _pair(enabled_events=enabled)
    outcomes = [compare(python, fast, line) for _, event in FIXTURES for line in shapes(event)]
    assert outcomes.count("skip") > 100
    assert outcomes.count("native") >= 8


def test_settings_that_need_the_python_path() -> None:
    assert open_fast(_settings(pii=True), secret="s") is None
    assert open_fast(_settings(), secret="s", vocabulary="caliper") is None


# -- random variations ---------------------------------------------------------------------

TEXTS = [
    "",
    "x",
    "caf\u00e9 \u2603 \U0001f600",
    'quote " and \\ backslash',
    "tab\tnew\nline\r\x00\x1f\x7f",
    "\u2028\u2029",
    "{not json",
    "[1, 2]",
    "http://localhost:18000/xblock/block-v1:x+y+z+type@video+block@1",
    "block-v1:edX+DemoX+Demo_Course+type@sequential+block@1",
    "course-v1:edX+DemoX+Demo_Course",
    "course-v1:Other+C\u00f6urse+2024",
    "relative/path",
    "1.5",
    " 42 ",
]
TIMES = [
    "2023-05-23T13:53:13.461297+00:00",
    "2023-05-23T13:53:13.461297+05:30",
    "2023-05-23T13:53:13.461297-00:00",
    "2023-05-23T13:53:13.000000+00:00",
    "2023-05-23T13:53:13+00:00",
    "2023-05-23T13:53:13.461297",
    "2023-05-23T13:53:13.461Z",
    "2023-05-23 13:53:13.461297+00:00",
    "2024-02-29T23:59:59.999999+23:59",
    "2023-02-29T10:00:00.100000+00:00",
    "2023-13-01T10:00:00.100000+00:00",
    "2023-05-23T24:00:00.100000+00:00",
    "2023-05-23T13:53:13.461297+00:60",
    "0000-05-23T13:53:13.461297+00:00",
    "2023-05-23",
    "yesterday",
    "",
]
VALUES: list[Any] = [
    None,
    0,
    1,
    -7,
    2**53 + 1,
    2**63 - 1,
    2**64 - 1,
    1.0,
    0.5,
    1e16,
    1e-7,
    -0.0,
    3.14159,
    True,
    False,
    [],
    {},
    [None, {"a": None}, [None]],
    {"nested": {"deeper": None, "x": 1}},
    *TEXTS,
]


def _walk(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))


def _set(event: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _mutate(rng: random.Random, event: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(event)
    paths = [p for p, _ in _walk(event) if p]
    for _ in range(rng.randint(1, 3)):
        if not paths:
            break
        path = rng.choice(paths)
        kind = rng.random()
        try:
            if kind < 0.45:
                # copies: VALUES' dicts and lists must not become shared (or cyclic) parts
                _set(event, path, copy.deepcopy(rng.choice(VALUES)))
            elif kind < 0.6:
                target: Any = event
                for key in path[:-1]:
                    target = target[key]
                target.pop(path[-1], None)
            elif kind < 0.75:
                wrapped = {"wrapped": rng.choice(VALUES), "user_id": rng.choice(VALUES)}
                _set(event, path, copy.deepcopy(wrapped))
            else:
                _set(event, path, rng.choice(TEXTS))
        except (KeyError, TypeError):
            pass
        paths = [p for p, _ in _walk(event) if p]
    return event


def _user_and_time(rng: random.Random, event: dict[str, Any]) -> None:
    user = rng.choice([3, "3", "learner", "l\u00e9arner", 0, "", None, 10**20, 4.5, True, [1]])
    where = rng.choice(["context", "data", "top"])
    if where == "top":
        event["user_id"] = user
    elif isinstance(event.get(where), dict):
        event[where]["user_id"] = user
    if rng.random() < 0.5:
        event["timestamp"] = rng.choice(TIMES)
    if rng.random() < 0.2:
        event["session"] = copy.deepcopy(rng.choice(VALUES))


def _text(rng: random.Random, event: dict[str, Any]) -> str:
    """The event as a line: one of the logged shapes, maybe duplicated keys, prefix, garbage."""
    choice = rng.random()
    if choice < 0.4:
        text = json.dumps(event, ensure_ascii=rng.random() < 0.5)
    elif isinstance(event.get("context", {}), dict):
        text = as_logged(event, prefix=False)
    else:
        text = json.dumps({"event_type": event.get("name"), "event": json.dumps(event)})
    if rng.random() < 0.15:
        # a duplicate key: first position, last value (as a Python dict)
        key = rng.choice(list(event) or ["name"])
        text = text[:-1] + (", " if len(text) > 2 else "") + json.dumps(key) + ": "
        text += json.dumps(rng.choice(VALUES)) + "}"
    roll = rng.random()
    if roll < 0.1:
        text = PREFIX + text
    elif roll < 0.13:
        text = "  \t" + text + " \r\n"
    elif roll < 0.16:
        text = text[: rng.randint(0, len(text))]
    elif roll < 0.18:
        text = "garbage " + text + " trailing}"
    elif roll < 0.2:
        text = rng.choice(["", "{}", "[]", '{"name": 5}', "null", '{"event": "{"}'])
    return text


def _variations(seed: int, count: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    events = [event for _, event in FIXTURES]
    for _ in range(count):
        event = (
            _mutate(rng, rng.choice(events))
            if rng.random() < 0.8
            else copy.deepcopy(rng.choice(events))
        )
        _user_and_time(rng, event)
        if rng.random() < 0.1:
            event = {"wrapper": event, **{k: v for k, v in event.items() if k != "data"}}
        yield _text(rng, event).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("strict", [False, True], ids=["default", "erb_strict"])
def test_random_variations(strict: bool) -> None:
    python, fast = _pair(fixture_user=not strict, erb_strict=strict)
    outcomes: dict[str, int] = {}
    for line in _variations(seed=20261128 + strict, count=2000):
        outcome = compare(python, fast, line)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # the variations reach every outcome (else the test proves little)
    assert outcomes.get("native", 0) > 100, outcomes
    assert outcomes.get("python", 0) > 100, outcomes
    if not strict:  # erb_strict checks no object id
        assert outcomes.get("rejected", 0) > 5, outcomes


def test_transform_lines_json_equals_transform_lines() -> None:
    """Same statements (as JSON), counts and rejections as the Python batch, str or bytes."""
    from aspects.transform.batch import Summary, transform_lines
    from aspects.transform.fast import transform_lines_json

    python, fast = _pair(fixture_user=True)
    lines: list[str | bytes] = list(log_text().splitlines())
    lines += [line.decode("utf-8", "surrogatepass") for line in _variations(9, 300)]
    lines += ['{"event_type": "edx.ui.lms.link_clicked", "x": "\ud800"}', b"\xff{}"]
    expected_summary, summary = Summary(), Summary()
    expected = [orjson.dumps(s) for s in transform_lines(python, lines, expected_summary)]
    assert list(transform_lines_json(fast, python, lines, summary)) == expected
    assert summary.as_dict() == expected_summary.as_dict()
    assert summary.rejections == expected_summary.rejections
    assert summary.statements > 100


def cli_run(
    args: list[str], tmp_path: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    environ = {**os.environ, "ASPECTS_DATA_DIR": str(tmp_path / "var"), **(env or {})}
    environ.pop("ASPECTS_CONFIG", None)
    code = "from aspects.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "transform", *args],
        capture_output=True,
        env=environ,
        check=False,
        timeout=120,
    )


def test_cli_output_and_summary_are_those_of_the_python_path(tmp_path: Path) -> None:
    """aspects transform: same stdout bytes and summary with the native module or without."""
    log = tmp_path / "tracking.log"
    log.write_text(log_text() + "".join(line.decode() + "\n" for line in _variations(5, 300)))
    native = cli_run([str(log)], tmp_path)
    python = cli_run([str(log)], tmp_path, env={PURE_ENV: "1"})
    assert native.returncode == python.returncode == 0, native.stderr
    assert native.stdout == python.stdout
    assert native.stderr == python.stderr
    assert native.stdout.count(b"\n") > 100
    info = cli_run(["--build-info"], tmp_path)
    assert json.loads(info.stdout)["native"] == STATE


# -- the writer ----------------------------------------------------------------------------


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 4 and roll < 0.25:
        return {rng.choice([*TEXTS, "a", "b"]): _random_value(rng, depth + 1) for _ in range(4)}
    if depth < 4 and roll < 0.4:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if roll < 0.6:
        exponent = rng.randint(-12, 22)
        return rng.choice([-1, 1]) * rng.random() * 10.0**exponent
    if roll < 0.7:
        return rng.choice([0.1, 1.0, 1e16, 1e-7, 1e-5, 123456789.123, 5e-324, 1e15, 1e21])
    return rng.choice(VALUES)


def _prune(value: Any) -> Any:
    """statement.prune, applied to any value (lists keep None; lists in lists are not pruned)."""
    from aspects.transform.statement import prune

    if isinstance(value, dict):
        return prune(value)
    if isinstance(value, list):
        return [prune(m) if isinstance(m, dict) else m for m in value]
    return value


def test_writer_is_orjson() -> None:
    """Input values written back equal orjson.dumps of what orjson.loads gives, pruned or not."""
    from aspects.transform import _fast  # type: ignore[attr-defined]

    rng = random.Random(7)
    for _ in range(3000):
        text = json.dumps(_random_value(rng)).encode()
        value = orjson.loads(text)
        assert _fast.roundtrip(text, False) == orjson.dumps(value), text
        assert _fast.roundtrip(text, True) == orjson.dumps(_prune(value)), text
        assert _fast.py_dumps(text) == json.dumps(value), text
    # strings: every character class at every offset of the writer's 8-byte steps
    alphabet = [
        "a",
        "Z",
        " ",
        '"',
        "\\",
        "/",
        "\x00",
        "\x1f",
        "\n",
        "\x7f",
        "\u00e9",
        "\u2028",
        "\U0001f600",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        encoded = json.dumps([text, {text: text}]).encode()
        assert _fast.roundtrip(encoded, False) == orjson.dumps([text, {text: text}]), text
    # duplicate keys: first position, last value
    assert _fast.roundtrip(b'{"a":1,"b":2,"a":3}', False) == b'{"a":3,"b":2}'
    # keys alike in length and last byte, and more keys than the parser's 64-bit filter
    assert _fast.roundtrip(b'{"ab":1,"cb":2,"ab":3,"cb":4}', False) == b'{"ab":3,"cb":4}'
    many = {f"k{i}": i for i in range(200)}
    text = json.dumps(many)[:-1] + ', "k150": "last", "k7": null}'
    assert _fast.roundtrip(text.encode(), False) == orjson.dumps(orjson.loads(text))
    for bad in (b'["\\ud800"]', b"[1e400]", b"[NaN]", b"{", b"[1] x"):
        assert _fast.roundtrip(bad, False) is None


PARSER_CASES = [
    b"[-0]",
    b"[-0.0]",
    b"[0.1e1, 1E+2, 1e-2, 2.5E-3]",
    b"[1e-400]",
    b"[123456789012345678901234567890, -123456789012345678901234567890]",
    b"[9223372036854775807, 9223372036854775808, -9223372036854775808, -9223372036854775809]",
    b"[18446744073709551615, 18446744073709551616]",
    b'["\\ud83d\\ude00", "\\u00e9\\u0000\\u001F", "\\/\\b\\f\\n\\r\\t"]',
    b'["\\ud83d"]',
    b'["\\ude00"]',
    b'["\\ud83d\\u0041"]',
    b'["\\x41"]',
    b'["\\u12"]',
    b'["tab\there"]',
    b"[01]",
    b"[1.]",
    b"[.5]",
    b"[+1]",
    b"[1,]",
    b'{"a":1,}',
    b'{"a" : 1 , "b" :[ ] ,"c":{ }}',
    b" \t\r\n[true,false,null] \n",
    b"[tru]",
    b"[nul]",
    b"[NaN]",
    b"[Infinity]",
    b'{"a":1}{"b":2}',
    b'{"a":1} x',
    b"{1:2}",
    b'"\xff"',
    b'["\xc3\xa9", "\xe2\x82"]',
    b"[" * 128 + b"]" * 128,
    b"[" * 129 + b"]" * 129,
    b'{"a":' * 128 + b"1" + b"}" * 128,
]


@pytest.mark.parametrize("text", PARSER_CASES, ids=range(len(PARSER_CASES)))
def test_the_parser_reads_what_orjson_reads_or_refuses(text: bytes) -> None:
    """Each document: refused, or read exactly as orjson reads it (never accepted if orjson
    refuses it)."""
    from aspects.transform import _fast  # type: ignore[attr-defined]

    ours = _fast.roundtrip(text, False)
    try:
        expected = orjson.dumps(orjson.loads(text))
    except orjson.JSONDecodeError:
        assert ours is None
        return
    assert ours is None or ours == expected


def test_value_formats_are_pythons() -> None:
    """round(x, 3), round(x, 6) and statement.iso_duration, bit for bit (None: Fallback)."""
    from aspects.transform import _fast  # type: ignore[attr-defined]
    from aspects.transform.statement import iso_duration

    rng = random.Random(11)
    values = [0.0625, 2.5, 0.0005, 0.1235, -0.0001, 59.9999999, 86399.9999996, 3600.0, 1e20]
    values += [rng.randint(0, 10**6) / rng.choice([8, 16, 1000, 2**20]) for _ in range(5000)]
    values += [rng.uniform(-1e5, 1e6) for _ in range(5000)]
    for x in values:
        r3, r6, duration = _fast.value_formats(x)
        assert (r3, math.copysign(1, r3), r6) == (
            round(x, 3),
            math.copysign(1, round(x, 3)),
            round(x, 6),
        )
        if duration is not None:
            assert duration == iso_duration(x), x


def test_a_stale_build_is_refused(tmp_path: Path) -> None:
    """The build record's digest changes with any source of the crate."""
    crate = Path(__file__).resolve().parents[2] / "native"
    copy_dir = tmp_path / "native"
    shutil.copytree(crate, copy_dir, ignore=shutil.ignore_patterns("target"))
    before = sources_digest(copy_dir)
    family = copy_dir / "src" / "families" / "video.rs"
    family.write_text(family.read_text() + "\n// edited\n")
    assert sources_digest(copy_dir) != before


def test_the_loaded_build_is_the_requested_one(tmp_path: Path) -> None:
    """Production loads the installed build alone, whatever ASPECTS_FAST_LIBRARY says; the tests
    load the build it names (tests/transform/fast_library.py): checked in child processes."""
    loaded = Path(sys.modules[MODULE].__file__ or "")
    assert loaded == (requested_library() or fast_module.LIBRARY)
    if requested_library() is not None:
        return  # the child run below
    copy = tmp_path / "lib_fast.so"
    shutil.copy2(fast_module.LIBRARY, copy)
    env = {**os.environ, LIBRARY_ENV: str(copy)}
    env.pop(PURE_ENV, None)
    code = (
        "import sys; from aspects.transform.fast import native_state; "
        f"print(native_state(), sys.modules[{MODULE!r}].__file__)"
    )
    production = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, check=True, timeout=120
    )
    assert production.stdout.decode().split() == ["loaded", str(fast_module.LIBRARY)]
    name = "test_the_loaded_build_is_the_requested_one"
    this_test = f"{Path(__file__).resolve().relative_to(ROOT_DIR)}::{name}"
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", this_test],
        cwd=ROOT_DIR,
        env=env,
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert child.returncode == 0, child.stdout.decode()[-2000:]
    assert b"1 passed" in child.stdout
