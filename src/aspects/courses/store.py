"""Writing a course structure into the dimension tables (``courses``, ``course_blocks``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, fields

from clickhouse_connect.driver.client import Client

from aspects.courses.structure import BlockRow, CourseStructure, flatten

_BLOCK_COLUMNS = [item.name for item in fields(BlockRow)]


def store_structure(
    client: Client,
    database: str,
    structure: CourseStructure,
    source: str,
    imported_at: dt.datetime | None = None,
) -> int:
    """Replace the course's structure; returns the number of blocks written.

    Blocks are written before the course row: readers join on the course's latest
    ``imported_at``, so a half-written import stays invisible and the previous one keeps
    showing until the course row lands.
    """
    when = imported_at or dt.datetime.now(dt.UTC)
    rows = flatten(structure)
    client.insert(
        f"{database}.course_blocks",
        [[*astuple(row), when] for row in rows],
        column_names=[*_BLOCK_COLUMNS, "imported_at"],
    )
    client.insert(
        f"{database}.courses",
        [[structure.course_key, structure.org, structure.display_name, len(rows), source, when]],
        column_names=["course_key", "org", "display_name", "block_count", "source", "imported_at"],
    )
    return len(rows)
