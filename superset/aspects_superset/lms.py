"""What Superset asks the Open edX LMS, as functions without Flask: verify the access token,
list the courses a user has staff access to, map both to Superset roles and a row filter.

Role mapping (issue 7): LMS superuser -> Admin; global staff (``administrator``) -> Operator,
who sees every course; staff on at least one course -> Instructor, restricted to exactly those
courses; everyone else -> no access at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ROLE_ADMIN = "Admin"
ROLE_OPERATOR = "Operator"
ROLE_INSTRUCTOR = "Instructor"

KEY_SUPERUSER = "lms_superuser"
KEY_GLOBAL_STAFF = "lms_global_staff"
KEY_COURSE_STAFF = "lms_course_staff"

ROLES_MAPPING = {
    KEY_SUPERUSER: [ROLE_ADMIN],
    KEY_GLOBAL_STAFF: [ROLE_OPERATOR],
    KEY_COURSE_STAFF: [ROLE_INSTRUCTOR],
}

# Open edX course keys: course-v1:ORG+NUMBER+RUN (older slash keys ORG/NUMBER/RUN).
_COURSE_KEY = re.compile(r"^[A-Za-z0-9_.:+/~-]+$")
_TIMEOUT = 10


class LMSError(Exception):
    """The LMS refused or answered something we cannot use: the login fails closed."""


def verify_token(
    token: str, jwks: dict[str, Any], issuer: str | None, audience: str
) -> dict[str, Any]:
    """The claims of a JWT access token, after checking signature, expiry, issuer, audience."""
    try:
        decoded = jwt.decode(token, KeySet.import_key_set(jwks))
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise LMSError(f"access token signature does not verify: {error}") from None
    options: dict[str, Any] = {
        "exp": {"essential": True},
        "aud": {"essential": True, "value": audience},
    }
    if issuer:
        options["iss"] = {"essential": True, "value": issuer}
    registry = jwt.JWTClaimsRegistry(leeway=30, **options)
    try:
        registry.validate(decoded.claims)
    except (JoseError, ValueError, TypeError) as error:
        raise LMSError(f"access token claims are not acceptable: {error}") from None
    return dict(decoded.claims)


def unverified_claims(token: str) -> dict[str, Any]:
    """Claims without the signature check: only for a token just received from the token
    endpoint over the back channel, when no JWKS URL is configured (the OIDC rule for tokens
    obtained directly from the token endpoint)."""
    import base64
    import json

    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError) as error:
        raise LMSError(f"access token is not a JWT: {error}") from None
    return claims


Getter = Callable[..., Any]  # requests.get's shape (httpx.get works too)


def staff_courses(
    courses_url: str, token: str, username: str, get: Getter | None = None
) -> list[str]:
    """Course keys where ``username`` has staff access, following the LMS's pagination."""
    if get is None:
        import requests  # Superset's virtualenv has it; imported late so tests can inject

        get = requests.get
    found: list[str] = []
    url: str | None = courses_url
    params: dict[str, str] | None = {"permissions": "staff", "username": username}
    pages = 0
    while url:
        pages += 1
        if pages > 1000:
            raise LMSError("course list pagination does not end")
        answer = get(
            url, params=params, headers={"Authorization": f"JWT {token}"}, timeout=_TIMEOUT
        )
        if answer.status_code != 200:
            raise LMSError(f"course list: HTTP {answer.status_code}")
        body = answer.json()
        for course in body.get("results", []):
            key = str(course.get("course_id") or course.get("id") or "")
            if not _COURSE_KEY.match(key):
                raise LMSError(f"course list: unexpected course key {key!r}")
            found.append(key)
        url, params = (body.get("pagination") or {}).get("next"), None
    return sorted(set(found))


def role_keys(claims: dict[str, Any], courses: list[str]) -> list[str]:
    """The FAB role keys (see ROLES_MAPPING) of a user; empty means no access."""
    if claims.get("superuser"):
        return [KEY_SUPERUSER]
    if claims.get("administrator"):
        return [KEY_GLOBAL_STAFF]
    if courses:
        return [KEY_COURSE_STAFF]
    return []


def course_clause(courses: list[str], column: str = "course_key") -> str:
    """The SQL condition restricting rows to ``courses``; matches nothing when empty."""
    if not courses:
        return "1 = 0"
    literals = []
    for key in courses:
        if not _COURSE_KEY.match(key):
            raise LMSError(f"refusing course key {key!r} in a row filter")
        literals.append("'" + key.replace("\\", "\\\\").replace("'", "\\'") + "'")
    return f"{column} IN ({', '.join(literals)})"
