"""Every ERB fixture pair: configured as COMPARING.md says, our output equals ERB's exactly."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from aspects.transform import XAPI_EVENT_NAMES, MalformedEvent, Transformer
from tests.transform.conftest import (
    EVENTS,
    EXPECTED,
    erb_transformer,
    event_files,
    expected_list,
    load_json,
)

COMPARED = [p for p in event_files() if (EXPECTED / p.name).exists() and "anonymous" not in p.name]
UNCOMPARED = [p for p in event_files() if not (EXPECTED / p.name).exists()]

# The 8 newer names ERB maps to the transformation of an older name (COMPARING.md).
ALIASES = {
    "edx.video.loaded": "load_video",
    "edx.video.played": "play_video",
    "edx.video.paused": "pause_video",
    "edx.video.stopped": "stop_video",
    "edx.video.completed": "complete_video",
    "edx.video.transcript.shown": "show_transcript",
    "edx.video.transcript.hidden": "hide_transcript",
    "edx.ui.lms.sequence.outline.selected": "edx.ui.lms.outline.selected",
}


def test_the_fixture_set_is_complete() -> None:
    assert len(event_files()) == 81
    assert len(COMPARED) == 76
    assert len(UNCOMPARED) == 4


@pytest.mark.parametrize("path", COMPARED, ids=lambda p: p.stem)
def test_output_equals_erb_exactly(path: Path, strict: Transformer) -> None:
    assert strict.transform(load_json(path)) == expected_list(path.name)


@pytest.mark.parametrize("path", COMPARED, ids=lambda p: p.stem)
def test_same_event_same_statements(path: Path, strict: Transformer) -> None:
    event = load_json(path)
    first = strict.transform(copy.deepcopy(event))
    assert erb_transformer(erb_strict=True).transform(event) == first
    assert event == load_json(path), "the transformer must not modify its input"


def test_anonymous_event_is_refused(strict: Transformer) -> None:
    event = load_json(EVENTS / "edx.ui.lms.link_clicked(anonymous_user).json")
    with pytest.raises(MalformedEvent) as error:
        strict.transform(event)
    assert "no user" in error.value.reason


@pytest.mark.parametrize("path", UNCOMPARED, ids=lambda p: p.stem)
def test_events_erb_does_not_compare_give_one_statement(path: Path, default: Transformer) -> None:
    """Our decision for these: one (valid, see test_validity) statement, not a refusal."""
    (statement,) = default.transform(load_json(path))
    assert statement["object"]["id"].startswith("http://localhost:18000/xblock/")


def test_null_duration_and_null_weight_are_left_out(default: Transformer) -> None:
    (video,) = default.transform(
        load_json(EVENTS / "edx.video.closed_captions.hidden.null.duration.json")
    )
    assert "https://w3id.org/xapi/video/extensions/length" not in video["context"]["extensions"]
    (problem,) = default.transform(
        load_json(EVENTS / "edx.grades.problem.submitted.weighted_possible_null.json")
    )
    assert problem["result"]["score"]["min"] == 0
    assert "max" not in problem["result"]["score"], "0 possible points: no max (must be > min)"


def test_all_65_erb_event_names_are_supported() -> None:
    fixture_names = {load_json(p).get("name") for p in event_files()}
    assert len(fixture_names) == 57
    assert fixture_names | set(ALIASES) == XAPI_EVENT_NAMES
    assert len(XAPI_EVENT_NAMES) == 65


@pytest.mark.parametrize(("alias", "older"), sorted(ALIASES.items()))
def test_newer_names_transform_like_their_older_names(
    alias: str, older: str, strict: Transformer
) -> None:
    (path,) = [p for p in event_files() if p.stem == older]
    event = load_json(path)
    event["name"] = alias
    assert strict.transform(event) == expected_list(path.name)
