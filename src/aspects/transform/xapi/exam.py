"""Special exams (timed, practice, proctored): attempt created (initialized) and submitted."""

from __future__ import annotations

from typing import Any

from aspects.transform.errors import MalformedEvent
from aspects.transform.event import Event
from aspects.transform.statement import Builder
from aspects.transform.xapi import vocabulary as v
from aspects.transform.xapi.types import Statement, Transform

KINDS = {
    "timed": v.TIMED_ASSESSMENT,
    "practice": v.PRACTICE_ASSESSMENT,
    "proctored": v.PROCTORED_ASSESSMENT,
}
ACTIONS = {"created": v.INITIALIZED, "submitted": v.TERMINATED}


def exam(b: Builder, event: Event) -> list[Statement]:
    # names look like edx.special_exam.<kind>.attempt.<action>
    parts = event.name.split(".")
    kind, action = KINDS[parts[2]], ACTIONS[parts[4]]
    exam_name = event.get("event.exam_name")
    obj = {
        "id": event.get_str("event.exam_content_id"),
        "objectType": "Activity",
        "definition": {
            "type": kind,
            "name": {"en": exam_name},
            "extensions": {v.EXT_TIME_LIMIT: event.get("event.exam_default_time_limit_mins")},
        },
    }
    activities = b.course_parent(event)
    if activities is None:
        raise MalformedEvent(f"{event.name}: missing context.course_id")
    attempt: dict[str, Any] = {
        "id": event.get_str("event.attempt_code"),
        "objectType": "Activity",
        "definition": {
            "type": v.EXAM_ATTEMPT,
            "name": {"en": exam_name},
            "extensions": {
                v.EXT_ATTEMPT_STARTED: event.get("event.attempt_started_at"),
                v.EXT_ATTEMPT_COMPLETED: event.get("event.attempt_completed_at"),
                v.EXT_DURATION: event.get("event.attempt_event_elapsed_time_secs"),
                v.EXT_ATTEMPT_ID: event.get("event.attempt_id"),
            },
        },
    }
    activities = {**activities, "grouping": [attempt]}
    return [b.statement(event, action, obj, context_activities=activities)]


TRANSFORMS: dict[str, Transform] = {
    f"edx.special_exam.{kind}.attempt.{action}": exam for kind in KINDS for action in ACTIONS
}
