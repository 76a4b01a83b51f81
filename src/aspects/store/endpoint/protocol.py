"""Pure functions of ClickHouse's HTTP interface: what a request asks for, how errors look.

Everything here is independent of chDB and of the web framework, so it is easy to test and to
read. chDB itself parses, executes and formats the SQL; this module only splits a request into
its SQL, data, settings and query parameters the way ClickHouse's HTTP handler does.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import lz4.frame
import zstandard

# URL parameters that steer the HTTP layer itself; they never reach the engine as settings.
TRANSPORT_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "quota_key",
        "session_id",
        "session_timeout",
        "session_check",
        "query_id",
        "compress",
        "decompress",
        "enable_http_compression",
        "http_zlib_compression_level",
        "http_native_compression_disable_checksumming_on_decompress",
        "wait_end_of_query",
        "buffer_size",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "client_protocol_version",
        "cancel_http_readonly_queries_on_client_close",
        "role",
    }
)

_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CODE = re.compile(r"^Code: (\d+)\.")
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)(?: \(version [^)]*\))?\s*$")
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
# "INSERT INTO t [(cols)] [SETTINGS ...] FORMAT Name" followed by the data. Only the statement
# head is searched, so binary data after it is never decoded.
_INSERT_HEAD = re.compile(
    rb"^\s*INSERT\s+INTO\s.*?\bFORMAT\s+(\w+)[ \t]*(?:\r?\n)?", re.IGNORECASE | re.DOTALL
)
_INSERT_START = re.compile(r"^\s*INSERT\s", re.IGNORECASE)
_HEAD_LIMIT = 256 * 1024

# ClickHouse error codes the endpoint produces itself.
UNSUPPORTED_METHOD = 1
BAD_ARGUMENTS = 36
UNKNOWN_FORMAT = 73
READONLY = 164
SESSION_NOT_FOUND = 372
SESSION_IS_LOCKED = 373
AUTHENTICATION_FAILED = 516
HTTP_LENGTH_REQUIRED = 381

CODE_NAMES = {
    UNSUPPORTED_METHOD: "UNSUPPORTED_METHOD",
    BAD_ARGUMENTS: "BAD_ARGUMENTS",
    UNKNOWN_FORMAT: "UNKNOWN_FORMAT",
    READONLY: "READONLY",
    SESSION_NOT_FOUND: "SESSION_NOT_FOUND",
    SESSION_IS_LOCKED: "SESSION_IS_LOCKED",
    AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
    HTTP_LENGTH_REQUIRED: "HTTP_LENGTH_REQUIRED",
}

# HTTP status per error code, the way a ClickHouse server answers (everything else is 500).
_STATUS_BY_CODE: dict[int, int] = {
    **dict.fromkeys((192, 193, 194, AUTHENTICATION_FAILED), 401),
    **dict.fromkeys((READONLY, 497, 291), 403),
    **dict.fromkeys((60, 81, 46, 47, 16, 107), 404),
    **dict.fromkeys(
        (
            6, 25, 26, 27, 32, 33, 38, 41, 42, 43, 53, 62, 69, 72, 73, 115, 117, 130, 190,
            BAD_ARGUMENTS, 376, 456, 457, 1001,
        ),
        400,
    ),
    **dict.fromkeys((SESSION_NOT_FOUND, SESSION_IS_LOCKED, HTTP_LENGTH_REQUIRED), 400),
    159: 408,
}  # fmt: skip

_CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "TSV": "text/tab-separated-values; charset=UTF-8",
    "TabSeparatedWithNames": "text/tab-separated-values; charset=UTF-8",
    "TabSeparatedWithNamesAndTypes": "text/tab-separated-values; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
    "CSVWithNames": "text/csv; charset=UTF-8; header=present",
    "JSON": "application/json; charset=UTF-8",
    "JSONCompact": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
}


class EndpointError(Exception):
    """An error with a ClickHouse error code, answered in ClickHouse's shape."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """One request, split into what the engine needs."""

    sql: str
    data: bytes | None = None  # insert data, when ``sql`` is an INSERT ... (FORMAT stripped)
    data_format: str | None = None
    database: str | None = None
    default_format: str = "TabSeparated"
    settings: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    session_id: str | None = None
    session_timeout: float = 60.0
    session_check: bool = False
    query_id: str | None = None

    @property
    def result_format(self) -> str:
        """The format of the answer: the query's own FORMAT clause, else the default."""
        match = _TRAILING_FORMAT.search(self.sql) if self.data is None else None
        return match.group(1) if match else self.default_format


