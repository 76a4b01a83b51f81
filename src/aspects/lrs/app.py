"""The LRS application: xAPI version negotiation, alternate request syntax, errors, routers.

``create_app`` wires the dependencies (settings, the ClickHouse client, the SQLAlchemy
sessionmaker) into ``app.state``; routers read them from there (no module-level singletons).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aspects.lrs import about, activities, agents
from aspects.lrs.auth import CredentialCache
from aspects.lrs.documents import router as documents_router
from aspects.lrs.statements.copier import RawCopier
from aspects.lrs.statements.fastpost import FastPost
from aspects.lrs.statements.prepare import format_time
from aspects.lrs.statements.ready import ReceivePool
from aspects.lrs.statements.routes import XAPIError
from aspects.lrs.statements.routes import router as statements_router
from aspects.lrs.statements.writer import StatementWriter
from aspects.settings import Settings
from aspects.store.client import open_client
from aspects.xapi.validation import StatementInvalid

BASE = "/xAPI"
VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT_HEADER = "X-Experience-API-Consistent-Through"
# Headers the alternate request syntax may carry as form fields (xAPI 1.0.3 §7.8).
_FORM_HEADERS = {
    "authorization",
    "x-experience-api-version",
    "content-type",
    "content-length",
    "if-match",
    "if-none-match",
}


def negotiate(value: str | None) -> str | None:
    """The version we answer in for a request's X-Experience-API-Version, None if unsupported."""
    if value is None:
        return None
    value = value.strip()
    parts = value.split(".")
    if len(parts) not in (2, 3) or not all(part.isdigit() for part in parts):
        return None
    if parts[0] == "1" and parts[1] == "0":
        return "1.0.3"
    if parts[0] == "2" and parts[1] == "0":
        return "2.0.0"
    return None


def _error_body(message: str, **extra: Any) -> bytes:
    return orjson.dumps({"error": True, "message": message, **extra})


