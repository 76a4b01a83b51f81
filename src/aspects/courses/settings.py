"""Settings of course structure and PII (section ``courses``, env ``ASPECTS_COURSES__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class CoursesSettings(BaseModel):
    """Where course structure comes from, and whether learner PII may be stored."""

    lms_url: str = Field(
        default="http://localhost:18000",
        description="Root URL of the LMS whose Course Blocks API `aspects courses sync` reads.",
    )
    client_id: str | None = Field(
        default=None,
        description="OAuth2 client id of an application registered in the LMS admin.",
    )
    client_secret: SecretStr | None = Field(
        default=None, description="Its client secret (client-credentials grant)."
    )
    token_path: str = Field(
        default="/oauth2/access_token/", description="OAuth2 token endpoint, relative to lms_url."
    )
    token_type: str = Field(
        default="jwt",
        description="`jwt` (the LMS returns a JWT, sent as `JWT <token>`) or `bearer`.",
    )
    blocks_path: str = Field(
        default="/api/courses/v1/blocks/", description="Course Blocks API, relative to lms_url."
    )
    courses_path: str = Field(
        default="/api/courses/v1/courses/",
        description="Course list API (used when `sync` is given no course), relative to lms_url.",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="HTTP timeout per request.")
    pii: bool = Field(
        default=False,
        description=(
            "Keep learners' usernames, emails and names (table user_pii) so that reports such "
            "as the at-risk contact list can show them. Off: the table is never created and "
            "reports show pseudonymous actor ids only."
        ),
    )
