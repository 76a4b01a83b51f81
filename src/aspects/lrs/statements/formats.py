"""The ``format`` parameter of GET /statements: exact (as stored), ids, canonical."""

from __future__ import annotations

import copy
from typing import Any

from aspects.xapi.agents import ids_only

_LANGUAGE_MAPS = ("name", "description")


def accepted_languages(header: str | None) -> list[str]:
    """Language ranges of an Accept-Language header, best first (q-values honoured)."""
    if not header:
        return []
    ranked = []
    for position, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip()
        quality = 1.0
        for piece in pieces[1:]:
            name, _, value = piece.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(language_map: dict[str, str], languages: list[str]) -> dict[str, str]:
    """One entry of a language map: the best match of ``languages``, else a neutral choice."""
    if not language_map:
        return language_map
    lowered = {key.lower(): key for key in language_map}
    for wanted in languages:
        if wanted == "*":
            break
        wanted_lower = wanted.lower()
        if wanted_lower in lowered:
            key = lowered[wanted_lower]
            return {key: language_map[key]}
        for candidate_lower, key in lowered.items():
            if candidate_lower.split("-")[0] == wanted_lower.split("-")[0]:
                return {key: language_map[key]}
    for fallback in ("und", "en-us", "en"):
        if fallback in lowered:
            key = lowered[fallback]
            return {key: language_map[key]}
    key = next(iter(language_map))
    return {key: language_map[key]}


def _canonical_activity(activity: dict[str, Any], languages: list[str]) -> None:
    definition = activity.get("definition")
    if not isinstance(definition, dict):
        return
    for key in _LANGUAGE_MAPS:
        if isinstance(definition.get(key), dict):
            definition[key] = choose_language(definition[key], languages)
    for key in ("choices", "scale", "source", "target", "steps"):
        for component in definition.get(key) or []:
            if isinstance(component.get("description"), dict):
                component["description"] = choose_language(component["description"], languages)


def _activities(statement: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    target = statement.get("object") or {}
    if target.get("objectType", "Activity") == "Activity":
        found.append(target)
    context_activities = (statement.get("context") or {}).get("contextActivities") or {}
    for value in context_activities.values():
        found.extend(value if isinstance(value, list) else [value])
    return found


def canonical(statement: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    """Language maps reduced to one language, chosen from Accept-Language."""
    result = copy.deepcopy(statement)
    _canonical_in_place(result, languages)
    return result


def _canonical_in_place(statement: dict[str, Any], languages: list[str]) -> None:
    verb = statement.get("verb") or {}
    if isinstance(verb.get("display"), dict):
        verb["display"] = choose_language(verb["display"], languages)
    for activity in _activities(statement):
        _canonical_activity(activity, languages)
    for attachment in statement.get("attachments") or []:
        for key in ("display", "description"):
            if isinstance(attachment.get(key), dict):
                attachment[key] = choose_language(attachment[key], languages)
    target = statement.get("object") or {}
    if target.get("objectType") == "SubStatement":
        _canonical_in_place(target, languages)


def ids(statement: dict[str, Any]) -> dict[str, Any]:
    """Only what identifies Agents, Groups, Activities and Verbs."""
    result = copy.deepcopy(statement)
    _ids_in_place(result)
    return result


def _ids_in_place(statement: dict[str, Any]) -> None:
    statement["actor"] = ids_only(statement["actor"])
    statement["verb"] = {"id": statement["verb"]["id"]}
    if "authority" in statement:
        statement["authority"] = ids_only(statement["authority"])
    target = statement.get("object") or {}
    kind = target.get("objectType", "Activity")
    if kind == "Activity":
        statement["object"] = {"id": target["id"]}
    elif kind in ("Agent", "Group"):
        statement["object"] = ids_only(target)
    elif kind == "SubStatement":
        _ids_in_place(target)
    context = statement.get("context") or {}
    for key in ("instructor", "team"):
        if key in context:
            context[key] = ids_only(context[key])
    context_activities = context.get("contextActivities") or {}
    for key, value in context_activities.items():
        items = value if isinstance(value, list) else [value]
        context_activities[key] = [
            {k: v for k, v in a.items() if k in ("objectType", "id")} for a in items
        ]


def apply_format(statement: dict[str, Any], name: str, languages: list[str]) -> dict[str, Any]:
    if name == "ids":
        return ids(statement)
    if name == "canonical":
        return canonical(statement, languages)
    return statement
