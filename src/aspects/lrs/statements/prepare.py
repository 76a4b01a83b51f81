"""Turning accepted statements into what is stored: pure functions, no I/O.

A request's statements are validated and given ids when they arrive (:func:`incoming`); the
group-commit writer later stamps ``stored`` (it decides the commit order) and builds the rows
(:func:`stored_statement`, :func:`index_row`).
"""

from __future__ import annotations

import hashlib
import struct
import sys
import uuid
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from aspects.store.native_format import length_prefix
from aspects.xapi.agents import agent_keys
from aspects.xapi.validation import VOIDED

# What the LRS writes into a statement when the client did not (xAPI 1.0.3 §2.4.10, 2.0 §4.2.4.3).
DEFAULT_VERSION = {"1.0.3": "1.0.0", "2.0.0": "2.0.0"}
_MICROSECOND = timedelta(microseconds=1)


@dataclass(slots=True)
class Incoming:
    """One statement of a request, validated, with its id and the hash that detects conflicts."""

    statement: dict[str, Any]
    statement_id: str
    content_hash: str
    given_id: bool = True
    attachments: dict[str, tuple[str, bytes]] = field(default_factory=dict)


def content_hash(statement: dict[str, Any]) -> str:
    """Hash of what the client sent (keys sorted): equal for a same-content re-post."""
    canonical = statement
    if "stored" in statement or "authority" in statement:
        canonical = {
            key: value for key, value in statement.items() if key not in ("stored", "authority")
        }
    return hashlib.blake2b(
        orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).hexdigest()


def normalize(statement: dict[str, Any]) -> dict[str, Any]:
    """The statement with every contextActivities value an array (xAPI: the LRS returns arrays)."""
    result = dict(statement)
    context = result.get("context")
    if isinstance(context, dict) and isinstance(context.get("contextActivities"), dict):
        activities = {
            key: value if isinstance(value, list) else [value]
            for key, value in context["contextActivities"].items()
        }
        result["context"] = {**context, "contextActivities": activities}
    target = result.get("object")
    if isinstance(target, dict) and target.get("objectType") == "SubStatement":
        result["object"] = normalize(target)
    return result


def incoming(statement: dict[str, Any]) -> Incoming:
    """Give the statement its id (lower-case UUID; a new one when absent), arrays normalized."""
    given = statement.get("id")
    statement_id = str(given).lower() if given else str(uuid.uuid4())
    statement = normalize(statement)  # a new dict: the id is set in it, not in a third copy
    statement["id"] = statement_id
    return Incoming(statement, statement_id, content_hash(statement), given_id=bool(given))


def with_id(item: Incoming, statement_id: str) -> Incoming:
    """The item under the id of a PUT's ``statementId`` parameter."""
    statement = {**item.statement, "id": statement_id.lower()}
    return Incoming(
        statement, statement_id.lower(), content_hash(statement), True, item.attachments
    )


def format_time(moment: datetime) -> str:
    """xAPI timestamp in UTC with microseconds, e.g. ``2024-01-02T03:04:05.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stored_statement(
    item: Incoming, stored: datetime, authority: dict[str, Any], version: str
) -> dict[str, Any]:
    """The statement as the LRS keeps and returns it: stored, authority, version, timestamp set."""
    statement = dict(item.statement)
    stamp = format_time(stored)
    statement["stored"] = stamp
    statement.setdefault("timestamp", stamp)
    statement["authority"] = authority
    statement.setdefault("version", DEFAULT_VERSION[version])
    return statement


def _activity_ids(statement: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(object activity ids, related activity ids incl. context and sub-statement ones)."""
    direct: list[str] = []
    related: list[str] = []
    target = statement.get("object") or {}
    if target.get("objectType", "Activity") == "Activity" and "id" in target:
        direct.append(target["id"])
    related.extend(direct)
    if target.get("objectType") == "SubStatement":
        related.extend(_activity_ids(target)[1])
    context_activities = (statement.get("context") or {}).get("contextActivities") or {}
    for value in context_activities.values():
        for activity in value if isinstance(value, list) else [value]:
            if isinstance(activity, dict) and "id" in activity:
                related.append(activity["id"])
    return direct, related


