"""Writing one course's statements, de-identified, as JSON lines or Parquet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import orjson
from clickhouse_connect.driver.client import Client

from aspects.export.deidentify import Deidentifier

Format = Literal["jsonl", "parquet"]
_BATCH = 20_000
_PAGE = """
SELECT toString(statement_id), emission_time, statement
FROM {db}.xapi_statements FINAL
WHERE course_key = {{course:String}}
  AND (emission_time, statement_id) > ({{after_time:DateTime64(6, 'UTC')}}, {{after_id:UUID}})
  AND statement_id NOT IN (SELECT voided_id FROM {db}.voided_statements)
ORDER BY emission_time, statement_id
LIMIT {batch}
"""


def count_statements(client: Client, database: str, course: str) -> int:
    found = client.command(
        f"SELECT count() FROM {database}.xapi_statements FINAL WHERE course_key = {{c:String}}",
        parameters={"c": course},
    )
    return int(str(found))


def _pages(client: Client, database: str, course: str) -> Iterator[list[tuple[Any, ...]]]:
    """The course's statements in (emission time, id) order, a page at a time (keyset paging)."""
    after_time = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    after_id = "00000000-0000-0000-0000-000000000000"
    sql = _PAGE.format(db=database, batch=_BATCH)
    while True:
        rows = client.query(
            sql, parameters={"course": course, "after_time": after_time, "after_id": after_id}
        ).result_rows
        if not rows:
            return
        yield [tuple(row) for row in rows]
        after_id, after_time = rows[-1][0], rows[-1][1]
        if after_time.tzinfo is None:
            after_time = after_time.replace(tzinfo=dt.UTC)


def export_course(
    client: Client,
    database: str,
    course: str,
    output: Path,
    fmt: Format,
    deidentifier: Deidentifier,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the course's statements to ``output``; returns how many."""
    written = 0
    if fmt == "jsonl":
        with output.open("wb") as handle:
            for page in _pages(client, database, course):
                for _id, _time, text in page:
                    handle.write(orjson.dumps(deidentifier.statement(orjson.loads(text))))
                    handle.write(b"\n")
                written += len(page)
                if progress is not None:
                    progress(len(page))
        return written
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    schema = pa.schema(
        [
            ("statement_id", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("actor", pa.string()),
            ("verb", pa.string()),
            ("object", pa.string()),
            ("statement", pa.string()),
        ]
    )
    with pq.ParquetWriter(output, schema, compression="zstd") as parquet:
        for page in _pages(client, database, course):
            columns: dict[str, list[Any]] = {name: [] for name in schema.names}
            for statement_id, when, text in page:
                statement = deidentifier.statement(orjson.loads(text))
                actor = statement.get("actor") or {}
                columns["statement_id"].append(statement_id)
                columns["timestamp"].append(when)
                columns["actor"].append((actor.get("account") or {}).get("name"))
                columns["verb"].append((statement.get("verb") or {}).get("id"))
                columns["object"].append((statement.get("object") or {}).get("id"))
                columns["statement"].append(orjson.dumps(statement).decode())
            parquet.write_table(pa.table(columns, schema=schema))
            written += len(page)
            if progress is not None:
                progress(len(page))
    return written
