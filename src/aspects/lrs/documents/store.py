"""Reading and writing documents, with the xAPI concurrency and merge rules.

The rules are pure functions (:func:`check_preconditions`, :func:`merge_json`); the database
functions apply them inside one write transaction, so that the document a precondition was
checked against is the one that gets replaced.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aspects.lrs.db import DocumentRow, write_session
from aspects.lrs.documents.params import Address, BadRequest


class PreconditionFailed(Exception):
    """412: If-Match / If-None-Match did not hold."""


class Conflict(Exception):
    """409: a PUT would overwrite an existing document without saying which version it saw."""


@dataclass(frozen=True)
class Document:
    document_id: str
    content: bytes
    content_type: str
    etag: str  # SHA-1 hex of the content, without quotes
    updated: datetime


def etag_of(content: bytes) -> str:
    """SHA-1 hex of the content: xAPI 1.0.3 asks for SHA-1 ETags, 2.0.0 accepts any."""
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def parse_etags(header: str) -> list[str]:
    """The entity tags of an If-Match / If-None-Match header (``*`` stays ``*``), unquoted."""
    tags = []
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if len(tag) >= 2 and tag[0] == tag[-1] == '"':
            tag = tag[1:-1]
        if tag:
            tags.append(tag)
    return tags


def check_preconditions(
    current: str | None,
    if_match: str | None,
    if_none_match: str | None,
    *,
    require_for_overwrite: bool,
    require_for_create: bool = False,
) -> None:
    """Raise unless a write may proceed against the document whose ETag is ``current``.

    ``current`` is None when no document exists. ``require_for_overwrite`` is set for a PUT that
    must name the version it replaces (profiles always, State from xAPI 2.0.0): with neither
    header, an existing document is a 409 Conflict. ``require_for_create`` (profiles in xAPI
    1.0.3, whose conformance suite asks it) makes a PUT without either header a 400 even when
    nothing exists yet.
    """
    if if_match is not None:
        tags = parse_etags(if_match)
        if current is None or ("*" not in tags and current not in tags):
            raise PreconditionFailed(
                "If-Match does not match the current document"
                if current is not None
                else "If-Match given but no such document exists"
            )
    if if_none_match is not None:
        tags = parse_etags(if_none_match)
        if current is not None and ("*" in tags or current in tags):
            raise PreconditionFailed("If-None-Match: the document already exists")
    if if_match is not None or if_none_match is not None:
        return
    if require_for_create and current is None:
        raise BadRequest("a PUT must carry If-Match or If-None-Match (If-None-Match: * to create)")
    if require_for_overwrite and current is not None:
        raise Conflict(
            "the document exists: send If-Match with its ETag to replace it "
            "(or If-None-Match: * to create it only if absent)"
        )


def is_json(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/json"


def json_object(content: bytes, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise BadRequest(f"{what} is declared application/json but is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be a JSON object to be merged")
    return value


def merge_json(existing: Document | None, content: bytes, content_type: str) -> tuple[bytes, str]:
    """The content a POST stores: a one-level JSON merge onto the existing document.

    Both sides must be JSON objects declared ``application/json`` (else 400); without an
    existing document the POST stores its body as a PUT would.
    """
    if is_json(content_type):
        posted = json_object(content, "the posted document")
    elif existing is None:
        return content, content_type
    else:
        raise BadRequest("a POST onto an existing document must be application/json to merge")
    if existing is None:
        return content, content_type
    if not is_json(existing.content_type):
        raise BadRequest("the existing document is not application/json: it cannot be merged")
    merged = json_object(existing.content, "the existing document")
    merged.update(posted)
    return orjson.dumps(merged), existing.content_type


def _document(row: DocumentRow) -> Document:
    return Document(row.document_id, row.content, row.content_type, row.etag, row.updated)


def _in_scope(address: Address) -> ColumnElement[bool]:
    """The documents a listing or multi-delete selects (see ``Address.scope_hash``)."""
    condition = DocumentRow.scope_hash == address.scope_hash
    if address.registration:
        condition = and_(condition, DocumentRow.registration == address.registration)
    return condition


def get_document(session: Session, address: Address) -> Document | None:
    assert address.document_id is not None
    row = session.scalar(
        select(DocumentRow).where(DocumentRow.key_hash == address.key_hash(address.document_id))
    )
    return None if row is None else _document(row)


def list_documents(session: Session, address: Address) -> list[tuple[str, datetime]]:
    """(id, last modified) of the documents in the address's scope, updated after ``since``."""
    query = select(DocumentRow.document_id, DocumentRow.updated).where(_in_scope(address))
    if address.since is not None:
        query = query.where(DocumentRow.updated > address.since)
    return [(row[0], row[1]) for row in session.execute(query.order_by(DocumentRow.updated))]


def write_document(
    session: Session,
    address: Address,
    content: bytes,
    content_type: str,
    *,
    merge: bool,
    if_match: str | None,
    if_none_match: str | None,
    require_for_overwrite: bool,
    require_for_create: bool = False,
    now: datetime,
) -> Document:
    """PUT (``merge=False``) or POST a document, atomically with its precondition check."""
    assert address.document_id is not None
    key = address.key_hash(address.document_id)
    for attempt in range(2):
        write_session(session)
        row = session.scalar(
            select(DocumentRow).where(DocumentRow.key_hash == key).with_for_update()
        )
        existing = None if row is None else _document(row)
        check_preconditions(
            None if existing is None else existing.etag,
            if_match,
            if_none_match,
            require_for_overwrite=require_for_overwrite and not merge,
            require_for_create=require_for_create and not merge,
        )
        stored, stored_type = (
            merge_json(existing, content, content_type) if merge else (content, content_type)
        )
        if row is None:
            row = DocumentRow(
                kind=address.kind.name,
                scope_hash=address.scope_hash,
                key_hash=key,
                activity_id=address.activity_id,
                agent=address.agent,
                registration=address.registration,
                document_id=address.document_id,
            )
            session.add(row)
        row.content = stored
        row.content_type = stored_type
        row.etag = etag_of(stored)
        row.updated = now
        try:
            session.commit()
        except IntegrityError:
            # Another request created the same document between our read and insert
            # (PostgreSQL; SQLite holds the write lock): redo the checks against it once.
            session.rollback()
            if attempt:
                raise
            continue
        return _document(row)
    raise AssertionError("unreachable")


def delete_documents(
    session: Session, address: Address, if_match: str | None, if_none_match: str | None
) -> int:
    """DELETE one document (with its preconditions) or every document of the scope."""
    write_session(session)
    if address.document_id is None:
        result = session.execute(delete(DocumentRow).where(_in_scope(address)))
        session.commit()
        return int(getattr(result, "rowcount", 0) or 0)
    key = address.key_hash(address.document_id)
    row = session.scalar(select(DocumentRow).where(DocumentRow.key_hash == key).with_for_update())
    check_preconditions(
        None if row is None else row.etag, if_match, if_none_match, require_for_overwrite=False
    )
    if row is None:
        session.rollback()
        return 0
    session.delete(row)
    session.commit()
    return 1
