"""Settings of the reports API (section ``api``, env ``ASPECTS_API__*``)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator


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
            "The OAuth2 client ids of the LMS applications allowed to call the API: the `aud` of "
            "a JWT, the `client_id` of an introspected opaque token. Empty: bearer tokens are "
            "refused, only API keys work."
        ),
    )
    bearer_tokens: Literal["jwt", "introspection", "both"] = Field(
        default="jwt",
        description=(
            "How LMS bearer tokens are checked: `jwt` (signature against the LMS's keys), "
            "`introspection` (RFC 7662: ask the LMS, for the opaque tokens django-oauth-toolkit "
            "issues by default), or `both` (JWT-shaped tokens as JWTs, others introspected)."
        ),
    )
    introspection_url: str | None = Field(
        default=None,
        description="The LMS's RFC 7662 endpoint. Unset: <lms_url>/oauth2/introspect/.",
    )
    introspection_client_id: str | None = Field(
        default=None,
        description=(
            "OAuth2 client (confidential, of the LMS) that authenticates the introspection "
            "calls; required when bearer_tokens introspects."
        ),
    )
    introspection_client_secret: SecretStr | None = Field(default=None, description="Its secret.")
    introspection_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        description=(
            "How long an active token's introspection is reused (never past the token's own "
            "expiry): a revoked token keeps working this long at most. Inactive answers are "
            "not cached."
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

    @model_validator(mode="after")
    def _introspection_client(self) -> Self:
        if self.bearer_tokens != "jwt" and not (
            self.introspection_client_id and self.introspection_client_secret
        ):
            raise ValueError(
                "bearer_tokens introspects: set introspection_client_id and "
                "introspection_client_secret (an OAuth2 client of the LMS)"
            )
        return self
