"""The Statements resource: PUT, POST, GET (single, voided, filtered with ``more`` paging)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response

from aspects.lrs.auth import Principal, authenticate, forbidden
from aspects.lrs.statements import read
from aspects.lrs.statements.formats import accepted_languages, apply_format
from aspects.lrs.statements.multipart import build_multipart
from aspects.lrs.statements.prepare import format_time, with_id
from aspects.lrs.statements.query import (
    ALWAYS,
    FILTERS,
    decode_more,
    encode_more,
    next_page,
    parse_bool,
    parse_filters,
    parse_format,
)
from aspects.lrs.statements.ready import Ready, ReceivePool
from aspects.lrs.statements.receive import statements_from
from aspects.lrs.statements.writer import Batch, Conflict, StatementWriter
from aspects.xapi.agents import agent_keys
from aspects.xapi.validation import StatementInvalid, is_uuid

router = APIRouter()
Caller = Annotated[Principal, Depends(authenticate)]
_SINGLE = ("statementId", "voidedStatementId")


class XAPIError(Exception):
    """An error answer with a status code (400, 403, 404, 409) and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def writer_of(request: Request) -> StatementWriter:
    writer: StatementWriter = request.app.state.statement_writer
    return writer


def _database(request: Request) -> str:
    return str(request.app.state.settings.store.database)


def _version(request: Request) -> str:
    return str(getattr(request.state, "xapi_version", "1.0.3"))


def _require_write(principal: Principal) -> None:
    if not principal.allows("statements/write"):
        raise forbidden("statements/write")


def _read_authority(principal: Principal) -> str | None:
    """None when the caller reads every statement, else its own authority key (read/mine)."""
    if principal.allows("statements/read"):
        return None
    if principal.allows("statements/read/mine"):
        keys = agent_keys(principal.authority, members=False)
        return keys[0] if keys else ""
    raise forbidden("statements/read", "statements/read/mine")


async def _store(
    request: Request, principal: Principal, single: bool, statement_id: str | None
) -> list[str]:
    body = await request.body()
    content_type = request.headers.get("content-type", "application/json")
    return await store_body(
        request.app.state, body, content_type, _version(request), principal, single, statement_id
    )


async def store_body(
    state: Any,
    body: bytes,
    content_type: str,
    version: str,
    principal: Principal,
    single: bool,
    statement_id: str | None,
) -> list[str]:
    """Store a PUT/POST body's statements (``state``: the app's state): their ids, or
    StatementInvalid / XAPIError (409). Shared with the POST fast path
    (:mod:`aspects.lrs.statements.fastpost`), so both store and fail alike."""
    pool: ReceivePool | None = state.receive_pool
    writer: StatementWriter = state.statement_writer
    if pool is not None and content_type.split(";")[0].strip().lower() in ("application/json", ""):
        # Parsed, validated and prepared in a worker process (aspects.lrs.statements.ready).
        with pool.opened():
            ready: list[Ready] = await pool.read(
                body, version, principal.authority, single, statement_id
            )
            return await _write(writer, Batch(ready, principal.authority, version))
    items, _ = statements_from(content_type, body, version, single=single)
    if statement_id is not None:
        if items[0].given_id and items[0].statement_id != statement_id.lower():
            raise StatementInvalid(
                "statementId", "differs from the id of the statement in the body"
            )
        items = [with_id(items[0], statement_id)]
    return await _write(writer, Batch(items, principal.authority, version))


async def _write(writer: StatementWriter, batch: Batch) -> list[str]:
    try:
        return await writer.write(batch)
    except Conflict as error:
        raise XAPIError(409, str(error)) from None


@router.put("/statements", status_code=204)
async def put_statement(request: Request, principal: Caller) -> Response:
    _require_write(principal)
    statement_id = request.query_params.get("statementId")
    if statement_id is None:
        raise StatementInvalid("statementId", "is required for PUT")
    if not is_uuid(statement_id):
        raise StatementInvalid("statementId", "must be a UUID")
    await _store(request, principal, True, statement_id)
    return Response(status_code=204)


