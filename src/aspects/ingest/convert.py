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
# line -> the native transformer's answer (aspects.transform.fast, FastTransformer.rows): its
# statements as (16 id bytes, big-endian; JSON; actor id), the event's name when it is not
# accepted (skipped), or None when the Python path must convert the line
FastRows = Callable[[bytes], list[tuple[bytes, bytes, str]] | str | None]

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

    ``fast``: the native transformer's ``rows`` (:class:`FastRows`), tried first on each line
    when nothing is labelled; a line it does not handle (None) goes through ``parse`` and
    ``transform`` as without it, which also gives rejected lines their reasons. The stored rows
    are the same either way (the native transformer is byte-identical to the Python one).
    """

    def __init__(
        self,
        parse: ParseFunction,
        transform: TransformFunction,
        max_line: int,
        *,
        labels: bool = True,
        fast: FastRows | None = None,
    ) -> None:
        self._parse = parse
        self._transform = transform
        self._max_line = max_line
        self._labels = labels
        # Labels need the parsed event (name, organisation): the Python path gives them.
        self._fast = None if labels else fast

    @property
    def native(self) -> bool:
        """Whether lines go through the native transformer first."""
        return self._fast is not None

    def convert(self, chunk: Chunk) -> Converted:
        result = Converted(chunk.start, chunk.end)
        packer = StatementPacker()
        converted = False
        if self._fast is not None:
            try:
                self._convert_fast(chunk, self._fast, packer, result)
                converted = True
            except Exception:  # rows it could not pack (not expected): Python's answers instead
                result, packer = Converted(chunk.start, chunk.end), StatementPacker()
        if not converted:
            for offset, line in split_lines(chunk):
                result.events += 1
                self._convert_line(offset, line, packer, result)
        if len(packer):
            result.statements = packer.build()
        return result

    def _convert_fast(
        self, chunk: Chunk, fast: FastRows, packer: StatementPacker, result: Converted
    ) -> None:
        """The lines of ``chunk`` through ``fast``, and the Python path for those it leaves.

        Consecutive lines' rows are packed together (one :meth:`StatementPacker.add_rows` per
        run of handled lines, not one per line), before any line of the Python path, so the
        statements keep the lines' order. Raises when ``add_rows`` refuses the rows.
        """
        pending: list[tuple[bytes, bytes, str]] = []
        events = skipped = 0
        for offset, line in split_lines(chunk):
            events += 1
            try:
                answer = fast(line)
            except Exception:  # not expected; the Python path decides what the line gives
                answer = None
            if answer is None:
                if pending:
                    packer.add_rows(pending)
                    pending = []
                self._convert_line(offset, line, packer, result)
            elif isinstance(answer, str) or not answer:  # not accepted, or no statement
                skipped += 1
            else:
                pending += answer
        if pending:
            packer.add_rows(pending)
        result.events += events
        result.skipped += skipped

    def _convert_line(
        self, offset: int, line: bytes, packer: StatementPacker, result: Converted
    ) -> None:
        """One line through ``parse`` and ``transform`` (not counted in ``result.events``)."""
        try:
            event = self._parse(line)
            produced = self._transform(event)
            packer.add_all(produced)  # serialises them: may fail too, adding none
        except Exception as error:  # a bad line loses only itself
            reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
            result.rejected.append((offset, str(reason), line[: self._max_line], len(line)))
            return
        if not produced:
            result.skipped += 1
            return
        if not self._labels:
            return
        labels = result.labels
        name, org = event_name(event), event_org(event)
        if labels and labels[-1][0] == name and labels[-1][1] == org:
            labels[-1] = (name, org, labels[-1][2] + len(produced))
        else:
            labels.append((name, org, len(produced)))