def split_params(
    params: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """URL parameters -> (transport parameters, engine settings, query parameters)."""
    transport: dict[str, str] = {}
    settings: dict[str, str] = {}
    query_params: dict[str, str] = {}
    for key, value in params.items():
        if key.startswith("param_"):
            query_params[key[6:]] = value
        elif key in TRANSPORT_PARAMS:
            transport[key] = value
        else:
            if not _SETTING_NAME.match(key):
                raise EndpointError(BAD_ARGUMENTS, f"Invalid setting name {key!r}")
            settings[key] = value
    return transport, settings, query_params


def decode_body(body: bytes, content_encoding: str | None) -> bytes:
    """The request body with its Content-Encoding (lz4 frame, zstd, gzip, deflate) removed."""
    encoding = (content_encoding or "").strip().lower()
    if not body or encoding in ("", "identity"):
        return body
    try:
        if encoding == "lz4":
            return bytes(lz4.frame.decompress(body))
        if encoding == "zstd":
            return zstandard.ZstdDecompressor().decompressobj().decompress(body)
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except Exception as error:  # every codec has its own exception type
        raise EndpointError(
            BAD_ARGUMENTS, f"Cannot decompress the request body ({encoding}): {error}"
        ) from error
    raise EndpointError(UNKNOWN_FORMAT, f"Unknown Content-Encoding: {content_encoding}")


def encode_body(body: bytes, accept_encoding: str | None) -> tuple[bytes, str | None]:
    """Compress a response for a client that enabled HTTP compression; first accepted wins."""
    for item in (accept_encoding or "").split(","):
        name = item.split(";")[0].strip().lower()
        if name == "lz4":
            return bytes(lz4.frame.compress(body)), "lz4"
        if name == "zstd":
            return zstandard.ZstdCompressor(level=1).compress(body), "zstd"
        if name == "gzip":
            return gzip.compress(body, compresslevel=3), "gzip"
        if name == "deflate":
            return zlib.compress(body, 3), "deflate"
    return body, None


def build_request(params: Mapping[str, str], body: bytes) -> QueryRequest:
    """Split URL parameters and the decoded body into a QueryRequest.

    Like ClickHouse: the SQL is the ``query`` parameter followed by the body. When the SQL is
    ``INSERT ... FORMAT X``, what follows the statement is data in format X: it goes to the
    engine untouched (it may be binary), never through the SQL parser as text.
    """
    transport, settings, query_params = split_params(params)
    if transport.get("decompress", "0") not in ("0", "") or transport.get("compress", "0") not in (
        "0",
        "",
    ):
        raise EndpointError(
            UNSUPPORTED_METHOD,
            "ClickHouse's own compression framing (compress=1/decompress=1) is not supported: "
            "use Content-Encoding / Accept-Encoding with enable_http_compression=1",
        )
    url_query = transport.get("query", "")
    sql: str
    data: bytes | None = None
    data_format: str | None = None
    url_insert = _TRAILING_FORMAT.search(url_query) if _INSERT_START.match(url_query) else None
    if url_insert is not None and body:
        sql, data, data_format = url_query[: url_insert.start()].rstrip(), body, url_insert.group(1)
    elif url_query:
        sql = f"{url_query}\n{_text(body)}" if body else url_query
    else:
        head = _INSERT_HEAD.match(body[:_HEAD_LIMIT])
        if head is not None:
            statement = _text(body[: head.start(1)])
            sql = re.sub(r"\bFORMAT\s*$", "", statement.rstrip(), flags=re.IGNORECASE).rstrip()
            data, data_format = body[head.end() :], head.group(1).decode()
        else:
            sql = _text(body)
    if not sql.strip():
        raise EndpointError(BAD_ARGUMENTS, "Empty query")
    try:
        timeout = float(transport.get("session_timeout", "60"))
    except ValueError:
        raise EndpointError(BAD_ARGUMENTS, "session_timeout must be a number") from None
    return QueryRequest(
        sql=sql,
        data=data,
        data_format=data_format,
        database=transport.get("database") or None,
        default_format=transport.get("default_format") or "TabSeparated",
        settings=settings,
        params=query_params,
        session_id=transport.get("session_id") or None,
        session_timeout=max(1.0, min(timeout, 3600.0)),
        session_check=transport.get("session_check", "0") == "1",
        query_id=transport.get("query_id") or None,
    )


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise EndpointError(
            BAD_ARGUMENTS, "The query is not valid UTF-8 (binary data needs INSERT ... FORMAT)"
        ) from None


def error_code(message: str) -> int:
    """The ClickHouse error code at the start of an engine message (0 when there is none)."""
    match = _CODE.match(message)
    return int(match.group(1)) if match else 0


def error_body(code: int, message: str, version: str) -> str:
    """ClickHouse's error text: ``Code: N. DB::Exception: ... (NAME) (version V)``."""
    if not _CODE.match(message):
        name = CODE_NAMES.get(code, "UNKNOWN_EXCEPTION")
        message = f"Code: {code}. DB::Exception: {message.rstrip('.')}. ({name})"
    message = message.rstrip()
    if "(version " not in message[-40:]:
        message = f"{message} (version {version})"
    return message + "\n"


def http_status(code: int) -> int:
    return _STATUS_BY_CODE.get(code, 500)


def content_type(fmt: str) -> str:
    return _CONTENT_TYPES.get(fmt, "application/octet-stream" if fmt else "text/plain")


def error_name(message: str) -> str | None:
    match = _NAME.search(message.strip())
    return match.group(1) if match else None
