"""Lines of a tracking log -> xAPI statements and dead letters (pure; runs in worker processes).

Everything here must be picklable by value: backfill runs it in worker processes, so the
converter is built from plain settings in each worker (``LineConverter.from_spec``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from aspects.ingest.files import Chunk, split_lines
from aspects.store.statements import PackedStatements, StatementPacker
from aspects.transform.fast import ChunkAnswer, DeriveColumns

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
# A whole chunk through the native transformer (FastTransformer.chunk: see ChunkAnswer)
NativeChunk = Callable[[bytes], ChunkAnswer]

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
    # More statements, after ``statements``: the Python path's when only one of the two parts
    # has its derived columns (they cannot be joined then; the INSERT takes a list of parts).
    extra: PackedStatements = _NO_STATEMENTS

    @property
    def parts(self) -> list[PackedStatements]:
        """The parts that hold statements, in order."""
        return [part for part in (self.statements, self.extra) if part.count]

    @property
    def count(self) -> int:
        """Statements in all parts."""
        return self.statements.count + self.extra.count

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

    ``chunk``: the native transformer's whole-chunk entry point (:data:`NativeChunk`), used
    instead of ``fast`` when given (and nothing is labelled): one call per chunk instead of one
    per line and no Python object per statement but its actor id (measured: ~8 us less of the
    workers' CPU per event). The lines it leaves take the Python path as above; their
    statements come after the native ones (row order inside an INSERT means nothing to the
    tables). The lines it rejects for certain (with the Python transformer's reason, e.g. a
    problem_check that does not identify its problem: ~1.3% of the benchmark's lines, ~100 us
    each on the Python path) become dead letters without the Python path. ``derive``: the
    native ``derive_columns``, for the Python path's statements.
    """

    def __init__(
        self,
        parse: ParseFunction,
        transform: TransformFunction,
        max_line: int,
        *,
        labels: bool = True,
        fast: FastRows | None = None,
        chunk: NativeChunk | None = None,
        derive: DeriveColumns | None = None,
    ) -> None:
        self._parse = parse
        self._transform = transform
        self._max_line = max_line
        self._labels = labels
        # Labels need the parsed event (name, organisation): the Python path gives them.
        self._fast = None if labels else fast
        self._chunk = None if labels else chunk
        self._derive = derive

    @property
    def native(self) -> bool:
        """Whether lines go through the native transformer first."""
        return self._fast is not None or self._chunk is not None

    def convert(self, chunk: Chunk) -> Converted:
        answer = None if self._chunk is None else native_answer(self._chunk, chunk.data)
        if answer is not None:
            return self._convert_chunk(chunk, answer)
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

    def _convert_chunk(self, chunk: Chunk, answer: ChunkAnswer) -> Converted:
        """The native answer for ``chunk``, and the Python path for the lines it left."""
        ids, texts, actors, events, skipped, unhandled, derived, rejected = answer
        result = Converted(chunk.start, chunk.end, events=events, skipped=skipped)
        native = with_derived(PackedStatements(ids, texts, actors), derived)
        packer = StatementPacker()
        data, start = chunk.data, chunk.start
        for begin, end in unhandled:
            self._convert_line(start + begin, data[begin:end], packer, result)
        if rejected:  # the dead letters of both paths in the lines' order, as line by line
            cut = self._max_line
            result.rejected += [
                (start + begin, reason, data[begin:end][:cut], end - begin)
                for begin, end, reason in rejected
            ]
            result.rejected.sort(key=_offset)
        if not len(packer):
            result.statements = native if native.count else _NO_STATEMENTS
            return result
        python = packer.build()
        if not native.count:
            result.statements = self._derived(python)
            return result
        if native.derived is not None:
            python = self._derived(python)
            if python.derived is None:  # one part with its columns, one without
                result.statements, result.extra = native, python
                return result
        result.statements = join(native, python)
        return result

    def _derived(self, part: PackedStatements) -> PackedStatements:
        """``part`` with its derived columns when ``derive`` is sure of every statement."""
        if self._derive is None:
            return part
        try:
            streams = self._derive(part.texts)
        except Exception:  # not expected: ClickHouse computes them instead
            streams = None
        return with_derived(part, streams)

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


def native_answer(native: NativeChunk, data: bytes) -> ChunkAnswer | None:
    """The native answer for a chunk; None when it fails (not expected: the chunk then goes line
    by line, as without the whole-chunk entry point)."""
    try:
        answer = native(data)
        ids, _, actors, _, _, _, _, _ = answer
    except Exception:
        return None
    if len(ids) != 16 * len(actors):  # would shift the columns of the INSERT
        return None
    return answer


def _offset(rejected: Rejected) -> int:
    return rejected[0]


def with_derived(part: PackedStatements, streams: Sequence[bytes] | None) -> PackedStatements:
    """``part`` with these derived columns, or without any when they do not fit its statements
    (not expected; ClickHouse then computes them)."""
    try:
        return part.with_derived(streams)
    except ValueError:
        return part.with_derived(None)


def join(first: PackedStatements, second: PackedStatements) -> PackedStatements:
    """One part of the statements of both; with derived columns only when both have them (a
    column's stream of both parts is the two streams one after the other)."""
    derived = None
    if first.derived is not None and second.derived is not None:
        derived = tuple(a + b for a, b in zip(first.derived, second.derived, strict=True))
    return PackedStatements(
        first.ids + second.ids, first.texts + second.texts, first.actors + second.actors, derived
    )
