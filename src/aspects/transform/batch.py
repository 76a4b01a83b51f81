"""Transform whole tracking logs: counts and rejections instead of exceptions.

Nothing is lost: every line is either transformed, skipped because its event is not
transformed (counted by name), or rejected with its source, line number and reason (counted,
and handed to ``on_reject`` so the caller can keep it as a dead letter).
"""

from __future__ import annotations

import gzip
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aspects.transform.errors import MalformedEvent, MalformedLine
from aspects.transform.logline import parse_line
from aspects.transform.transformer import Transformer, event_name

_GZIP_MAGIC = b"\x1f\x8b"
_KEPT_REJECTIONS = 1000


@dataclass(frozen=True, slots=True)
class Rejection:
    source: str
    line_number: int
    reason: str
    line: str

    def __reduce__(self) -> tuple[type[Rejection], tuple[str, int, str, str]]:
        # explicit: the compiled (mypyc) class cannot be unpickled field by field
        return (Rejection, (self.source, self.line_number, self.reason, self.line))


@dataclass
class Summary:
    """What a run did; ``rejections`` keeps the first 1,000 (all are counted and passed on)."""

    events_read: int = 0
    statements: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def reject(self, rejection: Rejection) -> None:
        self.rejected += 1
        if len(self.rejections) < _KEPT_REJECTIONS:
            self.rejections.append(rejection)

    def as_dict(self) -> dict[str, Any]:
        return {
            "events_read": self.events_read,
            "statements_written": self.statements,
            "skipped": sum(self.skipped.values()),
            "skipped_by_name": dict(self.skipped.most_common()),
            "rejected": self.rejected,
        }


def transform_lines(
    transformer: Transformer,
    lines: Iterable[str | bytes],
    summary: Summary,
    *,
    source: str = "-",
    on_reject: Callable[[Rejection], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the statements of every line; count the rest in ``summary``."""
    for number, line in event_lines(lines, summary):
        yield from line_statements(transformer, line, number, summary, source, on_reject)


def event_lines(
    lines: Iterable[str | bytes], summary: Summary
) -> Iterator[tuple[int, str | bytes]]:
    """The lines that hold an event, with their line numbers (1-based), counted as read."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # blank lines (e.g. a trailing newline) are not events
        summary.events_read += 1
        yield number, line


def line_statements(
    transformer: Transformer,
    line: str | bytes,
    number: int,
    summary: Summary,
    source: str = "-",
    on_reject: Callable[[Rejection], None] | None = None,
) -> list[dict[str, Any]]:
    """The statements of one event line, counted; [] when it is skipped or rejected (counted
    too: a skip by event name, a rejection with its source, line number and reason, handed to
    ``on_reject``). The one Python path for a line, also where the native transformer leaves it.
    """
    try:
        event = parse_line(line)
        name = event_name(event)
        if name is None:
            raise MalformedLine("no event name (name or event_type)")
        if not transformer.accepts(name):
            summary.skipped[name] += 1
            return []
        statements = transformer.transform(event)
    except (MalformedLine, MalformedEvent) as error:
        text = line if isinstance(line, str) else line.decode("utf-8", "replace")
        rejection = Rejection(source, number, error.reason, text.rstrip("\r\n"))
        summary.reject(rejection)
        if on_reject is not None:
            on_reject(rejection)
        return []
    summary.statements += len(statements)
    return statements


@contextmanager
def open_log(path: str) -> Iterator[IO[bytes]]:
    """A log as binary lines: ``-`` is stdin; gzip is recognised by its magic bytes."""
    if path == "-":
        stdin = sys.stdin.buffer
        head = stdin.peek(2)[:2] if hasattr(stdin, "peek") else b""
        yield gzip.GzipFile(fileobj=stdin) if head == _GZIP_MAGIC else stdin  # type: ignore[misc]
        return
    with Path(path).open("rb") as raw:
        head = raw.read(2)
        raw.seek(0)
        if head == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=raw) as unzipped:
                yield unzipped  # type: ignore[misc]
        else:
            yield raw
