"""Hand-built xAPI statements in event-routing-backends' exact vocabulary.

Shapes follow the ERB expected outputs in tests/fixtures/erb/xapi (verbs, activity types,
extension IRIs, the course in context parents). Each builder returns the statement as a dict;
:func:`store` inserts statements through the one write path, aspects.store.statements.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

from aspects.store.statements import StatementRow, insert_statements

LMS = "http://localhost:18000"
VIDEO_TYPE = "https://w3id.org/xapi/video/activity-type/video"
COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"
VIDEO_EXT = "https://w3id.org/xapi/video/extensions/"

Statement = dict[str, Any]


def at(day: int, hour: int = 10, minute: int = 0, second: float = 0, month: int = 1) -> dt.datetime:
    """A time in 2026 (UTC)."""
    whole = int(second)
    return dt.datetime(
        2026, month, day, hour, minute, whole, int((second - whole) * 1e6), tzinfo=dt.UTC
    )


def actor(name: str) -> dict[str, Any]:
    # Pseudonymous actors as ERB writes them; a readable name keeps tests legible.
    return {"objectType": "Agent", "account": {"homePage": LMS, "name": name}}


def _parent(course_key: str) -> dict[str, Any]:
    return {
        "parent": [
            {
                "id": f"{LMS}/course/{course_key}",
                "objectType": "Activity",
                "definition": {"name": {"en-US": "A course"}, "type": COURSE_TYPE},
            }
        ]
    }


def _course_of(block_key: str) -> str:
    body = block_key.split(":", 1)[1].split("+type@")[0]
    return f"course-v1:{body}"


def _base(who: str, when: dt.datetime, verb: str, obj: dict[str, Any]) -> Statement:
    return {
        "id": str(uuid.uuid4()),
        "actor": actor(who),
        "verb": {"id": verb, "display": {"en": verb.rsplit("/", 1)[-1]}},
        "object": {"objectType": "Activity", **obj},
        "timestamp": when.isoformat(),
        "version": "1.0.3",
    }


def enrollment(
    who: str, when: dt.datetime, course_key: str, *, mode: str = "audit", active: bool = True
) -> Statement:
    verb = (
        "http://adlnet.gov/expapi/verbs/registered"
        if active
        else "http://id.tincanapi.com/verb/unregistered"
    )
    statement = _base(
        who,
        when,
        verb,
        {
            "id": f"{LMS}/course/{course_key}",
            "definition": {
                "extensions": {"https://w3id.org/xapi/acrossx/extensions/type": mode},
                "name": {"en": "A course"},
                "type": COURSE_TYPE,
            },
        },
    )
    statement["context"] = {"extensions": {}}
    return statement


def video(
    who: str,
    when: dt.datetime,
    video_key: str,
    verb: str,
    *,
    time: float | None = None,
    length: float = 0.0,
    seek_to: float | None = None,
    cc: bool | None = None,
) -> Statement:
    """verb: played, paused, seeked, completed, terminated, initialized or interacted."""
    verb_ids = {
        "played": "https://w3id.org/xapi/video/verbs/played",
        "paused": "https://w3id.org/xapi/video/verbs/paused",
        "seeked": "https://w3id.org/xapi/video/verbs/seeked",
        "completed": "http://adlnet.gov/expapi/verbs/completed",
        "terminated": "http://adlnet.gov/expapi/verbs/terminated",
        "initialized": "http://adlnet.gov/expapi/verbs/initialized",
        "interacted": "http://adlnet.gov/expapi/verbs/interacted",
    }
    statement = _base(
        who,
        when,
        verb_ids[verb],
        {"id": f"{LMS}/xblock/{video_key}", "definition": {"type": VIDEO_TYPE}},
    )
    extensions: dict[str, Any] = {}
    if verb == "seeked":
        extensions[VIDEO_EXT + "time-from"] = time
        extensions[VIDEO_EXT + "time-to"] = seek_to
    elif time is not None:
        extensions[VIDEO_EXT + "time"] = time
    if cc is not None:
        extensions[VIDEO_EXT + "cc-enabled"] = cc
    if extensions:
        statement["result"] = {"extensions": extensions}
    statement["context"] = {
        "contextActivities": _parent(_course_of(video_key)),
        "extensions": {VIDEO_EXT + "length": length},
    }
    return statement


def problem_check(
    who: str,
    when: dt.datetime,
    problem_key: str,
    *,
    success: bool,
    raw: float | None = None,
    maximum: float = 1.0,
    response: str | None = None,
    attempt: int = 1,
) -> Statement:
    """A problem_check (server) statement for the whole problem (verb evaluated)."""
    raw = (maximum if success else 0.0) if raw is None else raw
    statement = _base(
        who,
        when,
        "https://w3id.org/xapi/acrossx/verbs/evaluated",
        {
            "id": f"{LMS}/xblock/{problem_key}",
            "definition": {
                "extensions": {"http://id.tincanapi.com/extension/attempt-id": attempt},
                "interactionType": "choice",
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            },
        },
    )
    result: dict[str, Any] = {
        "score": {"max": maximum, "min": 0, "raw": raw, "scaled": raw / maximum if maximum else 0},
        "success": success,
    }
    if response is not None:
        result["response"] = response
    statement["result"] = result
    statement["context"] = {"contextActivities": _parent(_course_of(problem_key))}
    return statement


def question(
    who: str, when: dt.datetime, problem_key: str, part: int, *, success: bool, response: str
) -> Statement:
    """One question of a multi-question problem check (object id <problem>_<part>_1)."""
    course_key = _course_of(problem_key)
    statement = _base(
        who,
        when,
        "https://w3id.org/xapi/acrossx/verbs/evaluated",
        {
            "id": f"{LMS}/xblock/{problem_key}_{part}_1",
            "definition": {
                "interactionType": "other",
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            },
        },
    )
    statement["result"] = {"response": response, "success": success}
    statement["context"] = {
        "contextActivities": {
            "parent": [{"id": f"{LMS}/xblock/{problem_key}", "objectType": "Activity"}],
            "grouping": [{"id": f"{LMS}/course/{course_key}", "objectType": "Activity"}],
        }
    }
    return statement


def navigation(who: str, when: dt.datetime, subsection_key: str) -> Statement:
    """edx.ui.lms.sequence.next_selected (verb navigated on the sequential)."""
    statement = _base(
        who,
        when,
        "https://w3id.org/xapi/dod-isd/verbs/navigated",
        {
            "id": f"{LMS}/xblock/{subsection_key}",
            "definition": {
                "type": "http://id.tincanapi.com/activitytype/resource",
                "extensions": {"https://w3id.org/xapi/acrossx/extensions/total-items": 3},
            },
        },
    )
    statement["context"] = {
        "contextActivities": _parent(_course_of(subsection_key)),
        "extensions": {"http://id.tincanapi.com/extension/ending-point": "next unit"},
    }
    return statement


def course_grade(
    who: str, when: dt.datetime, course_key: str, scaled: float, letter: str = ""
) -> Statement:
    statement = _base(
        who,
        when,
        "http://id.tincanapi.com/verb/earned",
        {"id": f"{LMS}/course/{course_key}", "definition": {"type": COURSE_TYPE}},
    )
    statement["result"] = {
        "score": {"scaled": scaled, "raw": scaled, "min": 0.0, "max": 1.0},
        "extensions": {"http://www.tincanapi.co.uk/activitytypes/grade_classification": letter},
    }
    statement["context"] = {"contextActivities": _parent(course_key)}
    return statement


def pass_status(who: str, when: dt.datetime, course_key: str, *, passed: bool) -> Statement:
    verb = "passed" if passed else "failed"
    statement = _base(
        who,
        when,
        f"http://adlnet.gov/expapi/verbs/{verb}",
        {"id": f"{LMS}/course/{course_key}", "definition": {"type": COURSE_TYPE}},
    )
    statement["context"] = {"extensions": {}}
    return statement


def subsection_grade(
    who: str, when: dt.datetime, subsection_key: str, raw: float, maximum: float
) -> Statement:
    statement = _base(
        who,
        when,
        "http://id.tincanapi.com/verb/earned",
        {
            "id": f"{LMS}/xblock/{subsection_key}",
            "definition": {"type": "http://id.tincanapi.com/activitytype/resource"},
        },
    )
    statement["result"] = {
        "score": {"scaled": raw / maximum, "raw": raw, "min": 0.0, "max": maximum},
        "success": raw == maximum,
    }
    statement["context"] = {"contextActivities": _parent(_course_of(subsection_key))}
    return statement


def certificate(who: str, when: dt.datetime, course_key: str, certificate_id: str) -> Statement:
    statement = _base(
        who,
        when,
        "http://id.tincanapi.com/verb/earned",
        {
            "id": f"{LMS}/certificates/{certificate_id}",
            "definition": {
                "type": "https://www.opigno.org/en/certificate",
                "name": {"en": f"Certificate {course_key}"},
            },
        },
    )
    statement["context"] = {"contextActivities": _parent(course_key)}
    return statement


def completion(who: str, when: dt.datetime, block_key: str) -> Statement:
    statement = _base(
        who,
        when,
        "http://adlnet.gov/expapi/verbs/progressed",
        {
            "id": f"{LMS}/xblock/{block_key}",
            "definition": {"type": "http://id.tincanapi.com/activitytype/resource"},
        },
    )
    statement["result"] = {
        "completion": True,
        "extensions": {"https://w3id.org/xapi/cmi5/result/extensions/progress": 100.0},
    }
    statement["context"] = {"contextActivities": _parent(_course_of(block_key))}
    return statement


def forum(
    who: str, when: dt.datetime, course_key: str, verb: str, kind: str, post_id: str
) -> Statement:
    """verb: posted, edited, deleted, reported, unreported, voted, viewed; kind: thread/comment."""
    verb_ids = {
        "posted": "https://w3id.org/xapi/acrossx/verbs/posted",
        "edited": "https://w3id.org/xapi/acrossx/verbs/edited",
        "deleted": "https://w3id.org/xapi/dod-isd/verbs/deleted",
        "reported": "https://w3id.org/xapi/acrossx/verbs/reported",
        "unreported": "https://w3id.org/xapi/openedx/verb/unreported",
        "voted": "https://w3id.org/xapi/openedx/verb/voted",
        "viewed": "http://id.tincanapi.com/verb/viewed",
    }
    path = "threads" if kind == "thread" else "comments"
    statement = _base(
        who,
        when,
        verb_ids[verb],
        {
            "id": f"{LMS}/api/discussion/v1/{path}/{post_id}",
            "definition": {"type": "http://id.tincanapi.com/activitytype/discussion"},
        },
    )
    statement["context"] = {"contextActivities": _parent(course_key)}
    return statement


def voiding(target: Statement, when: dt.datetime) -> Statement:
    """A statement voiding ``target`` (verb voided, object a StatementRef)."""
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": LMS, "name": "admin"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en": "voided"}},
        "object": {"objectType": "StatementRef", "id": target["id"]},
        "timestamp": when.isoformat(),
        "version": "1.0.3",
    }


def save(
    client: Client,
    database: str,
    statements: Iterable[Statement],
    stored: dt.datetime | None = None,
) -> int:
    """Insert statements in one INSERT (stored now unless given)."""
    when = stored or dt.datetime.now(dt.UTC)
    rows = [
        StatementRow(uuid.UUID(s["id"]), orjson.dumps(s).decode(), when, "test") for s in statements
    ]
    return insert_statements(client, database, rows)
