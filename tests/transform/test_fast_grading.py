"""The native (Rust) grading transform (subsection and course grades) against the Python path.

Every grading fixture, in every logged shape, is handled natively and equal; seeded random
variations of the scores (ints, floats, numeric strings, nulls, zeros, huge and tiny values,
wrong types), block ids, letters and courses give exactly the Python output or "not handled".
"""

from __future__ import annotations

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

GRADING = sorted(EVENTS.glob("edx.grades.subsection.*.json")) + sorted(
    EVENTS.glob("edx.grades.course.*.json")
)
NUMBERS: list[Any] = [
    0,
    1,
    3,
    -2,
    0.0,
    -0.0,
    3.0,
    0.5,
    1 / 3,
    1e-7,
    1e16,
    1e308,
    5e-324,
    2**53,
    2**53 + 1,
    -(2**53),
    2**63,
    "1.5",
    " 2 ",
    "-0",
    "1e400",
    "nan",
    "inf",
    "1_0",
    "abc",
    "",
    None,
    True,
    False,
    [],
    {},
    [1],
    ...,
]


def vary_grading(event: dict[str, Any], rng: random.Random) -> None:
    for key in ("weighted_total_possible", "weighted_total_earned", "percent_grade"):
        if rng.random() < 0.35:
            set_path(event, f"data.{key}", rng.choice(NUMBERS))
    if rng.random() < 0.2:
        set_path(event, "data.letter_grade", rng.choice([*ODD, "Pass", "A", ...]))
    if rng.random() < 0.15:
        set_path(event, "data.block_id", rng.choice([*ODD, "block-v1:a+b+c+type@x+block@1", ...]))
    if rng.random() < 0.05:
        event["data"] = rng.choice([None, "", [], "text", {"x": 1}])


@pytest.fixture(scope="module")
def grading_pair() -> Pair:
    return pair()


def test_every_grading_fixture_is_handled_natively(grading_pair: Pair) -> None:
    assert len(GRADING) == 4
    must_handle(grading_pair, GRADING)


@pytest.mark.parametrize("mode", ["hashed", "erb_strict"])
def test_grading_fixtures_in_other_modes(mode: str) -> None:
    must_handle(pair(**MODES[mode]), GRADING)


@pytest.mark.parametrize("mode", list(MODES))
def test_grading_random_variations(mode: str) -> None:
    lines = variations(GRADING, 2500, seed=20261129 + list(MODES).index(mode), vary=vary_grading)
    outcomes = check(pair(**MODES[mode]), lines)
    assert outcomes.get("native", 0) > len(lines) // 2, outcomes
    assert outcomes.get("python", 0) > 50, outcomes
