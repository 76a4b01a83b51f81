"""The ASGI application: ClickHouse's HTTP interface in front of the embedded engine."""

from __future__ import annotations

import uuid

import anyio
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from aspects.store.endpoint.auth import Users, credentials
from aspects.store.endpoint.engine import READER, Engine, Outcome
from aspects.store.endpoint.protocol import (
    UNSUPPORTED_METHOD,
    EndpointError,
    build_request,
    content_type,
    decode_body,
    encode_body,
    error_body,
    http_status,
)

DISPLAY_NAME = "aspects-embedded"


def create_app(engine: Engine, users: Users, *, workers: int = 32) -> Starlette:
    """The endpoint's application. ``workers`` bounds the queries that run at once."""
    limiter = anyio.CapacityLimiter(workers)

    async def ping(request: Request) -> Response:
        return PlainTextResponse("Ok.\n")

    async def query(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method in ("GET", "HEAD") and "query" not in params:
            return PlainTextResponse("Ok.\n")
        query_id = params.get("query_id") or str(uuid.uuid4())
        headers = {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": engine.timezone,
            "X-ClickHouse-Server-Display-Name": DISPLAY_NAME,
        }
        try:
            user, password = credentials(request.headers, params)
            role = users.role(user, password)
            if request.method == "GET":
                role = READER  # like ClickHouse: GET requests are read-only
            if _is_form(request.headers.get("content-type", "")):
                params, body = await _form(request, params)
            else:
                body = decode_body(await request.body(), request.headers.get("content-encoding"))
            parsed = build_request(params, body)
            outcome = await anyio.to_thread.run_sync(
                engine.execute, role, parsed, user, limiter=limiter
            )
        except EndpointError as error:
            return _error(error.code, str(error), engine.version, headers)
        except Exception as error:  # answered in ClickHouse's shape rather than a bare 500
            return _error(1001, f"{type(error).__name__}: {error}", engine.version, headers)
        headers["X-ClickHouse-Summary"] = _summary(outcome)
        payload = outcome.body
        if outcome.result_format is not None:
            headers["X-ClickHouse-Format"] = outcome.result_format
        # enable_http_compression defaults to 1, as in the engine's own settings table (which
        # clickhouse-connect reads to decide whether to ask): Accept-Encoding alone suffices.
        if payload and params.get("enable_http_compression", "1") != "0":
            payload, encoding = encode_body(payload, request.headers.get("accept-encoding"))
            if encoding is not None:
                headers["Content-Encoding"] = encoding
        return Response(
            payload,
            headers=headers,
            media_type=content_type(outcome.result_format or ""),
        )

    return Starlette(
        routes=[
            Route("/", query, methods=["GET", "POST", "HEAD"]),
            Route("/ping", ping, methods=["GET", "HEAD"]),
        ]
    )


def _is_form(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind in ("multipart/form-data", "application/x-www-form-urlencoded")


async def _form(request: Request, params: dict[str, str]) -> tuple[dict[str, str], bytes]:
    """The query and its parameters sent as form fields (clickhouse-connect's
    ``form_encode_query_params``); files would be external data, which is not supported."""
    form = await request.form()
    merged = dict(params)
    for name, value in form.multi_items():
        if not isinstance(value, str):
            raise EndpointError(
                UNSUPPORTED_METHOD, "External data (files in the form) is not supported"
            )
        merged[name] = value
    return merged, b""


def _summary(outcome: Outcome) -> str:
    # ClickHouse sends every figure as a string.
    return orjson.dumps(
        {
            "read_rows": str(outcome.read_rows),
            "read_bytes": str(outcome.read_bytes),
            "written_rows": str(outcome.written_rows),
            "written_bytes": str(outcome.written_bytes),
            "total_rows_to_read": str(outcome.read_rows),
            "result_rows": str(outcome.written_rows or outcome.read_rows),
            "result_bytes": str(outcome.written_bytes or len(outcome.body)),
            "elapsed_ns": str(int(outcome.elapsed * 1e9)),
        }
    ).decode()


def _error(code: int, message: str, version: str, headers: dict[str, str]) -> Response:
    headers = {**headers, "X-ClickHouse-Exception-Code": str(code)}
    return PlainTextResponse(
        error_body(code, message, version), status_code=http_status(code), headers=headers
    )
