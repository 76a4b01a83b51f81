"""Caliper mappings of ERB: enrollment, navigation, problem and video events."""

from __future__ import annotations

from typing import Any

from aspects.transform.caliper.base import (
    CaliperEvent,
    CaliperTransform,
    caliper_event,
    iso_seconds,
    part_of,
    pseudonym,
)
from aspects.transform.event import Event
from aspects.transform.statement import Builder
from aspects.transform.xapi.problem import _browser_block_id
from aspects.transform.xapi.video import usage_key

# -- enrollment ------------------------------------------------------------------------------
ENROLLMENT_ACTIONS = {
    "edx.course.enrollment.activated": "Activated",
    "edx.course.enrollment.deactivated": "Deactivated",
    "edx.course.grade.passed.first_time": "Completed",
}


def enrollment(b: Builder, event: Event) -> list[CaliperEvent]:
    course_id = event.get("context.course_id")
    mode = event.get("data.mode")
    obj = part_of(b, event)
    obj.update(
        id=b.iri("course", event.need("data.course_id")),
        type="CourseOffering",
        name=b.course_names(str(course_id)) if course_id is not None else None,
        extensions={"mode": mode} if mode is not None else None,
    )
    action = ENROLLMENT_ACTIONS[event.name]
    return [caliper_event(b, event, kind="Event", action=action, obj=obj)]


# -- navigation ------------------------------------------------------------------------------
NAVIGATION_TYPES = {
    "edx.ui.lms.sequence.next_selected": "DigitalResourceCollection",
    "edx.ui.lms.sequence.previous_selected": "DigitalResourceCollection",
    "edx.ui.lms.sequence.tab_selected": "DigitalResourceCollection",
    "edx.ui.lms.link_clicked": "Webpage",
    "edx.ui.lms.sequence.outline.selected": "DigitalResource",
    "edx.ui.lms.outline.selected": "DigitalResource",
}
TARGETS = {
    "edx.ui.lms.sequence.next_selected": "next unit",
    "edx.ui.lms.sequence.previous_selected": "previous unit",
}


def navigation(b: Builder, event: Event) -> list[CaliperEvent]:
    extensions: dict[str, Any] = {}
    if event.name in ("edx.ui.lms.link_clicked", "edx.ui.lms.outline.selected"):
        object_id, name = event.need("data.target_url"), event.get("data.target_name")
    else:
        # ERB treats edx.ui.lms.sequence.outline.selected like a sequence event here
        object_id, name = b.iri("xblock", event.need("data.id")), "Unit"
        extensions["tab_count"] = event.get("data.tab_count")
        extensions["current_tab"] = event.get("data.current_tab")
        extensions["target"] = TARGETS.get(event.name) or event.get("data.target_tab")
    course_id = event.get("context.course_id")
    if course_id:
        extensions["isPartOf"] = {"id": b.iri("course", course_id), "type": "CourseOffering"}
    obj = {"id": object_id, "type": NAVIGATION_TYPES[event.name], "name": name}
    if extensions:
        obj["extensions"] = extensions
    return [caliper_event(b, event, kind="NavigationEvent", action="NavigatedTo", obj=obj)]


# -- problems --------------------------------------------------------------------------------
# key -> (event type, action, object type, object name); problem_check from the server is
# "problem_check_server" when context.event_source says so (ERB reads only that field).
PROBLEMS: dict[str, tuple[str, str, str, str | None]] = {
    "problem_check": ("AssessmentEvent", "Submitted", "Assessment", None),
    "problem_check_server": ("GradeEvent", "Graded", "Attempt", None),
    "edx.grades.problem.submitted": ("AssessmentEvent", "Submitted", "Assessment", None),
    "showanswer": ("Event", "Viewed", "Annotation", "Solution"),
    "edx.problem.hint.demandhint_displayed": ("Event", "Viewed", "Annotation", "Hint"),
    "edx.problem.completed": ("AssessmentItemEvent", "Completed", "AssessmentItem", None),
}


