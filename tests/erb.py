"""ERB's fixtures as statements: what the LMS's event-routing-backends sends, and what our
transformer makes of ERB's fixture events (tests/fixtures/erb, see its SOURCE.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aspects.transform.errors import MalformedEvent

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "erb"


def fixture_statements() -> list[dict[str, Any]]:
    """Every statement of ERB's xAPI fixtures (some are not valid xAPI as ERB sends them)."""
    statements: list[dict[str, Any]] = []
    for path in sorted((FIXTURES / "xapi").glob("*.json")):
        value = json.loads(path.read_text())
        statements += value if isinstance(value, list) else [value]
    return statements


def transformer_statements() -> list[dict[str, Any]]:
    """Our transformer's statements for every ERB fixture event."""
    from tests.transform.conftest import erb_transformer

    transformer = erb_transformer()
    out: list[dict[str, Any]] = []
    for path in sorted((FIXTURES / "events").glob("*.json")):
        try:
            out += transformer.transform(json.loads(path.read_text()))
        except MalformedEvent:
            continue
    return out
