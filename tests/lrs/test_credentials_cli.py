"""``aspects lrs credentials create|list|revoke`` through click, on a real SQLite database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner

from aspects.cli import cli
from aspects.lrs.auth import VerifiedSecrets, principal_for
from aspects.lrs.db import make_sessionmaker
from aspects.settings import Settings
from tests.support import free_port, wait_until_serving


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ASPECTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ASPECTS_LRS__AUTHORITY_HOME_PAGE", "https://lrs.example.org")
    monkeypatch.delenv("ASPECTS_CONFIG", raising=False)
    return CliRunner()


def test_create_list_revoke(runner: CliRunner, tmp_path: Path) -> None:
    created = runner.invoke(
        cli,
        ["lrs", "credentials", "create", "--name", "ADL suite", "--scope", "all", "--json"],
    )
    assert created.exit_code == 0, created.output
    issued = orjson.loads(created.output)
    assert issued["scopes"] == ["all"]
    assert len(issued["secret"]) >= 32

    # the printed secret authenticates, with the credential's authority
    sessions = make_sessionmaker(Settings(data_dir=tmp_path))
    with sessions() as session:
        principal = principal_for(session, issued["key"], issued["secret"], VerifiedSecrets())
        assert principal is not None
        assert principal.authority == {
            "objectType": "Agent",
            "name": "ADL suite",
            "account": {"homePage": "https://lrs.example.org", "name": issued["key"]},
        }
        assert principal_for(session, issued["key"], "wrong", VerifiedSecrets()) is None

    human = runner.invoke(cli, ["lrs", "credentials", "create", "--name", "LMS"])
    assert human.exit_code == 0, human.output
    assert "statements/write statements/read/mine" in human.output
    assert "secret: " in human.output

    listed = runner.invoke(cli, ["lrs", "credentials", "list", "--json"])
    rows = [orjson.loads(line) for line in listed.output.splitlines()]
    assert [row["name"] for row in rows] == ["ADL suite", "LMS"]
    assert all("secret" not in row for row in rows)
    table = runner.invoke(cli, ["lrs", "credentials", "list"])
    assert issued["key"] in table.output
    assert issued["secret"] not in table.output

    revoked = runner.invoke(cli, ["lrs", "credentials", "revoke", issued["key"]])
    assert revoked.exit_code == 0, revoked.output
    active = runner.invoke(cli, ["lrs", "credentials", "list", "--active", "--json"])
    assert [orjson.loads(line)["name"] for line in active.output.splitlines()] == ["LMS"]
    with sessions() as session:
        assert principal_for(session, issued["key"], issued["secret"], VerifiedSecrets()) is None


def test_fixed_key_and_secret_and_errors(runner: CliRunner) -> None:
    ok = runner.invoke(
        cli,
        ["lrs", "credentials", "create", "--name", "n", "--key", "suite", "--json"],
        env={"ASPECTS_LRS_NEW_SECRET": "a-long-enough-secret"},
    )
    assert ok.exit_code == 0, ok.output
    assert orjson.loads(ok.output)["secret"] == "a-long-enough-secret"
    duplicate = runner.invoke(
        cli, ["lrs", "credentials", "create", "--name", "n", "--key", "suite"]
    )
    assert duplicate.exit_code == 2
    assert "already exists" in duplicate.output
    weak = runner.invoke(cli, ["lrs", "credentials", "create", "--name", "n", "--secret", "short"])
    assert weak.exit_code == 2
    assert "at least 12" in weak.output
    bad_scope = runner.invoke(
        cli, ["lrs", "credentials", "create", "--name", "n", "--scope", "statements/delete"]
    )
    assert bad_scope.exit_code == 2
    missing = runner.invoke(cli, ["lrs", "credentials", "revoke", "nobody"])
    assert missing.exit_code == 2
    assert "no credential" in missing.output


@pytest.mark.slow
def test_revocation_reaches_a_running_lrs(tmp_path: Path) -> None:
    """`aspects lrs serve` in a subprocess; the CLI, another process, revokes its credential."""
    aspects = str(Path(sys.executable).parent / "aspects")
    env = {**os.environ, "ASPECTS_DATA_DIR": str(tmp_path)}
    env.pop("ASPECTS_CONFIG", None)

    def command(*args: str) -> str:
        done = subprocess.run(
            [aspects, "lrs", "credentials", *args], env=env, check=True, capture_output=True
        )
        return done.stdout.decode()

    issued = orjson.loads(command("create", "--name", "LMS", "--scope", "state", "--json"))
    port = free_port()
    server = subprocess.Popen(
        [aspects, "lrs", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/xAPI"
    params = {
        "activityId": "http://example.org/a",
        "agent": '{"mbox": "mailto:learner@example.org"}',
        "stateId": "s",
    }
    try:
        wait_until_serving(f"{base}/about", server, 90, "the LRS")
        with httpx.Client(
            base_url=base,
            auth=(issued["key"], issued["secret"]),
            headers={"X-Experience-API-Version": "2.0.0"},
            timeout=30,
        ) as client:
            assert client.put("/activities/state", params=params, json={"a": 1}).status_code == 204
            assert client.get("/activities/state", params=params).json() == {"a": 1}
            command("revoke", issued["key"])
            # Refused once the server's cached principal expires (lrs.credential_cache_seconds,
            # 1 s by default); a generous deadline for a loaded machine.
            deadline = time.monotonic() + 20
            while (status := client.get("/activities/state", params=params).status_code) == 200:
                assert time.monotonic() < deadline, "the revocation did not reach the LRS"
                time.sleep(0.1)
            assert status == 401
    finally:
        server.terminate()
        server.wait(timeout=60)
