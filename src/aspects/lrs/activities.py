"""The Activities resource: an Activity with the definition merged from stored statements.

Definitions are merged oldest first, later ones overriding: scalar fields are replaced,
language maps (name, description) and extensions are merged key by key, so a later statement
that adds a language keeps the earlier ones (xAPI 2.0 §4.1.6.4, "canonical" definition).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
from clickhouse_connect.driver.client import Client
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from aspects.lrs.auth import Principal, authenticate, forbidden
from aspects.xapi.validation import StatementInvalid, is_iri

router = APIRouter()
_MERGED = ("name", "description", "extensions")


def merge_definitions(definitions: list[dict[str, Any]]) -> dict[str, Any]:
    """One definition from several, oldest first (see the module docstring)."""
    merged: dict[str, Any] = {}
    for definition in definitions:
        for key, value in definition.items():
            if key in _MERGED and isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return merged


def load_activity(client: Client, database: str, activity_id: str) -> dict[str, Any]:
    rows = client.query(
        f"SELECT definition FROM {database}.lrs_activities FINAL "
        "WHERE activity_id = {id:String} ORDER BY stored_time",
        parameters={"id": activity_id},
    ).result_rows
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    definition = merge_definitions([orjson.loads(row[0]) for row in rows])
    if definition:
        activity["definition"] = definition
    return activity


@router.api_route("/activities", methods=["GET", "HEAD"])
async def get_activity(
    request: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> Response:
    if not principal.allows("all/read", "profile", "statements/read/mine", "define"):
        raise forbidden("all/read")
    params = request.query_params
    activity_id = params.get("activityId")
    if activity_id is None:
        raise StatementInvalid("activityId", "is required")
    if not is_iri(activity_id):
        raise StatementInvalid("activityId", "must be an IRI")
    unknown = set(params) - {"activityId"}
    if unknown:
        raise StatementInvalid(sorted(unknown)[0], "is not a parameter of GET /activities")
    database = request.app.state.settings.store.database
    # Definitions of statements answered 200 may still be pending in the writer's journal.
    await request.app.state.statement_writer.visible()
    activity = await asyncio.to_thread(
        load_activity, request.app.state.store, database, activity_id
    )
    return Response(orjson.dumps(activity), media_type="application/json")
