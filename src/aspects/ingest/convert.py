"""Lines of a tracking log -> xAPI statements and dead letters (pure; runs in worker processes).

Everything here must be picklable by value: backfill runs it in worker processes, so the
converter is built from plain settings in each worker (``LineConverter.from_spec``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aspects.ingest.files import Chunk, split_lines
from aspects.store.statements import PackedStatements, StatementPacker

# offset, reason, line (cut to the configured bound), original length in bytes
Rejected = tuple[int, str, bytes, int]
# event -> the statements it yields (each with its canonical UUID text as "id")
TransformFunction = Callable[[dict[str, Any]], list[dict[str, Any]]]
# line -> event, raising a MalformedLine-like error with a ``reason``
ParseFunction = Callable[[bytes], dict[str, Any]]
# (Open edX event name, course organisation, how many consecutive statements have them)
Labels = tuple[str, str, int]

_NO_STATEMENTS = PackedStatements(b"", b"", [])


@dataclass(slots=True)
class Converted:
    """What one chunk of lines became.

    ``statements`` are already in the store's insert layout (bytes), so that handing them from a
    worker process to the writer and inserting them costs no per-statement Python work there;
    ``labels`` (event name and organisation, run-length encoded) are for forwarding filters,
    made only by a converter built for forwarding (empty otherwise).
    """

    start: int
    end: int
    statements: PackedStatements = _NO_STATEMENTS
    labels: list[Labels] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    events: int = 0
    skipped: int = 0

    def each_label(self) -> Iterator[tuple[str, str]]:
        """(event name, organisation) of each statement, in order."""
        for name, org, count in self.labels:
            for _ in range(count):
                yield name, org


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
    """Turns whole lines into statements; every failure becomes a dead letter with its reason.

    ``labels``: also label each statement with its event name and organisation, which only the
    forwarding filters read. Off when nothing is forwarded: it cost ~1-1.5 us per event in the
    workers (measured), for nothing.
    """

    def __init__(
        self,
        parse: ParseFunction,
        transform: TransformFunction,
        max_line: int,
        *,
        labels: bool = True,
    ) -> None:
        self._parse = parse
        self._transform = transform
        self._max_line = max_line
        self._labels = labels

    def convert(self, chunk: Chunk) -> Converted:
        result = Converted(chunk.start, chunk.end)
        packer = StatementPacker()
        labels = result.labels
        labelled = self._labels
        for offset, line in split_lines(chunk):
            result.events += 1
            try:
                event = self._parse(line)
                produced = self._transform(event)
                packer.add_all(produced)  # serialises them: may fail too, adding none
            except Exception as error:  # a bad line loses only itself
                reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
                result.rejected.append((offset, str(reason), line[: self._max_line], len(line)))
                continue
            if not produced:
                result.skipped += 1
                continue
            if not labelled:
                continue
            name, org = event_name(event), event_org(event)
            if labels and labels[-1][0] == name and labels[-1][1] == org:
                labels[-1] = (name, org, labels[-1][2] + len(produced))
            else:
                labels.append((name, org, len(produced)))
        if len(packer):
            result.statements = packer.build()
        return result
