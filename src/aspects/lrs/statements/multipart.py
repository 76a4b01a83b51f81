"""multipart/mixed bodies of statements with attachments (xAPI 1.0.3 §2.4.11, 2.0 §4.1.6.1).

Parsing uses python-multipart's streaming parser (it is not tied to form-data); building the
GET response is plain concatenation around a random boundary.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header

from aspects.xapi.validation import StatementInvalid


@dataclass(slots=True)
class Part:
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)


def boundary_of(content_type: str) -> str:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/mixed" or not boundary:
        raise StatementInvalid("Content-Type", "must be multipart/mixed with a boundary")
    return boundary.decode("latin-1")


def parse_parts(body: bytes, content_type: str) -> list[Part]:
    """The parts of a multipart/mixed body, headers lower-cased."""
    boundary = boundary_of(content_type)
    parts: list[Part] = []
    header_name = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        parts.append(Part())

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].body += data[start:end]

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        name = header_name.decode("latin-1").strip().lower()
        parts[-1].headers[name] = header_value.decode("latin-1").strip()
        header_name.clear()
        header_value.clear()

    callbacks: Any = {
        "on_part_begin": on_part_begin,
        "on_part_data": on_part_data,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
    }
    parser = MultipartParser(boundary, callbacks, max_header_count=32)
    try:
        parser.write(body)
        parser.finalize()
    except Exception as error:
        raise StatementInvalid("body", f"is not a valid multipart/mixed body: {error}") from None
    if not parts:
        raise StatementInvalid("body", "multipart/mixed body has no parts")
    return parts


def build_multipart(first: bytes, attachments: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """(body, content type) of a multipart/mixed response: JSON part, then each attachment."""
    boundary = secrets.token_hex(16)
    chunks = [
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(),
        first,
        b"\r\n",
    ]
    for sha2, content_type, content in attachments:
        chunks.append(
            (
                f"--{boundary}\r\nContent-Type: {content_type}\r\n"
                f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {sha2}\r\n\r\n"
            ).encode()
        )
        chunks.append(content)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"
