"""Realistic tracking-log lines for benchmarks, demos and tests, made from sample events.

Each sample event (ERB's fixture shape: ``data``, ``timestamp``) is turned back into the shape
the LMS logs (``event``, a JSON string for browser events; ``time``; ``event_type``) with
placeholders for the user, the course and the time, so millions of varied lines cost only
string replacements.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

_DEMO_COURSE = "edX+DemoX+Demo_Course"
_UID, _UNAME, _TIME, _COURSE, _ORG = "@@UID@@", "@@UNAME@@", "@@TIME@@", "@@COURSE@@", "@@ORG@@"


def _placeholders(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "user_id" and item not in (None, ""):
                out[key] = _UID
            elif key == "username" and item:
                out[key] = _UNAME
            elif key == "org_id" and item == "edX":
                out[key] = _ORG
            else:
                out[key] = _placeholders(item)
        return out
    if isinstance(value, list):
        return [_placeholders(item) for item in value]
    if isinstance(value, str):
        return value.replace(_DEMO_COURSE, _COURSE)
    return value


def log_template(event: dict[str, Any]) -> str:
    """A tracking-log line of ``event`` with placeholders (see the module docstring)."""
    shaped = _placeholders(event)
    context = shaped.get("context", {})
    source = context.get("event_source", "server") if isinstance(context, dict) else "server"
    line: dict[str, Any] = {
        "name": shaped.get("name"),
        "event_type": shaped.get("name"),
        "event_source": source,
        "username": context.get("username", "") if isinstance(context, dict) else "",
        "time": _TIME,
        "context": context,
        "host": "lms.example.org",
        "ip": "10.0.0.1",
        "agent": "Mozilla/5.0",
        "page": None,
    }
    if "event" in shaped:  # already in the logged shape
        line["event"] = shaped["event"]
    else:
        data = shaped.get("data", {})
        browser = source == "browser" and not isinstance(data, str)
        line["event"] = orjson.dumps(data).decode() if browser else data
    for key, value in shaped.items():
        if key not in ("data", "timestamp", "time", "name", "context", "event") and key not in line:
            line[key] = value
    text = orjson.dumps(line).decode()
    # A user id inside a JSON string (browser events) stays a string; elsewhere it is a number.
    return text.replace(f'"{_UID}"', _UID)


def load_templates(directory: Path) -> list[str]:
    """Templates of every sample event in ``directory`` (``*.json``), in name order."""
    templates = []
    for path in sorted(directory.glob("*.json")):
        if "anonymous" in path.name:
            continue
        templates.append(log_template(orjson.loads(path.read_bytes())))
    return templates


def synthetic_lines(
    templates: list[str],
    count: int,
    *,
    seed: int = 0,
    start: datetime | None = None,
    per_second: float = 100.0,
    users: int = 5000,
    courses: int = 20,
    malformed_every: int = 0,
) -> Iterator[bytes]:
    """``count`` lines (with newlines) of events spread ``1/per_second`` apart from ``start``.

    ``malformed_every``: every n-th line is cut in half (0: none), to exercise dead letters.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrecy
    moment = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    step = timedelta(seconds=1 / per_second)
    course_keys = [(f"Org{n % 4}", f"Org{n % 4}+Course{n}+2026_T1") for n in range(courses)]
    for index in range(count):
        template = templates[rng.randrange(len(templates))]
        org, course = course_keys[rng.randrange(courses)]
        user = rng.randrange(1, users + 1)
        text = (
            template.replace(_UID, str(user))
            .replace(_UNAME, f"learner{user}")
            .replace(_COURSE, course)
            .replace(_ORG, org)
            .replace(_TIME, (moment + step * index).isoformat())
        )
        line = text.encode()
        if malformed_every and index % malformed_every == malformed_every - 1:
            line = line[: len(line) // 2]
        yield line + b"\n"


def write_lines(path: Path, lines: Iterable[bytes]) -> int:
    """Write lines to ``path`` (gzip when it ends with .gz); returns the bytes written."""
    import gzip

    written = 0
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wb") as handle:
        for line in lines:
            handle.write(line)
            written += len(line)
    return written
