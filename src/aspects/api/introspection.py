"""Opaque LMS access tokens, checked by asking the LMS (OAuth 2.0 Token Introspection, RFC 7662).

Open edX's LMS (django-oauth-toolkit) issues opaque access tokens unless the client asks for
``token_type=jwt``. Such a token can only be checked by the LMS: we POST it to the LMS's
introspection endpoint, authenticated as an OAuth2 client of the LMS (HTTP Basic), and get
``{"active": true, "scope", "exp", "client_id", "username"}`` or ``{"active": false}``.

Active answers are cached (by the token's SHA-256, never the token itself) for
``api.introspection_cache_seconds`` and never past the token's ``exp``: that bounds both the
load on the LMS and how long a revoked token keeps working. Inactive answers are not cached (a
token can only become inactive, and failed attempts are rate limited per address).

Errors: an inactive, expired or foreign-client token is the caller's problem (401); an LMS that
cannot be reached, answers 5xx, or refuses our client credentials is ours (503), never a 500.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

import httpx
import orjson

from aspects.api.errors import ApiError
from aspects.api.settings import ApiSettings

# Bounded memory: past this many cached tokens, expired entries go, then the oldest half.
_MAX_CACHED = 10_000


@dataclass(frozen=True)
class Introspected:
    """What the LMS says about an active token."""

    client_id: str
    username: str | None  # None: a client-credentials token (no user)
    scope: frozenset[str]
    expires_at: float


def _unauthorized(message: str) -> ApiError:
    return ApiError(
        401, "invalid_token", message, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


def _unavailable(message: str) -> ApiError:
    return ApiError(503, "lms_unavailable", message)


class TokenIntrospector:
    """Asks the LMS about opaque tokens, with a short cache of active answers."""

    def __init__(self, settings: ApiSettings, http: httpx.Client) -> None:
        self._settings = settings
        root = settings.lms_url.rstrip("/")
        self._url = settings.introspection_url or f"{root}/oauth2/introspect/"
        secret = settings.introspection_client_secret
        self._auth = (
            settings.introspection_client_id or "",
            secret.get_secret_value() if secret is not None else "",
        )
        self._http = http
        self._cache: dict[str, tuple[float, Introspected]] = {}
        self._lock = threading.Lock()

    def introspect(self, token: str) -> Introspected:
        """The active token's details; raises a 401 (refused) or 503 (LMS trouble) ApiError."""
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.time()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = self._ask(token)
        if found.expires_at + self._settings.jwt_leeway_seconds <= now:
            raise _unauthorized("token refused: expired")
        if found.client_id not in self._settings.jwt_audiences:
            raise _unauthorized("token refused: issued to a client not allowed here")
        until = min(now + self._settings.introspection_cache_seconds, found.expires_at)
        if until > now:
            with self._lock:
                if len(self._cache) >= _MAX_CACHED:
                    self._prune(now)
                self._cache[key] = (until, found)
        return found

    def _prune(self, now: float) -> None:
        for name in [name for name, (until, _) in self._cache.items() if until <= now]:
            del self._cache[name]
        if len(self._cache) >= _MAX_CACHED:
            for name in sorted(self._cache, key=lambda n: self._cache[n][0])[: _MAX_CACHED // 2]:
                del self._cache[name]

    def _ask(self, token: str) -> Introspected:
        try:
            response = self._http.post(
                self._url,
                data={"token": token, "token_type_hint": "access_token"},
                auth=self._auth,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as error:
            raise _unavailable(f"cannot reach the LMS introspection endpoint: {error}") from None
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        inactive = isinstance(body, dict) and body.get("active") is False
        # Older django-oauth-toolkit releases answer an unknown token 401 {"active": false}.
        if inactive and response.status_code in (200, 401):
            raise _unauthorized("token refused: not active (unknown, revoked or expired)")
        if response.status_code in (401, 403):
            raise _unavailable(
                "the LMS refused our introspection client "
                f"({response.status_code}): check api.introspection_client_id / _secret"
            )
        if response.status_code != 200 or not isinstance(body, dict):
            raise _unavailable(f"the LMS introspection endpoint answered {response.status_code}")
        if body.get("active") is not True:
            raise _unauthorized("token refused: not active")
        expiry = body.get("exp")
        client_id = body.get("client_id")
        if not isinstance(expiry, int | float) or not isinstance(client_id, str):
            raise _unauthorized("token refused: introspection gave no exp or client_id")
        username = body.get("username")
        scope = body.get("scope")
        return Introspected(
            client_id,
            str(username) if username else None,
            frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
            float(expiry),
        )
