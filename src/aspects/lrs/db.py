"""The LRS's transactional database: credentials and xAPI documents, through SQLAlchemy 2.

SQLite at ``<data_dir>/lrs.sqlite3`` by default, any SQLAlchemy URL (PostgreSQL in production)
through ``lrs.database_url``. Statements are not here: they live in the ClickHouse store.

Documents are addressed by long IRIs and agent identifiers; a B-tree index over several such
columns overflows PostgreSQL's index row limit, so uniqueness and listing go through fixed-size
SHA-256 digests of the address (``key_hash`` unique, ``scope_hash`` indexed), and the readable
columns are kept beside them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from starlette.requests import Request

from aspects.settings import Settings

# Execution option that makes a SQLite transaction take the write lock at BEGIN (see _sqlite).
WRITE = {"aspects_write": True}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone; store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class CredentialRow(Base):
    """An LRS credential: HTTP Basic key (username) and the hash of its secret."""

    __tablename__ = "lrs_credentials"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(300))
    scopes: Mapped[str] = mapped_column(String(300))  # space-separated xAPI scopes
    authority: Mapped[str] = mapped_column(Text)  # JSON of the xAPI authority Agent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DocumentRow(Base):
    """One State, Activity Profile or Agent Profile document."""

    __tablename__ = "lrs_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # state | activity_profile | agent_profile
    # digest of (kind, activity, agent): what a listing or multi-delete selects (State narrows
    # by the registration column when one is given)
    scope_hash: Mapped[str] = mapped_column(String(64), index=True)
    # digest of the scope plus the document id: one row per document
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    activity_id: Mapped[str] = mapped_column(Text, default="")
    agent: Mapped[str] = mapped_column(Text, default="")  # canonical inverse functional identifier
    registration: Mapped[str] = mapped_column(String(36), default="")
    document_id: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(255))
    etag: Mapped[str] = mapped_column(String(64))  # SHA-1 hex of the content, unquoted
    updated: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def database_url(settings: Settings) -> str:
    """The configured URL, else SQLite in the data directory (created if missing)."""
    if settings.lrs.database_url:
        return settings.lrs.database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(settings.data_dir / 'lrs.sqlite3').resolve()}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and write-locking transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    Base.metadata.create_all(engine)  # idempotent: only missing tables are created
    return engine


def _sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling starts transactions late and never as IMMEDIATE; take
    # over (SQLAlchemy's documented recipe) so that a read-then-write document update holds the
    # write lock from its first read: two concurrent PUTs with If-Match cannot both succeed.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        write = connection.get_execution_options().get("aspects_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_sessionmaker(settings: Settings) -> sessionmaker[Session]:
    """The session factory the LRS app keeps in ``app.state.sessionmaker``; tables are created."""
    return sessionmaker(make_engine(database_url(settings)), expire_on_commit=False)


def write_session(session: Session) -> Session:
    """Start ``session``'s transaction as a writing one (SQLite: lock taken at BEGIN).

    Call before the first query of a read-modify-write; on other backends it changes nothing
    (row locks come from ``SELECT ... FOR UPDATE`` and the unique key).
    """
    session.connection(execution_options=WRITE)
    return session


def get_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: one session per request from ``app.state.sessionmaker``."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with factory() as session:
        yield session
