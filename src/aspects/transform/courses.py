"""Course display names: a pluggable source (course-structure tables, a file, a test mapping)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from aspects.errors import ConfigError


class CourseNames(Protocol):
    """Answers a course key with its display name, or None when it does not know the course."""

    def __call__(self, course_id: str, /) -> str | None: ...


class StaticCourseNames:
    """Names from a mapping (tests, a CSV export); unknown courses get None."""

    def __init__(self, names: Mapping[str, str], default: str | None = None) -> None:
        self._names = dict(names)
        self._default = default

    def __call__(self, course_id: str, /) -> str | None:
        return self._names.get(course_id, self._default)

    def __reduce__(self) -> tuple[type[StaticCourseNames], tuple[dict[str, str], str | None]]:
        # explicit: the compiled (mypyc) class has no instance dict to pickle
        return (StaticCourseNames, (self._names, self._default))


def no_course_names(course_id: str, /) -> str | None:
    """The source used when none is configured: statements then carry no course name."""
    return None


def load_course_names(path: Path) -> StaticCourseNames:
    """A CSV with columns ``course_id`` and ``display_name``."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not {"course_id", "display_name"} <= set(reader.fieldnames or ()):
                raise ConfigError(f"{path}: needs the columns course_id and display_name")
            return StaticCourseNames(
                {row["course_id"]: row["display_name"] for row in reader if row["course_id"]}
            )
    except OSError as error:
        raise ConfigError(f"cannot read course names {path}: {error}") from None
