"""ClickHouse's Native format: the variable-length integers (LEB128) that prefix every String
value and a block's column and row counts. Shared by the backfill's packer
(:mod:`aspects.store.statements`) and the LRS's packed rows (:mod:`aspects.lrs.statements.prepare`);
nothing here imports a ClickHouse client, so receive workers can use it cheaply."""

from __future__ import annotations


def leb128(value: int) -> bytes:
    """``value`` (>= 0) as an unsigned LEB128 varint."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# Length prefixes up to 16 KiB, looked up instead of computed for each statement.
PREFIXES = [leb128(length) for length in range(1 << 14)]


def length_prefix(length: int) -> bytes:
    return PREFIXES[length] if length < 16384 else leb128(length)


def native_string(value: bytes) -> bytes:
    """One Native String value: its length, then its bytes."""
    return length_prefix(len(value)) + value
