"""The LMS client against the test LMS (a real OAuth2 server with the Open edX course APIs)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from clickhouse_connect.driver.client import Client

from aspects.cli import cli
from aspects.courses.lms import LMSClient, LMSError
from aspects.courses.olx import demo_course_path, read_olx
from aspects.courses.settings import CoursesSettings
from aspects.courses.structure import as_blocks_answer, flatten
from aspects.store.settings import StoreSettings
from tests.lms.fixtures import COURSE_A, COURSE_B, COURSE_C
from tests.lms.server import RunningLMS

CLIENT_ID, CLIENT_SECRET = "aspects-sync", "sync-secret"


def _settings(lms: RunningLMS, secret: str = CLIENT_SECRET) -> CoursesSettings:
    lms.state.add_client(CLIENT_ID, CLIENT_SECRET, [])
    return CoursesSettings(lms_url=lms.url, client_id=CLIENT_ID, client_secret=secret)


def test_course_list_follows_pagination(lms: RunningLMS) -> None:
    lms.state.page_size = 2
    client = LMSClient(_settings(lms))
    assert list(client.course_keys()) == [COURSE_A, COURSE_B, COURSE_C]
    assert _requests(lms).count("/api/courses/v1/courses/") == 2


def test_course_structure_from_the_blocks_api(lms: RunningLMS) -> None:
    demo = read_olx(demo_course_path())
    lms.state.add_course(demo.course_key, demo.display_name)
    lms.state.courses[demo.course_key].blocks = as_blocks_answer(demo)
    client = LMSClient(_settings(lms))
    structure = client.course_structure(demo.course_key)
    assert flatten(structure) == flatten(demo)
    small = flatten(client.course_structure(COURSE_A))
    assert [(r.block_type, r.display_name, r.graded) for r in small] == [
        ("course", "Chemistry 101", False),
        ("chapter", "Week 1", False),
        ("sequential", "Lesson 1", False),
        ("vertical", "Unit 1", False),
        ("problem", "Checkpoint", True),
        ("video", "Welcome video", False),
    ]


def test_token_is_reused_and_sent_as_jwt(lms: RunningLMS) -> None:
    client = LMSClient(_settings(lms))
    client.course_structure(COURSE_A)
    client.course_structure(COURSE_B)
    assert client.authorization().startswith("JWT ")
    token_requests = [r for r in _requests(lms) if "access_token" in r]
    assert len(token_requests) == 1


def _requests(lms: RunningLMS) -> list[str]:
    return list(lms.state.requests)


def test_wrong_secret_and_unknown_course_are_errors(lms: RunningLMS) -> None:
    with pytest.raises(LMSError, match="token request refused: HTTP 401"):
        LMSClient(_settings(lms, secret="wrong")).course_structure(COURSE_A)
    with pytest.raises(LMSError, match="HTTP 404"):
        LMSClient(_settings(lms)).course_structure("course-v1:No+Such+Course")


def test_the_token_never_goes_to_another_host(lms: RunningLMS) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/oauth2"):
            return httpx.Response(200, json={"access_token": "t", "token_type": "JWT"})
        return httpx.Response(
            200, json={"results": [], "pagination": {"next": "http://evil.example/steal"}}
        )

    settings = CoursesSettings(lms_url="http://lms.test", client_id="a", client_secret="b")
    client = LMSClient(settings, httpx.Client(transport=httpx.MockTransport(handler)))
    with pytest.raises(LMSError, match="another host"):
        list(client.course_keys())


def test_cli_sync_and_reports(
    lms: RunningLMS,
    store: Client,
    store_settings: StoreSettings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    lms.state.add_client(CLIENT_ID, CLIENT_SECRET, [])
    assert store_settings.path is not None
    for name, value in {
        "ASPECTS_DATA_DIR": str(tmp_path),
        "ASPECTS_STORE__PATH": str(store_settings.path),
        "ASPECTS_STORE__DATABASE": store_settings.database,
        "ASPECTS_COURSES__LMS_URL": lms.url,
        "ASPECTS_COURSES__CLIENT_ID": CLIENT_ID,
        "ASPECTS_COURSES__CLIENT_SECRET": CLIENT_SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    synced = runner.invoke(cli, ["courses", "sync"])
    assert synced.exit_code == 0, synced.output
    assert synced.output.count("synced ") == 3
    imported = runner.invoke(cli, ["courses", "import", "--demo"])
    assert imported.exit_code == 0, imported.output
    assert "36 blocks" in imported.output
    listed = runner.invoke(cli, ["courses", "list"])
    assert "Chemistry 101" in listed.output
    assert "Learning Analytics" in listed.output
    shown = runner.invoke(
        cli,
        [
            "reports",
            "show",
            "engagement_by_subsection",
            "--course",
            "course-v1:AspectsX+LA101+2026_T1",
            "--format",
            "json",
        ],
    )
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.output)
    assert [row["subsection_name"] for row in rows][:2] == ["Welcome", "Warm-up quiz"]
    refused = runner.invoke(cli, ["reports", "show", "at_risk_contacts", "--course", COURSE_A])
    assert refused.exit_code == 1
    assert "enable courses.pii" in refused.output
    bad = runner.invoke(cli, ["courses", "import", str(tmp_path)])
    assert bad.exit_code == 1
    assert "no course.xml" in bad.output
