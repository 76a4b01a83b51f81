"""Problem events: submissions, graded checks (one statement per question), answers, hints."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

from aspects.transform.errors import MalformedEvent
from aspects.transform.event import Event, number
from aspects.transform.statement import Builder
from aspects.transform.xapi import vocabulary as v
from aspects.transform.xapi.types import Statement, Transform
from aspects.transform.xapi.video import usage_key

# Open edX response types -> xAPI interaction types
INTERACTION_TYPES = {
    "choiceresponse": "choice",
    "multiplechoiceresponse": "choice",
    "numericalresponse": "numeric",
    "stringresponse": "fill-in",
    "customresponse": "other",
    "coderesponse": "other",
    "externalresponse": "other",
    "formularesponse": "fill-in",
    "schematicresponse": "other",
    "imageresponse": "matching",
    "annotationresponse": "fill-in",
    "choicetextresponse": "choice",
    "optionresponse": "choice",
    "symbolicresponse": "fill-in",
    "truefalseresponse": "true-false",
    "non_existent": "other",
}
OTHER = "other"
OBJECT_TYPES = {
    "edx.grades.problem.submitted": v.QUESTION,
    "showanswer": v.SOLUTION,
    "edx.problem.hint.demandhint_displayed": v.SUPPLEMENTAL_INFO,
}
VERBS = {
    "edx.grades.problem.submitted": v.ATTEMPTED,
    "showanswer": v.ASKED,
    "edx.problem.hint.demandhint_displayed": v.ASKED,
    "edx.problem.completed": v.COMPLETED,
}


def _object_id(event: Event) -> Any:
    """The problem's usage key: data.problem_id / data.module_id, or usage_key for other data."""
    if isinstance(event.get("data"), dict):
        return event.get("data.problem_id") or event.need("data.module_id")
    return event.get("usage_key")


def _from_browser(event: Event) -> bool:
    return bool((event.get("event_source") or event.get("context.event_source")) == "browser")


def problem_event(b: Builder, event: Event) -> list[Statement]:
    """showanswer, edx.problem.completed and edx.problem.hint.demandhint_displayed."""
    object_id = _object_id(event)
    if event.name == "showanswer":
        object_id = f"{b.iri('xblock', event.need('problem_id'))}/answer"
    elif event.name == "edx.problem.hint.demandhint_displayed":
        hint = event.need("hint_index")
        object_id = f"{b.iri('xblock', event.need('module_id'))}/hint/{hint}"
    obj = {
        "id": object_id,
        "objectType": "Activity",
        "definition": {"type": OBJECT_TYPES.get(event.name, v.INTERACTION)},
    }
    return [b.statement(event, VERBS[event.name], obj)]


def problem_submitted(b: Builder, event: Event) -> list[Statement]:
    obj = {
        "id": b.iri("xblock", _object_id(event)),
        "objectType": "Activity",
        "definition": {"type": v.QUESTION},
    }
    data = event.need_dict("data")
    values = []
    for key in ("weighted_possible", "weighted_earned"):
        if key not in data:
            raise MalformedEvent(f"{event.name}: missing data.{key}")
        values.append(number(event.name, f"data.{key}", data[key]) if data[key] else 0)
    possible, earned = values
    scaled = earned / possible if possible > 0 else 0
    result = {
        "success": earned >= possible,
        "score": {"min": 0, "max": possible, "raw": earned, "scaled": scaled},
    }
    # the id is required (data.problem_id or data.module_id), the scores are numbers
    return [
        b.statement(event, v.ATTEMPTED, obj, result=result, object_pruned=True, result_pruned=True)
    ]


# -- problem_check ---------------------------------------------------------------------------


# referer -> its activate_block_id: learners check problems from the same few pages, and the
# URL parse is interpreted code (urllib), dearer than the rest of the statement.
_REFERER_BLOCKS: dict[str, str | None] = {}


def _referer_block(referer: str) -> str | None:
    if referer in _REFERER_BLOCKS:
        return _REFERER_BLOCKS[referer]
    block = parse_qs(urlparse(referer).query).get("activate_block_id", [None])[0]
    if len(_REFERER_BLOCKS) > 100_000:
        _REFERER_BLOCKS.clear()
    _REFERER_BLOCKS[referer] = block
    return block


def _browser_block_id(event: Event) -> str | None:
    """The problem of a browser problem_check: from the referer, else from the input names."""
    referer = event.get("referer") or event.need("context.referer")
    if isinstance(referer, str):
        block = _referer_block(referer)
        if block:
            return block
    data, course_id = event.get("data"), event.get("context.course_id")
    if isinstance(data, str) and isinstance(course_id, str):
        pieces = data.split("_")
        if len(pieces) > 1:
            return usage_key(course_id, "problem", pieces[1])
    return None


def _submissions(event: Event) -> dict[str, Any]:
    submissions = event.get("submission")
    return submissions if isinstance(submissions, dict) else {}


def _first_submission(event: Event) -> dict[str, Any] | None:
    submissions = event.get("data.submission")
    if isinstance(submissions, dict):
        for submission in submissions.values():
            if isinstance(submission, dict) and submission.get("response_type"):
                return submission
    return None


