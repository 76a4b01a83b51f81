"""A test LMS: a real OAuth2 authorization server speaking the Open edX shapes.

It stands in for the Open edX LMS, which cannot run here (Django, MySQL, MongoDB...). Everything a
client of the LMS sees is real: an authorization-code flow with a login form, single-use codes
bound to client and redirect URI, a token endpoint (authorization code, refresh token, client
credentials; client authentication by HTTP Basic or form fields), JWT access tokens signed with an
RSA key and published as a JWKS, opaque access tokens (what django-oauth-toolkit issues when the
client does not ask for ``token_type=jwt``) with DOT's RFC 7662 introspection endpoint and
revocation, and the JSON APIs Aspects reads (user info, the courses a user has staff access to,
paginated, and the Course Blocks API). Shapes follow
shared/notes/open-edx-lms-apis.md; every test can change the users, courses and blocks it serves.

Use :func:`running_lms` (a context manager) or the fixtures in ``tests.lms.fixtures``.
"""

from __future__ import annotations

import base64
import html
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from fastapi import FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from tests.support import free_port

ISSUER_PATH = "/oauth2"
JWKS_PATH = "/oauth2/jwks/"
INTROSPECT_PATH = "/oauth2/introspect/"
TOKEN_LIFETIME = 3600


@dataclass
class LMSUser:
    username: str
    password: str
    user_id: int
    email: str
    name: str
    administrator: bool = False  # global staff
    superuser: bool = False


@dataclass
class LMSCourse:
    course_id: str
    name: str
    staff: set[str] = field(default_factory=set)
    blocks: dict[str, Any] | None = None

    @property
    def org(self) -> str:
        return self.course_id.split(":", 1)[-1].split("+")[0]

    @property
    def number(self) -> str:
        return self.course_id.split("+")[1]


@dataclass
class LMSClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str]


@dataclass
class LMSState:
    """What the LMS knows; tests edit it freely (it is read at every request)."""

    users: dict[str, LMSUser] = field(default_factory=dict)
    courses: dict[str, LMSCourse] = field(default_factory=dict)
    clients: dict[str, LMSClient] = field(default_factory=dict)
    page_size: int = 2  # small, so that clients must follow `pagination.next`
    token_lifetime: int = TOKEN_LIFETIME
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, private=True))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)  # paths served, for assertions
    # Token type when the request does not say (`token_type=jwt` or `bearer`). The real LMS issues
    # opaque tokens by default; JWT here keeps the clients written before opaque tokens existed.
    default_token_type: str = "jwt"
    # Opaque access tokens: token -> {"client_id", "username" (None: client credentials),
    # "scope", "expires"}. Revoking deletes the entry, as DOT deletes the token row.
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Status the introspection endpoint answers instead of working (e.g. 503), for outage tests.
    introspection_failure: int | None = None
    # Older DOT releases answered an unknown token with 401 {"active": false}; newer ones 200.
    introspection_unknown_status: int = 200

    def add_user(self, username: str, **extra: Any) -> LMSUser:
        user = LMSUser(
            username=username,
            password=extra.pop("password", f"{username}-password"),
            user_id=extra.pop("user_id", len(self.users) + 1),
            email=extra.pop("email", f"{username}@example.com"),
            name=extra.pop("name", username.title()),
            **extra,
        )
        self.users[username] = user
        return user

    def add_course(self, course_id: str, name: str, staff: set[str] | None = None) -> LMSCourse:
        course = LMSCourse(course_id, name, set(staff or ()))
        self.courses[course_id] = course
        return course

    def add_client(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        self.clients[client_id] = LMSClient(client_id, client_secret, redirect_uris)

    def jwks(self) -> dict[str, Any]:
        return KeySet([self.key]).as_dict(private=False)

    def issue_opaque_token(
        self, username: str | None, client_id: str, scope: str = "", lifetime: int | None = None
    ) -> str:
        """An opaque access token, as DOT stores it (``username`` None: client credentials)."""
        token = secrets.token_urlsafe(24)
        self.access_tokens[token] = {
            "client_id": client_id,
            "username": username,
            "scope": scope,
            "expires": time.time() + (self.token_lifetime if lifetime is None else lifetime),
        }
        return token

    def revoke(self, token: str) -> None:
        self.access_tokens.pop(token, None)

    def opaque_claims(self, token: str) -> dict[str, Any] | None:
        """JWT-like claims of a valid opaque token (what the LMS's own APIs see), else None."""
        data = self.access_tokens.get(token)
        if data is None or data["expires"] < time.time():
            return None
        user = self.users.get(data["username"] or "")
        claims: dict[str, Any] = {"aud": data["client_id"], "exp": int(data["expires"])}
        if user is None:
            claims.update(grant_type="client-credentials", sub=data["client_id"])
        else:
            claims.update(
                grant_type="authorization_code",
                preferred_username=user.username,
                administrator=user.administrator,
                superuser=user.superuser,
            )
        return claims


def _claims(
    state: LMSState, user: LMSUser | None, client_id: str, scope: str, base: str
) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": base + ISSUER_PATH,
        "aud": client_id,
        "iat": now,
        "exp": now + state.token_lifetime,
        "scopes": scope.split(),
        "version": "1.2.0",
        "filters": [],
        "is_restricted": False,
    }
    if user is None:
        claims.update(grant_type="client-credentials", sub=client_id)
        return claims
    claims.update(
        grant_type="authorization_code",
        sub=f"sub-{user.user_id}",
        preferred_username=user.username,
        name=user.name,
        given_name=user.name.split()[0],
        family_name=user.name.split()[-1],
        administrator=user.administrator,
        superuser=user.superuser,
        email_verified=True,
    )
    if "email" in scope.split():
        claims["email"] = user.email
    if "user_id" in scope.split():
        claims["user_id"] = user.user_id
    return claims


