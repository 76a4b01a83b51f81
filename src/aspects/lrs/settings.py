"""Settings of the xAPI LRS (section ``lrs``, env ``ASPECTS_LRS__*``)."""

from __future__ import annotations

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
