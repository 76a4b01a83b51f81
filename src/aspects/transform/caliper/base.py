"""What every Caliper event shares, and ERB's Caliper value formats.

ERB gives Caliper events random ids (uuid4); ours are deterministic (uuid5 of the event name,
actor and raw time), so re-transforming a log gives the same events.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aspects.transform.errors import MalformedEvent
from aspects.transform.event import MAX_DEPTH, Event, too_deep
from aspects.transform.statement import Builder

CONTEXT = "http://purl.imsglobal.org/ctx/caliper/v1p2"
_ID_BASE = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")

CaliperEvent = dict[str, Any]
CaliperTransform = Callable[[Builder, Event], list[CaliperEvent]]


def drop_empty(value: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """ERB's pruning for Caliper: remove None and empty members ("" {} [] but not 0), at every
    depth, checking each member before descending into it (a dict emptied below stays)."""
    if depth >= MAX_DEPTH:
        raise too_deep()
    out = {}
    for key, item in value.items():
        if item is None or (item != 0 and not item):
            continue
        out[key] = drop_empty(item, depth + 1) if type(item) is dict else item
    return out


def iso_seconds(value: Any) -> str | None:
    """A number of seconds as an ISO 8601 duration, in the form ERB writes (``PT3M15S``)."""
    if value is None:
        return None
    delta = timedelta(seconds=float(value))
    total = abs((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)
    secs, micros = divmod(total, 1_000_000)
    minutes, secs = divmod(secs, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    text = f"{days}D" if days else ""
    if hours or minutes or secs or micros:
        text += "T"
        text += f"{hours}H" if hours else ""
        text += f"{minutes}M" if minutes else ""
        if secs or micros:
            text += (f"{secs}.{micros:06d}".rstrip("0") if micros else f"{secs}") + "S"
    return "P" + (text or "0D")


def event_time(raw: str) -> str:
    """UTC with milliseconds and ``Z``: ``2020-07-15T06:36:01.917Z`` (naive means UTC)."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise MalformedEvent(f"timestamp {raw!r:.40} is not ISO 8601") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def part_of(b: Builder, event: Event) -> dict[str, Any]:
    """The object's start: ``extensions.isPartOf`` the course, when the event names one."""
    course_id = event.get("context.course_id")
    if course_id is None:
        return {}
    return {
        "extensions": {"isPartOf": {"id": b.iri("course", course_id), "type": "CourseOffering"}}
    }


def pseudonym(b: Builder, event: Event) -> str:
    return b.actors.pseudonym(b.user_key(event))


def caliper_event(
    b: Builder,
    event: Event,
    *,
    kind: str,
    action: str,
    obj: dict[str, Any],
    target: dict[str, Any] | None = None,
    generated: dict[str, Any] | None = None,
    extensions: dict[str, Any] | None = None,
) -> CaliperEvent:
    user = pseudonym(b, event)
    raw_time = b.raw_time(event)
    out: dict[str, Any] = {
        "@context": CONTEXT,
        "id": uuid.uuid5(_ID_BASE, f"caliper-{event.name}-{user}-{raw_time}").urn,
        "eventTime": event_time(raw_time),
        "actor": {"id": b.iri("user", user), "type": "Person"},
        "type": kind,
        "action": action,
        "object": obj,
        "extensions": {"transformerVersion": b.version, **(extensions or {})},
        "target": target,
        "generated": generated,
    }
    session = event.get("session")
    if session:
        out["session"] = {"id": b.iri("sessions", session), "type": "Session"}
    return drop_empty(out)
