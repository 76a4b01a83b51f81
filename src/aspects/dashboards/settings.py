"""Settings of the Superset dashboards (section ``dashboards``, env ``ASPECTS_DASHBOARDS__*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr


class DashboardsSettings(BaseModel):
    """Where Superset runs, its metadata database, its ClickHouse reader and the LMS SSO."""

    host: str = Field(default="127.0.0.1", description="Address Superset (gunicorn) binds.")
    port: int = Field(default=8088, ge=1, le=65535, description="Its port.")
    workers: int = Field(default=2, ge=1, description="gunicorn worker processes.")
    venv: Path = Field(
        default=Path(".venv-superset"),
        description="Superset's own virtualenv (created by `aspects dashboards venv`/`init`).",
    )
    metadata_url: SecretStr | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of Superset's metadata database. Unset: SQLite at "
            "<data_dir>/superset/superset.db. PostgreSQL: postgresql://user:pw@host/db "
            "(read with psycopg2, installed in Superset's virtualenv)."
        ),
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Superset's SECRET_KEY. Required in production; generated in development.",
    )
    admin_username: str = Field(
        default="admin",
        description=(
            "The only local (password) account, created by `aspects dashboards init`; it signs "
            "in at /login/local/, also when SSO is on."
        ),
    )
    admin_email: str = Field(default="admin@localhost", description="Its email.")
    admin_password: SecretStr | None = Field(
        default=None,
        description="Its password. Required in production; generated in development.",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description=(
            "Failed password sign-ins (local admin, /login/local/) from one client address "
            "before that address is locked out."
        ),
    )
    login_lockout: int = Field(
        default=300,
        ge=1,
        description="Seconds of that lockout, counted from the last failure.",
    )
    clickhouse_url: SecretStr | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL Superset reads ClickHouse with, clickhousedb+connect://user:pw@host:"
            "port/database, with a read-only user. Unset: the embedded endpoint "
            "(`aspects db serve`) as store.readonly_user. Required when store.url is set."
        ),
    )
    lms_url: str | None = Field(
        default=None,
        description=(
            "Root URL of the Open edX LMS for single sign-on (token, user and course-role "
            "APIs). Unset: no SSO, only the local admin can sign in."
        ),
    )
    lms_browser_url: str | None = Field(
        default=None,
        description="LMS root URL as browsers reach it (sign-in page). Unset: `lms_url`.",
    )
    lms_client_id: str = Field(
        default="aspects-sso", description="OAuth2 client id of the application in the LMS."
    )
    lms_client_secret: SecretStr | None = Field(
        default=None, description="Its client secret (required with `lms_url`)."
    )
    lms_jwks_url: str | None = Field(
        default=None,
        description=(
            "URL of the LMS's JWT public keys (JWKS): access tokens are verified against it. "
            "Unset: tokens are trusted as received from the token endpoint."
        ),
    )
    lms_issuer: str | None = Field(
        default=None, description="Expected `iss` of the LMS's JWTs. Unset: `<lms_url>/oauth2`."
    )
    lms_scope: str = Field(
        default="profile email user_id", description="OAuth2 scopes requested at sign-in."
    )
    course_roles_ttl: int = Field(
        default=300,
        ge=0,
        description=(
            "Seconds an Instructor's course list (from the LMS) is cached before it is asked "
            "again; every sign-in refreshes it."
        ),
    )
    proxy_fix: bool = Field(
        default=False, description="Trust X-Forwarded-* headers (Superset behind a proxy)."
    )
