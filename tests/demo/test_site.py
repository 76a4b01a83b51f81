"""The demo site: two runs of the shipped course, logs written once, ready for ingest."""

from __future__ import annotations

from pathlib import Path

from clickhouse_connect.driver.client import Client

from aspects.courses.olx import demo_course_path, read_olx
from aspects.demo.site import SECOND_COURSE, demo_structures, prepare_demo, rekeyed
from aspects.settings import Settings
from aspects.store.settings import StoreSettings


def test_rekeyed_course_moves_every_usage_key_and_keeps_the_tree() -> None:
    original = read_olx(demo_course_path())
    copy = rekeyed(original, *SECOND_COURSE)
    assert copy.course_key == SECOND_COURSE[0]
    assert copy.root == SECOND_COURSE[0]
    assert copy.blocks[copy.root].display_name == SECOND_COURSE[1]
    assert len(copy.blocks) == len(original.blocks)
    for key, block in copy.blocks.items():
        assert key == block.usage_key
        assert key == copy.root or key.startswith("block-v1:OpenLabX+LA101+2026_T2+type@")
        assert all(child in copy.blocks for child in block.children)
    problems = sorted(b.display_name for b in original.blocks.values() if b.block_type == "problem")
    assert problems == sorted(
        b.display_name for b in copy.blocks.values() if b.block_type == "problem"
    )


def test_prepare_demo_imports_courses_and_writes_logs_once(
    store: Client, store_settings: StoreSettings, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, store=store_settings)
    first = prepare_demo(settings, store, learners=20, weeks=2, seed=1)
    assert first.events_written > 100
    assert first.live_log.exists()
    assert len(first.rotated) == 13  # 14 days, the last one live
    courses = store.query(
        f"SELECT course_key FROM {store_settings.database}.courses FINAL ORDER BY course_key"
    ).result_columns[0]
    assert courses == sorted(structure.course_key for structure in demo_structures())
    again = prepare_demo(settings, store, learners=20, weeks=2, seed=1)
    assert again.events_written == 0
    assert again.rotated == first.rotated
