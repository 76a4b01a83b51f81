"""Who is calling: API keys, or LMS-issued JWTs checked against the LMS's published keys.

JWTs: signature by a key of the LMS's JWKS (fetched, cached ``api.jwks_cache_seconds``, fetched
again at once for an unknown key id, at most every 10 s), asymmetric algorithms only, and the
claims ``iss`` (exact), ``aud`` (one of ``api.jwt_audiences``), ``exp`` (required), ``nbf`` and
``iat`` with a small leeway. Then the access rule of the dashboards: superusers and global staff
(``administrator``) see every course; anyone else sees the courses the LMS lists as theirs with
``?permissions=staff&username=`` (cached per user ``api.courses_cache_seconds``); nobody else
sees anything.

Opaque tokens (``api.bearer_tokens`` = ``introspection`` or ``both``) are checked by asking the
LMS (aspects.api.introspection); the caller then gets the course roles the LMS lists for the
token's user, exactly as for a JWT (the introspection answer carries no global-staff flag).
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from aspects.api.errors import ApiError
from aspects.api.introspection import TokenIntrospector
from aspects.api.keys import ApiKey
from aspects.api.settings import ApiSettings

# An unknown key id refetches the JWKS at once, but at most this often (a flood of made-up key
# ids must not turn into a flood of requests to the LMS).
_REFETCH_AFTER = 1.0


@dataclass(frozen=True)
class Caller:
    """An authenticated caller and what it may see."""

    identity: str  # "key:<id>" or "user:<username>" or "client:<id>": the rate-limit key
    all_courses: bool = False
    courses: frozenset[str] = field(default_factory=frozenset)
    orgs: frozenset[str] = field(default_factory=frozenset)
    pii: bool = False  # may see learners' usernames / emails (when PII is on)
    erase: bool = False  # may call the retirement hook

    def may_see(self, course_key: str) -> bool:
        if self.all_courses or course_key in self.courses:
            return True
        org = course_key.removeprefix("course-v1:").split("+", 1)[0]
        return course_key.startswith("course-v1:") and org in self.orgs

    @classmethod
    def from_key(cls, key: ApiKey) -> Caller:
        return cls(
            f"key:{key.key_id}",
            key.all_courses,
            frozenset(key.courses),
            frozenset(key.orgs),
            key.pii,
            key.erase,
        )


def _header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact token (not trusted: only to pick the key)."""
    segment = token.split(".", 1)[0]
    try:
        header = orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise ValueError("not a JWT") from None
    if not isinstance(header, dict):
        raise ValueError("not a JWT")
    return header


