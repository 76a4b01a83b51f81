"""Client of the LMS course APIs: OAuth2 client credentials, Course Blocks API, course list.

Shapes (edx-platform): ``POST /oauth2/access_token/`` (grant_type=client_credentials, with
``token_type=jwt`` for a JWT sent as ``Authorization: JWT <token>``);
``GET /api/courses/v1/blocks/?course_id=...&all_blocks=true&depth=all&requested_fields=...``
returns ``{"root": key, "blocks": {key: {"type", "display_name", "children", "graded",
"format"}}}``; ``GET /api/courses/v1/courses/`` pages through ``results`` with
``pagination.next``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from aspects.courses.settings import CoursesSettings
from aspects.courses.structure import (
    DEFAULT_NAMES,
    Block,
    CourseStructure,
    CourseStructureError,
    parse_course_key,
)
from aspects.errors import AspectsError, ConfigError

REQUESTED_FIELDS = "children,display_name,graded,format,type"


class LMSError(AspectsError):
    """The LMS refused or answered something we cannot use."""


class LMSClient:
    """Calls the LMS with a client-credentials token, renewed shortly before it expires."""

    def __init__(self, settings: CoursesSettings, http: httpx.Client | None = None) -> None:
        if not settings.client_id or settings.client_secret is None:
            raise ConfigError("courses.client_id and courses.client_secret are needed for sync")
        self._settings = settings
        self._base = settings.lms_url.rstrip("/") + "/"
        self._http = http or httpx.Client(timeout=settings.timeout_seconds)
        self._token: tuple[str, float] | None = None

    def _url(self, path: str) -> str:
        return urljoin(self._base, path.lstrip("/"))

    def authorization(self) -> str:
        """The Authorization header value, fetching a token when none is valid."""
        if self._token is not None and self._token[1] > time.monotonic():
            return self._token[0]
        settings = self._settings
        assert settings.client_secret is not None
        response = self._http.post(
            self._url(settings.token_path),
            data={
                "grant_type": "client_credentials",
                "client_id": settings.client_id or "",
                "client_secret": settings.client_secret.get_secret_value(),
                "token_type": settings.token_type,
            },
        )
        if response.status_code != 200:
            raise LMSError(f"token request refused: HTTP {response.status_code}")
        body = _json_object(response)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise LMSError("token response has no access_token")
        scheme = str(body.get("token_type") or settings.token_type)
        scheme = "JWT" if scheme.lower() == "jwt" else "Bearer"
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 300.0
        header = f"{scheme} {token}"
        self._token = (header, time.monotonic() + max(lifetime - 30.0, 1.0))
        return header

    def _get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        if urlsplit(url).netloc != urlsplit(self._base).netloc:
            raise LMSError(f"refusing to send the token to another host: {url}")
        response = self._http.get(
            url, params=params, headers={"Authorization": self.authorization()}
        )
        if response.status_code == 401:  # revoked or expired early: one fresh token
            self._token = None
            response = self._http.get(
                url, params=params, headers={"Authorization": self.authorization()}
            )
        if response.status_code != 200:
            raise LMSError(f"GET {urlsplit(url).path}: HTTP {response.status_code}")
        return _json_object(response)

    def course_keys(self) -> Iterator[str]:
        """Every course run the LMS lists, following pagination."""
        url: str | None = self._url(self._settings.courses_path)
        params: dict[str, str] | None = None  # the LMS's page size; follow `next`
        while url:
            body = self._get(url, params)
            for item in body.get("results") or []:
                if isinstance(item, dict):
                    key = item.get("course_id") or item.get("id")
                    if isinstance(key, str):
                        yield key
            pagination = body.get("pagination")
            next_url = pagination.get("next") if isinstance(pagination, dict) else body.get("next")
            url = next_url if isinstance(next_url, str) and next_url else None
            params = None  # the next link carries its own query

    def course_structure(self, course_key: str) -> CourseStructure:
        """The course's blocks from the Course Blocks API."""
        parse_course_key(course_key)
        body = self._get(
            self._url(self._settings.blocks_path),
            {
                "course_id": course_key,
                "all_blocks": "true",
                "depth": "all",
                "requested_fields": REQUESTED_FIELDS,
                "return_type": "dict",
            },
        )
        return structure_from_blocks(course_key, body)


def structure_from_blocks(course_key: str, body: dict[str, Any]) -> CourseStructure:
    """A CourseStructure from a Course Blocks API answer."""
    root = body.get("root")
    raw_blocks = body.get("blocks")
    if not isinstance(root, str) or not isinstance(raw_blocks, dict) or root not in raw_blocks:
        raise CourseStructureError(f"{course_key}: the blocks answer has no root block")
    blocks: dict[str, Block] = {}
    for key, item in raw_blocks.items():
        if not isinstance(item, dict):
            continue
        block_type = str(item.get("type") or "")
        children = item.get("children") or []
        blocks[key] = Block(
            usage_key=str(item.get("id") or key),
            block_type=block_type,
            display_name=str(item.get("display_name") or DEFAULT_NAMES.get(block_type, block_type)),
            children=tuple(str(child) for child in children if isinstance(child, str)),
            graded=bool(item.get("graded")),
            format=str(item.get("format") or ""),
        )
    return CourseStructure(course_key, blocks[root].display_name, root, blocks)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise LMSError(f"{urlsplit(str(response.url)).path}: answer is not JSON") from None
    if not isinstance(body, dict):
        raise LMSError(f"{urlsplit(str(response.url)).path}: answer is not a JSON object")
    return body
