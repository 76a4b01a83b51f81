"""From a tracking.log line to an event in the shape event-routing-backends receives.

A line is one JSON object, possibly after a logger prefix
(``2023-05-23 13:53:13,461 INFO 20 [tracking] ... logger.py:41 - {...}``). Like ERB's replay
command we put the log's ``event`` into ``data`` (parsed when it is a string holding JSON, as
browser events carry it), keep ``event`` itself (parsed too: special-exam events are read from
there), copy ``time`` to ``timestamp`` when it is missing, and name the event from ``event_type``
when ``name`` is missing.
"""

from __future__ import annotations

import contextlib
from typing import Any

import orjson

from aspects.transform.errors import MalformedLine


def parse_line(line: str | bytes) -> dict[str, Any]:
    """One tracking-log line -> the event dict; MalformedLine (with a reason) when impossible."""
    # bytes stay bytes: orjson parses them directly (and rejects invalid UTF-8 with a reason)
    text = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
    if text[:1] != b"{":  # a bare JSON line (the common case) is parsed without any copy
        text = text.strip()
        if not text:
            raise MalformedLine("empty line")
    if text[:1] != b"{":
        start, end = text.find(b"{"), text.rfind(b"}")
        if start < 0 or end < start:
            raise MalformedLine("no JSON object in the line")
        text = text[start : end + 1]
    try:
        event: dict[str, Any] = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise MalformedLine(f"invalid JSON: {error}") from None
    # The text starts with "{", so what parsed is an object.
    return to_fixture_shape(event)


def to_fixture_shape(event: dict[str, Any]) -> dict[str, Any]:
    """Normalise a logged event in place (see the module docstring) and return it."""
    if "event" in event:
        payload = event["event"]
        if isinstance(payload, str) and payload[:1] in ("{", "["):
            # some browser events carry plain strings that merely look like JSON
            with contextlib.suppress(orjson.JSONDecodeError):
                payload = orjson.loads(payload)
            event["event"] = payload
        event.setdefault("data", payload)
    if "timestamp" not in event and "time" in event:
        event["timestamp"] = event["time"]
    if not event.get("name") and event.get("event_type"):
        event["name"] = event["event_type"]
    return event
