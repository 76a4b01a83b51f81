"""Course names read from the course-structure table of the store (embedded chDB)."""

from __future__ import annotations

from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

from aspects.store.settings import StoreSettings
from aspects.transform.course_store import StoreCourseNames
from tests.transform.conftest import EVENTS, load_json


def add_course(client: Client, database: str, key: str, name: str, at: int) -> None:
    client.insert(
        f"{database}.courses",
        [[key, "edX", name, 10, "test", datetime(2024, 1, 1, 0, 0, at, tzinfo=UTC)]],
        column_names=["course_key", "org", "display_name", "block_count", "source", "imported_at"],
    )


def test_names_come_from_the_latest_import_and_refresh(
    store: Client, store_settings: StoreSettings
) -> None:
    database = store_settings.database
    now = [0.0]
    names = StoreCourseNames(store, database, max_age=300, retry_after=30, clock=lambda: now[0])
    key = "course-v1:edX+DemoX+Demo_Course"
    add_course(store, database, key, "Old name", 1)
    add_course(store, database, key, "Demonstration Course", 2)
    assert names(key) == "Demonstration Course"
    assert names("course-v1:edX+Other+2024") is None

    add_course(store, database, "course-v1:edX+Other+2024", "Other", 3)
    assert names("course-v1:edX+Other+2024") is None, "no reload before retry_after"
    now[0] = 31.0
    assert names("course-v1:edX+Other+2024") == "Other"


def test_transformer_uses_the_store_names(store: Client, store_settings: StoreSettings) -> None:
    from aspects.transform import Transformer
    from aspects.transform.settings import TransformSettings

    add_course(store, store_settings.database, "course-v1:edX+DemoX+Demo_Course", "Demo", 1)
    transformer = Transformer(
        TransformSettings(),
        secret="s",
        course_names=StoreCourseNames(store, store_settings.database),
    )
    (statement,) = transformer.transform(load_json(EVENTS / "play_video.json"))
    parent = statement["context"]["contextActivities"]["parent"][0]
    assert parent["definition"]["name"] == {"en-US": "Demo"}


def test_snapshot_for_worker_processes(store: Client, store_settings: StoreSettings) -> None:
    add_course(store, store_settings.database, "course-v1:a+b+c", "ABC", 1)
    assert StoreCourseNames(store, store_settings.database).snapshot() == {"course-v1:a+b+c": "ABC"}
