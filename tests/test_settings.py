"""Settings: sources, validation errors, production rules, secrets, and the generated docs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aspects.cli import cli
from aspects.errors import ConfigError
from aspects.settings import load_settings
from aspects.settings_docs import settings_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_docs_settings_md_is_generated_from_the_code() -> None:
    assert DOCS.read_text() == settings_markdown(), "run: aspects config docs > docs/settings.md"


def test_env_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "aspects.toml"
    config.write_text('[store]\ndatabase = "from_file"\nendpoint_port = 9000\n')
    monkeypatch.setenv("ASPECTS_STORE__DATABASE", "from_env")
    settings = load_settings(config)
    assert settings.store.database == "from_env"
    assert settings.store.endpoint_port == 9000


def test_invalid_values_name_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASPECTS_STORE__ENDPOINT_PORT", "not-a-port")
    monkeypatch.setenv("ASPECTS_STORE__DATABASE", "bad name; DROP")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "store.endpoint_port" in str(error.value)
    assert "store.database" in str(error.value)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_production_requires_explicit_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASPECTS_MODE", "production")
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    for name in ("transform.secret", "store.admin_password", "store.readonly_password"):
        assert name in message
    monkeypatch.setenv("ASPECTS_TRANSFORM__SECRET", "s3")
    monkeypatch.setenv("ASPECTS_STORE__ADMIN_PASSWORD", "a")
    monkeypatch.setenv("ASPECTS_STORE__READONLY_PASSWORD", "r")
    assert load_settings().secret("transform", load_settings().transform.secret) == "s3"


def test_development_secret_is_generated_once_private_and_stable(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    first = settings.secret("transform", None)
    assert len(first) >= 32
    assert settings.secret("transform", None) == first
    assert (tmp_path / "secrets" / "transform").stat().st_mode & 0o077 == 0


def test_config_show_redacts_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASPECTS_TRANSFORM__SECRET", "very-secret-value")
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "very-secret-value" not in result.output
    assert "**********" in result.output


def test_cli_reports_bad_settings_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASPECTS_STORE__ENDPOINT_PORT", "0")
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 2
    assert "store.endpoint_port" in result.output
    assert "Traceback" not in result.output