def _unauthorized(message: str) -> ApiError:
    return ApiError(
        401, "invalid_token", message, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


class LMSAuthority:
    """JWT validation against the LMS and the LMS's answer to "which courses is u staff of"."""

    def __init__(self, settings: ApiSettings, http: httpx.Client | None = None) -> None:
        self._settings = settings
        root = settings.lms_url.rstrip("/")
        self._issuer = settings.jwt_issuer or f"{root}/oauth2"
        self._jwks_url = settings.jwks_url or f"{root}/oauth2/jwks/"
        self._courses_url = root + settings.courses_path
        self._http = http or httpx.Client(timeout=settings.lms_timeout_seconds)
        self._introspector = TokenIntrospector(settings, self._http)
        self._keys: KeySet | None = None
        self._keys_at = float("-inf")
        self._lock = threading.Lock()
        self._courses: dict[str, tuple[float, frozenset[str]]] = {}

    def close(self) -> None:
        self._http.close()

    # -- keys ------------------------------------------------------------------------------

    def _key_set(self, *, refresh: bool = False) -> KeySet:
        with self._lock:
            age = time.monotonic() - self._keys_at
            stale = age > self._settings.jwks_cache_seconds
            if self._keys is None or stale or (refresh and age > _REFETCH_AFTER):
                try:
                    response = self._http.get(self._jwks_url)
                    response.raise_for_status()
                    self._keys = KeySet.import_key_set(response.json())
                    self._keys_at = time.monotonic()
                except (httpx.HTTPError, ValueError, JoseError) as error:
                    if self._keys is None:
                        raise ApiError(
                            503, "lms_unavailable", f"cannot read the LMS keys: {error}"
                        ) from None
            return self._keys

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid token; raises a 401 ApiError otherwise."""
        if not self._settings.jwt_audiences:
            raise _unauthorized("bearer tokens are not accepted here (api.jwt_audiences unset)")
        algorithms = [a for a in self._settings.jwt_algorithms if not a.upper().startswith("HS")]
        try:
            keys = self._key_set()
            kid = _header(token).get("kid")
            if kid is not None and all(key.kid != kid for key in keys.keys):
                keys = self._key_set(refresh=True)  # the LMS may have rotated its keys
            decoded = jwt.decode(token, keys, algorithms=algorithms)
        except (JoseError, ValueError) as error:
            raise _unauthorized(f"token refused: {type(error).__name__}") from None
        claims = dict(decoded.claims)
        now = time.time()
        leeway = self._settings.jwt_leeway_seconds
        if claims.get("iss") != self._issuer:
            raise _unauthorized("token refused: wrong issuer")
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        if not set(map(str, audiences)) & set(self._settings.jwt_audiences):
            raise _unauthorized("token refused: wrong audience")
        expiry = claims.get("exp")
        if not isinstance(expiry, int | float) or expiry + leeway < now:
            raise _unauthorized("token refused: expired")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is not None and (not isinstance(value, int | float) or value - leeway > now):
                raise _unauthorized(f"token refused: {name} in the future")
        return claims

    # -- access ----------------------------------------------------------------------------

    def staff_courses(self, username: str, token: str, scheme: str = "JWT") -> frozenset[str]:
        """Courses the LMS says ``username`` has staff access to (cached per user).

        Asked with the caller's own token; ``scheme`` is ``JWT`` for a JWT, ``Bearer`` for an
        opaque token (the LMS reads each under its own authentication class).
        """
        cached = self._courses.get(username)
        if (
            cached is not None
            and time.monotonic() - cached[0] < self._settings.courses_cache_seconds
        ):
            return cached[1]
        found: set[str] = set()
        url: str | None = self._courses_url
        params: dict[str, str] | None = {"permissions": "staff", "username": username}
        pages = 0
        while url and pages < 1000:
            try:
                response = self._http.get(
                    url, params=params, headers={"Authorization": f"{scheme} {token}"}
                )
            except httpx.HTTPError as error:
                raise ApiError(503, "lms_unavailable", f"cannot ask the LMS: {error}") from None
            if response.status_code in (401, 403):
                found = set()
                break
            if response.status_code >= 400:
                raise ApiError(503, "lms_unavailable", f"the LMS answered {response.status_code}")
            body = response.json()
            for course in body.get("results", []):
                course_id = course.get("course_id") or course.get("id")
                if isinstance(course_id, str):
                    found.add(course_id)
            url = (body.get("pagination") or {}).get("next") or body.get("next")
            params = None  # the next URL carries them
            pages += 1
        courses = frozenset(found)
        self._courses[username] = (time.monotonic(), courses)
        return courses

    def _is_jwt(self, token: str) -> bool:
        mode = self._settings.bearer_tokens
        if mode != "both":
            return mode == "jwt"
        try:
            return token.count(".") == 2 and "alg" in _header(token)
        except ValueError:
            return False

    def caller(self, token: str, retirement_users: list[str]) -> Caller:
        """The caller a valid LMS token stands for."""
        if not self._is_jwt(token):
            return self._introspected_caller(token, retirement_users)
        claims = self.claims(token)
        username = claims.get("preferred_username")
        if claims.get("grant_type") == "client-credentials" or not username:
            client = str(claims.get("sub") or claims.get("aud"))
            return Caller(f"client:{client}", erase=client in retirement_users)
        username = str(username)
        erase = username in retirement_users
        if claims.get("superuser") or claims.get("administrator"):
            return Caller(f"user:{username}", all_courses=True, pii=True, erase=erase)
        courses = self.staff_courses(username, token)
        return Caller(f"user:{username}", courses=courses, pii=True, erase=erase)

    def _introspected_caller(self, token: str, retirement_users: list[str]) -> Caller:
        if not self._settings.jwt_audiences:
            raise _unauthorized("bearer tokens are not accepted here (api.jwt_audiences unset)")
        found = self._introspector.introspect(token)
        if found.username is None:
            return Caller(f"client:{found.client_id}", erase=found.client_id in retirement_users)
        courses = self.staff_courses(found.username, token, scheme="Bearer")
        return Caller(
            f"user:{found.username}",
            courses=courses,
            pii=True,
            erase=found.username in retirement_users,
        )
