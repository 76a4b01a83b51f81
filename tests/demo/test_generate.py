"""The demo generator: real tracking-log shapes, believable and consistent behaviour."""

from __future__ import annotations

import datetime as dt
import gzip
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from aspects.demo.generate import (
    DemoConfig,
    DemoCourse,
    format_line,
    generate_events,
    write_logs,
)
from aspects.transform import Transformer, parse_line
from aspects.transform.settings import TransformSettings

COURSE = "course-v1:Demo+D101+2026"


def _key(kind: str, name: str) -> str:
    return f"block-v1:Demo+D101+2026+type@{kind}+block@{name}"


def small_course() -> DemoCourse:
    blocks: dict[str, dict[str, Any]] = {
        COURSE: {"type": "course", "display_name": "Demo", "children": [_key("chapter", "c1")]},
        _key("chapter", "c1"): {
            "type": "chapter",
            "display_name": "Week 1",
            "children": [_key("sequential", "s1"), _key("sequential", "s2")],
        },
        _key("sequential", "s1"): {
            "type": "sequential",
            "display_name": "Intro",
            "graded": False,
            "children": [_key("vertical", "v1")],
        },
        _key("sequential", "s2"): {
            "type": "sequential",
            "display_name": "Quiz",
            "graded": True,
            "children": [_key("vertical", "v2")],
        },
        _key("vertical", "v1"): {
            "type": "vertical",
            "children": [_key("video", "a1b2c3d4"), _key("html", "h1")],
        },
        _key("vertical", "v2"): {
            "type": "vertical",
            "children": [_key("problem", "beef01"), _key("problem", "beef02")],
        },
        _key("video", "a1b2c3d4"): {"type": "video", "display_name": "Welcome"},
        _key("html", "h1"): {"type": "html", "display_name": "Reading"},
        _key("problem", "beef01"): {"type": "problem", "display_name": "Q1"},
        _key("problem", "beef02"): {"type": "problem", "display_name": "Q2"},
    }
    return DemoCourse(COURSE, "Demo", blocks, COURSE)


CONFIG = DemoConfig(learners=60, weeks=3, start=dt.date(2026, 3, 2), seed=7)


def _events() -> list[dict[str, Any]]:
    return [event for _day, events in generate_events(CONFIG, [small_course()]) for event in events]


def test_same_seed_same_events_other_seed_other_events() -> None:
    assert _events() == _events()
    other = DemoConfig(learners=60, weeks=3, start=dt.date(2026, 3, 2), seed=8)
    assert [e for _d, es in generate_events(other, [small_course()]) for e in es] != _events()


def test_events_have_tracking_log_shape() -> None:
    events = _events()
    assert len(events) > 1000
    for event in events:
        assert event["name"] == event["event_type"]
        assert event["context"]["course_id"] == COURSE
        assert isinstance(event["context"]["user_id"], int)
        dt.datetime.fromisoformat(event["time"])
        if event["event_source"] == "browser":
            assert isinstance(event["event"], str)  # browser events carry a JSON string
            orjson.loads(event["event"])
        else:
            assert isinstance(event["event"], dict)
    names = Counter(event["name"] for event in events)
    for name in (
        "edx.course.enrollment.activated",
        "problem_check",
        "play_video",
        "edx.grades.course.grade_calculated",
        "edx.completion.block_completion.changed",
        "edx.ui.lms.outline.selected",
    ):
        assert names[name] > 0, name


def test_behaviour_is_consistent_per_learner() -> None:
    by_user: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in _events():
        by_user[event["context"]["user_id"]].append(event)
    assert len(by_user) <= CONFIG.learners
    for events in by_user.values():
        times = [dt.datetime.fromisoformat(event["time"]) for event in events]
        assert times == sorted(times)
        assert events[0]["name"] == "edx.course.enrollment.activated"
        names = [event["name"] for event in events]
        assert names.count("edx.course.grade.passed.first_time") <= 1
        if "edx.course.enrollment.deactivated" in names:
            assert names[-1] == "edx.course.enrollment.deactivated"


def test_write_logs_rotated_gz_then_plain(tmp_path: Path) -> None:
    count, files = write_logs(CONFIG, [small_course()], tmp_path)
    assert files[-1].name == "tracking.log"
    assert all(path.name.endswith(".gz") for path in files[:-1])
    lines = []
    for path in files:
        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            lines.extend(handle)
    assert len(lines) == count
    assert lines[0].split(" - ", 1)[0].endswith("logger.py:41")
    orjson.loads(lines[0][lines[0].index("{") :])


@pytest.mark.parametrize("prefix", [True, False])
def test_logger_prefix_is_optional(tmp_path: Path, prefix: bool) -> None:
    config = DemoConfig(learners=3, weeks=1, start=dt.date(2026, 3, 2), logger_prefix=prefix)
    _count, files = write_logs(config, [small_course()], tmp_path)
    first = files[0]
    opener: Any = gzip.open if first.suffix == ".gz" else open
    with opener(first, "rt", encoding="utf-8") as handle:
        line = handle.readline()
    assert line.startswith("{") != prefix


def test_no_two_events_collapse_into_one_statement_id() -> None:
    """ERB's ids hash actor, verb and time: generated events must all give distinct statements.

    (Before every instant was used once per learner, 43 of 67,262 events of the default demo
    collapsed into another event's statement.)
    """
    transformer = Transformer(TransformSettings(), secret="demo-test")
    config = DemoConfig(learners=400, weeks=3, start=dt.date(2026, 3, 2), seed=1)
    ids: Counter[str] = Counter()
    for _day, events in generate_events(config, [small_course()]):
        for event in events:
            for statement in transformer.transform(parse_line(format_line(event, False).encode())):
                ids[statement["id"]] += 1
    assert len(ids) > 10_000
    assert [key for key, count in ids.items() if count > 1] == []
