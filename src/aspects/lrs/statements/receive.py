"""Reading PUT/POST bodies: JSON or multipart/mixed with attachments and signatures.

Pure functions from (content type, body bytes, version) to validated :class:`Incoming` items;
anything wrong raises :class:`StatementInvalid` (the LRS answers 400 and stores nothing).
"""

from __future__ import annotations

import hashlib
from array import array
from typing import Any

import orjson

from aspects.lrs.statements.multipart import parse_parts
from aspects.lrs.statements.prepare import DEFAULT_VERSION, HEADERS, Incoming, incoming
from aspects.lrs.statements.signature import SIGNATURE_USAGE, check_signature
from aspects.xapi.agents import agent_keys
from aspects.xapi.fast import native_prepare, sure_valid
from aspects.xapi.validation import StatementInvalid, validate_statement

DUPLICATE = "the same id appears twice in the batch"
_HASHES = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}


def _json(body: bytes, path: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise StatementInvalid(path, f"is not valid JSON: {error}") from None


def _multipart(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "multipart/mixed"


def split_body(content_type: str, body: bytes) -> tuple[Any, dict[str, tuple[str, bytes]]]:
    """(statements JSON, attachment parts by sha2 -> (content type, bytes))."""
    kind = content_type.split(";")[0].strip().lower()
    if kind not in ("application/json", "multipart/mixed", ""):
        raise StatementInvalid("Content-Type", "must be application/json or multipart/mixed")
    if kind != "multipart/mixed":
        return _json(body, "body"), {}
    parts = parse_parts(body, content_type)
    first = parts[0]
    first_type = first.headers.get("content-type", "").split(";")[0].strip().lower()
    if first_type != "application/json":
        raise StatementInvalid(
            "body", "the first part of a multipart/mixed body must be application/json"
        )
    attachments: dict[str, tuple[str, bytes]] = {}
    for index, part in enumerate(parts[1:], start=1):
        where = f"body.part[{index}]"
        sha2 = part.headers.get("x-experience-api-hash")
        if not sha2:
            raise StatementInvalid(
                where, "an attachment part needs an X-Experience-API-Hash header"
            )
        if part.headers.get("content-transfer-encoding", "").lower() != "binary":
            raise StatementInvalid(
                where, "an attachment part needs Content-Transfer-Encoding: binary"
            )
        content = bytes(part.body)
        algorithm = _HASHES.get(len(sha2))
        if algorithm is None or algorithm(content).hexdigest() != sha2.lower():
            raise StatementInvalid(where, "X-Experience-API-Hash does not match the part's content")
        attachments[sha2.lower()] = (
            part.headers.get("content-type", "application/octet-stream"),
            content,
        )
    return _json(bytes(first.body), "body.part[0]"), attachments


def _attach(item: Incoming, parts: dict[str, tuple[str, bytes]], used: set[str], path: str) -> None:
    """Check the statement's attachments against the parts; signatures are verified here."""
    for index, attachment in enumerate(item.statement.get("attachments") or []):
        where = f"{path}.attachments[{index}]"
        sha2 = str(attachment["sha2"]).lower()
        signature = attachment["usageType"] == SIGNATURE_USAGE
        if signature and attachment["contentType"] != "application/octet-stream":
            raise StatementInvalid(
                f"{where}.contentType", "a signature must be application/octet-stream"
            )
        if sha2 in parts:
            used.add(sha2)
            item.attachments[sha2] = parts[sha2]
            if signature:
                check_signature(item.statement, parts[sha2][1], where)
        elif signature or "fileUrl" not in attachment:
            raise StatementInvalid(
                where, "no multipart part carries this attachment (sha2) and it has no fileUrl"
            )


def statements_from(
    content_type: str, body: bytes, version: str, *, single: bool = False
) -> tuple[list[Incoming], bool]:
    """Validated statements of a request and whether the body was a single statement object."""
    data, parts = split_body(content_type, body)
    is_single = isinstance(data, dict)
    if single and not is_single:
        raise StatementInvalid("body", "must be a single statement object")
    raw = [data] if is_single else data
    if not isinstance(raw, list):
        raise StatementInvalid("body", "must be a statement object or an array of statements")
    used: set[str] = set()
    # The native verdicts read the same JSON bytes orjson read (multipart bodies: none).
    sure = None if parts or _multipart(content_type) else sure_valid(body, version)
    items = read_statements(raw, version, is_single=is_single, parts=parts, used=used, sure=sure)
    unused = set(parts) - used
    if unused:
        raise StatementInvalid(
            "body", f"attachment part(s) match no statement attachment: {sorted(unused)}"
        )
    return items, is_single


def read_statements(
    raw: list[Any],
    version: str,
    *,
    is_single: bool = False,
    offset: int = 0,
    parts: dict[str, tuple[str, bytes]] | None = None,
    used: set[str] | None = None,
    sure: list[bool] | None = None,
) -> list[Incoming]:
    """Validate and prepare the statements of an array (or the single statement): the first
    fault raises. ``offset`` is the index of ``raw[0]`` in the request's array (a receive worker
    reads a slice of it: :mod:`aspects.lrs.statements.ready`). ``sure``: the native verdicts of
    the same JSON (:func:`aspects.xapi.fast.sure_valid`): a statement valid for sure there is
    not validated again; every other one is, here, with the exact error."""
    parts = {} if parts is None else parts
    used = set() if used is None else used
    if sure is not None and len(sure) != len(raw):
        sure = None  # not the same statements: validate them all
    items: list[Incoming] = []
    seen: set[str] = set()
    for index, statement in enumerate(raw, start=offset):
        path = "statement" if is_single else f"statements[{index}]"
        if sure is None or not sure[index - offset]:
            try:
                validate_statement(statement, version)
            except StatementInvalid as error:
                if is_single:
                    raise
                raise StatementInvalid(
                    f"{path}{error.path.removeprefix('statement')}", error.rule
                ) from None
        item = incoming(statement)
        if item.statement_id in seen:
            raise StatementInvalid(f"{path}.id", DUPLICATE)
        seen.add(item.statement_id)
        _attach(item, parts, used, path)
        items.append(item)
    return items


def prepare_share(
    body: bytes,
    version: str,
    authority: dict[str, Any],
    share: int = 0,
    shares: int = 1,
    least: int = 1,
) -> tuple[Any, ...] | None:
    """A receive worker's whole statement path in one native call (native/src/prepare.rs), for
    a JSON body (or share ``share`` of ``shares`` of its array, each of at least ``least``
    statements, as ``ready.share_bounds``) whose every statement is valid for sure: what the
    worker returns, ``("ok", fields)`` (the :class:`~aspects.lrs.statements.ready.Ready` fields
    ``ready._ready`` makes, byte for byte), ``("ok", None)`` for a share past the end,
    ``("unsplit",)`` when ``shares > 1`` and the body is not an array large enough to share.
    None: not handled there (a statement not sure valid, a duplicate id, a shape the native
    rows do not cover, no native module): the Python path reads the body, with the exact
    result or error.

    The content hashes are BLAKE2b there too (native/src/blake2b.rs, checked against hashlib by
    tests/lrs/test_native_prepare.py)."""
    native = native_prepare()
    if native is None:
        return None
    keys = agent_keys(authority, members=False)
    try:
        outcome = native(
            body,
            version,
            orjson.dumps(authority),
            keys[0] if keys else "",
            agent_keys(authority),
            DEFAULT_VERSION[version],
            HEADERS,
            share,
            shares,
            least,
        )
    except Exception:  # the Python path is the fallback for any failure
        return None
    if outcome is None:
        return None
    if outcome == "unsplit":
        return ("unsplit",)
    if not outcome:
        return ("ok", None)
    ids, hashes, given, block, columns, spans, definitions = outcome
    spans_array = array("q")
    spans_array.frombytes(spans)  # native-endian int64, as array("q") holds them
    return ("ok", (ids, hashes, given, block, array("q", columns), spans_array, definitions))
