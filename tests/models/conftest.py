"""A migrated test database with the demo course's structure imported."""

from __future__ import annotations

import datetime as dt

import pytest
from clickhouse_connect.driver.client import Client

from aspects.courses.olx import demo_course_path, read_olx
from aspects.courses.store import store_structure
from aspects.courses.structure import CourseStructure
from aspects.store.settings import StoreSettings

COURSE = "course-v1:AspectsX+LA101+2026_T1"


@pytest.fixture(scope="session")
def demo() -> CourseStructure:
    return read_olx(demo_course_path())


@pytest.fixture
def db(store: Client, store_settings: StoreSettings, demo: CourseStructure) -> str:
    """Name of a migrated database holding the demo course structure."""
    store_structure(
        store, store_settings.database, demo, "olx", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    return store_settings.database


def key(structure: CourseStructure, display_name: str) -> str:
    """Usage key of the demo course block with this display name."""
    matches = [k for k, b in structure.blocks.items() if b.display_name == display_name]
    assert len(matches) == 1, display_name
    return matches[0]
