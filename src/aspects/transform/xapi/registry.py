"""Every event name we transform to xAPI (ERB's 65), and the function that transforms it."""

from __future__ import annotations

from aspects.transform.xapi import (
    completion,
    enrollment,
    exam,
    forum,
    grading,
    navigation,
    problem,
    video,
)
from aspects.transform.xapi.types import Transform

FAMILIES = (enrollment, completion, grading, problem, video, navigation, forum, exam)


def transforms() -> dict[str, Transform]:
    """Event name -> transform, over all families (a name belongs to exactly one family)."""
    table: dict[str, Transform] = {}
    for family in FAMILIES:
        for name, function in family.TRANSFORMS.items():
            if name in table:
                raise RuntimeError(f"event {name} is registered twice")
            table[name] = function
    return table