class XAPIMiddleware:
    """Version header on every request and response; alternate request syntax (1.0.3 only)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope["headers"]
        }
        query = dict(
            parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        )
        if "method" in query and scope["method"] == "POST":
            body = await _read_body(receive)
            rewritten = self._alternate(scope, headers, query, body)
            if isinstance(rewritten, str):
                version = negotiate(headers.get("x-experience-api-version")) or "1.0.3"
                await _send_error(send, 400, rewritten, version)
                return
            scope, body = rewritten
            headers = {
                key.decode("latin-1").lower(): value.decode("latin-1")
                for key, value in scope["headers"]
            }
            receive = _replay(body)
        default = scope["app"].state.settings.lrs.default_version
        path = scope["path"]
        is_about = path.rstrip("/").endswith("/about")
        negotiated = negotiate(headers.get("x-experience-api-version"))
        if negotiated is None and not is_about and scope["method"] != "OPTIONS":
            given = headers.get("x-experience-api-version")
            message = (
                "the X-Experience-API-Version header is required"
                if given is None
                else f"unsupported X-Experience-API-Version {given!r}; supported: 1.0.3, 2.0.0"
            )
            await _send_error(send, 400, message, default)
            return
        answered = negotiated or default
        scope.setdefault("state", {})["xapi_version"] = answered
        statements = path.rstrip("/").endswith("/statements") and scope["method"] in ("GET", "HEAD")

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(VERSION_HEADER.encode(), answered.encode())]
                present = {key.lower() for key, _ in message.get("headers", [])}
                if statements and CONSISTENT_HEADER.lower().encode() not in present:
                    # Every GET /statements answer carries it, errors included (xAPI 2.1.3).
                    writer: StatementWriter = scope["app"].state.statement_writer
                    stamp = format_time(writer.consistent_through())
                    extra.append((CONSISTENT_HEADER.encode(), stamp.encode()))
                message["headers"] = [
                    *[
                        (k, v)
                        for k, v in message.get("headers", [])
                        if k.lower() != b"x-experience-api-version"
                    ],
                    *extra,
                ]
            await send(message)

        await self.app(scope, receive, send_with_version)

    @staticmethod
    def _alternate(
        scope: Scope, headers: dict[str, str], query: dict[str, str], body: bytes
    ) -> tuple[Scope, bytes] | str:
        """The request the alternate syntax encodes, or the reason to reject it."""
        form_version = None
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return "the alternate request syntax needs an application/x-www-form-urlencoded body"
        fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        form_version = fields.get("X-Experience-API-Version") or fields.get(
            "x-experience-api-version"
        )
        version = negotiate(headers.get("x-experience-api-version") or form_version)
        if version == "2.0.0":
            return "the alternate request syntax is not part of xAPI 2.0.0"
        if set(query) != {"method"}:
            return "with the alternate request syntax, every parameter goes in the form body"
        method = query["method"].upper()
        if method not in ("GET", "PUT", "POST", "DELETE", "HEAD"):
            return f"unsupported method {query['method']!r} in the alternate request syntax"
        new_headers = {
            key: value
            for key, value in headers.items()
            if key not in ("content-type", "content-length")
        }
        params: dict[str, str] = {}
        content = ""
        for key, value in fields.items():
            lowered = key.lower()
            if lowered == "content":
                content = value
            elif lowered in _FORM_HEADERS:
                new_headers[lowered] = value
            else:
                params[key] = value
        encoded = content.encode("utf-8")
        if "content-type" not in new_headers and encoded:
            new_headers["content-type"] = "application/json"
        new_headers["content-length"] = str(len(encoded))
        new_scope = dict(scope)
        new_scope["method"] = method
        new_scope["query_string"] = urlencode(params).encode("latin-1")
        new_scope["headers"] = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in new_headers.items()
        ]
        return new_scope, encoded


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _send_error(send: Send, status: int, message: str, version: str) -> None:
    body = _error_body(message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (VERSION_HEADER.encode(), version.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _install_error_handlers(app: FastAPI) -> None:
    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, StatementInvalid)
        body = _error_body(f"{error.path}: {error.rule}", field=error.path, rule=error.rule)
        return Response(body, status_code=400, media_type="application/json")

    async def xapi_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, XAPIError)
        return Response(
            _error_body(error.message), status_code=error.status, media_type="application/json"
        )

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        status = 400 if error.status_code == 422 else error.status_code
        return Response(
            _error_body(str(error.detail)),
            status_code=status,
            media_type="application/json",
            headers=dict(error.headers or {}),
        )

    async def request_invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        return Response(_error_body(problems), status_code=400, media_type="application/json")

    app.add_exception_handler(StatementInvalid, invalid)
    app.add_exception_handler(XAPIError, xapi_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_invalid)


def exclusive_writer(settings: Settings) -> bool:
    """Whether this LRS is the only writer of its statements (``lrs.exclusive_writer``; unset:
    on the embedded store, which admits one process)."""
    if settings.lrs.exclusive_writer is not None:
        return settings.lrs.exclusive_writer
    return settings.store.url is None


def create_app(
    settings: Settings,
    store_client: Client,
    sessionmaker: sessionmaker[Session],
    receive_workers: int = 0,
    fast_post: bool = True,
) -> FastAPI:
    """The LRS ASGI application over an already-migrated store and an initialised database.

    ``receive_workers`` processes read JSON statement bodies (``aspects lrs serve`` passes
    ``lrs.receive_workers``; 0, as tests build apps, reads them in the process).
    ``fast_post``: plain statement POSTs take :mod:`~aspects.lrs.statements.fastpost` (off:
    every request goes through FastAPI)."""
    # A second connection lets the writer store the LRS's own tables while the raw INSERT runs
    # (separate chDB connections of one process run in parallel; one connection serialises).
    side_client = open_client(settings.store, settings.data_dir)
    # The copy into the raw table runs on its own connection, beside the requests' commits.
    copier = RawCopier(
        open_client(settings.store, settings.data_dir),
        settings.store.database,
        name=settings.lrs.instance,
        interval=settings.lrs.copy_interval_seconds,
    )
    # Requests are answered once their statements are in this instance's write-ahead journal;
    # the writer stores them a moment later, several commits in one INSERT.
    writer = StatementWriter(
        store_client,
        settings.store.database,
        side_client=side_client,
        copier=copier,
        journal=settings.data_dir / "lrs-journal" / settings.lrs.instance,
        flush_interval=settings.lrs.flush_interval_seconds,
        exclusive=exclusive_writer(settings),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        writer.start()
        try:
            if receive_workers:
                started = ReceivePool(receive_workers)
                app.state.receive_pool = started
                await started.started()
            yield
        finally:
            await writer.stop()
            pool: ReceivePool | None = app.state.receive_pool
            app.state.receive_pool = None
            if pool is not None:
                pool.close()

    app = FastAPI(
        title="aspects LRS",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.store = store_client
    app.state.sessionmaker = sessionmaker
    app.state.credential_cache = CredentialCache(settings.lrs.credential_cache_seconds)
    app.state.statement_writer = writer
    app.state.receive_pool = None
    _install_error_handlers(app)
    app.include_router(statements_router, prefix=BASE)
    app.include_router(documents_router, prefix=BASE)
    app.include_router(agents.router, prefix=BASE)
    app.include_router(activities.router, prefix=BASE)
    app.include_router(about.router, prefix=BASE)
    app.add_middleware(XAPIMiddleware)
    # Outermost: browser content (SCORM/cmi5 packages served from other origins) calls the LRS
    # with its own Authorization header, so any origin may; no cookies are involved.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=[
            "ETag",
            "Last-Modified",
            "Content-Type",
            VERSION_HEADER,
            CONSISTENT_HEADER,
        ],
        max_age=3600,
    )
    if fast_post:
        app.add_middleware(
            FastPost,
            path=f"{BASE}/statements",
            negotiate=negotiate,
            version_header=VERSION_HEADER,
        )
    return app
