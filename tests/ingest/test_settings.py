"""The ingest settings section: limits that keep the promises of docs/ingest.md."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from aspects.ingest.settings import IngestSettings
from aspects.settings import Settings


def test_defaults_flush_at_least_every_second() -> None:
    settings = IngestSettings()
    assert settings.flush_interval <= 1.0
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        IngestSettings(flush_interval=2)


def test_forward_targets_from_the_environment_keep_passwords_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "ASPECTS_INGEST__FORWARD",
        '[{"name": "remote", "url": "https://lrs.example.org/xAPI", "username": "k",'
        ' "password": "hunter2-hunter2", "orgs": ["edX"]}]',
    )
    settings = Settings()
    (target,) = settings.ingest.forward
    assert target.orgs == ["edX"]
    assert target.password is not None
    assert target.password.get_secret_value() == "hunter2-hunter2"
    assert "hunter2" not in settings.model_dump_json()


def test_forward_target_names_are_unique_and_plain() -> None:
    target = {"name": "a", "url": "http://x/xAPI"}
    with pytest.raises(ValidationError, match="unique"):
        IngestSettings(forward=[target, target])
    with pytest.raises(ValidationError, match="letters, digits"):
        IngestSettings(forward=[{"name": "a b", "url": "http://x/xAPI"}])
