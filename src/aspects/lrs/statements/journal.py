"""The LRS's write-ahead journal: a request is answered once its statements are here (fsync'd).

chDB spends ~10-20 ms of CPU on every INSERT whatever its size, and one INSERT per commit capped
the LRS near 2,000 statements/s. So a commit appends the stored statements (``stored`` and
``authority`` already set, with the hash that detects conflicts) and the attachment bodies to an
append-only file and ``fdatasync``s it; the writer inserts what is pending into the store in large
batches a moment later (:class:`~aspects.lrs.statements.writer.StatementWriter`).

The journal is a directory of numbered segments, one per LRS instance (``lrs.instance``), so
several LRS processes sharing one store keep their own. The writer rotates to a new segment when
it takes the pending rows for a flush and deletes the old segments once their rows are in the
store. A process that crashed leaves segments behind: :func:`read_segments` reads them at start
(every complete line; a line torn by the crash belongs to a request that was never answered) and
the writer inserts what the store lacks before taking requests.

Lines are JSON arrays: ``["S", content_hash, statement]`` and ``["A", sha2, content_type,
base64 content]``.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)
_SUFFIX = ".journal"


@dataclass(slots=True)
class Recovered:
    """What unflushed segments held: (content hash, statement text) and attachment bodies."""

    statements: list[tuple[str, str]] = field(default_factory=list)
    attachments: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    segments: list[Path] = field(default_factory=list)


def statement_line(content_hash: str, text: str) -> bytes:
    """One statement's journal line (``text`` is its JSON, reused rather than re-serialised)."""
    return b'["S","' + content_hash.encode() + b'",' + text.encode() + b"]\n"


def attachment_line(sha2: str, content_type: str, content: bytes) -> bytes:
    return orjson.dumps(["A", sha2, content_type, base64.b64encode(content).decode()]) + b"\n"


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{_SUFFIX}"), key=lambda path: int(path.stem))


def read_segments(directory: Path) -> Recovered:
    """Everything the segments in ``directory`` hold, oldest first."""
    recovered = Recovered()
    if not directory.is_dir():
        return recovered
    for segment in _segments(directory):
        recovered.segments.append(segment)
        for number, line in enumerate(segment.read_bytes().splitlines(), start=1):
            try:
                record: Any = orjson.loads(line)
            except orjson.JSONDecodeError:
                log.warning(
                    "%s line %d is incomplete (a crash while writing); skipped", segment, number
                )
                continue
            if record[0] == "S":
                recovered.statements.append((record[1], orjson.dumps(record[2]).decode()))
            elif record[0] == "A":
                recovered.attachments[record[1]] = (record[2], base64.b64decode(record[3]))
    return recovered


class Journal:
    """Append-only segments in one directory; not thread-safe (the writer serialises calls)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        existing = _segments(directory)
        self._number = int(existing[-1].stem) + 1 if existing else 1
        self._fd: int | None = None
        self._path: Path | None = None

    @property
    def directory(self) -> Path:
        return self._directory

    def append(self, lines: Iterable[bytes]) -> Path:
        """Write the lines durably (returns once they are on disk); the segment written to."""
        if self._fd is None:
            self._path = self._directory / f"{self._number}{_SUFFIX}"
            self._number += 1
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            _sync_directory(self._directory)  # the new file's name is durable too
        data = b"".join(lines)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fdatasync(self._fd)
        assert self._path is not None
        return self._path

    def rotate(self) -> Path | None:
        """Close the current segment (later appends open a new one); the closed one, if any."""
        closed = self._path
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None
        self._path = None
        return closed

    def close(self) -> None:
        self.rotate()


def remove(segments: Iterable[Path]) -> None:
    """Delete segments whose rows are in the store."""
    for segment in segments:
        segment.unlink(missing_ok=True)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
