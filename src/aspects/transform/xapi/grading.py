"""Grades computed by the LMS: subsection and course grades (``earned``)."""

from __future__ import annotations

from typing import Any

from aspects.transform.errors import MalformedEvent
from aspects.transform.event import Event, number
from aspects.transform.statement import Builder
from aspects.transform.xapi import vocabulary as v
from aspects.transform.xapi.types import Statement, Transform


def _field(event: Event, data: dict[str, Any], key: str) -> float | int:
    """A score member that must be present (it may be null, which counts as 0)."""
    if key not in data:
        raise MalformedEvent(f"{event.name}: missing data.{key}")
    value = data[key]
    return 0 if not value else number(event.name, f"data.{key}", value)


def score(earned: float | int, possible: float | int) -> dict[str, Any]:
    scaled = earned / possible if possible > 0 else 0
    return {"min": 0, "max": possible, "raw": earned, "scaled": scaled}


def subsection_grade(b: Builder, event: Event) -> list[Statement]:
    block_id = event.need("data.block_id")
    data = event.need_dict("data")
    possible = _field(event, data, "weighted_total_possible")
    earned = _field(event, data, "weighted_total_earned")
    obj = {
        "id": b.iri("xblock", block_id),
        "objectType": "Activity",
        "definition": {"type": v.RESOURCE},
    }
    result = {"success": earned >= possible, "score": score(earned, possible)}
    # object and result hold no None (the id is required, the scores are numbers)
    return [
        b.statement(event, v.EARNED, obj, result=result, object_pruned=True, result_pruned=True)
    ]


def course_grade(b: Builder, event: Event) -> list[Statement]:
    course_id = str(event.need("context.course_id"))
    data = event.need_dict("data")
    earned = _field(event, data, "percent_grade")
    name = b.course_names(course_id)
    obj = {
        "id": b.iri("course", course_id),
        "objectType": "Activity",
        "definition": {"type": v.COURSE, "name": {"en": name} if name is not None else {}},
    }
    letter = event.get("data.letter_grade") or "Fail"
    result = {
        "score": {"min": 0, "max": 1.0, "raw": earned, "scaled": earned},
        "extensions": {v.EXT_GRADE_CLASSIFICATION: letter},
    }
    pruned = type(letter) is str  # anything else may hold None: pruned as usual
    return [
        b.statement(event, v.EARNED, obj, result=result, object_pruned=True, result_pruned=pruned)
    ]


TRANSFORMS: dict[str, Transform] = {
    "edx.grades.subsection.grade_calculated": subsection_grade,
    "edx.grades.course.grade_calculated": course_grade,
}
