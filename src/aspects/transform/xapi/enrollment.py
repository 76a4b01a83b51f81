"""Enrollment and course pass/fail events: the course itself is the object."""

from __future__ import annotations

from typing import Any

from aspects.transform.event import Event
from aspects.transform.statement import Builder
from aspects.transform.xapi import vocabulary as v
from aspects.transform.xapi.types import Statement, Transform

VERBS: dict[str, dict[str, Any]] = {
    "edx.course.enrollment.activated": v.REGISTERED,
    "edx.course.enrollment.mode_changed": v.REGISTERED,
    "edx.course.enrollment.deactivated": v.UNREGISTERED,
    "edx.course.grade.passed.first_time": v.PASSED,
    "edx.course.grade.now_passed": v.PASSED,
    "edx.course.grade.now_failed": v.FAILED,
}


def enrollment(b: Builder, event: Event) -> list[Statement]:
    course_id = str(event.need("context.course_id"))
    # The object names the course in "en" (the context parent elsewhere uses "en-US").
    name = b.course_names(course_id)
    obj = {
        "id": b.iri("course", course_id),
        "objectType": "Activity",
        "definition": {
            "type": v.COURSE,
            "name": {"en": name} if name is not None else {},
            "extensions": {v.EXT_MODE: event.get("data.mode")},
        },
    }
    return [b.statement(event, VERBS[event.name], obj, context_activities=None)]


TRANSFORMS: dict[str, Transform] = dict.fromkeys(VERBS, enrollment)
