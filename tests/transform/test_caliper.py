"""Caliper output: every ERB Caliper fixture, compared as ERB compares them (ids excluded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aspects.transform import MalformedEvent, StaticCourseNames, Transformer
from aspects.transform.caliper.base import event_time, iso_seconds
from aspects.transform.settings import TransformSettings
from aspects.transform.transformer import CALIPER_EVENT_NAMES
from tests.transform.conftest import (
    ERB_VERSION,
    EVENTS,
    FIXTURES,
    everyone_is_the_fixture_user,
    load_json,
)

CALIPER = sorted((FIXTURES / "caliper").glob("*.json"))
COMPARED = [p for p in CALIPER if "anonymous" not in p.name]


@pytest.fixture
def caliper() -> Transformer:
    return Transformer(
        TransformSettings(transformer_version=ERB_VERSION),
        secret="s",
        course_names=StaticCourseNames({}, default="Demonstration Course"),
        external_ids=everyone_is_the_fixture_user(),
        vocabulary="caliper",
    )


def test_fixture_set() -> None:
    assert len(CALIPER) == 35
    assert len(CALIPER_EVENT_NAMES) == 35


@pytest.mark.parametrize("path", COMPARED, ids=lambda p: p.stem)
def test_output_equals_erb_except_the_random_id(path: Path, caliper: Transformer) -> None:
    event = load_json(EVENTS / path.name)
    (produced,) = caliper.transform(event)
    expected = load_json(path)
    assert produced.pop("id").startswith("urn:uuid:")
    expected.pop("id")
    assert produced == expected


def test_ids_are_deterministic(caliper: Transformer) -> None:
    event = load_json(EVENTS / "play_video.json")
    assert caliper.transform(event) == caliper.transform(event)


def test_anonymous_event_is_refused(caliper: Transformer) -> None:
    with pytest.raises(MalformedEvent):
        caliper.transform(load_json(EVENTS / "edx.ui.lms.link_clicked(anonymous_user).json"))


def test_names_without_a_caliper_mapping_are_not_accepted(caliper: Transformer) -> None:
    assert not caliper.accepts("edx.forum.thread.created")
    assert caliper.transform(load_json(EVENTS / "edx.forum.thread.created.json")) == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(195, "PT3M15S"), (0.032788, "PT0.032788S"), (0, "P0D"), (90061.5, "P1DT1H1M1.5S")],
)
def test_durations(seconds: float, text: str) -> None:
    assert iso_seconds(seconds) == text


def test_event_time_is_utc_milliseconds() -> None:
    assert event_time("2020-07-15T08:36:01.917775+02:00") == "2020-07-15T06:36:01.917Z"
    assert event_time("2020-07-15T06:36:01") == "2020-07-15T06:36:01.000Z"
