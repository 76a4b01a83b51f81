"""Navigation in the courseware: links, outline, sequence tabs (all ``navigated``)."""

from __future__ import annotations

from aspects.transform.event import Event
from aspects.transform.statement import Builder
from aspects.transform.xapi import vocabulary as v
from aspects.transform.xapi.types import Statement, Transform

# Where the learner went, per sequence event: the ending position written in the context.
ENDING = {
    "edx.ui.lms.sequence.tab_selected": None,  # the event's data.target_tab
    "edx.ui.lms.sequence.next_selected": "next unit",
    "edx.ui.lms.sequence.previous_selected": "previous unit",
}


def link_clicked(b: Builder, event: Event) -> list[Statement]:
    obj = {
        "id": event.need_str("data.target_url"),
        "objectType": "Activity",
        "definition": {"type": v.LINK},
    }
    return [b.statement(event, v.NAVIGATED, obj, object_pruned=True)]


def outline_selected(b: Builder, event: Event) -> list[Statement]:
    obj = {
        "id": event.get_str("data.target_url"),
        "objectType": "Activity",
        "definition": {"type": v.MODULE, "name": {"en": event.get("data.target_name")}},
    }
    return [b.statement(event, v.NAVIGATED, obj)]


def sequence_tab(b: Builder, event: Event) -> list[Statement]:
    obj = {
        "id": b.iri("xblock", event.get("data.id")),
        "objectType": "Activity",
        "definition": {
            "type": v.RESOURCE,
            "extensions": {v.EXT_TOTAL_ITEMS: event.get("data.tab_count")},
        },
    }
    ending = ENDING[event.name] or event.get("data.target_tab")
    extensions = {
        v.EXT_STARTING_POSITION: event.get("data.current_tab"),
        v.EXT_ENDING_POSITION: ending,
    }
    return [b.statement(event, v.NAVIGATED, obj, extensions=extensions)]


TRANSFORMS: dict[str, Transform] = {
    "edx.ui.lms.link_clicked": link_clicked,
    "edx.ui.lms.outline.selected": outline_selected,
    "edx.ui.lms.sequence.outline.selected": outline_selected,
    **dict.fromkeys(ENDING, sequence_tab),
}
