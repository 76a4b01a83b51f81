"""GET /statements: parameters -> SQL over ``lrs_statements``, and stateless ``more`` tokens.

Paging stays consistent while new statements arrive: the first page fixes an upper bound on
``stored`` (the consistent-through instant of that moment) and every later page continues
after the last (stored, id) it returned, inside that bound. The token carries the whole query,
so any LRS process can serve the next page.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
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


def match_keys(filters: Filters) -> list[str]:
    """Keys of ``lrs_statement_keys`` (migration 0014) a matching statement has, the most
    selective first (it drives the read): what a StatementRef inherits from its target."""
    keys = []
    if filters.registration is not None:
        keys.append(f"r {filters.registration}")
    if filters.agent is not None:
        keys.append(f"{'A' if filters.related_agents else 'a'} {filters.agent}")
    if filters.activity is not None:
        keys.append(f"{'O' if filters.related_activities else 'o'} {filters.activity}")
    if filters.verb is not None:
        keys.append(f"v {filters.verb}")
    return keys


def _time_sql(filters: Filters, parameters: dict[str, Any]) -> list[str]:
    """Conditions on the statement's own ``stored_time`` (the page's window and position)."""
    where = []
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
    return where


@dataclass(frozen=True, slots=True)
class References:
    """The statement ids voiding and StatementRefs point at (read once per page: few)."""

    voided: list[str]  # voided statements (targets of voiding statements that are not voiding)
    referenced: list[str]  # targets of any StatementRef


REFERENCES_SQL = (
    "SELECT substring(key, 1, 1), substring(key, 3), toString(statement_id) "
    "FROM {database}.lrs_statement_keys WHERE startsWith(key, 'V ') OR startsWith(key, 'R ')"
)


def references(rows: Sequence[Sequence[Any]]) -> References:
    """:class:`References` from the rows of :data:`REFERENCES_SQL` (kind, target, statement)."""
    voiding = {str(row[2]) for row in rows if row[0] == "V"}
    voided = sorted({str(row[1]) for row in rows if row[0] == "V"} - voiding)
    referenced = sorted({str(row[1]) for row in rows if row[0] == "R"})
    return References(voided, referenced)


# What each key kind of lrs_statement_keys says about the statement's own row in lrs_statements:
# the view of migration 0014/0015 makes the keys from exactly these columns, so a candidate
# found through one key is checked for the others on its row (a point read by primary key)
# instead of reading every other key's range of the key table (a verb's is a fifth of it).
_COLUMN_CHECKS = {
    "v": "verb_id = {%s:String}",
    "r": "registration = {%s:String}",
    "w": "authority = {%s:String}",
    "a": "has(agents, {%s:String})",
    "A": "has(related_agents, {%s:String})",
    "o": "has(activities, {%s:String})",
    "O": "has(related_activities, {%s:String})",
}
PAIRS = "{pairs:Array(Tuple(DateTime64(6, 'UTC'), UUID))}"


# Settings of the page's queries (measured at 1M statements, docs/lrs.md). The bloom-filter
# index on statement_id serves single-statement reads and only costs time here; reading the
# candidates' granules without lazy materialisation is cheaper for a page of scattered
# statements. A key whose statements are few and scattered (an agent, an activity, a
# registration) is cheapest read and sorted whole rather than in reverse primary-key order, part
# by part; a key that a large share of the store may have (a verb, the course in the related
# activities, the credential of statements/read/mine) is cheapest read in order, stopping at the
# page's limit (read whole, a verb's 200,000 keys cost ~8 ms more; in order, an agent's 200 cost
# ~10 ms more).
_SETTINGS = {"use_skip_indexes": 0, "query_plan_optimize_lazy_materialization": 0}
_SCATTERED = {**_SETTINGS, "optimize_read_in_order": 0}
_BROAD_KINDS = ("v", "O", "w")


@dataclass(frozen=True, slots=True)
class Plan:
    """How one page is read (:func:`plan`); the SQL texts take the parameters beside them.

    ``direct``: one query giving the whole answer (no key; or one key, through the key table),
    run with ``settings``. Otherwise (several keys) ``own`` reads up to ``chunk`` candidates of
    the first key from the key table in stored order; ``checks`` keeps those whose row has the
    other keys; ``referencing`` (None when no StatementRef can match) gives the statements
    matching through their StatementRef target; ``fetch`` reads the page's statements for the
    ``{pairs}`` found (stored_time, statement_id), in the requested order, ``limit + 1`` of
    them. When the chunk held fewer matches than the page needs and the first key has more
    candidates, ``fallback`` (:func:`build_sql`'s single query) answers instead, so a page
    costs at most one chunk more than before.
    """

    parameters: dict[str, Any]
    settings: dict[str, Any]
    direct: str | None = None
    own: str | None = None
    checks: str | None = None
    referencing: str | None = None
    fetch: str = ""
    chunk: int = 0
    fallback: tuple[str, dict[str, Any]] | None = None


def plan(database: str, filters: Filters, refs: References) -> Plan:
    """The queries of one page: up to ``limit + 1`` rows (to know whether there is more) of
    (statement, stored, id) in the requested order, the rows :func:`build_sql`'s single query
    gives (what a query without keys or with one key runs).

    With several keys that query reads every further key's whole range of the key table as a
    set (a verb's is a fifth of the store): agent + verb cost ~100 ms CPU at 1M statements.
    Here the first key's newest (oldest) candidates are checked for the other keys on their own
    row of ``lrs_statements`` (the columns the key table's view makes the keys from).
    """
    matches = match_keys(filters)
    own = list(matches)
    if filters.authority is not None:
        own.append(f"w {filters.authority}")
    if len(own) <= 1:
        sql, single = build_sql(database, filters, refs)
        if not own:  # lrs_statements alone, read in order: as ClickHouse plans it
            return Plan(single, {}, direct=sql)
        return Plan(single, _SETTINGS if own[0][0] in _BROAD_KINDS else _SCATTERED, direct=sql)
    table = f"{database}.lrs_statements"
    keys_table = f"{database}.lrs_statement_keys"
    parameters: dict[str, Any] = {"limit": filters.limit + 1}
    direction = "ASC" if filters.ascending else "DESC"
    order = f"ORDER BY stored_time {direction}, statement_id {direction} LIMIT {{limit:UInt32}}"
    times = _time_sql(filters, parameters)
    parameters["voided"] = refs.voided
    not_voided = ["statement_id NOT IN {voided:Array(UUID)}"] if refs.voided else []
    fetch = (
        f"SELECT statement, stored_time, toString(statement_id) FROM {table} "
        f"WHERE (stored_time, statement_id) IN {PAIRS} {order}"
    )
    parameters["k0"] = own[0]
    scan = ["key = {k0:String}", *times, *not_voided]
    conditions = []
    for position, key in enumerate(own[1:], start=1):
        parameters[f"k{position}"] = key[2:]
        conditions.append(_COLUMN_CHECKS[key[0]] % f"k{position}")
    checks = (
        f"SELECT stored_time, statement_id FROM {table} "
        f"WHERE (stored_time, statement_id) IN {PAIRS} AND {' AND '.join(conditions)}"
    )
    # Each check reads the candidates' granules of lrs_statements: more candidates at a time
    # than the page needs, as only a share of them may pass.
    chunk = max(4 * (filters.limit + 1), 1_000)
    parameters["chunk"] = chunk
    head = f"SELECT stored_time, statement_id FROM {keys_table} WHERE "
    tail = f" ORDER BY stored_time {direction}, statement_id {direction} LIMIT {{chunk:UInt32}}"
    referencing_sql = None
    if matches and refs.referenced:
        parameters["referenced"] = refs.referenced
        targets = _targets(keys_table, matches, parameters)
        referencing = [
            "startsWith(key, 'R ')",
            *times,
            *not_voided,
            f"toUUIDOrZero(substring(key, 3)) IN ({targets})",
        ]
        if filters.authority is not None:
            referencing.append(_by_authority(keys_table, filters.authority, times, parameters))
        referencing_sql = f"{head}{' AND '.join(referencing)} {order}"
    return Plan(
        parameters,
        _SCATTERED,
        own=head + " AND ".join(scan) + tail,
        checks=checks,
        referencing=referencing_sql,
        fetch=fetch,
        chunk=chunk,
        fallback=build_sql(database, filters, refs),
    )


def _targets(keys_table: str, matches: list[str], parameters: dict[str, Any]) -> str:
    """The referenced statements (StatementRef targets) having every key of the query,
    whenever stored (the page's window is on the referencing statements)."""
    sets = []
    for position, key in enumerate(matches):
        parameters[f"t{position}"] = key
        conditions = [f"key = {{t{position}:String}}"]
        if position == 0:
            conditions.append("statement_id IN {referenced:Array(UUID)}")
        sets.append(f"SELECT statement_id FROM {keys_table} WHERE {' AND '.join(conditions)}")
    return " INTERSECT ".join(sets)


def build_sql(database: str, filters: Filters, refs: References) -> tuple[str, dict[str, Any]]:
    """The SELECT of one page: limit + 1 rows (to know whether there is more) of (statement,
    stored, id) in the requested order.

    Candidates come from the key table when the query names keys (each key a range of it, read
    in stored order and stopped at the limit; further keys narrow it as sets), else from
    ``lrs_statements`` in stored order; then only the page's statements are read from
    ``lrs_statements``, by primary key.
    """
    table = f"{database}.lrs_statements"
    keys_table = f"{database}.lrs_statement_keys"
    parameters: dict[str, Any] = {"limit": filters.limit + 1}
    direction = "ASC" if filters.ascending else "DESC"
    order = f"ORDER BY stored_time {direction}, statement_id {direction} LIMIT {{limit:UInt32}}"
    times = _time_sql(filters, parameters)
    # Voided = target of a voiding statement, unless that target is itself a voiding statement.
    parameters["voided"] = refs.voided
    not_voided = ["statement_id NOT IN {voided:Array(UUID)}"] if refs.voided else []

    def keyed(keys: list[str], prefix: str, extra: list[str], window: list[str]) -> str:
        """Candidates (stored_time, statement_id) having every key, newest/oldest first,
        stored inside ``window`` (time conditions)."""
        names = []
        for position, key in enumerate(keys):
            parameters[f"{prefix}{position}"] = key
            names.append(f"{{{prefix}{position}:String}}")
        narrowing = [
            f"statement_id IN (SELECT statement_id FROM {keys_table} "
            f"WHERE {' AND '.join([f'key = {name}', *window])})"
            for name in names[1:]
        ]
        conditions = [f"key = {names[0]}", *window, *narrowing, *extra]
        return (
            f"SELECT stored_time, statement_id FROM {keys_table} "
            f"WHERE {' AND '.join(conditions)} {order}"
        )

    matches = match_keys(filters)
    own = list(matches)
    if filters.authority is not None:
        own.append(f"w {filters.authority}")
    if not own:
        # No key: lrs_statements itself in stored order, stopped at the limit.
        return (
            f"SELECT statement, stored_time, toString(statement_id) FROM {table} "
            f"WHERE {' AND '.join([*times, *not_voided]) or '1'} {order}"
        ), parameters
    candidates = [keyed(own, "k", not_voided, times)]
    if matches and refs.referenced:
        # A statement whose object is a StatementRef matches when its target matches: the
        # referencing statements are the key table's few 'R' rows, their targets among the
        # referenced statements.
        parameters["referenced"] = refs.referenced
        referenced = "statement_id IN {referenced:Array(UUID)}"
        # The page's window (since, until, bound, position) is on the referencing statements,
        # not on their targets (a target is older: with it, ascending pages skipped them).
        targets = keyed(matches, "t", [referenced], []).replace(f" {order}", "")
        referencing = [
            "startsWith(key, 'R ')",
            *times,
            *not_voided,
            f"toUUIDOrZero(substring(key, 3)) IN (SELECT statement_id FROM ({targets}))",
        ]
        if filters.authority is not None:
            referencing.append(_by_authority(keys_table, filters.authority, times, parameters))
        candidates.append(
            f"SELECT stored_time, statement_id FROM {keys_table} "
            f"WHERE {' AND '.join(referencing)} {order}"
        )
    union = " UNION ALL ".join(f"({sql})" for sql in candidates)
    sql = (
        f"SELECT statement, stored_time, toString(statement_id) FROM {table} "
        f"WHERE (stored_time, statement_id) IN (SELECT stored_time, statement_id FROM ({union})) "
        f"{order}"
    )
    return sql, parameters


def _by_authority(
    keys_table: str, authority: str, times: list[str], parameters: dict[str, Any]
) -> str:
    """The condition that a referencing statement was stored under ``authority`` (its 'w' key)
    within the page's window."""
    parameters["authority"] = f"w {authority}"
    return (
        f"statement_id IN (SELECT statement_id FROM {keys_table} "
        f"WHERE {' AND '.join(['key = {authority:String}', *times])})"
    )
