"""The reports API: every report model as JSON or CSV, per-course access, the retirement hook.

``create_app(settings, client)`` builds a standalone app (``aspects api serve``); another app
(the LRS in ``aspects serve``) serves it too by mounting it last at the root,
``app.mount("/", create_app(settings, client))``, so that each keeps its own error handlers.
OpenAPI: ``/api/v1/openapi.json``, docs at ``/api/v1/docs``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import orjson
from clickhouse_connect.driver.client import Client
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from aspects.api.auth import Caller, LMSAuthority
from aspects.api.errors import ApiError, install_error_handlers
from aspects.api.keys import verify_key
from aspects.api.ratelimit import RateLimiter
from aspects.models.registry import Report, ReportError, get_report, reports, run_report_page
from aspects.settings import Settings

PREFIX = "/api/v1"
# Columns that carry a learner's identity in clear; dropped unless PII is on and allowed.
PII_COLUMNS = frozenset({"username", "email", "name", "full_name", "user_id"})
_RESERVED = {"course_id", "org", "format", "page", "page_size"}


@dataclass
class ApiContext:
    """What the routes need, kept in ``app.state.api``."""

    settings: Settings
    client: Client
    authority: LMSAuthority
    limiter: RateLimiter


def install(app: FastAPI, settings: Settings, client: Client) -> ApiContext:
    context = ApiContext(
        settings,
        client,
        LMSAuthority(settings.api),
        RateLimiter(settings.api.rate_limit_per_minute, settings.api.rate_limit_burst),
    )
    app.state.api = context
    install_error_handlers(app)
    return context


def create_app(settings: Settings, client: Client) -> FastAPI:
    app = FastAPI(
        title="aspects reports API",
        version="1",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    install(app, settings, client)
    app.include_router(router())
    return app


def _context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.api
    return context


def _limit(context: ApiContext, key: str) -> None:
    wait = context.limiter.take(key)
    if wait:
        raise ApiError(
            429, "rate_limited", "too many requests", {"Retry-After": str(math.ceil(wait))}
        )


async def authenticate(request: Request) -> Caller:
    """The caller of a request: ``Authorization: Bearer <LMS JWT>`` or ``X-API-Key: ak_...``.

    Unauthenticated attempts are rate limited per client address, so keys and tokens cannot be
    guessed at speed; an address out of attempts is refused before its credentials are checked,
    so a flood of made-up opaque tokens does not become a flood of introspection calls.
    """
    context = _context(request)
    address = request.client.host if request.client else "unknown"
    blocked = context.limiter.wait(f"ip:{address}")
    if blocked:
        raise ApiError(
            429,
            "rate_limited",
            "too many failed attempts",
            {"Retry-After": str(math.ceil(blocked))},
        )
    api_key = request.headers.get("x-api-key")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if api_key is None and scheme.lower() == "apikey":
        api_key = token
    if api_key is not None:
        key = await run_in_threadpool(
            verify_key, context.client, context.settings.store.database, api_key.strip()
        )
        if key is None:
            _limit(context, f"ip:{address}")
            raise ApiError(401, "invalid_key", "unknown or revoked API key")
        caller = Caller.from_key(key)
    elif scheme.lower() in ("bearer", "jwt") and token:
        try:
            caller = await run_in_threadpool(
                context.authority.caller, token.strip(), context.settings.api.retirement_users
            )
        except ApiError:
            _limit(context, f"ip:{address}")
            raise
    else:
        _limit(context, f"ip:{address}")
        raise ApiError(
            401,
            "unauthenticated",
            "send an LMS access token (Authorization: Bearer ...) or an API key (X-API-Key)",
            {"WWW-Authenticate": "Bearer"},
        )
    _limit(context, caller.identity)
    return caller


CallerDep = Annotated[Caller, Depends(authenticate)]


class ReportInfo(BaseModel):
    name: str
    title: str
    description: str
    parameters: dict[str, str]


class ReportPage(BaseModel):
    report: str
    columns: list[str]
    rows: list[dict[str, Any]]
    page: int
    page_size: int
    total: int
    next: str | None = Field(description="URL of the next page, null on the last.")


class ErasureRequest(BaseModel):
    user_id: int | None = Field(default=None, description="LMS user id.")
    username: str | None = Field(default=None, description="LMS username (needs PII on).")
    actor_id: str | None = Field(default=None, description="Pseudonymous actor UUID.")


def _pii_on(settings: Settings) -> bool:
    return settings.courses.pii or settings.transform.pii


def _visible(report: Report, caller: Caller, settings: Settings) -> bool:
    return not report.requires_pii or (caller.pii and _pii_on(settings))


def router() -> APIRouter:
    routes = APIRouter(prefix=PREFIX)

    @routes.get("/reports", response_model=list[ReportInfo], summary="Reports you may read")
    def list_reports(request: Request, caller: CallerDep) -> list[ReportInfo]:
        settings = _context(request).settings
        return [
            ReportInfo(
                name=name,
                title=report.title,
                description=report.description,
                parameters={k: v for k, v in report.parameters.items() if k != "course_key"},
            )
            for name, report in reports().items()
            if _visible(report, caller, settings)
        ]

    @routes.get(
        "/reports/{name}",
        response_model=ReportPage,
        summary="One report, as JSON (paginated) or CSV",
        responses={200: {"content": {"text/csv": {}}}},
    )
    def read_report(
        request: Request,
        name: str,
        caller: CallerDep,
        course_id: Annotated[str | None, Query(description="Course key (course-v1:...)")] = None,
        org: Annotated[str | None, Query(description="Organisation (all its courses)")] = None,
        since: Annotated[dt.datetime | None, Query()] = None,
        until: Annotated[dt.datetime | None, Query()] = None,
        format: Annotated[Literal["json", "csv"], Query()] = "json",
        page: Annotated[int, Query(ge=1)] = 1,
        page_size: Annotated[int | None, Query(ge=1)] = None,
    ) -> Any:
        context = _context(request)
        settings = context.settings
        try:
            report = get_report(name)
        except ReportError:
            raise ApiError(404, "unknown_report", f"no report named {name!r}") from None
        if not _visible(report, caller, settings):
            raise ApiError(403, "pii_not_allowed", f"report {name} shows PII you may not see")
        wanted = report.parameters
        parameters = _scope(report, caller, course_id, org)
        for key, value in (("since", since), ("until", until)):
            if value is not None:
                if key not in wanted:
                    raise ApiError(400, "invalid_parameter", f"report {name} takes no {key}")
                parameters[key] = value
        for extra, text in request.query_params.items():
            if extra in _RESERVED or extra in ("since", "until"):
                continue
            if extra not in wanted or extra in ("course_key",):
                raise ApiError(400, "invalid_parameter", f"report {name} takes no {extra}")
            parameters[extra] = text
        size = min(page_size or settings.api.page_size, settings.api.max_page_size)
        start = (page - 1) * size
        try:
            result = run_report_page(
                context.client,
                settings.store.database,
                name,
                parameters,
                offset=start,
                limit=size,
                pii_enabled=_pii_on(settings) and caller.pii,
            )
        except ReportError as error:
            raise ApiError(400, "invalid_parameter", str(error)) from None
        keep = [
            index
            for index, column in enumerate(result.columns)
            if column not in PII_COLUMNS or (caller.pii and _pii_on(settings))
        ]
        columns = [result.columns[index] for index in keep]
        total = result.total
        next_url = None
        if start + size < total:
            query = dict(request.query_params)
            query["page"] = str(page + 1)
            next_url = f"{request.url.path}?{urlencode(query)}"
        headers = {"X-Total-Count": str(total)}
        if next_url:
            headers["Link"] = f'<{next_url}>; rel="next"'
        if format == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(columns)
            for row in result.rows:
                writer.writerow([_csv_value(row[index]) for index in keep])
            headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return Response(buffer.getvalue(), media_type="text/csv", headers=headers)
        # The page is serialised by orjson straight from the driver's values (datetimes as ISO
        # 8601, NaN and infinities as null, as _json_value does), not through the ReportPage
        # model: validating and dumping every row again cost ~10-30 ms per 1,000-row page.
        # ReportPage stays the documented shape (response_model, OpenAPI).
        if len(keep) == len(result.columns):
            rows = [dict(zip(columns, row, strict=True)) for row in result.rows]
        else:
            rows = [
                {column: row[i] for column, i in zip(columns, keep, strict=True)}
                for row in result.rows
            ]
        body = {
            "report": name,
            "columns": columns,
            "rows": rows,
            "page": page,
            "page_size": size,
            "total": total,
            "next": next_url,
        }
        return Response(
            orjson.dumps(body, default=_orjson_default, option=orjson.OPT_NON_STR_KEYS),
            media_type="application/json",
            headers=headers,
        )

    @routes.post("/privacy/erase", summary="LMS retirement hook: erase a learner everywhere")
    async def erase(request: Request, body: ErasureRequest, caller: CallerDep) -> dict[str, Any]:
        from aspects.privacy.service import erase_learner
        from aspects.privacy.subject import Subject, SubjectError, resolve

        if not caller.erase:
            raise ApiError(403, "forbidden", "this caller may not erase learners")
        context = _context(request)
        given = [str(v) for v in (body.user_id, body.username, body.actor_id) if v is not None]
        if not given:
            raise ApiError(400, "invalid_parameter", "give user_id, username or actor_id")
        subject = Subject()
        try:
            for value in given:
                subject = subject | resolve(context.settings, value)
        except SubjectError as error:
            raise ApiError(400, "invalid_parameter", str(error)) from None
        report = await run_in_threadpool(erase_learner, context.client, context.settings, subject)
        return {"erased": True, **report.as_dict()}

    return routes


def _scope(
    report: Report, caller: Caller, course_id: str | None, org: str | None
) -> dict[str, Any]:
    """The course / org parameters of a report, after the access rule.

    Course staff name a course they may see; org-scoped keys may name their org; only global
    callers may read across every course. Anything else: 403, saying nothing about the data.
    """
    wanted = report.parameters
    parameters: dict[str, Any] = {}
    if course_id is not None:
        if "course_key" not in wanted:
            raise ApiError(400, "invalid_parameter", f"report {report.name} takes no course_id")
        if not caller.may_see(course_id):
            raise ApiError(403, "forbidden_course", "you have no access to this course")
        parameters["course_key"] = course_id
    if org is not None:
        if "org" not in wanted:
            raise ApiError(400, "invalid_parameter", f"report {report.name} takes no org")
        if not (caller.all_courses or org in caller.orgs):
            raise ApiError(403, "forbidden_course", "you have no access to this organisation")
        parameters["org"] = org
    if course_id is None and org is None and not caller.all_courses:
        raise ApiError(403, "forbidden_course", "name a course (course_id) you have access to")
    return parameters


def _orjson_default(value: Any) -> Any:
    """Values orjson does not write itself, as pydantic's JSON mode wrote them."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _csv_value(value: Any) -> Any:
    value = _json_value(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # no formula injection when opened in a spreadsheet
    return value
