"""Settings of the xAPI LRS (section ``lrs``, env ``ASPECTS_LRS__*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LRSSettings(BaseModel):
    """Where the Learning Record Store listens and keeps its documents."""

    host: str = Field(default="127.0.0.1", description="Address `aspects lrs serve` listens on.")
    port: int = Field(default=8100, ge=1, le=65535, description="Its port.")
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the documents and credentials database. "
            "Unset: SQLite at <data_dir>/lrs.sqlite3. PostgreSQL: postgresql+psycopg://..."
        ),
    )
    authority_home_page: str = Field(
        default="https://lrs.aspects.invalid",
        description=(
            "homePage of the account that names a credential in the `authority` of the "
            "statements written with it (fixed per credential when it is created)."
        ),
    )
    max_document_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1,
        description="Largest document (State, Activity / Agent Profile) accepted; larger: 413.",
    )
    default_version: Literal["1.0.3", "2.0.0"] = Field(
        default="2.0.0",
        description=(
            "X-Experience-API-Version of the answers to requests that name no version (the "
            "400 they get, and /about). xAPI 1.0.3 clients expect 1.0.3, 2.0 clients 2.0.0."
        ),
    )
    instance: str = Field(
        default="lrs",
        min_length=1,
        description=(
            "Name under which this LRS process records how far it has copied its statements "
            "into the raw table (resumed after a restart). Several LRS processes sharing one "
            "store need distinct names."
        ),
    )
    copy_interval_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description=(
            "How often the LRS copies newly stored statements into the raw table, where the "
            "report views run (reports see an LRS statement within about this long plus the "
            "flush interval; sooner once 50,000 statements wait). Each copy has a fixed cost "
            "in every report view."
        ),
    )
    flush_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description=(
            "How often the LRS stores the statements its write-ahead journal holds in one "
            "INSERT per table (a request is answered once its statements are in the journal, "
            "<data_dir>/lrs-journal/<instance>; reads store what is pending first)."
        ),
    )
    credential_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description=(
            "How long an LRS process trusts a credential it verified before reading it from "
            "the database again: a credential revoked by `aspects lrs credentials revoke` is "
            "refused within this many seconds. 0: read on every request."
        ),
    )
    receive_workers: int = Field(
        default=2,
        ge=0,
        le=64,
        description=(
            "Processes of `aspects lrs serve` that parse, validate and prepare JSON statement "
            "bodies beside the one process that answers requests and commits them, so that a "
            "busy LRS uses more than one core. 0: all in that process."
        ),
    )
    exclusive_writer: bool | None = Field(
        default=None,
        description=(
            "Whether this LRS process is the only one writing statements into the store; then "
            "it keeps a filter of the stored ids in memory and asks the store only about ids "
            "that may be stored. Unset: yes on the embedded store (one process), no on a server."
        ),
    )
