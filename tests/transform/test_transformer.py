"""Transformer behaviour beyond the fixtures: allow-list, unknown names, malformed events."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from aspects.errors import ConfigError
from aspects.transform import MalformedEvent, Transformer, statement_row_values
from tests.transform.conftest import EVENTS, erb_transformer, load_json


def fixture(name: str) -> dict[str, Any]:
    return load_json(EVENTS / f"{name}.json")  # type: ignore[no-any-return]


def test_allow_list_limits_what_is_transformed() -> None:
    transformer = erb_transformer(enabled_events=["play_video"])
    assert transformer.enabled == {"play_video"}
    assert transformer.accepts("play_video")
    assert not transformer.accepts("pause_video")
    assert len(transformer.transform(fixture("play_video"))) == 1
    assert transformer.transform(fixture("pause_video")) == []


def test_allow_list_with_an_unsupported_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"no\.such\.event"):
        erb_transformer(enabled_events=["play_video", "no.such.event"])


def test_unknown_names_give_nothing_and_are_not_accepted(default: Transformer) -> None:
    event = fixture("play_video")
    event["name"] = "edx.bi.user.account.registered"
    assert not default.accepts("edx.bi.user.account.registered")
    assert default.transform(event) == []
    assert default.transform({}) == []


def test_event_type_names_older_events(default: Transformer) -> None:
    event = fixture("play_video")
    event["event_type"] = event.pop("name")
    assert len(default.transform(event)) == 1


def _mutate(name: str, change: Any) -> dict[str, Any]:
    event = copy.deepcopy(fixture(name))
    change(event)
    return event


MALFORMED = {
    "no course for enrollment": (
        "edx.course.enrollment.activated",
        lambda e: e["context"].pop("course_id"),
        "context.course_id",
    ),
    "completion not a number": (
        "edx.completion.block_completion.changed",
        lambda e: e["data"].update(completion="all"),
        "data.completion",
    ),
    "speed as a number": (
        "speed_change_video",
        lambda e: e["data"].update(old_speed=1.5),
        "old_speed",
    ),
    "no video id": ("play_video", lambda e: e["data"].pop("id"), "data.id"),
    "time not ISO 8601": (
        "play_video",
        lambda e: e.update(timestamp="yesterday"),
        "not ISO 8601",
    ),
    "no time": ("play_video", lambda e: e.pop("timestamp"), "timestamp"),
    "no user": (
        "play_video",
        lambda e: (e["context"].pop("user_id"), e["context"].pop("username")),
        "no user",
    ),
    "grade fields missing": (
        "edx.grades.subsection.grade_calculated",
        lambda e: e["data"].pop("weighted_total_earned"),
        "weighted_total_earned",
    ),
    "forum path not a string": (
        "edx.forum.thread.created",
        lambda e: e["context"].update(path=3),
        "context.path",
    ),
    "video time not a number": (
        "pause_video",
        lambda e: e["data"].update(currentTime="soon"),
        "currentTime",
    ),
    "outline without target": (
        "edx.ui.lms.outline.selected",
        lambda e: e["data"].pop("target_url"),
        "does not identify its object",
    ),
    "link to a relative URL": (
        "edx.ui.lms.link_clicked",
        lambda e: e["data"].update(target_url="/courses/x"),
        "not an absolute IRI",
    ),
    "completion without block": (
        "edx.completion.block_completion.changed",
        lambda e: e["data"].pop("block_id"),
        "does not identify its object",
    ),
    "exam without course": (
        "edx.special_exam.timed.attempt.created",
        lambda e: e["context"].pop("course_id"),
        "course_id",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_events_raise_with_a_reason(case: str, default: Transformer) -> None:
    name, change, reason = MALFORMED[case]
    with pytest.raises(MalformedEvent) as error:
        default.transform(_mutate(name, change))
    assert reason in error.value.reason
    assert error.value.reason.startswith(name)


def test_wrong_types_deep_inside_become_malformed_events(default: Transformer) -> None:
    event = _mutate("edx.forum.thread.created", lambda e: e.update(data="not an object"))
    with pytest.raises(MalformedEvent):
        default.transform(event)


def test_statement_row_values_give_id_and_json(default: Transformer) -> None:
    (statement,) = default.transform(fixture("play_video"))
    statement_id, text = statement_row_values(statement)
    assert str(statement_id) == statement["id"]
    assert json.loads(text) == statement


def test_default_version_is_ours_and_configurable() -> None:
    from aspects import __version__
    from aspects.transform.settings import TransformSettings

    key = "https://w3id.org/xapi/openedx/extension/transformer-version"
    ours = Transformer(TransformSettings(), secret="s").transform(fixture("play_video"))
    assert ours[0]["context"]["extensions"][key] == f"aspects@{__version__}"
    theirs = erb_transformer().transform(fixture("play_video"))
    assert theirs[0]["context"]["extensions"][key] == "event-routing-backends@1.1.1"


def test_repairs_keep_statement_ids(default: Transformer, strict: Transformer) -> None:
    for name in (
        "problem_check(server,multiple_questions,correct)",
        "edx.special_exam.timed.attempt.created",
        "problem_check(server).max_grade_0",
    ):
        repaired, original = default.transform(fixture(name)), strict.transform(fixture(name))
        assert [s["id"] for s in repaired] == [s["id"] for s in original]
        assert repaired != original
    (exam,) = default.transform(fixture("edx.special_exam.timed.attempt.created"))
    grouping = exam["context"]["contextActivities"]["grouping"][0]["id"]
    assert grouping == "http://localhost:18000/exam_attempt/438AD672-DE2C-4F0B-8876-35444E7DD746"


def test_absurd_events_are_malformed_not_crashes(default: Transformer) -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(1020):  # deeper than Python's recursion limit, within orjson's
        inner["x"] = {}
        inner = inner["x"]
    event = fixture("play_video")
    event["context"].pop("session")
    event["context"]["deep"] = deep
    with pytest.raises(MalformedEvent):
        default.transform(event)
    huge = fixture("play_video")
    huge["data"]["currentTime"] = 10**400
    with pytest.raises(MalformedEvent):
        default.transform(huge)