def _agent_keys(statement: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(keys of actor and object agents, keys of every agent the statement mentions)."""
    target = statement.get("object") or {}
    direct = agent_keys(statement.get("actor"))
    if target.get("objectType") in ("Agent", "Group"):
        direct += agent_keys(target)
    related = list(direct)
    context = statement.get("context") or {}
    related += agent_keys(context.get("instructor"))
    related += agent_keys(context.get("team"))
    for entry in context.get("contextAgents") or []:
        related += agent_keys(entry.get("agent"))
    for entry in context.get("contextGroups") or []:
        related += agent_keys(entry.get("group"))
    related += agent_keys(statement.get("authority"))
    if target.get("objectType") == "SubStatement":
        related += _agent_keys(target)[1]
    return direct, related


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def index_row(
    item: Incoming, stored_statement: dict[str, Any], stored: datetime, text: str | bytes
) -> list[Any]:
    """The lrs_statements row of a stored statement (column order of INDEX_COLUMNS; ``text``,
    its JSON, as ``str`` or UTF-8 ``bytes``: :func:`pack_rows` takes either)."""
    agents, related_agents = _agent_keys(stored_statement)
    activities, related_activities = _activity_ids(stored_statement)
    target = stored_statement.get("object") or {}
    ref = str(target.get("id", "")).lower() if target.get("objectType") == "StatementRef" else ""
    voiding = ref if stored_statement["verb"].get("id") == VOIDED else ""
    registration = str((stored_statement.get("context") or {}).get("registration", "")).lower()
    authority = agent_keys(stored_statement.get("authority"), members=False)
    hashes = [a["sha2"] for a in stored_statement.get("attachments") or [] if "sha2" in a]
    return [
        # The canonical text, which clickhouse-connect writes into the UUID column as it would
        # a uuid.UUID (parsing one per statement cost ~1.5 us of the server's time for nothing).
        item.statement_id,
        stored,
        text,
        item.content_hash,
        stored_statement["verb"].get("id", ""),
        registration,
        authority[0] if authority else "",
        _unique(agents),
        _unique(related_agents),
        _unique(activities),
        _unique(related_activities),
        voiding,
        ref,
        _unique(hashes),
    ]


INDEX_COLUMNS = [
    "statement_id",
    "stored_time",
    "statement",
    "content_hash",
    "verb_id",
    "registration",
    "authority",
    "agents",
    "related_agents",
    "activities",
    "related_activities",
    "voiding_target",
    "ref_target",
    "attachment_hashes",
]


def activity_definitions(statement: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(activity id, definition) of every Activity with a definition the statement carries."""
    found: list[tuple[str, dict[str, Any]]] = []

    def visit(activity: Any) -> None:
        if isinstance(activity, dict) and "id" in activity and activity.get("definition"):
            found.append((activity["id"], activity["definition"]))

    target = statement.get("object") or {}
    if target.get("objectType", "Activity") == "Activity":
        visit(target)
    elif target.get("objectType") == "SubStatement":
        found.extend(activity_definitions(target))
    context_activities = (statement.get("context") or {}).get("contextActivities") or {}
    for value in context_activities.values():
        for activity in value if isinstance(value, list) else [value]:
            visit(activity)
    return found


# --- rows packed in ClickHouse's Native format -----------------------------------------------
#
# The flush sends ``lrs_statements`` rows as Native blocks made where the statements were
# prepared (a receive worker, or the commit for statements read in the process), so the serving
# process neither unpickles nor serialises row objects (docs/lrs.md, "Session 7"). A block is
# column-oriented: the number of columns and rows (LEB128), then per column its name, its type
# (strings) and its values: UUID two little-endian 64-bit halves, high first; DateTime64(6) an
# Int64 of microseconds; String a LEB128 length and the bytes; FixedString(32) its 32 bytes;
# Array(String) one UInt64 per row (the running count of elements) then the elements. An INSERT
# may carry several blocks one after the other (ClickHouse squashes them into one part).

INDEX_TYPES = (
    "UUID",
    "DateTime64(6, 'UTC')",
    "String",
    "FixedString(32)",
    "String",
    "String",
    "String",
    "Array(String)",
    "Array(String)",
    "Array(String)",
    "Array(String)",
    "String",
    "String",
    "Array(String)",
)
# What a statement's JSON text carries in place of its stored time until the commit writes it
# (same width as every format_time result, so the text is patched in place).
STAMP_PLACEHOLDER = b"0000-00-00T00:00:00.000000Z"
STAMP_WIDTH = len(STAMP_PLACEHOLDER)
_STORED_HEAD = b',"stored":"'
_TIMESTAMP_HEAD = b'","timestamp":"'
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS = struct.Struct("<q")
_OFFSET = struct.Struct("<Q")


def _header(name: str, kind: str) -> bytes:
    return length_prefix(len(name)) + name.encode() + length_prefix(len(kind)) + kind.encode()


HEADERS = [_header(name, kind) for name, kind in zip(INDEX_COLUMNS, INDEX_TYPES, strict=True)]


def unstamped_text(statement: dict[str, Any]) -> bytes:
    """The statement's JSON with ``stored`` (and ``timestamp``, when absent: it is the stored
    time then) last, holding :data:`STAMP_PLACEHOLDER` until the commit patches them in."""
    head = orjson.dumps(statement)[:-1] + _STORED_HEAD + STAMP_PLACEHOLDER
    if "timestamp" in statement:
        return head + b'"}'
    return head + _TIMESTAMP_HEAD + STAMP_PLACEHOLDER + b'"}'


def pack_rows(
    rows: list[list[Any]], has_timestamp: list[bool] | None = None
) -> tuple[bytes, list[int], list[int]]:
    """``rows`` (:func:`index_row` lists, the text as ``str`` or UTF-8 ``bytes``) as one Native
    block: (block, columns, spans). ``columns``: where each column's values start, and the
    block's end (so ``columns[1]`` is where the ``stored_time`` values are). ``spans`` holds
    four offsets
    per statement: its JSON text's start and end, and where its stored and timestamp
    placeholders start (-1: none). ``has_timestamp`` is given for rows whose texts come from
    :func:`unstamped_text` (their placeholders are located from it); None: rows already
    stamped."""
    out = bytearray(length_prefix(len(INDEX_COLUMNS)) + length_prefix(len(rows)))
    headers = HEADERS
    out += headers[0]
    columns = [len(out)]
    for row in rows:
        raw = bytes.fromhex(row[0].replace("-", ""))
        if len(raw) != 16:
            raise ValueError(f"not a UUID: {row[0]!r}")
        out += raw[7::-1]
        out += raw[:7:-1]
    out += headers[1]
    columns.append(len(out))
    for row in rows:
        out += _MICROS.pack((row[1] - _EPOCH) // _MICROSECOND)
    out += headers[2]
    columns.append(len(out))
    spans: list[int] = []
    for index, row in enumerate(rows):
        text = row[2]
        data: bytes = text if isinstance(text, bytes) else text.encode()
        out += length_prefix(len(data))
        start = len(out)
        out += data
        end = len(out)
        if has_timestamp is None:
            spans += (start, end, -1, -1)
        elif has_timestamp[index]:
            spans += (start, end, end - 2 - STAMP_WIDTH, -1)
        else:
            stamp = end - 2 - STAMP_WIDTH
            spans += (start, end, stamp - len(_TIMESTAMP_HEAD) - STAMP_WIDTH, stamp)
    out += headers[3]
    columns.append(len(out))
    for row in rows:
        digest = row[3].encode()
        if len(digest) != 32:
            raise ValueError(f"not a content hash: {row[3]!r}")
        out += digest
    for column in range(4, len(INDEX_COLUMNS)):
        out += headers[column]
        columns.append(len(out))
        if INDEX_TYPES[column] == "String":
            for row in rows:
                value = row[column].encode()
                out += length_prefix(len(value))
                out += value
            continue
        total = 0
        for row in rows:
            total += len(row[column])
            out += _OFFSET.pack(total)
        for row in rows:
            for element in row[column]:
                value = element.encode()
                out += length_prefix(len(value))
                out += value
    columns.append(len(out))
    return bytes(out), columns, spans


def merge_blocks(parts: list[tuple[bytes, list[int], int]]) -> bytes:
    """Blocks of :func:`pack_rows` (block, columns, rows) as one block: column by column, the
    Array columns' running counts carried on from block to block. One block of 5,000 rows cost
    chDB ~0.3-0.4 ms per 100 less than 50 blocks of 100 (docs/lrs.md, "Session 7")."""
    out: list[bytes | memoryview] = [
        length_prefix(len(INDEX_COLUMNS)),
        length_prefix(sum(count for _, _, count in parts)),
    ]
    views = [(memoryview(block), columns, count) for block, columns, count in parts]
    for column, kind in enumerate(INDEX_TYPES):
        out.append(HEADERS[column])
        # a column's values end where the next column's header starts (or the block ends)
        after = len(HEADERS[column + 1]) if column + 1 < len(HEADERS) else 0
        if kind != "Array(String)":
            out += [
                view[columns[column] : columns[column + 1] - after] for view, columns, _ in views
            ]
            continue
        carried = 0
        for view, columns, count in views:
            start = columns[column]
            counts = array("Q")
            counts.frombytes(view[start : start + 8 * count])
            if sys.byteorder != "little":
                counts.byteswap()
            shifted = array("Q", [value + carried for value in counts]) if carried else counts
            if count:
                carried = shifted[-1]
            if sys.byteorder != "little":
                shifted.byteswap()
            out.append(shifted.tobytes())
        out += [
            view[columns[column] + 8 * count : columns[column + 1] - after]
            for view, columns, count in views
        ]
    return b"".join(out)
