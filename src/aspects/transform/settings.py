"""Settings of the transformer (section ``transform``, env ``ASPECTS_TRANSFORM__*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr


class TransformSettings(BaseModel):
    """How Open edX events become xAPI statements."""

    lms_root_url: str = Field(
        default="http://localhost:18000",
        description="Root URL of the LMS: the actor's homePage and the base of every activity IRI.",
    )
    enabled_events: list[str] | None = Field(
        default=None,
        description="Event names to transform (allow-list). Unset: every supported event.",
    )
    pii: bool = Field(
        default=False,
        description=(
            "Identify actors by email (mbox) instead of a pseudonymous account. "
            "Off by default: no username, email or name leaves the transformer."
        ),
    )
    secret: SecretStr | None = Field(
        default=None,
        description=(
            "Per-site secret of the keyed hash that turns LMS user ids into actor UUIDs. "
            "Required in production; in development generated once into <data_dir>/secrets/."
        ),
    )
    external_ids_file: Path | None = Field(
        default=None,
        description=(
            "CSV of LMS user id -> xAPI external id (UUID) exported from the LMS; "
            "used before the keyed hash so actors match the LMS's own transformer."
        ),
    )
    transformer_version: str | None = Field(
        default=None,
        description="Value of the transformer-version extension. Unset: aspects@<version>.",
    )
