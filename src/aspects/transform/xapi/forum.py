"""Discussion forum events: threads, responses and comments."""

from __future__ import annotations

from typing import Any

from aspects.transform.event import Event
from aspects.transform.statement import Builder
from aspects.transform.xapi import vocabulary as v
from aspects.transform.xapi.types import Statement, Transform

# event name -> (verb, key searched anywhere in the event for the acrossx "type" extension)
MAPPING: dict[str, tuple[dict[str, Any], str | None]] = {
    "edx.forum.thread.created": (v.POSTED, "thread_type"),
    "edx.forum.response.created": (v.POSTED, None),
    "edx.forum.comment.created": (v.POSTED, None),
    "edx.forum.thread.edited": (v.EDITED, None),
    "edx.forum.response.edited": (v.EDITED, None),
    "edx.forum.comment.edited": (v.EDITED, None),
    "edx.forum.thread.viewed": (v.VIEWED, None),
    "edx.forum.thread.deleted": (v.DELETED, None),
    "edx.forum.response.deleted": (v.DELETED, None),
    "edx.forum.comment.deleted": (v.DELETED, None),
    "edx.forum.thread.voted": (v.VOTED, "vote_value"),
    "edx.forum.response.voted": (v.VOTED, "vote_value"),
    "edx.forum.thread.reported": (v.REPORTED, None),
    "edx.forum.response.reported": (v.REPORTED, None),
    "edx.forum.comment.reported": (v.REPORTED, None),
    "edx.forum.thread.unreported": (v.UNREPORTED, None),
    "edx.forum.response.unreported": (v.UNREPORTED, None),
    "edx.forum.comment.unreported": (v.UNREPORTED, None),
}


def forum(b: Builder, event: Event) -> list[Statement]:
    verb, mode_key = MAPPING[event.name]
    object_id = str(event.need("data.id"))
    # The object IRI is the request path with the post id moved to its end (ERB's rule).
    path = event.need_str("context.path").rstrip("/").replace(object_id, "").rstrip("/")
    definition: dict[str, Any] = {"type": v.DISCUSSION}
    title = event.get("data.title")
    if title:
        definition["name"] = {"en": title}
    obj = {"id": f"{b.root}{path}/{object_id}", "objectType": "Activity", "definition": definition}
    activities = b.course_parent(event)
    discussion = event.get("data.discussion.id")
    if discussion:
        activities = dict(activities or {})
        activities["grouping"] = [
            {
                "id": f"{b.root}/api/discussion/v1/threads/{discussion}",
                "objectType": "Activity",
                "definition": {"type": v.DISCUSSION},
            }
        ]
    extensions = {v.EXT_MODE: event.get(mode_key)} if mode_key else None
    # Built without None (a title that is not a string is pruned as usual).
    return [
        b.statement(
            event,
            verb,
            obj,
            context_activities=activities,
            extensions=extensions,
            activities_pruned=True,
            object_pruned=type(title) is str or title is None,
        )
    ]


TRANSFORMS: dict[str, Transform] = dict.fromkeys(MAPPING, forum)
