"""The main package's side: settings -> runtime file, virtualenv stamp, gunicorn command."""

from __future__ import annotations

import stat
from pathlib import Path

import orjson
import pytest

from aspects.dashboards import venv as venv_module
from aspects.dashboards.runtime import runtime_document, write_runtime
from aspects.dashboards.superset import gunicorn_command
from aspects.errors import ConfigError
from aspects.settings import load_settings


def test_embedded_store_is_read_as_the_read_only_user(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        store={"readonly_user": "reader", "readonly_password": "p@ss/word", "endpoint_port": 9123},
    )
    document = runtime_document(settings)
    assert document["clickhouse_uri"] == (
        "clickhousedb+connect://reader:p%40ss%2Fword@127.0.0.1:9123/aspects"
    )
    assert document["metadata_db_uri"] == f"sqlite:///{tmp_path.resolve()}/superset/superset.db"
    assert document["lms"] is None  # no LMS configured: local admin only
    # development: the secret key is generated once and then stable
    assert runtime_document(settings)["secret_key"] == document["secret_key"]


def test_a_server_store_needs_an_explicit_read_only_url(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, store={"url": "http://admin:pw@ch:8123/aspects"})
    with pytest.raises(ConfigError, match="clickhouse_url"):
        runtime_document(settings)
    settings = load_settings(
        data_dir=tmp_path,
        store={"url": "http://admin:pw@ch:8123/aspects"},
        dashboards={"clickhouse_url": "clickhousedb+connect://ro:x@ch:8123/aspects"},
    )
    assert runtime_document(settings)["clickhouse_uri"].startswith("clickhousedb+connect://ro:")


def test_lms_settings_and_their_defaults(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lms_client_secret"):
        runtime_document(
            load_settings(data_dir=tmp_path, dashboards={"lms_url": "https://lms.example/"})
        )
    settings = load_settings(
        data_dir=tmp_path,
        dashboards={
            "lms_url": "http://lms:8000/",
            "lms_browser_url": "https://lms.example",
            "lms_client_secret": "s",
            "course_roles_ttl": 60,
        },
    )
    lms = runtime_document(settings)["lms"]
    assert lms["url"] == "http://lms:8000"
    assert lms["browser_url"] == "https://lms.example"
    assert lms["issuer"] == "http://lms:8000/oauth2"
    assert lms["course_roles_ttl"] == 60


def test_production_refuses_generated_secrets(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        mode="production",
        transform={"secret": "t"},
        store={"admin_password": "a", "readonly_password": "r"},
    )
    with pytest.raises(ConfigError, match="superset_secret_key"):
        runtime_document(settings)


def test_runtime_file_is_private(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, store={"readonly_password": "r"})
    path = write_runtime(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert orjson.loads(path.read_bytes())["clickhouse_database"] == "aspects"


def test_gunicorn_binds_the_configured_address(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        dashboards={"host": "127.0.0.1", "port": 18088, "workers": 3, "venv": tmp_path / "v"},
    )
    command = gunicorn_command(settings)
    assert command[0] == str((tmp_path / "v").resolve() / "bin" / "gunicorn")
    assert command[command.index("--bind") + 1] == "127.0.0.1:18088"
    assert command[command.index("--workers") + 1] == "3"
    assert command[-1] == "aspects_superset.wsgi:application"


def test_venv_is_left_alone_when_its_stamp_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = venv_module.superset_source()
    fingerprint = venv_module._fingerprint(source)
    (tmp_path / venv_module.STAMP).write_text(fingerprint + "\n")
    ran: list[object] = []
    monkeypatch.setattr(venv_module.subprocess, "run", lambda *a, **k: ran.append(a))
    result = venv_module.ensure_venv(tmp_path)
    assert result.installed is False
    assert ran == []
    (tmp_path / venv_module.STAMP).write_text("old\n")
    result = venv_module.ensure_venv(tmp_path)
    assert result.installed is True
    assert any("constraints.txt" in " ".join(map(str, call[0])) for call in ran)


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("postgresql://u:p@db/superset", "postgresql://u:p@db/superset"),
        ("postgresql+psycopg://u:p@db/superset", "postgresql+psycopg2://u:p@db/superset"),
        ("postgres://u:p@db/superset", "postgresql+psycopg2://u:p@db/superset"),
    ],
)
def test_postgresql_metadata_urls_are_read_with_psycopg2(
    tmp_path: Path, configured: str, expected: str
) -> None:
    """Superset's SQLAlchemy 1.4 has no psycopg 3 dialect; its virtualenv has psycopg2."""
    settings = load_settings(
        data_dir=tmp_path, store={"readonly_password": "r"}, dashboards={"metadata_url": configured}
    )
    assert runtime_document(settings)["metadata_db_uri"] == expected


def test_local_login_limits_reach_the_runtime_file(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        store={"readonly_password": "r"},
        dashboards={"login_max_failures": 7, "login_lockout": 60},
    )
    document = runtime_document(settings)
    assert (document["login_max_failures"], document["login_lockout"]) == (7, 60)
