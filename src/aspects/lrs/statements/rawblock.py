"""The raw table's rows of flushed LRS statements, built from what the writer holds in memory.

The copier used to copy a window of ``lrs_statements`` with ``INSERT ... SELECT``: chDB read the
texts back, decompressed them, and the raw table's DEFAULT expressions re-extracted every
derived column from the JSON (~4 us per statement, docs/ingest.md). The flush already holds the
statements' ids, stored times and texts as Native columns (the stamped blocks of
:class:`~aspects.lrs.statements.ready.Ready`), so the copier keeps those columns
(:class:`HeldRows`) and inserts them as one Native block, with the derived columns computed by
the native ``derive_columns`` (the backfill's, :data:`aspects.store.statements.DERIVED_COLUMNS`)
and the LowCardinality ones dictionary-encoded, as :func:`aspects.store.statements.insert_packed`
does for the backfill (the same layout, :func:`aspects.store.statements.native_block`; here
each statement keeps its own ``stored_time``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from aspects.store import lowcard
from aspects.store.statements import DERIVED_STREAMS, native_block

if TYPE_CHECKING:
    from aspects.transform.fast import DeriveColumns


@dataclass(frozen=True, slots=True)
class HeldRows:
    """Statements one flush stored, as the raw table's Native column values: ``ids`` 16 bytes
    per statement, ``times`` an Int64 of microseconds per statement, ``texts`` per statement
    its LEB128 length and UTF-8 JSON. ``through``: the last ``stored`` among them."""

    through: datetime
    count: int
    ids: bytes
    times: bytes
    texts: bytes


def raw_blocks(
    held: Sequence[HeldRows],
    source: str,
    derive: DeriveColumns | None,
    encode: lowcard.Encoder | None,
) -> list[tuple[list[str], bytes, int]]:
    """``held``'s statements as Native blocks for the raw table: (column names, block, rows).
    One block of every flush whose statements ``derive`` is sure of, with their derived
    columns; one of the others (a shape the native code leaves to ClickHouse), without."""
    sure: list[tuple[HeldRows, Sequence[bytes]]] = []
    unsure: list[HeldRows] = []
    for part in held:
        if not part.count:
            continue
        streams = derive(part.texts) if derive is not None else None
        if streams is None or len(streams) != DERIVED_STREAMS or len(streams[0]) != 8 * part.count:
            unsure.append(part)  # (a shape not expected: left to ClickHouse as well)
        else:
            sure.append((part, streams))
    blocks = []
    if sure:
        blocks.append(_block([part for part, _ in sure], source, [s for _, s in sure], encode))
    if unsure:
        blocks.append(_block(unsure, source, None, encode))
    return blocks


def _block(
    held: Sequence[HeldRows],
    source: str,
    derived: Sequence[Sequence[bytes]] | None,
    encode: lowcard.Encoder | None,
) -> tuple[list[str], bytes, int]:
    """One block of ``held``'s statements, with ``derived`` (each part's streams) or not."""
    count = sum(part.count for part in held)
    names, block = native_block(
        count,
        [part.ids for part in held],
        [part.texts for part in held],
        [part.times for part in held],
        source,
        derived,
        encode,
    )
    return names, block, count
