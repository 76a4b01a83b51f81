"""HTTP handlers of the State, Activity Profile and Agent Profile resources.

One generic set of handlers, bound to each resource's :class:`Kind`. Bodies are read in the
event loop (:func:`document_body`); the database work runs in FastAPI's thread pool (the
handlers are plain functions), so a slow disk never blocks other requests.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from aspects.lrs.auth import Principal, authenticate, forbidden
from aspects.lrs.db import get_session
from aspects.lrs.documents.params import (
    ACTIVITY_PROFILE,
    AGENT_PROFILE,
    STATE,
    Address,
    BadRequest,
    Kind,
    parse_address,
)
from aspects.lrs.documents.store import (
    Conflict,
    PreconditionFailed,
    delete_documents,
    get_document,
    list_documents,
    parse_etags,
    write_document,
)

DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_CONTENT_TYPE = 255  # the width of lrs_documents.content_type

SessionDep = Annotated[Session, Depends(get_session)]
PrincipalDep = Annotated[Principal, Depends(authenticate)]


async def document_body(request: Request) -> bytes:
    """The request body, refused with 413 above ``lrs.max_document_bytes``."""
    limit = request.app.state.settings.lrs.max_document_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"documents are limited to {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"documents are limited to {limit} bytes")
    return bytes(body)


BodyDep = Annotated[bytes, Depends(document_body)]


def http_date(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def _address(kind: Kind, request: Request) -> Address:
    try:
        return parse_address(kind, request.method, request.query_params.multi_items())
    except BadRequest as error:
        raise HTTPException(400, str(error)) from None


def _require(principal: Principal, *scopes: str) -> None:
    if not principal.allows(*scopes):
        raise forbidden(*scopes)


def _version_2(request: Request) -> bool:
    # The app's middleware puts the negotiated version in the request state; without it (a
    # bare router in tests) the header says it.
    version = getattr(request.state, "xapi_version", None)
    if not isinstance(version, str):
        version = request.headers.get("x-experience-api-version", "1.0.3")
    return version.startswith("2.")


def make_router(kind: Kind, path: str) -> APIRouter:
    """The four methods of one document resource."""
    router = APIRouter()

    @router.api_route(path, methods=["GET", "HEAD"], name=f"{kind.name}_get")
    def read(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
        _require(principal, kind.scope, "all/read")
        address = _address(kind, request)
        if address.document_id is None:
            listed = list_documents(session, address)
            headers = {}
            if listed:
                headers["Last-Modified"] = http_date(max(updated for _, updated in listed))
            body = orjson.dumps([document_id for document_id, _ in listed])
            return Response(body, media_type="application/json", headers=headers)
        document = get_document(session, address)
        if document is None:
            raise HTTPException(404, f"no such document ({kind.id_param}={address.document_id})")
        etag = f'"{document.etag}"'
        headers = {"ETag": etag, "Last-Modified": http_date(document.updated)}
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and _matches(if_none_match, document.etag):
            return Response(status_code=304, headers=headers)
        return Response(document.content, media_type=document.content_type, headers=headers)

    def write(
        request: Request, session: Session, principal: Principal, body: bytes, *, merge: bool
    ) -> Response:
        _require(principal, kind.scope)
        address = _address(kind, request)
        content_type = request.headers.get("content-type") or DEFAULT_CONTENT_TYPE
        if len(content_type) > MAX_CONTENT_TYPE:
            raise HTTPException(400, f"Content-Type is limited to {MAX_CONTENT_TYPE} characters")
        try:
            document = write_document(
                session,
                address,
                body,
                content_type,
                merge=merge,
                if_match=request.headers.get("if-match"),
                if_none_match=request.headers.get("if-none-match"),
                # xAPI 1.0.3 asks this of the profile resources only; 2.0.0 of State too.
                require_for_overwrite=kind is not STATE or _version_2(request),
                require_for_create=kind is not STATE and not _version_2(request),
                now=datetime.now(UTC),
            )
        except BadRequest as error:
            raise HTTPException(400, str(error)) from None
        except PreconditionFailed as error:
            raise HTTPException(412, str(error)) from None
        except Conflict as error:
            raise HTTPException(409, str(error)) from None
        return Response(status_code=204, headers={"ETag": f'"{document.etag}"'})

    @router.put(path, status_code=204, name=f"{kind.name}_put")
    def put(
        request: Request, session: SessionDep, principal: PrincipalDep, body: BodyDep
    ) -> Response:
        return write(request, session, principal, body, merge=False)

    @router.post(path, status_code=204, name=f"{kind.name}_post")
    def post(
        request: Request, session: SessionDep, principal: PrincipalDep, body: BodyDep
    ) -> Response:
        return write(request, session, principal, body, merge=True)

    @router.delete(path, status_code=204, name=f"{kind.name}_delete")
    def remove(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
        _require(principal, kind.scope)
        address = _address(kind, request)
        try:
            delete_documents(
                session,
                address,
                request.headers.get("if-match"),
                request.headers.get("if-none-match"),
            )
        except PreconditionFailed as error:
            raise HTTPException(412, str(error)) from None
        return Response(status_code=204)

    return router


def _matches(header: str, etag: str) -> bool:
    tags = parse_etags(header)
    return "*" in tags or etag in tags


RESOURCES: tuple[tuple[Kind, str], ...] = (
    (STATE, "/activities/state"),
    (ACTIVITY_PROFILE, "/activities/profile"),
    (AGENT_PROFILE, "/agents/profile"),
)


def build_router() -> APIRouter:
    """One router with the three document resources, paths relative to the xAPI base."""
    router = APIRouter()
    for kind, path in RESOURCES:
        router.include_router(make_router(kind, path))
    return router
