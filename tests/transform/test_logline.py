"""Reading tracking.log lines as the LMS writes them, not only the fixture shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aspects.transform import MalformedLine, Transformer, parse_line
from tests.transform.conftest import EXPECTED, event_files, expected_list, load_json

PREFIX = "2023-05-23 13:53:13,461 INFO 20 [tracking] [user 3] [ip 172.18.0.1] logger.py:41 - "
COMPARED = [p for p in event_files() if (EXPECTED / p.name).exists() and "anonymous" not in p.name]


def as_logged(event: dict[str, Any], *, prefix: bool) -> str:
    """The fixture event written the way the LMS's tracking log writes it.

    ``data`` becomes ``event`` (a JSON *string* for browser events), ``timestamp`` becomes
    ``time``, the name is also in ``event_type``; key order is kept.
    """
    browser = (event.get("event_source") or event.get("context", {}).get("event_source")) == (
        "browser"
    )
    logged: dict[str, Any] = {}
    for key, value in event.items():
        if key == "data":
            logged["event"] = json.dumps(value) if browser else value
        elif key == "timestamp":
            logged["time"] = value
        else:
            logged[key] = value
    logged.setdefault("event_type", event.get("name"))
    if browser:
        logged.pop("name", None)  # older browser events name themselves only in event_type
    return (PREFIX if prefix else "") + json.dumps(logged)


@pytest.mark.parametrize("path", COMPARED, ids=lambda p: p.stem)
def test_logged_lines_give_erb_statements(path: Path, strict: Transformer) -> None:
    event = load_json(path)
    expected = expected_list(path.name)
    for prefix in (False, True):
        statements = strict.transform(parse_line(as_logged(event, prefix=prefix)))
        if "data" in event:
            assert statements == expected
        else:
            # Fixtures written with ``event`` (exams, some problem_check): the log's ``event``
            # also becomes ``data`` as ERB's replay does, which can add detail to the object;
            # identity (ids, verbs, actors, objects) is the same.
            assert [s["id"] for s in statements] == [s["id"] for s in expected]
            assert [s["object"].get("id") for s in statements] == [
                s["object"].get("id") for s in expected
            ]


def test_event_as_json_string_is_parsed_into_data() -> None:
    line = json.dumps({"event_type": "play_video", "event": '{"id": "v1", "currentTime": 3}'})
    event = parse_line(line)
    assert event["data"] == {"id": "v1", "currentTime": 3}
    assert event["name"] == "play_video"


def test_time_is_copied_to_timestamp_only_when_missing() -> None:
    assert parse_line('{"time": "t1"}')["timestamp"] == "t1"
    assert parse_line('{"time": "t1", "timestamp": "t2"}')["timestamp"] == "t2"


def test_string_event_that_is_not_json_is_kept_as_it_is() -> None:
    event = parse_line('{"event_type": "problem_check", "event": "input_x_2_1=choice_1"}')
    assert event["data"] == "input_x_2_1=choice_1"
    broken = parse_line('{"event_type": "x", "event": "{not json"}')
    assert broken["data"] == "{not json"


def test_bytes_and_crlf_lines() -> None:
    assert parse_line(b'{"name": "x"}\r\n')["name"] == "x"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "empty line"),
        ("   \n", "empty line"),
        ("no json here", "no JSON object"),
        (PREFIX + '{"name": "x", ', "no JSON object"),
        ('{"name": "x",}', "invalid JSON"),
        ("[1, 2]", "no JSON object"),
        (PREFIX + '{"a": 1} trailing }', "invalid JSON"),
    ],
)
def test_malformed_lines_say_why(line: str, reason: str) -> None:
    with pytest.raises(MalformedLine) as error:
        parse_line(line)
    assert reason in error.value.reason