def problem(b: Builder, event: Event) -> list[CaliperEvent]:
    key = event.name
    if key == "problem_check" and event.get("context.event_source") == "server":
        key = "problem_check_server"
    kind, action, object_type, object_name = PROBLEMS[key]
    data = event.get("data")
    event_data: dict[str, Any] = data if isinstance(data, dict) else {}
    object_id = event_data.get("problem_id", event_data.get("module_id"))
    if not object_id:
        event.need("context.referer")
        object_id = _browser_block_id(event)
    user = pseudonym(b, event)
    attempts = event_data.get("attempts", "")
    path: str | None
    if key == "showanswer":
        path = f"{object_id}/solution"
    elif key == "edx.problem.hint.demandhint_displayed":
        path = f"{object_id}/hint/{event_data.get('hint_index', '')}"
    elif key == "problem_check_server":
        path = f"{object_id}/user/{user}/attempt/{attempts}"
    else:
        path = object_id  # may be None: then the object has no id, as in ERB
    obj = part_of(b, event)
    obj.update(id=b.iri("xblock", path), type=object_type, name=object_name)
    generated = None
    if key == "problem_check_server":
        obj.setdefault("extensions", {}).update(
            assignee={"id": b.iri("user", user), "type": "Person"},
            assignable={"id": b.iri("xblock", object_id), "type": "Assessment"},
            count=attempts,
        )
        generated = {
            "score": {
                "id": "_:score",
                "type": "Score",
                "maxScore": event.get("max_grade"),
                "scoreGiven": event.get("grade"),
                "attempts": event.get("attempts"),
                "extensions": {"success": str(event.get("success") == "correct")},
            }
        }
    return [caliper_event(b, event, kind=kind, action=action, obj=obj, generated=generated)]


# -- video -----------------------------------------------------------------------------------
VIDEO_ACTIONS = {
    "load_video": "Started",
    "edx.video.loaded": "Started",
    "play_video": "Resumed",
    "edx.video.played": "Resumed",
    "stop_video": "Ended",
    "edx.video.stopped": "Ended",
    "complete_video": "Ended",
    "edx.video.completed": "Ended",
    "pause_video": "Paused",
    "edx.video.paused": "Paused",
    "seek_video": "JumpedTo",
    "edx.video.position.changed": "JumpedTo",
    "hide_transcript": "DisabledClosedCaptioning",
    "edx.video.transcript.hidden": "DisabledClosedCaptioning",
    "edx.video.closed_captions.hidden": "DisabledClosedCaptioning",
    "video_hide_cc_menu": "DisabledClosedCaptioning",
    "show_transcript": "EnabledClosedCaptioning",
    "edx.video.transcript.shown": "EnabledClosedCaptioning",
    "edx.video.closed_captions.shown": "EnabledClosedCaptioning",
    "video_show_cc_menu": "EnabledClosedCaptioning",
    "speed_change_video": "ChangedSpeed",
}


def video(b: Builder, event: Event) -> list[CaliperEvent]:
    data = event.need_dict("data")
    course_id = event.need_str("context.course_id")
    key = usage_key(course_id, "video", str(event.need("data.id")))
    obj = part_of(b, event)
    obj.update(
        id=b.iri("xblock", key), type="VideoObject", duration=iso_seconds(data.get("duration", 0))
    )
    current = event.get("data.currentTime") or event.get("data.current_time")
    target: dict[str, Any] = {"id": "_:MediaLocation", "type": "MediaLocation"}
    target["currentTime"] = iso_seconds(current)
    if event.name in ("seek_video", "edx.video.position.changed"):
        target["currentTime"] = iso_seconds(current or event.get("data.old_time"))
        target["extensions"] = {"newTime": iso_seconds(event.get("data.new_time"))}
    extensions = None
    if event.name == "speed_change_video":
        extensions = {"oldSpeed": event.get("old_speed"), "newSpeed": event.get("new_speed")}
    action = VIDEO_ACTIONS[event.name]
    return [
        caliper_event(
            b,
            event,
            kind="MediaEvent",
            action=action,
            obj=obj,
            target=target,
            extensions=extensions,
        )
    ]


TRANSFORMS: dict[str, CaliperTransform] = {
    **dict.fromkeys(ENROLLMENT_ACTIONS, enrollment),
    **dict.fromkeys(NAVIGATION_TYPES, navigation),
    **dict.fromkeys((k for k in PROBLEMS if k != "problem_check_server"), problem),
    **dict.fromkeys(VIDEO_ACTIONS, video),
}
