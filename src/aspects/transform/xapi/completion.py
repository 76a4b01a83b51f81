"""Block completion: progress on a block, completed at 100 %."""

from __future__ import annotations

from aspects.transform.errors import MalformedEvent
from aspects.transform.event import Event
from aspects.transform.statement import Builder
from aspects.transform.xapi import vocabulary as v
from aspects.transform.xapi.types import Statement, Transform


def block_completion(b: Builder, event: Event) -> list[Statement]:
    completion = event.get_number("data.completion")
    if completion is None:
        raise MalformedEvent(f"{event.name}: missing data.completion")
    obj = {
        "id": b.iri("xblock", event.get("data.block_id")),
        "objectType": "Activity",
        "definition": {"type": v.RESOURCE},
    }
    result = {"completion": completion == 1.0, "extensions": {v.EXT_PROGRESS: completion * 100}}
    return [b.statement(event, v.PROGRESSED, obj, result=result, result_pruned=True)]


TRANSFORMS: dict[str, Transform] = {"edx.completion.block_completion.changed": block_completion}
