"""Fixtures of the privacy tests: a small demo site's tracking logs, ingested like production."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from clickhouse_connect.driver.client import Client

from aspects.demo.generate import DemoConfig, DemoCourse, write_logs
from aspects.settings import Settings
from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings

COURSE = "course-v1:Priv+P101+2026"
SECRET = "privacy-test-secret"


def demo_course(course_key: str = COURSE, name: str = "Privacy 101") -> DemoCourse:
    """Two subsections (one graded) with videos and problems; block ids are hex like the LMS's."""
    base = course_key.removeprefix("course-v1:")

    def _key(kind: str, block: str) -> str:
        return f"block-v1:{base}+type@{kind}+block@{block}"

    shape = [
        ("course", "c0ffee00", name, ["a1"]),
        ("chapter", "a1", "Week 1", ["b1", "b2"]),
        ("sequential", "b1", "Lesson", ["d1"]),
        ("sequential", "b2", "Quiz", ["d2"]),
        ("vertical", "d1", "Unit 1", ["e1", "e2"]),
        ("vertical", "d2", "Unit 2", ["e3", "e4"]),
        ("video", "e1", "Welcome", []),
        ("problem", "e2", "Warm-up", []),
        ("video", "e3", "Recap", []),
        ("problem", "e4", "Checkpoint", []),
    ]
    kinds = {block: kind for kind, block, _, _ in shape}
    blocks = {
        _key(kind, block): {
            "type": kind,
            "display_name": name,
            "children": [_key(kinds[child], child) for child in children],
            "graded": block == "b2",
        }
        for kind, block, name, children in shape
    }
    return DemoCourse(course_key, name, blocks, _key("course", "c0ffee00"))


def event_of(line: bytes) -> dict[str, object] | None:
    """The JSON event of a tracking-log line (behind an optional logger prefix), else None."""
    start = line.find(b"{")
    try:
        value = orjson.loads(line[start:]) if start >= 0 else None
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def mentions(line: bytes, user_id: int, username: str) -> bool:
    event = event_of(line)
    if event is None:
        return False
    context = event.get("context")
    context_user = context.get("user_id") if isinstance(context, dict) else None
    return str(context_user) == str(user_id) or event.get("username") == username


@pytest.fixture(scope="session")
def demo_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two weeks of 10 learners in one course (plain and gzipped files)."""
    directory = tmp_path_factory.mktemp("privacy-logs")
    config = DemoConfig(learners=10, weeks=2, start=dt.date(2026, 1, 5), seed=3)
    write_logs(config, [demo_course()], directory)
    return directory


def make_settings(data_dir: Path, store: StoreSettings, **sections: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        store=store,
        transform={"secret": SECRET},
        privacy={"erase_wait_seconds": 0},
        **sections,  # type: ignore[arg-type]
    )


@pytest.fixture
def other_database(chdb_client: Client, chdb_dir: Path) -> Iterator[StoreSettings]:
    """A second migrated database of the shared engine (for a baseline), dropped after."""
    settings = StoreSettings(path=chdb_dir, database=f"test_{uuid.uuid4().hex[:12]}")
    migrate(chdb_client, settings)
    yield settings
    chdb_client.command(f"DROP DATABASE IF EXISTS {settings.database}")
