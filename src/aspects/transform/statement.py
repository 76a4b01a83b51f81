"""What every xAPI statement shares: id, actor, timestamp, context; and ERB's value formats.

:class:`Builder` is the one place that knows the site (LMS root URL, actors, course names,
transformer version). Family modules describe only what differs per event.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any

from aspects.transform.courses import CourseNames
from aspects.transform.errors import MalformedEvent
from aspects.transform.event import MAX_DEPTH, Event, too_deep
from aspects.transform.identity import Actors
from aspects.transform.xapi import vocabulary as v

# ERB's namespace for statement ids (never change it: ids must collide with the LMS's own).
_ID_BASE = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
_KEEP = object()
# integers a float holds exactly
_EXACT = 2**53


def prune(value: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """A copy without None members at any depth (as ERB's serialiser writes); keeps {} and [].

    Statements are built from plain dicts and lists only, so exact type checks suffice (this
    runs for every statement: it is the transformer's hottest loop).
    """
    if depth >= MAX_DEPTH:
        raise too_deep()
    out = {}
    for key, item in value.items():
        if item is None:
            continue
        kind = type(item)
        if kind is dict:
            item = prune(item, depth + 1)
        elif kind is list:
            item = [prune(member, depth + 1) if type(member) is dict else member for member in item]
        out[key] = item
    return out


# RFC 4122 variant: the first hex digit of the fourth group keeps its low 2 bits, top bits 10.
_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}


def uuid5_text(namespace: bytes, name: str) -> str:
    """``str(uuid.uuid5(UUID(bytes=namespace), name))`` without building UUID objects."""
    h = hashlib.sha1(namespace + name.encode()).hexdigest()  # noqa: S324 - uuid5 is SHA1
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def seconds(value: Any) -> float | None:
    """ERB's seconds format: a float rounded to milliseconds; None/"" stay None."""
    if value is None or (value != 0 and not value):
        return None
    if type(value) is int and -_EXACT < value < _EXACT:
        return float(value)  # whole seconds: rounding to milliseconds changes nothing
    return round(float(value), 3)  # correctly rounded, as ERB's float(f"{x:.3f}")


def iso_duration(total: float) -> str:
    """An ISO 8601 duration in the format ERB's xAPI library writes (``PT03M15S``)."""
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    days_i, hours_i, minutes_i = int(days), int(hours), int(minutes)
    secs = round(secs, 6)
    date = f"{days_i}D" if days_i else ""
    time = "T"
    if date or hours_i:
        time += f"{hours_i:02}H"
    if date or hours_i or minutes_i:
        time += f"{minutes_i:02}M"
    text = f"{int(secs):02}" if float(secs).is_integer() else (f"{secs:09.6f}").rstrip("0")
    return f"P{date}{time}{text}S"


def normalise_timestamp(raw: str) -> str:
    """The statement timestamp: the event's time, ISO 8601 with offset (naive means UTC)."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif _canonical(raw):
        return raw  # what isoformat() would write (it costs far more than the parse)
    return moment.isoformat()


def _canonical(raw: str) -> bool:
    """Whether a parsed aware time is already ``YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM``.

    The parse checked the digits; the layout, a non-zero fraction (isoformat leaves a zero one
    out) and a non-negative-zero offset in range make the text equal to ``isoformat()``.
    """
    return (
        len(raw) == 32
        and raw[10] == "T"
        and raw[4] == "-"
        and raw[7] == "-"
        and raw[13] == ":"
        and raw[16] == ":"
        and raw[19] == "."
        and raw[26] in "+-"
        and raw[29] == ":"
        and raw[30] < "6"  # offset minutes over 59 are carried into the hours
        and raw[20:26] != "000000"
        and raw[26:] != "-00:00"
        and raw.isascii()
    )


class Builder:
    """Builds statements for one site; pure apart from its caches."""

    def __init__(
        self,
        lms_root_url: str,
        actors: Actors,
        course_names: CourseNames,
        transformer_version: str,
    ) -> None:
        self.root = lms_root_url
        self.actors = actors
        self.course_names = course_names
        self.version = transformer_version
        self._namespaces: dict[str, bytes] = {}
        self._verb_texts: dict[str, str] = {}
        # verb IRI -> the namespace of its statement ids (the common case: no child id)
        self._verb_namespaces: dict[str, bytes] = {}
        # the last raw time and its statement timestamp (a problem_check's statements share it)
        self._last_time = ("", "")
        # the event's user value (int or str, as logged) -> (actor, actor text)
        self._actors: dict[int | str, tuple[dict[str, Any], str]] = {}
        self._courses: dict[str, dict[str, Any]] = {}
        # ids of cached, None-free parts shared by statements (course activities): not pruned.
        self._clean: set[int] = set()
        # course id -> the shared {"parent": [course]} (the commonest contextActivities)
        self._parents: dict[str, dict[str, Any]] = {}
        # statement objects that depend only on a few ids (the same video in the same course):
        # built and pruned once, then shared by every statement about them
        self._objects: dict[tuple[str, str, str], dict[str, Any]] = {}

    # -- identifiers -------------------------------------------------------------------------
    def iri(self, kind: str, object_id: Any) -> str | None:
        """``<root>/<kind>/<id>``, or None without an id."""
        if object_id is None:
            return None
        return f"{self.root}/{kind}/{object_id}"

    def _namespace(self, key: str) -> bytes:
        namespace = self._namespaces.get(key)
        if namespace is None:
            if len(self._namespaces) > 100_000:  # child ids make keys unbounded
                self._namespaces.clear()
            namespace = self._namespaces[key] = uuid.uuid5(_ID_BASE, key).bytes
        return namespace

    def statement_id(
        self, verb: dict[str, Any], actor_text: str, raw_time: str, child_id: str | None = None
    ) -> str:
        """ERB's deterministic id: uuid5(uuid5(base, verb json[-child]), actor json-time)."""
        name = f"{actor_text}-{raw_time}"
        if child_id is None:
            namespace = self._verb_namespaces.get(verb["id"])
            if namespace is not None:
                return uuid5_text(namespace, name)
        key = self._verb_texts.get(verb["id"])
        if key is None:
            key = self._verb_texts[verb["id"]] = json.dumps(verb)
        if child_id is not None:
            return uuid5_text(self._namespace(f"{key}-{child_id}"), name)
        namespace = self._verb_namespaces[verb["id"]] = self._namespace(key)
        return uuid5_text(namespace, name)

    # -- shared parts ------------------------------------------------------------------------
    def shared_object(self, key: tuple[str, str, str]) -> dict[str, Any] | None:
        """A statement object kept by :meth:`share_object` (None-free; never modify it)."""
        return self._objects.get(key)

    def share_object(self, key: tuple[str, str, str], obj: dict[str, Any]) -> dict[str, Any]:
        """Prune ``obj`` and keep it under ``key``, whose ids alone determine it."""
        if len(self._objects) > 100_000:
            self._objects.clear()
        pruned = self._objects[key] = prune(obj)
        return pruned

    @staticmethod
    def user_key(event: Event) -> str:
        """ERB's choice of user: data.user_id, data.username, then user_id/username anywhere.

        As in ERB a user id 0 counts as no id. The learner acted upon (``data``) wins over the
        one acting (``context``), e.g. an instructor enrolling a learner.
        """
        data = event.raw.get("data")
        # Same as ``get("data.user_id") or get("data.username")``: empty values are falsy too.
        value = (data.get("user_id") or data.get("username")) if type(data) is dict else None
        if not value:
            value = event.get("user_id") or event.get("username")
        if not value:
            raise MalformedEvent(f"{event.name}: no user (anonymous events yield no statement)")
        if isinstance(value, dict | list):
            raise MalformedEvent(f"{event.name}: the user id is not a number or a name")
        return str(value)

    def actor(self, event: Event) -> tuple[dict[str, Any], str]:
        """(actor, actor text of the statement id) of the event's user (:meth:`user_key`).

        Cached by the value as logged (an int or a string), so the common case costs no
        string conversion; other values go through :meth:`user_key` (and its errors).
        """
        data = event.raw.get("data")
        value = (data.get("user_id") or data.get("username")) if type(data) is dict else None
        if not value:
            value = event.get("user_id") or event.get("username")
        kind = type(value)
        if kind is int or kind is str:
            cached = self._actors.get(value)
            if cached is not None:
                return cached
        result = self.actors.actor(self.user_key(event))
        if kind is int or kind is str:
            if len(self._actors) >= 500_000:
                self._actors.clear()
            self._actors[value] = result
        return result

    @staticmethod
    def raw_time(event: Event) -> str:
        raw = event.raw.get("timestamp")
        if type(raw) is str and raw:  # at the top level: what the search finds first
            return raw
        raw = event.get("timestamp") or event.get("time")
        if not isinstance(raw, str):
            raise MalformedEvent(f"{event.name}: missing timestamp/time")
        return raw

    def course_activity(self, course_id: str, language: str = "en-US") -> dict[str, Any]:
        """The course as an activity (context parent); its name from the course-name source."""
        cache_key = f"{language} {course_id}"
        activity = self._courses.get(cache_key)
        if activity is None:
            name = self.course_names(course_id)
            definition: dict[str, Any] = {"type": v.COURSE}
            if name is not None:
                definition["name"] = {language: name}
            activity = {"id": self.iri("course", course_id), "objectType": "Activity"}
            activity["definition"] = definition
            if len(self._courses) > 100_000:
                self._courses.clear()
                self._clean.clear()
            self._courses[cache_key] = activity
            self._clean.add(id(activity))
        return activity

    def course_parent(self, event: Event) -> dict[str, Any] | None:
        """contextActivities with the course as parent, when the event names a course."""
        course_id = event.get("context.course_id")
        if course_id is None:
            return None
        key = str(course_id)
        parent = self._parents.get(key)
        if parent is None:
            if len(self._parents) > 100_000:
                self._parents.clear()
                self._clean.clear()
                self._courses.clear()
            parent = self._parents[key] = {"parent": [self.course_activity(key)]}
            self._clean.add(id(parent))
        return parent

    def statement(
        self,
        event: Event,
        verb: dict[str, Any],
        obj: dict[str, Any],
        *,
        result: dict[str, Any] | None = None,
        context_activities: Any = _KEEP,
        extensions: dict[str, Any] | None = None,
        parent_statement: str | None = None,
        child_id: str | None = None,
        activities_pruned: bool = False,
        object_pruned: bool = False,
        result_pruned: bool = False,
    ) -> dict[str, Any]:
        """One statement, pruned of empty members the way ERB's serialiser prunes them.

        ``activities_pruned``, ``object_pruned``, ``result_pruned``: the caller built that part
        without None at any depth (or it is a shared, cached part), so it is used as it is.
        """
        actor, actor_text = self.actor(event)
        raw_time = self.raw_time(event)
        last_raw, timestamp = self._last_time
        if raw_time != last_raw:
            timestamp = normalise_timestamp(raw_time)
            self._last_time = (raw_time, timestamp)
        if not timestamp:
            raise MalformedEvent(f"{event.name}: timestamp {raw_time!r:.40} is not ISO 8601")
        context_ext: dict[str, Any] = {v.EXT_TRANSFORMER_VERSION: self.version}
        session = event.get("session")
        if session is not None:
            context_ext[v.EXT_SESSION_ID] = session
        if extensions:
            for key, value in extensions.items():
                if value is not None:
                    context_ext[key] = value
        if context_activities is _KEEP:
            context_activities = self.course_parent(event)
        context: dict[str, Any] = {"extensions": context_ext}
        if context_activities is not None and (
            activities_pruned or id(context_activities) in self._clean
        ):
            context["contextActivities"] = context_activities  # shared, None-free
        elif context_activities is not None:
            clean = self._clean
            context["contextActivities"] = {
                kind: [m if id(m) in clean else prune(m) for m in members]
                for kind, members in context_activities.items()
                if members is not None
            }
        if parent_statement is not None:
            context["statement"] = {"id": parent_statement, "objectType": "StatementRef"}
        # The actor (cached per user) and verb (a constant) are shared, None-free and never
        # modified; everything built per event is pruned.
        statement = {
            "id": self.statement_id(verb, actor_text, raw_time, child_id),
            "actor": actor,
            "verb": verb,
            "object": obj if object_pruned else prune(obj),
            "timestamp": timestamp,
            "context": context,
            "version": v.XAPI_VERSION,
        }
        if result is not None:
            statement["result"] = result if result_pruned else prune(result)
        return statement


def finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))
