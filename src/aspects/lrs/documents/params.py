"""Query parameters of the three document resources, validated into a :class:`Address`.

Pure functions: a mapping of query parameters in, an address (or a :class:`BadRequest` naming
the parameter and the rule) out. Which parameters each resource takes is data (:data:`KINDS`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from aspects.xapi.agents import ifi_key, parse_agent_param
from aspects.xapi.validation import StatementInvalid, check_timestamp, is_iri, is_uuid


class BadRequest(ValueError):
    """A request the resource refuses with 400; the message names the parameter and rule."""


@dataclass(frozen=True)
class Kind:
    """What distinguishes one document resource from another."""

    name: str  # stored in lrs_documents.kind
    id_param: str  # stateId | profileId
    activity: bool  # takes activityId
    agent: bool  # takes agent
    registration: bool  # takes registration
    scope: str  # the xAPI scope that allows writing (reading also with all/read)
    delete_many: bool  # DELETE without the id deletes every matching document


STATE = Kind("state", "stateId", True, True, True, "state", True)
ACTIVITY_PROFILE = Kind("activity_profile", "profileId", True, False, False, "profile", False)
AGENT_PROFILE = Kind("agent_profile", "profileId", False, True, False, "profile", False)
KINDS = {kind.name: kind for kind in (STATE, ACTIVITY_PROFILE, AGENT_PROFILE)}


@dataclass(frozen=True)
class Address:
    """Which document(s) a request is about."""

    kind: Kind
    activity_id: str
    agent: str  # canonical identity key of the agent, "" when the resource has none
    registration: str  # "" when not given (single documents: the one without a registration)
    document_id: str | None  # None: the request is about every document of the scope
    since: datetime | None  # only used when listing (a single GET ignores it, as xAPI allows)

    @property
    def scope_hash(self) -> str:
        """Digest of the resource, activity and agent: what a listing or multi-delete selects.

        The registration is not part of it: xAPI lists (and deletes) the State documents of
        "Activity + Agent [+ registration if specified]", so without a registration every
        registration's documents are selected, and with one the ``registration`` column narrows.
        """
        return _digest([self.kind.name, self.activity_id, self.agent])

    def key_hash(self, document_id: str) -> str:
        """Digest that is unique per document."""
        scope = [self.kind.name, self.activity_id, self.agent, self.registration]
        return _digest([*scope, document_id])


def _digest(parts: list[str]) -> str:
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()


def parse_address(kind: Kind, method: str, items: Iterable[tuple[str, str]]) -> Address:
    """Validate the query parameters of a ``method`` request to the ``kind`` resource."""
    allowed = {kind.id_param}
    if kind.activity:
        allowed.add("activityId")
    if kind.agent:
        allowed.add("agent")
    if kind.registration:
        allowed.add("registration")
    if method in ("GET", "HEAD"):
        allowed.add("since")
    params: dict[str, str] = {}
    for name, value in items:
        if name not in allowed:
            raise BadRequest(f"parameter {name!r} is not accepted here (allowed: {_list(allowed)})")
        if name in params:
            raise BadRequest(f"parameter {name!r} must be given once")
        if "\x00" in value:  # PostgreSQL text cannot hold it; no identifier needs it
            raise BadRequest(f"parameter {name!r} must not contain NUL characters")
        params[name] = value

    activity_id = ""
    if kind.activity:
        activity_id = _required(params, "activityId")
        if not is_iri(activity_id):
            raise BadRequest("parameter 'activityId' must be an IRI")
    agent = ""
    if kind.agent:
        text = _required(params, "agent")
        try:
            parsed = parse_agent_param(text, "agent")
        except StatementInvalid as error:
            raise BadRequest(f"parameter {error}") from None
        agent = ifi_key(parsed) or ""
    registration = ""
    if "registration" in params:
        if not is_uuid(params["registration"]):
            raise BadRequest("parameter 'registration' must be a UUID")
        registration = params["registration"].lower()
    document_id = params.get(kind.id_param)
    if document_id is None and (
        method in ("PUT", "POST") or (method == "DELETE" and not kind.delete_many)
    ):
        raise BadRequest(f"parameter {kind.id_param!r} is required for {method}")
    since = None
    if "since" in params:
        try:
            since = check_timestamp(params["since"], "since")
        except StatementInvalid as error:
            raise BadRequest(f"parameter {error}") from None
        since = since.astimezone(UTC)
    return Address(kind, activity_id, agent, registration, document_id, since)


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise BadRequest(f"parameter {name!r} is required")
    return value


def _list(names: set[str]) -> str:
    return ", ".join(sorted(names))
