"""The native transformer's video family against the Python path, on seeded random events.

Every answer of the native path must be "not handled" (None), or exactly what the Python
transformer gives for the same line: the same skipped name, or the same statements (id bytes,
JSON bytes, actor id). The ERB fixtures of the family must all be handled natively.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aspects.transform import (
    StaticCourseNames,
    Transformer,
    no_course_names,
)
from aspects.transform.fast import FastTransformer, native_state
from aspects.transform.settings import TransformSettings
from aspects.transform.xapi.video import MAPPING
from tests.transform.conftest import (
    ERB_VERSION,
    ROOT,
    event_files,
    everyone_is_the_fixture_user,
    load_json,
)
from tests.transform.test_fast import compare, open_pair, shapes
from tests.transform.test_logline import as_logged

STATE = native_state()
pytestmark = pytest.mark.skipif(
    STATE != "loaded" and os.environ.get("ASPECTS_EXPECT_COMPILED") != "1",
    reason=f"native transformer {STATE}",
)

VIDEO_NAMES = sorted(MAPPING)


def _video_fixtures() -> list[Path]:
    return [p for p in event_files() if load_json(p).get("name") in MAPPING]


def test_every_video_fixture_is_handled_and_equal() -> None:
    python, native = open_pair(
        TransformSettings(lms_root_url=ROOT, transformer_version=ERB_VERSION),
        StaticCourseNames({}, default="Demonstration Course"),
        everyone_is_the_fixture_user(),
    )
    fixtures = _video_fixtures()
    assert len(fixtures) >= 17
    for path in fixtures:
        for line in shapes(load_json(path)):
            assert compare(python, native, line) != "python", f"{path.name} not handled natively"


# -- random variations ------------------------------------------------------------------------

_NUMBERS: list[Any] = [
    0,
    0.0,
    -0.0,
    1,
    -3,
    195,
    0.03278805340576172,
    12.0625,
    1.0005,
    2.5,
    59.9999996,
    3599.9999999,
    86400,
    90061.5,
    -61.25,
    1e-7,
    123456789.123456,
    2**53 + 1,
    2**60,
    1e16,
    1e300,
    True,
    False,
    "",
    "12.5",
    "7",
    "-0.0005",
    " 3",
    "1_000",
    "nan",
    "inf",
    "1e400",
    "abc",
    None,
    [],
    [1],
    {},
    {"a": 1},
]
_SPEEDS: list[Any] = ["1.0", "1.50", "2", "0.75", "", None, 1.5, 2, True, "é", 'a"b\\c\n']
_IDS: list[Any] = [
    "0b9e39477cf34507a7a48f74be381fdd",
    "a",
    "vidéo-1",
    "日本",
    "with space",
    "tab\there",
    'quote"d',
    "back\\slash",
    "line\n",
    "a<b",
    "pipe|",
    "caret^",
    "tick`",
    "brace{",
    "\u00a0nbsp",
    "\u2028sep",
    "\ud83d\ude00",
    "",
    None,
    0,
    17,
    -4,
    2.5,
    1e16,
    True,
    False,
    [],
    ["x"],
    {"id": "x"},
]
_COURSES: list[Any] = [
    "course-v1:edX+DemoX+Demo_Course",
    "ccx-v1:edX+DemoX+Demo_Course+ccx@1",
    "course-v1:Org+Ç+Run",
    "library-v1:Org+Lib",
    "a:b:c",
    ":x",
    "x:",
    "nocolon",
    "edX/DemoX/Demo_Course",
    "course-v1:with space",
    "",
    None,
    7,
    ["course-v1:a+b+c"],
]
_TIMES: list[Any] = [
    "2020-07-15T06:52:55.057099+00:00",
    "2020-07-15T06:52:55.057099Z",
    "2020-07-15T06:52:55+00:00",
    "2020-07-15T06:52:55.000000+00:00",
    "2020-07-15T06:52:55.057099",
    "2020-07-15 06:52:55.057099+05:30",
    "2020-07-15T06:52:55.057099-00:00",
    "2020-07-15T06:52:55.5+01:00",
    "2020-07-15",
    "15/07/2020",
    "",
    None,
    1594795975,
]
_USERS: list[Any] = [3, 19, "3", "ann", 0, "", None, -1, 2**70, 1.5, True, ["x"]]
_SESSIONS: list[Any] = ["993110e9c27848a545da74a74114158d", "", None, 12, "é\u0000", {"a": 1}]


def _random_number(rng: random.Random) -> Any:
    """A position or length as players log them: floats of any precision, ints, some text."""
    roll = rng.random()
    if roll < 0.6:
        return round(rng.uniform(-100, 10**6) * rng.random(), rng.randint(0, 17))
    if roll < 0.8:
        return rng.randint(-(10**4), 10**8)
    if roll < 0.9:
        return rng.randint(0, 10**6) / rng.choice([2, 4, 8, 16, 2000, 16000])  # exact ties
    return repr(rng.uniform(0, 10**5))


def _pick(rng: random.Random, choices: list[Any], ordinary: int) -> Any:
    """Mostly one of the first ``ordinary`` (well-formed) choices, sometimes any of them."""
    return rng.choice(choices[:ordinary]) if rng.random() < 0.85 else rng.choice(choices)


def _random_event(rng: random.Random) -> dict[str, Any]:
    name = rng.choice(VIDEO_NAMES) if rng.random() < 0.97 else rng.choice(["x", "", None])
    data: dict[str, Any] = {"id": _pick(rng, _IDS, 3)}
    if rng.random() < 0.7:
        data["code"] = "html5"
    for key in ("currentTime", "current_time", "duration", "old_time", "new_time"):
        if rng.random() < 0.6:
            data[key] = _pick(rng, _NUMBERS, 17) if rng.random() < 0.5 else _random_number(rng)
    for key in ("old_speed", "new_speed"):
        if rng.random() < 0.9:
            data[key] = _pick(rng, _SPEEDS, 4)
    if rng.random() < 0.05:
        data["user_id"] = rng.choice(_USERS)
    if rng.random() < 0.05:
        data["nested"] = {"session": rng.choice(_SESSIONS), "deeper": {"x": [1, {"y": None}]}}
    items = list(data.items())
    rng.shuffle(items)
    data = dict(items)
    context: dict[str, Any] = {
        "course_id": _pick(rng, _COURSES, 3),
        "user_id": _pick(rng, _USERS, 4),
        "username": "edx",
        "org_id": "edX",
        "event_source": "browser" if rng.random() < 0.7 else "server",
    }
    if rng.random() < 0.8:
        context["session"] = _pick(rng, _SESSIONS, 1)
    if rng.random() < 0.03:
        del context["course_id"]
    event: dict[str, Any] = {"name": name, "context": context, "data": data}
    event["timestamp"] = _pick(rng, _TIMES, 8)
    if rng.random() < 0.05:
        event["session"] = rng.choice(_SESSIONS)
    if rng.random() < 0.02:
        event["data"] = rng.choice(["", "text", 5, None, []])
    return event


def _random_line(rng: random.Random) -> bytes:
    event = _random_event(rng)
    roll = rng.random()
    if roll < 0.4:
        text = json.dumps(event, ensure_ascii=rng.random() < 0.5)
    else:
        text = as_logged(event, prefix=roll < 0.6)
    if rng.random() < 0.05:  # a duplicate key: the last one wins (as in orjson and dicts)
        text = text[:1] + '"name": "pause_video", ' + text[1:]
    if rng.random() < 0.02:  # garbage
        cut = rng.randrange(len(text))
        text = text[:cut] + rng.choice(["", "}", "\\", '"', "\x00", "\udcff"]) + text[cut + 1 :]
    return text.encode("utf-8", "surrogatepass")


_SETUPS: list[tuple[str, Callable[[], tuple[Transformer, FastTransformer]]]] = [
    (
        "erb",
        lambda: open_pair(
            TransformSettings(lms_root_url=ROOT, transformer_version=ERB_VERSION),
            StaticCourseNames({}, default="Demonstration Course"),
            everyone_is_the_fixture_user(),
        ),
    ),
    (
        # no IRI check: objects with odd ids (spaces, quotes, controls) are written, not refused
        "erb-strict",
        lambda: open_pair(
            TransformSettings(lms_root_url=ROOT, transformer_version=ERB_VERSION, erb_strict=True),
            StaticCourseNames({}, default="Demonstration Course"),
            everyone_is_the_fixture_user(),
        ),
    ),
    (
        "hashed-actors",
        lambda: open_pair(
            TransformSettings(lms_root_url="https://lms.example.org/"),
            no_course_names,
            None,
        ),
    ),
]


@pytest.mark.parametrize("setup", [s for _, s in _SETUPS], ids=[n for n, _ in _SETUPS])
def test_random_video_events_are_equal_or_not_handled(
    setup: Callable[[], tuple[Transformer, FastTransformer]],
) -> None:
    python, native = setup()
    rng = random.Random(20261128)
    total = 2500
    handled = 0
    for _ in range(total):
        handled += compare(python, native, _random_line(rng)) != "python"
    # most variations are ordinary enough to stay on the native path
    assert handled > total // 2
