"""Agents and Groups: the ``agent`` query parameter, identity (IFI) keys and the Person object."""

from __future__ import annotations

from typing import Any

import orjson

from aspects.xapi.validation import StatementInvalid, validate_actor, validate_agent


def parse_agent_param(text: str, name: str = "agent", *, group: bool = True) -> dict[str, Any]:
    """The Agent (or identified Group) of a query parameter's JSON text, validated.

    Raises :class:`StatementInvalid` naming the parameter when it is not JSON or not an Agent.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise StatementInvalid(name, "must be a JSON Agent object") from None
    if group:
        validate_actor(value, name)
    else:
        if isinstance(value, dict) and value.get("objectType", "Agent") != "Agent":
            raise StatementInvalid(f"{name}.objectType", "must be 'Agent'")
        validate_agent(value, name)
    assert isinstance(value, dict)
    if ifi_key(value) is None:
        raise StatementInvalid(name, "must be identified by an inverse functional identifier")
    return value


def ifi_key(agent: dict[str, Any]) -> str | None:
    """A string that is equal for two Agents (or Groups) iff they are the same, else None.

    xAPI: same inverse functional identifier and same objectType. Anonymous Groups have none.
    """
    kind = "Group" if agent.get("objectType") == "Group" else "Agent"
    if "mbox" in agent:
        return f"{kind}|mbox|{agent['mbox']}"
    if "mbox_sha1sum" in agent:
        return f"{kind}|mbox_sha1sum|{str(agent['mbox_sha1sum']).lower()}"
    if "openid" in agent:
        return f"{kind}|openid|{agent['openid']}"
    account = agent.get("account")
    if isinstance(account, dict):
        return f"{kind}|account|{account.get('homePage')}|{account.get('name')}"
    return None


def agent_keys(agent: Any, *, members: bool = True) -> list[str]:
    """Identity keys an Agent or Group matches as: its own and, for Groups, its members'."""
    if not isinstance(agent, dict):
        return []
    keys = []
    own = ifi_key(agent)
    if own is not None:
        keys.append(own)
    if members and agent.get("objectType") == "Group":
        for member in agent.get("member") or []:
            if isinstance(member, dict):
                key = ifi_key(member)
                if key is not None:
                    keys.append(key)
    return keys


def ids_only(agent: dict[str, Any]) -> dict[str, Any]:
    """The Agent or Group with only what identifies it (format=ids)."""
    kept: dict[str, Any] = {}
    if "objectType" in agent:
        kept["objectType"] = agent["objectType"]
    for key in ("mbox", "mbox_sha1sum", "openid", "account"):
        if key in agent:
            kept[key] = agent[key]
            break
    if agent.get("objectType") == "Group" and "member" in agent and len(kept) <= 1:
        kept["member"] = [ids_only(member) for member in agent["member"]]
    return kept


def person(agent: dict[str, Any]) -> dict[str, Any]:
    """The Person object of the Agents resource for one Agent (we know only this identity)."""
    result: dict[str, Any] = {"objectType": "Person"}
    if "name" in agent:
        result["name"] = [agent["name"]]
    for key in ("mbox", "mbox_sha1sum", "openid", "account"):
        if key in agent:
            result[key] = [agent[key]]
    return result
