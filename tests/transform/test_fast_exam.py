"""The native (Rust) special-exam transform against the Python path.

Every special-exam fixture, in every logged shape, is handled natively and equal (including the
repair that names the attempt ``<root>/exam_attempt/<code>``); seeded random variations of the
exam and attempt fields, courses and payload shapes give exactly the Python output or "not
handled".
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tests.transform.conftest import EVENTS
from tests.transform.test_fast import pytestmark  # noqa: F401 - skipped as test_fast is
from tests.transform.test_fast_forum import (
    MODES,
    ODD,
    Pair,
    check,
    must_handle,
    pair,
    set_path,
    variations,
)

EXAM = sorted(EVENTS.glob("edx.special_exam.*.json"))
CODES: list[Any] = [
    *ODD,
    "438AD672-DE2C-4F0B-8876-35444E7DD746",
    "code:with:colons",
    "urn:x:1",
    "a b/c?d=e&f~g_h.i-j",
    "\u00e9t\u00e9 \U0001f600",
    "%41",
    ...,
]
CONTENT_IDS: list[Any] = [
    *ODD,
    "block-v1:edX+DemoX+Demo_Course+type@sequential+block@1",
    "http://x/y z",
    "http://x/\u00e9",
    "no-colon",
    "1http://x",
    "mailto:a@b",
    ...,
]


def vary_exam(event: dict[str, Any], rng: random.Random) -> None:
    payload = event.get("event")
    if not isinstance(payload, dict):
        return
    if rng.random() < 0.3:
        set_path(event, "event.attempt_code", rng.choice(CODES))
    if rng.random() < 0.2:
        set_path(event, "event.exam_content_id", rng.choice(CONTENT_IDS))
    if rng.random() < 0.2:
        set_path(event, "event.exam_name", rng.choice([*ODD, ...]))
    for key in (
        "exam_default_time_limit_mins",
        "attempt_started_at",
        "attempt_completed_at",
        "attempt_event_elapsed_time_secs",
        "attempt_id",
    ):
        if rng.random() < 0.1:
            set_path(event, f"event.{key}", rng.choice([*ODD, ...]))
    if rng.random() < 0.05:
        set_path(event, "context.course_id", ...)
    if rng.random() < 0.1:
        event["data"] = rng.choice([{"exam_name": "from data"}, None, "x"])
    if rng.random() < 0.15:
        event["event"] = json.dumps(event["event"])  # logged as a JSON string


@pytest.fixture(scope="module")
def exam_pair() -> Pair:
    return pair()


def test_every_exam_fixture_is_handled_natively(exam_pair: Pair) -> None:
    assert len(EXAM) == 6
    must_handle(exam_pair, EXAM)


@pytest.mark.parametrize("mode", ["hashed", "erb_strict"])
def test_exam_fixtures_in_other_modes(mode: str) -> None:
    must_handle(pair(**MODES[mode]), EXAM)


@pytest.mark.parametrize("mode", list(MODES))
def test_exam_random_variations(mode: str) -> None:
    lines = variations(EXAM, 2500, seed=20261130 + list(MODES).index(mode), vary=vary_exam)
    outcomes = check(pair(**MODES[mode]), lines)
    # many variations make ids the Python path refuses (not IRIs, not strings)
    assert outcomes.get("native", 0) > len(lines) // 3, outcomes
    assert outcomes.get("python", 0) > 50, outcomes
