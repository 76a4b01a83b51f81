"""Following a growing tracking log across rotations (rename and copytruncate).

One :class:`Stream` per configured path. It reads whole lines from the live file, hands them to
the sink, and notices two kinds of rotation:

- rename (logrotate's default): the path now names another inode. The old file is drained to its
  end through the handle still open, then the new file is read from its start. We switch only once
  the new file has data, i.e. the writer has moved on and the old file will not grow again.
- copytruncate: same inode, but the file shrank below our offset or its first line changed (checked
  after every read too, since the writer may have written past our offset again by then). The
  lines we had not read yet are in the copy (``tracking.log.1``, maybe ``.gz``): we find it by its
  fingerprint, read it from our offset, then read the truncated live file from its start.

After a restart the stream resumes from its checkpoint. If the file it was reading has been
rotated meanwhile, it finds it among the rotated siblings by fingerprint and reads it and every
newer rotated file before the live one.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aspects.ingest.convert import LineConverter
from aspects.ingest.files import (
    FINGERPRINT_BYTES,
    Chunk,
    FileIdentity,
    fingerprint_of,
    identify,
    identify_open,
    open_binary,
    read_chunks,
    rotated_siblings,
)
from aspects.ingest.sink import Sink
from aspects.ingest.state import IngestState

log = logging.getLogger(__name__)

# Small reads keep the follower responsive: a read is transformed before the next one, and a
# batch is stored once its flush interval is over.
READ_BYTES = 1 << 18


@dataclass
class _Live:
    handle: BinaryIO
    identity: FileIdentity
    offset: int


@dataclass
class _CatchUp:
    """A rotated file read to its end before the live one."""

    path: Path
    identity: FileIdentity
    chunks: Iterator[Chunk]
    handle: BinaryIO
    end: int


class Stream:
    """Follows one tracking-log path; see the module docstring."""

    def __init__(self, path: Path, state: IngestState, converter: LineConverter) -> None:
        self.path = path
        self.key = str(path)
        self._state = state
        self._converter = converter
        self._live: _Live | None = None
        self._pending: list[tuple[Path, int | None]] = []  # rotated files to read, oldest first
        self._catch_up: _CatchUp | None = None
        self._recover()

    # -- start-up ----------------------------------------------------------------------------

    def _recover(self) -> None:
        """Queue the rotated files written since the last checkpoint, if the live file changed."""
        fingerprint = self._state.stream(self.key)
        if fingerprint is None:
            return
        live = identify(self.path)
        if live is not None and live.fingerprint == fingerprint:
            return
        siblings = rotated_siblings(self.path)
        for index, sibling in enumerate(siblings):
            identity = identify(sibling)
            if identity is not None and identity.fingerprint == fingerprint:
                self._pending = [(path, None) for path in siblings[index:]]
                log.info("resuming %s from rotated %s", self.path, sibling)
                return
        log.warning("file last read from %s is gone; continuing with the live file", self.path)

    # -- reading -----------------------------------------------------------------------------

    def poll(self, sink: Sink, limit: int, deadline: float = float("inf")) -> int:
        """Read up to about ``limit`` lines into ``sink``, stopping early once the monotonic
        clock passes ``deadline`` (so a batch is stored on time); returns the number read."""
        if self._catch_up is not None or self._pending:
            return self._read_catch_up(sink, limit, deadline)
        if self._live is None and not self._open_live(sink):
            return 0
        assert self._live is not None
        read = self._read_live(sink, limit, deadline)
        if read == 0 and self._live is not None:
            self._check_rotation(sink)
        return read

    def _read_catch_up(self, sink: Sink, limit: int, deadline: float) -> int:
        if self._catch_up is None:
            path, start = self._pending.pop(0)
            identity = identify(path)
            if identity is None:
                return 0
            position = self._state.position(identity.fingerprint)
            if start is None:
                if position is not None and position.complete:
                    return 0
                start = position.offset if position is not None else 0
            handle = open_binary(path)
            chunks = read_chunks(handle, start, final=True, chunk_bytes=READ_BYTES)
            self._catch_up = _CatchUp(path, identity, chunks, handle, start)
        catch_up = self._catch_up
        read = 0
        now = time.time()
        for chunk in catch_up.chunks:
            converted = self._converter.convert(chunk)
            sink.add(converted, str(catch_up.path), catch_up.identity, stream=self.key, read_at=now)
            catch_up.end = chunk.end
            read += converted.events
            if read >= limit or time.monotonic() >= deadline:
                return read
        catch_up.handle.close()
        sink.mark(
            str(catch_up.path), catch_up.identity, catch_up.end, complete=True, stream=self.key
        )
        self._catch_up = None
        return read

    def _open_live(self, sink: Sink) -> bool:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return False
        identity = identify_open(handle)
        if identity is None:  # empty, or its first line is still being written
            handle.close()
            return False
        position = self._state.position(identity.fingerprint)
        offset = position.offset if position is not None else 0
        self._live = _Live(handle, identity, offset)
        sink.mark(str(self.path), identity, offset, complete=False, stream=self.key)
        return True

    def _read_live(self, sink: Sink, limit: int, deadline: float) -> int:
        live = self._live
        assert live is not None
        read = 0
        size = READ_BYTES
        while read < limit and time.monotonic() < deadline:
            live.handle.seek(live.offset)
            data = live.handle.read(size)
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if len(data) < size:
                    break  # the last line is still being written
                size *= 2  # one line longer than a read: read more at once
                continue
            size = READ_BYTES
            if self._rewritten(live):
                # copytruncate while we were busy, and the new content already reaches past our
                # offset: what we just read is the middle of other lines. Checked after the read,
                # so an unchanged first line proves the bytes came from the file we followed.
                self._truncated(sink)
                break
            converted = self._converter.convert(Chunk(live.offset, data[:cut]))
            sink.add(converted, str(self.path), live.identity, stream=self.key, read_at=time.time())
            live.offset += cut
            read += converted.events
        return read

    # -- rotation ----------------------------------------------------------------------------

    def _check_rotation(self, sink: Sink) -> None:
        live = self._live
        assert live is not None
        opened = os.fstat(live.handle.fileno())
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return  # removed and not yet re-created: the writer may still use the old file
        if (current.st_dev, current.st_ino) != (opened.st_dev, opened.st_ino):
            if current.st_size > 0:
                self._finish_renamed(sink)
            return
        if opened.st_size < live.offset or self._rewritten(live):
            self._truncated(sink)

    @staticmethod
    def _rewritten(live: _Live) -> bool:
        """Whether the file now starts with another first line (copied and truncated)."""
        head = os.pread(live.handle.fileno(), FINGERPRINT_BYTES, 0)
        return fingerprint_of(head) != live.identity.fingerprint

    def _finish_renamed(self, sink: Sink) -> None:
        """The writer moved to a new file: drain the old one through our handle, then switch."""
        live = self._live
        assert live is not None
        end = live.offset
        now = time.time()
        for chunk in read_chunks(live.handle, live.offset, final=True, chunk_bytes=READ_BYTES):
            converted = self._converter.convert(chunk)
            sink.add(converted, str(self.path), live.identity, stream=self.key, read_at=now)
            end = chunk.end
        sink.mark(str(self.path), live.identity, end, complete=True, stream=self.key)
        live.handle.close()
        self._live = None
        log.info("%s was rotated by rename; following the new file", self.path)

    def _truncated(self, sink: Sink) -> None:
        """copytruncate: read the rest from the copy, then the live file from its start."""
        live = self._live
        assert live is not None
        live.handle.close()
        self._live = None
        for sibling in reversed(rotated_siblings(self.path)):
            identity = identify(sibling)
            if identity is not None and identity.fingerprint == live.identity.fingerprint:
                self._pending.append((sibling, live.offset))
                log.info("%s was truncated; reading the rest from %s", self.path, sibling)
                return
        log.warning("%s was truncated and no rotated copy holds its rest", self.path)

    def close(self) -> None:
        if self._live is not None:
            self._live.handle.close()
            self._live = None
        if self._catch_up is not None:
            self._catch_up.handle.close()
            self._catch_up = None
