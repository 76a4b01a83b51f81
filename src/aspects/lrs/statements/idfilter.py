"""Which statement ids are certainly new, without asking the store (the id check of a commit).

The conflict rule (same id, different content = 409) needs to know whether a client's id is
already stored. Asking the store costs ~8-10 ms of CPU per commit (the query reads the
``statement_id`` bloom filter of every part). :class:`IdFilter` is a Bloom filter of the stored
ids kept in memory: "certainly new" for almost every id, the exact query only for the few that may
be stored. It needs no hashing: a UUID's own bits are the positions (the low and the high 64 bits,
each reduced to the filter's size). A random UUID gives independent positions; a made-up one (a
counter) still gives a valid filter, only with more "maybe" answers, each settled by the query.

It is exact only while this process is the only writer of ``lrs_statements``: ids another
process stores after the filter was built would be missed. So the writer uses it only when it
owns the store (the embedded store admits one process) or ``lrs.exclusive_writer`` says so.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from aspects.lrs.statements.sql import load

_MIN_BITS = 1 << 24  # 2 MiB
_BITS_PER_ID = 16  # two positions each: ~1.5 % of new ids are "maybe" at the planned size


def _positions(value: int, mask: int) -> tuple[int, int]:
    return value & mask, (value >> 64) & mask


class IdFilter:
    """A Bloom filter of statement ids (module docstring); thread-safe for one adder."""

    def __init__(self, expected: int) -> None:
        bits = _MIN_BITS
        while bits < expected * _BITS_PER_ID:
            bits <<= 1
        self._mask = bits - 1
        self._bits = bytearray(bits // 8)

    @classmethod
    def load(cls, client: Client, database: str, headroom: int = 4) -> IdFilter:
        """A filter of every id in ``lrs_statements``, sized for ``headroom`` times as many."""
        count = int(
            client.query(f"SELECT count() FROM {database}.lrs_statements").result_rows[0][0]
        )
        built = cls(max(count, 1) * headroom)
        # Streamed block by block: millions of ids never sit in Python lists at once.
        with client.query_column_block_stream(
            load("id_filter.sql", database), parameters={"mask": built._mask}
        ) as blocks:
            for block in blocks:
                for low, high in zip(block[0], block[1], strict=True):
                    built._set(low)
                    built._set(high)
        return built

    def _set(self, position: int) -> None:
        self._bits[position >> 3] |= 1 << (position & 7)

    def _get(self, position: int) -> bool:
        return bool(self._bits[position >> 3] & (1 << (position & 7)))

    def add(self, statement_id: str) -> None:
        low, high = _positions(int(statement_id.replace("-", ""), 16), self._mask)
        self._set(low)
        self._set(high)

    def may_contain(self, statement_id: str) -> bool:
        """False: certainly not stored. True: perhaps (ask the store)."""
        low, high = _positions(int(statement_id.replace("-", ""), 16), self._mask)
        return self._get(low) and self._get(high)
