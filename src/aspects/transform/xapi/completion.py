"""Block completion: progress on a block, completed at 100 %."""

from __future__ import annotations

from typing import Any

from aspects.transform.errors import MalformedEvent
from aspects.transform.event import Event
from aspects.transform.statement import Builder
from aspects.transform.xapi import vocabulary as v
from aspects.transform.xapi.types import JsonTransform, Statement, Transform


def _parts(b: Builder, event: Event) -> tuple[dict[str, Any], dict[str, Any]]:
    """(object, result) of a block completion."""
    completion = event.get_number("data.completion")
    if completion is None:
        raise MalformedEvent(f"{event.name}: missing data.completion")
    obj = {
        "id": b.iri("xblock", event.get("data.block_id")),
        "objectType": "Activity",
        "definition": {"type": v.RESOURCE},
    }
    result = {"completion": completion == 1.0, "extensions": {v.EXT_PROGRESS: completion * 100}}
    return obj, result


def block_completion(b: Builder, event: Event) -> list[Statement]:
    obj, result = _parts(b, event)
    return [b.statement(event, v.PROGRESSED, obj, result=result, result_pruned=True)]


def block_completion_json(b: Builder, event: Event) -> list[bytes]:
    obj, result = _parts(b, event)
    return [b.statement_json(event, v.PROGRESSED, obj, result=result, result_pruned=True)]


NAME = "edx.completion.block_completion.changed"
TRANSFORMS: dict[str, Transform] = {NAME: block_completion}
JSON_TRANSFORMS: dict[str, JsonTransform] = {NAME: block_completion_json}