def build_app(state: LMSState) -> FastAPI:
    app = FastAPI(title="test LMS")

    @app.middleware("http")
    async def _record(request: Request, call_next: Any) -> Any:
        state.requests.append(request.url.path)
        return await call_next(request)

    def base_url(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def client_for(client_id: str, redirect_uri: str) -> LMSClient:
        client = state.clients.get(client_id)
        if client is None:
            raise HTTPException(400, "invalid_client")
        if redirect_uri not in client.redirect_uris:
            raise HTTPException(400, "redirect_uri not registered for this client")
        return client

    @app.get("/oauth2/authorize/", response_class=HTMLResponse)
    @app.get("/oauth2/authorize", response_class=HTMLResponse)
    def authorize_form(
        client_id: str,
        redirect_uri: str,
        response_type: str = "code",
        scope: str = "",
        state_: str = Query("", alias="state"),
    ) -> str:
        client_for(client_id, redirect_uri)
        if response_type != "code":
            raise HTTPException(400, "unsupported_response_type")
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
            for name, value in (
                ("client_id", client_id),
                ("redirect_uri", redirect_uri),
                ("scope", scope),
                ("state", state_),
            )
        )
        return (
            "<html><body><h1>Sign in to the test LMS</h1>"
            '<form method="post" action="/oauth2/authorize/">'
            f"{hidden}"
            '<label>Username <input name="username" id="username"></label>'
            '<label>Password <input name="password" id="password" type="password"></label>'
            '<button type="submit" id="login">Sign in</button></form></body></html>'
        )

    @app.post("/oauth2/authorize/")
    def authorize_submit(
        client_id: str = Form(...),
        redirect_uri: str = Form(...),
        username: str = Form(...),
        password: str = Form(...),
        scope: str = Form(""),
        state_: str = Form("", alias="state"),
    ) -> Any:
        client_for(client_id, redirect_uri)
        user = state.users.get(username)
        if user is None or not secrets.compare_digest(user.password, password):
            return HTMLResponse("<html><body>Wrong username or password</body></html>", 401)
        code = secrets.token_urlsafe(24)
        state.codes[code] = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "username": username,
            "scope": scope,
            "expires": time.time() + 60,
        }
        query = urlencode({"code": code, "state": state_})
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=302)

    def authenticate_client(request: Request, form: dict[str, str]) -> LMSClient:
        header = request.headers.get("authorization", "")
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if header.lower().startswith("basic "):
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
        client = state.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, client_secret):
            raise HTTPException(401, "invalid_client")
        return client

    def token_response(
        request: Request, client: LMSClient, user: LMSUser | None, scope: str, token_type: str
    ) -> dict[str, Any]:
        if (token_type or state.default_token_type).lower() == "jwt":
            claims = _claims(state, user, client.client_id, scope, base_url(request))
            token = jwt.encode({"alg": "RS256", "kid": state.key.thumbprint()}, claims, state.key)
            kind = "JWT"
        else:
            username = user.username if user is not None else None
            token = state.issue_opaque_token(username, client.client_id, scope)
            kind = "Bearer"
        response: dict[str, Any] = {
            "access_token": token,
            "token_type": kind,
            "expires_in": state.token_lifetime,
            "scope": scope,
        }
        if user is not None:
            refresh = secrets.token_urlsafe(24)
            state.refresh_tokens[refresh] = {
                "client_id": client.client_id,
                "username": user.username,
                "scope": scope,
            }
            response["refresh_token"] = refresh
        return response

    @app.post("/oauth2/access_token/")
    @app.post("/oauth2/access_token")
    async def access_token(request: Request) -> Any:
        form = {key: str(value) for key, value in (await request.form()).items()}
        client = authenticate_client(request, form)
        grant = form.get("grant_type")
        token_type = form.get("token_type", "")
        if grant == "authorization_code":
            grant_data = state.codes.pop(form.get("code", ""), None)  # single use
            if (
                grant_data is None
                or grant_data["expires"] < time.time()
                or grant_data["client_id"] != client.client_id
                or grant_data["redirect_uri"] != form.get("redirect_uri")
            ):
                return JSONResponse({"error": "invalid_grant"}, 400)
            user = state.users[grant_data["username"]]
            return token_response(request, client, user, grant_data["scope"], token_type)
        if grant == "refresh_token":
            grant_data = state.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if grant_data is None or grant_data["client_id"] != client.client_id:
                return JSONResponse({"error": "invalid_grant"}, 400)
            user = state.users[grant_data["username"]]
            return token_response(request, client, user, grant_data["scope"], token_type)
        if grant == "client_credentials":
            return token_response(request, client, None, form.get("scope", ""), token_type)
        return JSONResponse({"error": "unsupported_grant_type"}, 400)

    @app.get(JWKS_PATH)
    def jwks() -> dict[str, Any]:
        return state.jwks()

    @app.api_route(INTROSPECT_PATH, methods=["GET", "POST"])
    async def introspect(request: Request) -> Any:
        """RFC 7662 as DOT answers it. The caller is a confidential client (HTTP Basic or form
        credentials) or holds a token with the `introspection` scope."""
        form = {key: str(value) for key, value in (await request.form()).items()}
        form.update(request.query_params)
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            data = state.access_tokens.get(bearer)
            if (
                data is None
                or data["expires"] < time.time()
                or "introspection" not in data["scope"].split()
            ):
                raise HTTPException(403, "token lacks the introspection scope")
        else:
            authenticate_client(request, form)
        if state.introspection_failure is not None:
            return JSONResponse({"detail": "unavailable"}, state.introspection_failure)
        data = state.access_tokens.get(form.get("token", ""))
        if data is None:
            return JSONResponse({"active": False}, state.introspection_unknown_status)
        if data["expires"] < time.time():
            return JSONResponse({"active": False})
        answer: dict[str, Any] = {
            "active": True,
            "scope": data["scope"],
            "exp": int(data["expires"]),
            "client_id": data["client_id"],
        }
        if data["username"] is not None:
            answer["username"] = data["username"]
        return answer

    @app.post("/oauth2/revoke_token/")
    async def revoke_token(request: Request) -> Any:
        form = {key: str(value) for key, value in (await request.form()).items()}
        client = authenticate_client(request, form)
        data = state.access_tokens.get(form.get("token", ""))
        if data is not None and data["client_id"] == client.client_id:
            state.revoke(form["token"])
        return JSONResponse({})

    def bearer_claims(request: Request) -> dict[str, Any]:
        """Claims of a valid access token (JWT or opaque); `Bearer` and `JWT` schemes."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "jwt") or not token:
            raise HTTPException(401, "authentication credentials were not provided")
        opaque = state.opaque_claims(token) if scheme.lower() == "bearer" else None
        if opaque is not None:
            return opaque
        try:
            decoded = jwt.decode(token, state.key)
        except (JoseError, ValueError):
            raise HTTPException(401, "invalid token") from None
        if decoded.claims.get("exp", 0) < time.time():
            raise HTTPException(401, "token expired")
        return decoded.claims

    @app.get("/api/user/v1/me")
    def me(request: Request) -> dict[str, Any]:
        claims = bearer_claims(request)
        if "preferred_username" not in claims:
            raise HTTPException(403, "no user in this token")
        return {"username": claims["preferred_username"]}

    @app.get("/api/user/v1/accounts/{username}")
    def account(username: str, request: Request) -> dict[str, Any]:
        claims = bearer_claims(request)
        if claims.get("preferred_username") != username and not claims.get("administrator"):
            raise HTTPException(404)
        user = state.users.get(username)
        if user is None:
            raise HTTPException(404)
        return {
            "username": user.username,
            "email": user.email,
            "name": user.name,
            "id": user.user_id,
            "is_active": True,
        }

    def staff_of(user: LMSUser) -> list[LMSCourse]:
        if user.administrator or user.superuser:
            return list(state.courses.values())
        return [course for course in state.courses.values() if user.username in course.staff]

    @app.get("/api/courses/v1/courses/")
    def courses(
        request: Request,
        username: str | None = None,
        permissions: str | None = None,
        page: int = 1,
        page_size: int | None = None,
    ) -> dict[str, Any]:
        claims = bearer_claims(request)
        requester = claims.get("preferred_username")
        requester_is_staff = claims.get("administrator") or claims.get("superuser")
        if claims.get("grant_type") == "client-credentials":
            requester_is_staff = True  # an application acting for the platform
        if username and username != requester and not requester_is_staff:
            raise HTTPException(403, "only staff may list the courses of another user")
        if permissions not in (None, "staff"):
            raise HTTPException(400, "unsupported permissions value")
        if permissions == "staff":
            user = state.users.get(username or requester or "")
            if user is None:
                raise HTTPException(400, "unknown user")
            listed = staff_of(user)
        else:
            listed = list(state.courses.values())
        size = page_size or state.page_size
        start = (page - 1) * size
        chunk = listed[start : start + size]
        next_url = None
        if start + size < len(listed):
            query = dict(request.query_params)
            query["page"] = str(page + 1)
            next_url = f"{base_url(request)}{request.url.path}?{urlencode(query)}"
        return {
            "results": [
                {
                    "id": course.course_id,
                    "course_id": course.course_id,
                    "name": course.name,
                    "org": course.org,
                    "number": course.number,
                }
                for course in chunk
            ],
            "pagination": {
                "next": next_url,
                "previous": None,
                "count": len(listed),
                "num_pages": max(1, -(-len(listed) // size)),
            },
        }

    @app.get("/api/courses/v1/blocks/")
    def blocks(request: Request, course_id: str) -> dict[str, Any]:
        bearer_claims(request)
        course = state.courses.get(course_id)
        if course is None:
            raise HTTPException(404, "course not found")
        return course.blocks or default_blocks(course)

    return app


def default_blocks(course: LMSCourse) -> dict[str, Any]:
    """A small course: one chapter, one sequential, one vertical with a problem and a video."""
    key = course.course_id.split(":", 1)[1]

    def usage(kind: str, block: str) -> str:
        return f"block-v1:{key}+type@{kind}+block@{block}"

    shape = [
        ("course", "course", course.name, ["chapter1"]),
        ("chapter", "chapter1", "Week 1", ["seq1"]),
        ("sequential", "seq1", "Lesson 1", ["vert1"]),
        ("vertical", "vert1", "Unit 1", ["problem1", "video1"]),
        ("problem", "problem1", "Checkpoint", []),
        ("video", "video1", "Welcome video", []),
    ]
    kinds = {block: kind for kind, block, _, _ in shape}
    result = {}
    for kind, block, name, children in shape:
        block_key = usage(kind, block)
        result[block_key] = {
            "id": block_key,
            "block_id": block,
            "type": kind,
            "display_name": name,
            "children": [usage(kinds[child], child) for child in children],
            "graded": kind == "problem",
            "format": "Homework" if kind == "sequential" else None,
            "lms_web_url": f"/courses/{course.course_id}/jump_to/{block_key}",
            "student_view_url": f"/xblock/{block_key}",
        }
    return {"root": usage("course", "course"), "blocks": result}


@dataclass
class RunningLMS:
    url: str
    state: LMSState

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH

    @property
    def issuer(self) -> str:
        return self.url + ISSUER_PATH

    @property
    def introspection_url(self) -> str:
        return self.url + INTROSPECT_PATH


@contextmanager
def running_lms(state: LMSState | None = None) -> Iterator[RunningLMS]:
    """Serve a test LMS on 127.0.0.1 (a free port) in a thread for the duration of the block."""
    state = state or LMSState()
    port = free_port()
    config = uvicorn.Config(build_app(state), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-lms", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test LMS did not start")
        time.sleep(0.02)
    try:
        yield RunningLMS(f"http://127.0.0.1:{port}", state)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
