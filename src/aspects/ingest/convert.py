"""Lines of a tracking log -> xAPI statements and dead letters (pure; runs in worker processes).

Everything here must be picklable by value: backfill runs it in worker processes, so the
converter is built from plain settings in each worker (``LineConverter.from_spec``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aspects.ingest.files import Chunk, split_lines

# statement id, statement JSON text, Open edX event name, course organisation
StatementText = tuple[str, str, str, str]
# offset, reason, line (cut to the configured bound), original length in bytes
Rejected = tuple[int, str, bytes, int]
# event -> (statement id, JSON text) for each statement it yields
TransformFunction = Callable[[dict[str, Any]], list[tuple[str, str]]]
# line -> event, raising a MalformedLine-like error with a ``reason``
ParseFunction = Callable[[bytes], dict[str, Any]]


@dataclass(slots=True)
class Converted:
    """What one chunk of lines became."""

    start: int
    end: int
    statements: list[StatementText] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    events: int = 0
    skipped: int = 0


def event_org(event: dict[str, Any]) -> str:
    """The course organisation of an event, for forwarding filters ('' when it has none)."""
    context = event.get("context")
    if isinstance(context, dict):
        org = context.get("org_id")
        if isinstance(org, str) and org:
            return org
        course = context.get("course_id")
        if isinstance(course, str) and course.startswith("course-v1:") and "+" in course:
            return course[len("course-v1:") :].split("+", 1)[0]
    return ""


def event_name(event: dict[str, Any]) -> str:
    for key in ("name", "event_type"):
        value = event.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


class LineConverter:
    """Turns whole lines into statements; every failure becomes a dead letter with its reason."""

    def __init__(self, parse: ParseFunction, transform: TransformFunction, max_line: int) -> None:
        self._parse = parse
        self._transform = transform
        self._max_line = max_line

    def convert(self, chunk: Chunk) -> Converted:
        result = Converted(chunk.start, chunk.end)
        for offset, line in split_lines(chunk):
            result.events += 1
            try:
                event = self._parse(line)
                produced = self._transform(event)
            except Exception as error:  # a bad line loses only itself
                reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
                result.rejected.append((offset, str(reason), line[: self._max_line], len(line)))
                continue
            if not produced:
                result.skipped += 1
                continue
            name, org = event_name(event), event_org(event)
            for statement_id, text in produced:
                result.statements.append((statement_id, text, name, org))
        return result
