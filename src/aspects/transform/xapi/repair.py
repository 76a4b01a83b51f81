"""Make ERB's few invalid statements valid xAPI 1.0.3, changing as little as possible.

event-routing-backends writes, for some events, statements that an LRS validating xAPI 1.0.3
refuses. Unless ``erb_strict`` is set we repair exactly these (statement ids are unchanged, so a
repaired statement and the LMS's own one still collide in the store):

- ``objectType: "GroupActivity"`` (problem_check with several questions) is not an xAPI object
  type: it becomes ``Activity``;
- ``score.max`` equal to ``score.min`` (problems worth 0 points) breaks "max greater than min":
  ``max`` is left out;
- the special-exam attempt activity is named by its bare attempt code, not an IRI: it becomes
  ``<LMS root>/exam_attempt/<code>``;
- an event that does not identify its object (e.g. a browser problem_check whose problem cannot
  be found, an outline event without target) gives no object id, or one that is not an absolute
  IRI: the event is refused (MalformedEvent) instead. This check runs for every event.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aspects.transform.errors import MalformedEvent
from aspects.transform.xapi import vocabulary as v
from aspects.xapi.validation import is_iri

Statement = dict[str, Any]

# The only events whose statements can need a repair (the rest skip the check: it costs).
NEEDS_REPAIR = frozenset(
    {
        "problem_check",
        "edx.grades.problem.submitted",
        "edx.grades.subsection.grade_calculated",
        "edx.grades.course.grade_calculated",
        *(
            f"edx.special_exam.{kind}.attempt.{action}"
            for kind in ("timed", "practice", "proctored")
            for action in ("created", "submitted")
        ),
    }
)


def _activity(activity: Any) -> None:
    if isinstance(activity, dict) and activity.get("objectType") == "GroupActivity":
        activity["objectType"] = "Activity"


_VALID_IDS: dict[str, bool] = {}


def _is_iri(value: str) -> bool:
    # Objects repeat (the same video, problem, page): remember the regex's verdict.
    known = _VALID_IDS.get(value)
    if known is None:
        if len(_VALID_IDS) > 200_000:
            _VALID_IDS.clear()
        known = _VALID_IDS[value] = is_iri(value)
    return known


def check_object(statement: Statement, name: str) -> Statement:
    """Refuse a statement whose object has no id, or an id that is not an absolute IRI."""
    object_id = statement["object"].get("id")
    if object_id is None:
        raise MalformedEvent(f"{name}: the event does not identify its object (no id)")
    if not isinstance(object_id, str) or not _is_iri(object_id):
        raise MalformedEvent(f"{name}: object id {object_id!r:.80} is not an absolute IRI")
    return statement


def repair(statement: Statement, root: str, name: str) -> Statement:
    """Repair in place (the statement's own parts are fresh, not shared) and return it."""
    obj = statement["object"]
    _activity(obj)
    context = statement.get("context")
    activities = context.get("contextActivities") if context else None
    if activities:
        for members in activities.values():
            for activity in members:
                _activity(activity)
                definition = activity.get("definition") or {}
                code = activity.get("id")
                if definition.get("type") == v.EXAM_ATTEMPT and ":" not in str(code):
                    activity["id"] = f"{root}/exam_attempt/{quote(str(code), safe='')}"
    score = (statement.get("result") or {}).get("score")
    if score and "max" in score and "min" in score and score["max"] <= score["min"]:
        del score["max"]
    return statement
