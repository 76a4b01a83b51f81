"""Building the demo site: course structure, tracking logs, and their ingest.

Two runs of our demo course (the shipped OLX, and the same content re-keyed as a second course of
another organisation, so that course comparison and per-course access have something to show)
are imported into the course tables; the generator writes their learners' tracking logs; the
real backfill pipeline ingests the rotated files, and `aspects serve` then follows the live one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from clickhouse_connect.driver.client import Client

from aspects.courses.olx import demo_course_path, read_olx
from aspects.courses.store import store_structure
from aspects.courses.structure import CourseStructure, as_blocks_answer, parse_course_key
from aspects.demo.generate import DemoConfig, DemoCourse, write_logs
from aspects.settings import Settings

SECOND_COURSE = ("course-v1:OpenLabX+LA101+2026_T2", "Learning Analytics 101 (spring run)")


def rekeyed(structure: CourseStructure, course_key: str, display_name: str) -> CourseStructure:
    """The same course content under another course key (every usage key follows)."""
    old = "+".join(parse_course_key(structure.course_key))
    new = "+".join(parse_course_key(course_key))

    def key(usage_key: str) -> str:
        return usage_key.replace(f"block-v1:{old}+", f"block-v1:{new}+", 1)

    def root_key(usage_key: str) -> str:
        return course_key if usage_key == structure.root else key(usage_key)

    blocks = {
        root_key(old_key): dataclasses.replace(
            block,
            usage_key=root_key(block.usage_key),
            display_name=display_name if old_key == structure.root else block.display_name,
            children=tuple(root_key(child) for child in block.children),
        )
        for old_key, block in structure.blocks.items()
    }
    return CourseStructure(course_key, display_name, root_key(structure.root), blocks)


def demo_structures() -> list[CourseStructure]:
    first = read_olx(demo_course_path())
    return [first, rekeyed(first, *SECOND_COURSE)]


def demo_course(structure: CourseStructure) -> DemoCourse:
    answer = as_blocks_answer(structure)
    blocks = answer["blocks"]
    assert isinstance(blocks, dict)
    return DemoCourse(structure.course_key, structure.display_name, blocks, structure.root)


@dataclass(frozen=True)
class DemoLogs:
    events_written: int  # 0 when the logs were already there
    live_log: Path
    rotated: list[Path]


def prepare_demo(
    settings: Settings, client: Client, *, learners: int, weeks: int, seed: int
) -> DemoLogs:
    """Import the demo courses and write their tracking logs (once: existing logs are kept).

    The caller ingests ``rotated`` (backfill) and follows ``live_log``.
    """
    structures = demo_structures()
    for structure in structures:
        store_structure(client, settings.store.database, structure, "demo")
    log_dir = settings.data_dir / "demo" / "logs"
    live = log_dir / "tracking.log"
    written = 0
    if not live.exists():
        config = DemoConfig(
            learners=learners,
            weeks=weeks,
            seed=seed,
            start=dt.date.today() - dt.timedelta(weeks=weeks),
            lms_host=settings.transform.lms_root_url.split("://", 1)[-1],
        )
        written, _files = write_logs(config, [demo_course(s) for s in structures], log_dir)
    rotated = sorted(path for path in log_dir.iterdir() if path.name != live.name)
    return DemoLogs(written, live, rotated)
