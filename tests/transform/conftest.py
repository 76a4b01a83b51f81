"""The ERB fixture environment (COMPARING.md) and helpers to read the fixtures."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from aspects.transform import ExternalIds, StaticCourseNames, Transformer
from aspects.transform.settings import TransformSettings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "erb"
EVENTS = FIXTURES / "events"
EXPECTED = FIXTURES / "xapi"
ERB_ACTOR = "32e08e30-f8ae-4ce2-94a8-c2bfe38a70cb"
ERB_VERSION = "event-routing-backends@1.1.1"
ROOT = "http://localhost:18000"


def pytest_configure(config: pytest.Config) -> None:
    """``ASPECTS_FAST_LIBRARY=<lib_fast.so>``: these tests use that build of the native crate
    (tests/transform/fast_library.py; native/README.md). Before the test modules are imported."""
    from tests.transform.fast_library import requested_library, use_library

    library = requested_library()
    if library is not None:
        use_library(library)


class _Everyone(Mapping[str, str]):
    """Any user key -> ERB's fixture learner (a mapping that knows every key)."""

    def __getitem__(self, key: str) -> str:
        return ERB_ACTOR

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def everyone_is_the_fixture_user() -> ExternalIds:
    """ERB's tests give every learner the same external id; so does this mapping.

    A mapping, not a subclass: ExternalIds may be a compiled (mypyc) class.
    """
    return ExternalIds(by_user_id=_Everyone(), by_username=_Everyone())


def erb_transformer(**settings: Any) -> Transformer:
    """Configured as COMPARING.md says: root URL, one UUID for all, one course name."""
    return Transformer(
        TransformSettings(lms_root_url=ROOT, transformer_version=ERB_VERSION, **settings),
        secret="test-secret",
        course_names=StaticCourseNames({}, default="Demonstration Course"),
        external_ids=everyone_is_the_fixture_user(),
    )


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def event_files() -> list[Path]:
    return sorted(EVENTS.glob("*.json"))


def expected_list(name: str) -> list[dict[str, Any]]:
    expected = load_json(EXPECTED / name)
    return expected if isinstance(expected, list) else [expected]


@pytest.fixture
def strict() -> Transformer:
    return erb_transformer(erb_strict=True)


@pytest.fixture
def default() -> Transformer:
    return erb_transformer()
