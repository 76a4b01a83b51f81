"""The Agents resource: the Person object of an Agent (xAPI 1.0.3 §7.6, 2.0 §4.1.6.3).

This LRS does not link several identities to one person, so the Person holds the identity
asked about (and its name when the request gives one).
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from aspects.lrs.auth import Principal, authenticate, forbidden
from aspects.xapi.agents import parse_agent_param, person
from aspects.xapi.validation import StatementInvalid

router = APIRouter()


@router.api_route("/agents", methods=["GET", "HEAD"])
async def get_agents(
    request: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> Response:
    if not principal.allows("all/read", "profile", "statements/read/mine"):
        raise forbidden("all/read", "profile")
    params = request.query_params
    if "agent" not in params:
        raise StatementInvalid("agent", "is required")
    unknown = set(params) - {"agent"}
    if unknown:
        raise StatementInvalid(sorted(unknown)[0], "is not a parameter of GET /agents")
    agent = parse_agent_param(params["agent"], group=False)
    return Response(orjson.dumps(person(agent)), media_type="application/json")
