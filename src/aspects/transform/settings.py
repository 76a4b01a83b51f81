"""Settings of the transformer (section ``transform``, env ``ASPECTS_TRANSFORM__*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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
    pii_identifier: Literal["mbox", "mbox_sha1sum"] = Field(
        default="mbox",
        description=(
            "With PII on: the actor's email as `mbox`, or only its SHA1 as `mbox_sha1sum`. "
            "Emails come from the `email` column of external_ids_file."
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
    course_names_file: Path | None = Field(
        default=None,
        description=(
            "CSV of course_id,display_name giving course names to `aspects transform`. "
            "Unset: statements carry no course name."
        ),
    )
    erb_strict: bool = Field(
        default=False,
        description=(
            "Reproduce event-routing-backends' output exactly, including the few statements it "
            "writes that are not valid xAPI 1.0.3 (GroupActivity objects, score max equal to "
            "min, bare exam attempt codes as ids). Off: those are repaired, ids unchanged."
        ),
    )
    transformer_version: str | None = Field(
        default=None,
        description="Value of the transformer-version extension. Unset: aspects@<version>.",
    )
