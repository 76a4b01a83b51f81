"""The course tree, whatever its source, and its flattening into dimension rows.

OLX exports and the LMS Course Blocks API both yield a :class:`CourseStructure`: blocks keyed by
usage key (``block-v1:ORG+COURSE+RUN+type@TYPE+block@ID``, the ids tracking events carry) with
their children in order. :func:`flatten` walks it depth-first, the order learners meet the
content, and gives every block the names and positions of its section, subsection and unit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from aspects.errors import AspectsError

# The Open edX names of the three container levels under a course.
SECTION, SUBSECTION, UNIT = "chapter", "sequential", "vertical"
CONTAINERS = frozenset({"course", SECTION, SUBSECTION, UNIT})

# What the LMS shows for a block without a display name.
DEFAULT_NAMES = {
    "course": "Course",
    SECTION: "Section",
    SUBSECTION: "Subsection",
    UNIT: "Unit",
    "problem": "Problem",
    "video": "Video",
    "html": "Text",
    "discussion": "Discussion",
}

_COURSE_KEY = re.compile(r"^course-v1:([^+/\s]+)\+([^+/\s]+)\+([^+/\s]+)$")


class CourseStructureError(AspectsError):
    """A course export or API answer that cannot be read as a course."""


def parse_course_key(course_key: str) -> tuple[str, str, str]:
    """(org, course, run) of ``course-v1:ORG+COURSE+RUN``."""
    match = _COURSE_KEY.match(course_key)
    if not match:
        raise CourseStructureError(f"not a course key: {course_key!r}")
    return match[1], match[2], match[3]


def usage_key(course_key: str, block_type: str, block_id: str) -> str:
    """The usage key of a block of this course, as events and the LMS write it."""
    org, course, run = parse_course_key(course_key)
    return f"block-v1:{org}+{course}+{run}+type@{block_type}+block@{block_id}"


@dataclass(frozen=True)
class Block:
    usage_key: str
    block_type: str
    display_name: str
    children: tuple[str, ...] = ()
    graded: bool = False
    format: str = ""


@dataclass(frozen=True)
class CourseStructure:
    course_key: str
    display_name: str
    root: str
    blocks: dict[str, Block] = field(default_factory=dict)

    @property
    def org(self) -> str:
        return parse_course_key(self.course_key)[0]


@dataclass(frozen=True)
class BlockRow:
    """One row of ``course_blocks``."""

    course_key: str
    block_id: str
    block_type: str
    display_name: str
    parent_id: str
    position: int
    depth: int
    graded: bool
    format: str
    section_id: str = ""
    section_name: str = ""
    section_index: int = 0
    subsection_id: str = ""
    subsection_name: str = ""
    subsection_index: int = 0
    unit_id: str = ""
    unit_name: str = ""
    unit_index: int = 0


def flatten(structure: CourseStructure) -> list[BlockRow]:
    """Every block reachable from the root, depth-first, with its ancestors' names.

    A block reachable twice (a malformed tree) is listed once, at its first place; a child id
    that names no block is skipped. Components are graded when they say so or their subsection
    is (the LMS inherits the subsection's settings).
    """
    if structure.root not in structure.blocks:
        raise CourseStructureError(f"{structure.course_key}: root block {structure.root} missing")
    rows: list[BlockRow] = []
    seen: set[str] = set()
    for row in _walk(structure, structure.root, "", 0, {}, 1, seen):
        rows.append(row)
    return [BlockRow(**{**row.__dict__, "position": position}) for position, row in enumerate(rows)]


def _walk(
    structure: CourseStructure,
    key: str,
    parent: str,
    depth: int,
    context: dict[str, object],
    index: int,
    seen: set[str],
) -> Iterator[BlockRow]:
    if key in seen or key not in structure.blocks:
        return
    seen.add(key)
    block = structure.blocks[key]
    here = dict(context)
    level = {SECTION: "section", SUBSECTION: "subsection", UNIT: "unit"}.get(block.block_type)
    if level is not None:
        here[f"{level}_id"] = key
        here[f"{level}_name"] = block.display_name
        here[f"{level}_index"] = index
    if block.block_type == SUBSECTION:
        here["graded"] = block.graded
        here["format"] = block.format
    # A block's own flag (the LMS API reports inherited values) or its subsection's (OLX).
    graded = block.graded or bool(here.get("graded", False))
    fmt = block.format or str(here.get("format", ""))
    yield BlockRow(
        course_key=structure.course_key,
        block_id=key,
        block_type=block.block_type,
        display_name=block.display_name,
        parent_id=parent,
        position=0,
        depth=depth,
        graded=graded,
        format=fmt,
        **{k: v for k, v in here.items() if k not in ("graded", "format")},  # type: ignore[arg-type]
    )
    for child_index, child in enumerate(block.children, start=1):
        yield from _walk(structure, child, key, depth + 1, here, child_index, seen)


def as_blocks_answer(structure: CourseStructure) -> dict[str, object]:
    """The structure in the Course Blocks API's shape (what the demo generator follows)."""
    return {
        "root": structure.root,
        "blocks": {
            key: {
                "id": key,
                "block_id": key.rsplit("@", 1)[-1],
                "type": block.block_type,
                "display_name": block.display_name,
                "children": list(block.children),
                "graded": block.graded,
                "format": block.format or None,
            }
            for key, block in structure.blocks.items()
        },
    }
