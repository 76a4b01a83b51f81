"""Transform chunks of log lines in worker processes: every core for a backfill.

One transformer per worker process, built once when the worker starts (from a picklable
:class:`WorkerSpec`: settings, the resolved secret, a snapshot of the course names), then each
chunk of raw lines comes back as ready-to-insert rows (statement id, JSON text) with its
counts and rejections. Workers are spawned, not forked: the parent may hold an embedded
database, which a forked child must not inherit. Course names from the store are passed as a
snapshot (``StoreCourseNames.snapshot()``): workers cannot open the parent's embedded database.

::

    spec = WorkerSpec(settings.transform, secret, course_names=names)
    with TransformPool(spec, workers=2) as pool:
        for result in pool.map(chunks):  # chunks: (lines, source, first line number)
            insert(result.rows)
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from types import TracebackType

import orjson

from aspects.transform.batch import Rejection, Summary, transform_lines
from aspects.transform.courses import (
    CourseNames,
    StaticCourseNames,
    load_course_names,
    no_course_names,
)
from aspects.transform.identity import load_external_ids
from aspects.transform.settings import TransformSettings
from aspects.transform.transformer import Transformer

# (statement id, statement JSON text): what aspects.store.statements.StatementRow needs
Row = tuple[str, str]
# (lines, source name, line number of the first line)
LineChunk = tuple[Sequence[str | bytes], str, int]


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to build the same transformer as the parent (picklable)."""

    settings: TransformSettings
    secret: str
    course_names: Mapping[str, str] | None = None  # else settings.course_names_file, else none
    vocabulary: str = "xapi"

    def build(self) -> Transformer:
        settings = self.settings
        names: CourseNames
        if self.course_names is not None:
            names = StaticCourseNames(self.course_names)
        elif settings.course_names_file is not None:
            names = load_course_names(settings.course_names_file)
        else:
            names = no_course_names
        ids_file = settings.external_ids_file
        return Transformer(
            settings,
            secret=self.secret,
            course_names=names,
            external_ids=load_external_ids(ids_file) if ids_file is not None else None,
            vocabulary="caliper" if self.vocabulary == "caliper" else "xapi",
        )


@dataclass
class ChunkResult:
    """What one chunk became: rows to insert, counts, and every rejected line (kept)."""

    source: str
    first_line: int
    rows: list[Row] = field(default_factory=list)
    events_read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    # (line number, reason, line text) of each rejected line
    rejected: list[tuple[int, str, str]] = field(default_factory=list)


def transform_chunk(
    transformer: Transformer, lines: Sequence[str | bytes], source: str, first_line: int = 1
) -> ChunkResult:
    """Transform one chunk in this process (what each worker runs)."""
    summary = Summary()
    result = ChunkResult(source, first_line)
    rejected = result.rejected

    def keep(rejection: Rejection) -> None:
        rejected.append((rejection.line_number, rejection.reason, rejection.line))

    rows = result.rows
    for statement in transform_lines(
        transformer, lines, summary, source=source, on_reject=keep, first_line=first_line
    ):
        rows.append((statement["id"], orjson.dumps(statement).decode()))
    result.events_read = summary.events_read
    result.skipped = dict(summary.skipped)
    return result


# The transformer of this worker process, built once by the pool's initializer: a process
# pool offers no other per-worker state. Unused (None) in the parent process.
_worker_transformer: Transformer | None = None


def _start_worker(spec: WorkerSpec) -> None:
    global _worker_transformer
    _worker_transformer = spec.build()


def _run_in_worker(lines: Sequence[str | bytes], source: str, first_line: int) -> ChunkResult:
    if _worker_transformer is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("transform worker used without its initializer")
    return transform_chunk(_worker_transformer, lines, source, first_line)


class TransformPool:
    """Worker processes that transform chunks of lines; results come back in chunk order."""

    def __init__(self, spec: WorkerSpec, workers: int | None = None) -> None:
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._executor = ProcessPoolExecutor(
            max(1, self.workers),
            mp_context=get_context("spawn"),
            initializer=_start_worker,
            initargs=(spec,),
        )

    def submit(
        self, lines: Sequence[str | bytes], source: str, first_line: int = 1
    ) -> Future[ChunkResult]:
        return self._executor.submit(_run_in_worker, lines, source, first_line)

    def map(self, chunks: Iterable[LineChunk]) -> Iterator[ChunkResult]:
        """Results of ``chunks`` in order, with at most two chunks per worker in flight."""
        pending: deque[Future[ChunkResult]] = deque()
        window = 2 * max(1, self.workers)
        for lines, source, first_line in chunks:
            pending.append(self.submit(lines, source, first_line))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> TransformPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
