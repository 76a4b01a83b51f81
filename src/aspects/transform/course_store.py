"""Course names from the course-structure tables (``aspects courses import`` / ``sync``).

The transformer asks for a name per statement, so the names are held in memory and reloaded in
one query when they are older than ``max_age`` seconds, or when an unknown course is asked for
(at most once per ``retry_after`` seconds, so a stream of unknown courses costs no query each).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib.resources import files
from string import Template

from clickhouse_connect.driver.client import Client

_SQL = files("aspects.transform").joinpath("sql/course_names.sql").read_text()


class StoreCourseNames:
    """A ``CourseNames`` source reading ``<database>.courses``."""

    def __init__(
        self,
        client: Client,
        database: str,
        *,
        max_age: float = 300.0,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._query = Template(_SQL).substitute(db=database)
        self._max_age = max_age
        self._retry_after = retry_after
        self._clock = clock
        self._names: dict[str, str] = {}
        self._loaded_at: float | None = None

    def _load(self) -> None:
        rows = self._client.query(self._query).result_rows
        self._names = {str(key): str(name) for key, name in rows}
        self._loaded_at = self._clock()

    def __call__(self, course_id: str, /) -> str | None:
        now = self._clock()
        age = None if self._loaded_at is None else now - self._loaded_at
        stale = age is None or age > self._max_age
        if stale or (course_id not in self._names and age is not None and age > self._retry_after):
            self._load()
        return self._names.get(course_id)

    def snapshot(self) -> dict[str, str]:
        """All names now (loading if needed): hand them to worker processes, which cannot share
        an embedded database, as ``StaticCourseNames(snapshot)``."""
        if self._loaded_at is None or self._clock() - self._loaded_at > self._max_age:
            self._load()
        return dict(self._names)
