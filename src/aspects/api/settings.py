"""Settings of the reports API (section ``api``, env ``ASPECTS_API__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ApiSettings(BaseModel):
    """Who may call the reports API and how much."""

    host: str = Field(default="127.0.0.1", description="Address `aspects api serve` listens on.")
    port: int = Field(default=8200, ge=1, le=65535, description="Its port.")
    lms_url: str = Field(
        default="http://localhost:18000",
        description="Root URL of the LMS that issues the bearer tokens the API accepts.",
    )
    jwt_issuer: str | None = Field(
        default=None,
        description="Required `iss` of LMS JWTs. Unset: <lms_url>/oauth2.",
    )
    jwt_audiences: list[str] = Field(
        default_factory=list,
        description=(
            "Accepted `aud` values of LMS JWTs (the OAuth2 client ids of the applications "
            "allowed to call the API). Empty: bearer JWTs are refused, only API keys work."
        ),
    )
    jwks_url: str | None = Field(
        default=None,
        description="Where the LMS publishes its signing keys. Unset: <lms_url>/oauth2/jwks/.",
    )
    jwt_algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "RS512", "ES256", "PS256"],
        description="Signature algorithms accepted (asymmetric only: never HS* or none).",
    )
    jwt_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="Clock skew tolerated on exp / nbf / iat."
    )
    jwks_cache_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long fetched keys are trusted; an unknown key id refetches at once.",
    )
    courses_path: str = Field(
        default="/api/courses/v1/courses/",
        description="LMS course list API (`?permissions=staff&username=`), relative to lms_url.",
    )
    courses_cache_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long the courses a user is staff of are cached (upstream: 5 minutes).",
    )
    lms_timeout_seconds: float = Field(default=10.0, gt=0, description="HTTP timeout to the LMS.")
    retirement_users: list[str] = Field(
        default_factory=list,
        description=(
            "LMS usernames (or client ids of client-credentials tokens) allowed to call the "
            "retirement hook POST /api/v1/privacy/erase with a bearer JWT."
        ),
    )
    rate_limit_per_minute: int = Field(
        default=120, ge=1, description="Requests per minute per caller (token bucket)."
    )
    rate_limit_burst: int = Field(
        default=30, ge=1, description="Requests a caller may make at once before being limited."
    )
    page_size: int = Field(default=1000, ge=1, description="Rows per page when none is asked.")
    max_page_size: int = Field(default=10_000, ge=1, description="Largest page a caller may ask.")