class _Check:
    """What every statement of one problem_check shares, read from the event once.

    A check with several questions gives a statement per question; they differ only by their
    submission, so the event's lookups (searches at any depth) are not repeated per question.
    Built in the order the parent statement reads them, so errors are those of that order.
    """

    __slots__ = (
        "attempts",
        "browser",
        "browser_iri",
        "display_name",
        "grades",
        "interaction",
        "object_id",
    )

    def __init__(self, b: Builder, event: Event, browser: bool) -> None:
        self.browser = browser
        self.object_id: Any = _object_id(event)
        self.browser_iri = b.iri("xblock", _browser_block_id(event)) if browser else None
        self.attempts = event.get("data.attempts")
        self.interaction = INTERACTION_TYPES.get(event.get("response_type"), OTHER)
        self.display_name = event.get("display_name")
        self.grades: tuple[float | int | None, float | int | None] | None = None


def _check_object(
    b: Builder, check: _Check, submission: dict[str, Any] | None, child_id: str | None
) -> dict[str, Any]:
    object_id = check.object_id
    if child_id is not None:
        object_id = "@".join([*str(object_id or "").split("@")[:-1], child_id])
    if check.browser:
        object_id = check.browser_iri
    elif object_id:
        object_id = b.iri("xblock", object_id)
    definition: dict[str, Any] = {"type": v.INTERACTION}
    if check.attempts:
        definition["extensions"] = {v.EXT_ATTEMPT_ID: check.attempts}
    interaction = check.interaction
    if submission:
        interaction = INTERACTION_TYPES.get(submission.get("response_type"), OTHER)  # type: ignore[arg-type]
        definition["description"] = {"en-US": submission.get("question")}
    elif check.display_name:
        definition["name"] = {"en-US": check.display_name}
    definition["interactionType"] = interaction
    return {"id": object_id, "objectType": "Activity", "definition": definition}


# JSON texts of answer lists made of strings: learners give the same few answers, and
# json.dumps costs more than the rest of a question's statement.
_LIST_TEXTS: dict[tuple[str, ...], str] = {}


def _response(value: Any) -> str | None:
    """xAPI responses are strings: lists as JSON (ERB), anything else as its text."""
    if value is None:
        return None
    if isinstance(value, list):
        if all(type(item) is str for item in value):
            key = tuple(value)
            text = _LIST_TEXTS.get(key)
            if text is None:
                if len(_LIST_TEXTS) > 100_000:
                    _LIST_TEXTS.clear()
                text = _LIST_TEXTS[key] = json.dumps(value, ensure_ascii=False)
            return text
        return json.dumps(value, ensure_ascii=False)
    return value if isinstance(value, str) else str(value)


def _check_result(
    event: Event, check: _Check, submission: dict[str, Any] | None
) -> dict[str, Any] | None:
    if check.browser:
        return None  # the browser does not know the grade
    if submission:
        response, correct = submission.get("answer"), submission.get("correct")
    else:
        data = event.get("data")
        response = data.get("answers") if isinstance(data, dict) else None
        correct = event.get("success") == "correct"
    if check.grades is None:
        check.grades = (event.get_number("max_grade"), event.get_number("grade"))
    max_grade, grade = check.grades
    scaled = None
    if max_grade is not None and grade is not None:
        scaled = grade / max_grade if max_grade > 0 else 0
    return {
        "success": correct,
        "score": {"min": 0, "max": max_grade, "raw": grade, "scaled": scaled},
        "response": _response(response),
    }


# The plain keys a problem_check searches at any depth (its statement adds "session"): found
# in one walk of the event, since several of them lie deep in the logged payload or are absent.
_SERVER_KEYS = ("submission", "response_type", "display_name", "success", "max_grade", "grade")
_BROWSER_KEYS = ("submission", "referer", "response_type", "display_name")


def problem_check(b: Builder, event: Event) -> list[Statement]:
    browser = _from_browser(event)
    event.prefetch((*(_BROWSER_KEYS if browser else _SERVER_KEYS), "session"))
    verb = v.ATTEMPTED if browser else v.EVALUATED
    submissions = _submissions(event)
    children = list(submissions) if len(submissions) > 1 else []
    first = _first_submission(event)
    check = _Check(b, event, browser)
    obj = _check_object(b, check, first, None)
    if children:
        obj["objectType"] = "GroupActivity"
        obj["definition"]["interactionType"] = OTHER
    parent = b.statement(event, verb, obj, result=_check_result(event, check, first))
    statements = [parent]
    for child_id in children:
        submission = submissions.get(child_id)
        child_submission = submission if isinstance(submission, dict) else None
        result = _check_result(event, check, child_submission)
        if result is not None:
            result["score"] = None
            result["response"] = _response((child_submission or {}).get("answer"))
        course = parent["context"].get("contextActivities", {}).get("parent")
        # the parent's object and course list are already pruned: shared, not copied
        activities = {"parent": [parent["object"]]}
        if course is not None:
            activities["grouping"] = course
        statements.append(
            b.statement(
                event,
                verb,
                _check_object(b, check, child_submission, child_id),
                result=result,
                context_activities=activities,
                parent_statement=parent["id"],
                child_id=child_id,
                activities_pruned=True,
            )
        )
    return statements


TRANSFORMS: dict[str, Transform] = {
    "showanswer": problem_event,
    "edx.problem.completed": problem_event,
    "edx.problem.hint.demandhint_displayed": problem_event,
    "edx.grades.problem.submitted": problem_submitted,
    "problem_check": problem_check,
}
