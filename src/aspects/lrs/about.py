"""The About resource: the versions this LRS speaks (no authentication, xAPI §7.7)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from fastapi.responses import Response

router = APIRouter()
VERSIONS = ["1.0.3", "2.0.0"]


@router.api_route("/about", methods=["GET", "HEAD"])
async def get_about() -> Response:
    body = {"version": VERSIONS, "extensions": {}}
    return Response(orjson.dumps(body), media_type="application/json")
