"""A short way through the server for the plain ``POST /statements``, the LRS's busiest request.

Through FastAPI a POST crosses ten layers (uvicorn's proxy headers, FastAPI's error, telemetry
and body-limit layers, CORS, the version middleware, the exception layer, routing, dependency
solving) before the endpoint runs: about a fifth of the serving process's CPU at full load
(py-spy, docs/lrs.md "Where a request's time goes"), and latency for every request.
:class:`FastPost`, the outermost of the app's own middleware, answers the common case itself:

- ``POST`` on the statements path exactly, no query string (so no ``statementId``, no alternate
  request syntax), no ``Origin`` (CORS would add headers), ``Content-Type: application/json``;
- a supported ``X-Experience-API-Version``.

It decides from the headers alone, before reading the body, so everything else goes to the
FastAPI app untouched and gets its usual answer (errors of version, CORS, the alternate
syntax...). Once decided, it authenticates as the endpoint's dependency does (the credential
cache, else :func:`~aspects.lrs.auth.authenticate` itself: a cache past its time must not send
a request the long way), requires ``statements/write``, stores the body with the endpoint's
own :func:`~aspects.lrs.statements.routes.store_body`, and answers any error with the app's own
exception handlers, adding the headers the middleware around the endpoint add: the same bytes
as the full path (tests/lrs/test_fastpost.py compares them). An
unexpected error propagates to FastAPI's ServerErrorMiddleware, outside this layer, as the
endpoint's would. The app sets no body size limit (FastAPI's ``max_body_size`` is None), so
there is none to check here either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from aspects.lrs.auth import authenticate, credential_cache, forbidden
from aspects.lrs.statements.routes import store_body

_VERSION = b"x-experience-api-version"
# The request headers the decision reads; a request repeating one goes the full way (the full
# path reads some first-wins, some last-wins).
_READ = frozenset((b"authorization", b"content-type", b"origin", _VERSION))
_REPLACED = frozenset((_VERSION, b"vary"))


class FastPost:
    """ASGI middleware answering plain statement POSTs itself (module docstring). The app's
    ``state.fast_posts`` counts the requests it answered (tests check the path is taken)."""

    def __init__(
        self,
        app: ASGIApp,
        path: str,
        negotiate: Callable[[str | None], str | None],
        version_header: str,
    ) -> None:
        self.app = app
        self.path = path
        self.negotiate = negotiate
        self.version_header = version_header.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != self.path
            or scope.get("query_string")
        ):
            await self.app(scope, receive, send)
            return
        decided = self._decide(scope)
        if decided is None:
            await self.app(scope, receive, send)
            return
        version, content_type, header = decided
        state = scope["app"].state
        state.fast_posts = getattr(state, "fast_posts", 0) + 1
        try:
            principal = credential_cache(state).get(header) if header else None
            if principal is None:
                principal = await authenticate(Request(scope, receive))
            if not principal.allows("statements/write"):
                raise forbidden("statements/write")
            body = await _body(receive)
            ids = await store_body(state, body, content_type, version, principal, False, None)
        except Exception as error:
            handler = _handler(scope["app"].exception_handlers, error)
            if handler is None:
                raise
            response = await handler(Request(scope, receive), error)
        else:
            response = Response(orjson.dumps(ids), media_type="application/json")
        await self._send(response, version, send)

    def _decide(self, scope: Scope) -> tuple[str, str, str] | None:
        """(answered version, content type, Authorization header or "") when this request is
        the plain case."""
        found: dict[bytes, str] = {}
        for key, value in scope["headers"]:
            name = key.lower()
            if name in _READ:
                if name in found:
                    return None
                found[name] = value.decode("latin-1")
        if b"origin" in found:
            return None
        content_type = found.get(b"content-type")
        if content_type is None or content_type.split(";")[0].strip().lower() != (
            "application/json"
        ):
            return None
        version = self.negotiate(found.get(_VERSION))
        if version is None:
            return None
        return version, content_type, found.get(b"authorization", "")

    async def _send(self, response: Response, version: str, send: Send) -> None:
        """The response with the headers the middleware around the endpoint add: the version
        header (the version middleware), then ``Vary: Origin`` (Starlette's CORS middleware
        answering a request without ``Origin``)."""
        headers = [(k, v) for k, v in response.raw_headers if k.lower() not in _REPLACED]
        headers.append((self.version_header, version.encode("latin-1")))
        vary = [v.decode("latin-1") for k, v in response.raw_headers if k.lower() == b"vary"]
        headers.append((b"vary", ", ".join([*vary, "Origin"]).encode("latin-1")))
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": response.body})


async def _body(receive: Receive) -> bytes:
    """The request's body, as ``Request.body()`` reads it (a disconnect raises
    ClientDisconnect there too)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _handler(handlers: dict[Any, Any], error: Exception) -> Any:
    """The app's handler for ``error``, looked up by class as Starlette's exception layer
    does (None: no handler, the error propagates)."""
    for kind in type(error).__mro__:
        if kind in handlers:
            return handlers[kind]
    return None