@router.post("/statements")
async def post_statements(request: Request, principal: Caller) -> Response:
    _require_write(principal)
    if request.query_params.get("statementId"):
        return await put_statement(request, principal)
    ids = await _store(request, principal, False, None)
    return Response(orjson.dumps(ids), media_type="application/json")


def _headers(request: Request, last_modified: datetime | None) -> dict[str, str]:
    headers = {
        "X-Experience-API-Consistent-Through": format_time(writer_of(request).consistent_through())
    }
    if last_modified is not None:
        if last_modified.tzinfo is None:
            last_modified = last_modified.replace(tzinfo=UTC)
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    return headers


async def _respond(
    request: Request,
    content: Any,
    statements: list[dict[str, Any]],
    attachments: bool,
    last_modified: datetime | None,
) -> Response:
    body = orjson.dumps(content)
    headers = _headers(request, last_modified)
    if not attachments:
        return Response(body, media_type="application/json", headers=headers)
    hashes = sorted(
        {a["sha2"] for s in statements for a in s.get("attachments") or [] if "sha2" in a}
    )
    stored = await asyncio.to_thread(
        read.attachments, request.app.state.store, _database(request), hashes
    )
    payload, content_type = build_multipart(body, stored)
    return Response(payload, headers={**headers, "Content-Type": content_type})


@router.api_route("/statements", methods=["GET", "HEAD"])
async def get_statements(request: Request, principal: Caller) -> Response:
    authority = _read_authority(principal)
    params = dict(request.query_params)
    unknown = set(params) - {*_SINGLE, *FILTERS, *ALWAYS, "more"}
    if unknown:
        raise StatementInvalid(sorted(unknown)[0], "is not a parameter of GET /statements")
    languages = accepted_languages(request.headers.get("accept-language"))
    # Read-your-writes: statements answered 200 may still be pending in the writer's journal.
    await writer_of(request).visible()
    single = [name for name in _SINGLE if name in params]
    if single:
        return await _get_one(request, params, single, authority, languages)
    if "more" in params:
        if set(params) != {"more"}:
            raise StatementInvalid("more", "must be the only parameter")
        filters = decode_more(params["more"])
    else:
        filters = parse_filters(params, authority)
        # The first page fixes the upper bound of every later page (consistent paging).
        bound = format_time(writer_of(request).consistent_through())
        filters = replace(filters, bound=bound)
    rows = await asyncio.to_thread(read.page, request.app.state.store, _database(request), filters)
    more = ""
    if len(rows) > filters.limit:
        rows = rows[: filters.limit]
        _, last_stored, last_id = rows[-1]
        more = f"{request.url.path}?more={encode_more(next_page(filters, last_stored, last_id))}"
    statements = [apply_format(row[0], filters.format, languages) for row in rows]
    latest = max((row[1] for row in rows), default=None)
    return await _respond(
        request, {"statements": statements, "more": more}, statements, filters.attachments, latest
    )


async def _get_one(
    request: Request,
    params: dict[str, str],
    single: list[str],
    authority: str | None,
    languages: list[str],
) -> Response:
    if len(single) > 1 or set(params) - {*single, *ALWAYS}:
        extra = sorted(set(params) - {single[0], *ALWAYS})[0]
        raise StatementInvalid(extra, f"cannot be combined with {single[0]}")
    name = single[0]
    statement_id = params[name]
    if not is_uuid(statement_id):
        raise StatementInvalid(name, "must be a UUID")
    format_name = parse_format(params)
    with_attachments = parse_bool(params, "attachments")
    found = await asyncio.to_thread(
        read.one, request.app.state.store, _database(request), statement_id.lower(), authority
    )
    wanted_voided = name == "voidedStatementId"
    if found is None or found.voided != wanted_voided:
        raise XAPIError(
            404, f"no {'voided ' if wanted_voided else ''}statement with id {statement_id}"
        )
    statement = apply_format(found.statement, format_name, languages)
    return await _respond(request, statement, [statement], with_attachments, found.stored)
