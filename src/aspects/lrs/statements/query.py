"""GET /statements: parameters -> SQL over ``lrs_statements``, and stateless ``more`` tokens.

Paging stays consistent while new statements arrive: the first page fixes an upper bound on
``stored`` (the consistent-through instant of that moment) and every later page continues
after the last (stored, id) it returned, inside that bound. The token carries the whole query,
so any LRS process can serve the next page.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

import orjson

from aspects.xapi.agents import ifi_key, parse_agent_param
from aspects.xapi.validation import StatementInvalid, check_timestamp, is_iri, is_uuid

MAX_LIMIT = 500
FILTERS = (
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "ascending",
)
ALWAYS = ("format", "attachments")
FORMATS = ("exact", "ids", "canonical")


@dataclass(frozen=True, slots=True)
class Filters:
    """A validated statement query (everything but the page position)."""

    agent: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: str | None = None
    until: str | None = None
    limit: int = MAX_LIMIT
    ascending: bool = False
    format: str = "exact"
    attachments: bool = False
    authority: str | None = None  # statements/read/mine: only this credential's statements
    bound: str | None = None  # stored upper bound fixed by the first page
    after_stored: str | None = None  # position: last (stored, id) returned
    after_id: str | None = None


def _bool(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise StatementInvalid(name, "must be true or false")
    return lowered == "true"


def parse_bool(params: dict[str, str], name: str) -> bool:
    return _bool(params[name], name) if name in params else False


def parse_format(params: dict[str, str]) -> str:
    value = params.get("format", "exact")
    if value not in FORMATS:
        raise StatementInvalid("format", "must be one of exact, ids, canonical")
    return value


def _time(value: str, name: str) -> str:
    parsed = check_timestamp(value, name)
    if parsed.tzinfo is None:
        raise StatementInvalid(name, "must include a time zone")
    return parsed.isoformat()


def parse_filters(params: dict[str, str], authority: str | None) -> Filters:
    """Validate the query parameters of a statement query (400 on any bad value)."""
    agent = None
    if "agent" in params:
        agent = ifi_key(parse_agent_param(params["agent"]))
    verb = params.get("verb")
    if verb is not None and not is_iri(verb):
        raise StatementInvalid("verb", "must be an IRI")
    activity = params.get("activity")
    if activity is not None and not is_iri(activity):
        raise StatementInvalid("activity", "must be an IRI")
    registration = params.get("registration")
    if registration is not None:
        if not is_uuid(registration):
            raise StatementInvalid("registration", "must be a UUID")
        registration = registration.lower()
    limit = MAX_LIMIT
    if "limit" in params:
        try:
            limit = int(params["limit"])
        except ValueError:
            raise StatementInvalid("limit", "must be a non-negative integer") from None
        if limit < 0:
            raise StatementInvalid("limit", "must be a non-negative integer")
        limit = MAX_LIMIT if limit == 0 else min(limit, MAX_LIMIT)
    return Filters(
        agent=agent,
        verb=verb,
        activity=activity,
        registration=registration,
        related_activities=parse_bool(params, "related_activities"),
        related_agents=parse_bool(params, "related_agents"),
        since=_time(params["since"], "since") if "since" in params else None,
        until=_time(params["until"], "until") if "until" in params else None,
        limit=limit,
        ascending=parse_bool(params, "ascending"),
        format=parse_format(params),
        attachments=parse_bool(params, "attachments"),
        authority=authority,
    )


def encode_more(filters: Filters) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(asdict(filters))).decode().rstrip("=")


def decode_more(token: str) -> Filters:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return Filters(**data)
    except (ValueError, TypeError):
        raise StatementInvalid("more", "is not a valid continuation token") from None


def next_page(filters: Filters, last_stored: datetime, last_id: str) -> Filters:
    return replace(filters, after_stored=last_stored.isoformat(), after_id=last_id)


def _match_sql(filters: Filters, parameters: dict[str, Any]) -> list[str]:
    """Conditions on what a statement is about (those a StatementRef inherits from its target)."""
    conditions = []
    if filters.agent is not None:
        parameters["agent"] = filters.agent
        column = "related_agents" if filters.related_agents else "agents"
        conditions.append(f"has({column}, {{agent:String}})")
    if filters.verb is not None:
        parameters["verb"] = filters.verb
        conditions.append("verb_id = {verb:String}")
    if filters.activity is not None:
        parameters["activity"] = filters.activity
        column = "related_activities" if filters.related_activities else "activities"
        conditions.append(f"has({column}, {{activity:String}})")
    if filters.registration is not None:
        parameters["registration"] = filters.registration
        conditions.append("registration = {registration:String}")
    return conditions


def build_sql(database: str, filters: Filters) -> tuple[list[str], dict[str, Any]]:
    """SELECTs of one page (each limit + 1 rows, to know whether there is more); the page is
    their results merged in order (:func:`aspects.lrs.statements.read.page`)."""
    table = f"{database}.lrs_statements"
    parameters: dict[str, Any] = {"limit": filters.limit + 1}
    # Voided = target of a voiding statement, unless that target is itself a voiding statement.
    where = [
        f"statement_id NOT IN (SELECT toUUID(voiding_target) FROM {table} "
        f"WHERE voiding_target != '' AND voiding_target NOT IN (SELECT toString(statement_id) "
        f"FROM {table} WHERE voiding_target != ''))"
    ]
    matches = _match_sql(filters, parameters)
    if filters.authority is not None:
        parameters["authority"] = filters.authority
        where.append("authority = {authority:String}")
    if filters.since is not None:
        parameters["since"] = filters.since
        where.append("stored_time > parseDateTime64BestEffort({since:String}, 6, 'UTC')")
    if filters.until is not None:
        parameters["until"] = filters.until
        where.append("stored_time <= parseDateTime64BestEffort({until:String}, 6, 'UTC')")
    if filters.bound is not None:
        parameters["bound"] = filters.bound
        where.append("stored_time <= parseDateTime64BestEffort({bound:String}, 6, 'UTC')")
    if filters.after_stored is not None and filters.after_id is not None:
        parameters["after_stored"] = filters.after_stored
        parameters["after_id"] = filters.after_id
        operator = ">" if filters.ascending else "<"
        where.append(
            f"(stored_time, statement_id) {operator} "
            "(parseDateTime64BestEffort({after_stored:String}, 6, 'UTC'), "
            "toUUID({after_id:String}))"
        )
    direction = "ASC" if filters.ascending else "DESC"

    def select(conditions: list[str]) -> str:
        return (
            f"SELECT statement, stored_time, toString(statement_id) FROM {table} "
            f"WHERE {' AND '.join(conditions)} "
            f"ORDER BY stored_time {direction}, statement_id {direction} LIMIT {{limit:UInt32}}"
        )

    if not matches:
        return [select(where)], parameters
    condition = " AND ".join(matches)
    # A statement whose object is a StatementRef matches when its target matches. Its own
    # query: OR-ed into the main one it would defeat the skip indexes and read-in-order. The
    # targets are looked for among referenced statements only (few), so it stays cheap.
    referencing = (
        f"ref_target != '' AND ref_target IN (SELECT toString(statement_id) FROM {table} "
        f"WHERE statement_id IN (SELECT toUUID(ref_target) FROM {table} WHERE ref_target != '') "
        f"AND {condition})"
    )
    return [select([*where, condition]), select([*where, referencing])], parameters
