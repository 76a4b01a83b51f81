"""Reading back the Native blocks the LRS packs its ``lrs_statements`` rows into (tests only):
a plain decoder of the few types those blocks use, written from the format's description, so
tests compare the packed rows with :func:`~aspects.lrs.statements.prepare.index_row`'s."""

from __future__ import annotations

import struct
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def leb128(self) -> int:
        value = shift = 0
        while True:
            byte = self.data[self.position]
            self.position += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def take(self, size: int) -> bytes:
        chunk = self.data[self.position : self.position + size]
        assert len(chunk) == size, "the block ends early"
        self.position += size
        return chunk

    def string(self) -> str:
        return self.take(self.leb128()).decode()


def _values(reader: _Reader, kind: str, rows: int) -> list[Any]:
    if kind == "UUID":
        out = []
        for _ in range(rows):
            high, low = struct.unpack("<QQ", reader.take(16))
            out.append(str(uuid.UUID(int=(high << 64) | low)))
        return out
    if kind == "DateTime64(6, 'UTC')":
        return [
            EPOCH + timedelta(microseconds=struct.unpack("<q", reader.take(8))[0])
            for _ in range(rows)
        ]
    if kind == "String":
        return [reader.string() for _ in range(rows)]
    if kind == "FixedString(32)":
        return [reader.take(32).decode() for _ in range(rows)]
    if kind == "Array(String)":
        ends = [struct.unpack("<Q", reader.take(8))[0] for _ in range(rows)]
        elements = [reader.string() for _ in range(ends[-1] if ends else 0)]
        starts = [0, *ends[:-1]]
        return [elements[start:end] for start, end in zip(starts, ends, strict=True)]
    raise AssertionError(f"unexpected type {kind}")


def decode(data: bytes) -> tuple[list[str], list[list[Any]]]:
    """(column names, rows) of one or more Native blocks one after the other."""
    reader = _Reader(data)
    names: list[str] = []
    rows: list[list[Any]] = []
    while reader.position < len(data):
        columns, count = reader.leb128(), reader.leb128()
        block_names = []
        values = []
        for _ in range(columns):
            block_names.append(reader.string())
            values.append(_values(reader, reader.string(), count))
        assert not names or names == block_names
        names = block_names
        rows += [list(row) for row in zip(*values, strict=True)] if values else []
    return names, rows
