"""Pseudonymous actors by default; usernames and emails only with PII enabled."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from aspects.errors import ConfigError
from aspects.transform import Transformer, load_external_ids
from aspects.transform.identity import Actors
from aspects.transform.settings import TransformSettings
from tests.transform.conftest import EVENTS, event_files, load_json

USERNAME = "ada-lovelace-7f3e"
EMAIL = "ada.lovelace@example.org"
FULL_NAME = "Augusta Ada King"


def with_identity(event: dict[str, Any]) -> dict[str, Any]:
    """The event as the LMS may log it for a learner with a username, email and name."""
    event = copy.deepcopy(event)
    context = event.setdefault("context", {})
    context.update(username=USERNAME, email=EMAIL, name=FULL_NAME)
    if isinstance(event.get("data"), dict) and "username" in event["data"]:
        event["data"]["username"] = USERNAME
    if "username" in event:
        event["username"] = USERNAME
    return event


def all_statements(transformer: Transformer) -> list[dict[str, Any]]:
    out = []
    for path in event_files():
        if "anonymous" in path.name or "required.only" in path.name:
            continue
        out.extend(transformer.transform(with_identity(load_json(path))))
    return out


def test_no_username_email_or_name_in_any_statement() -> None:
    transformer = Transformer(TransformSettings(), secret="site-secret")
    statements = all_statements(transformer)
    assert len(statements) > 70
    text = json.dumps(statements)
    for secret in (USERNAME, EMAIL, FULL_NAME, "mailto:", '"edx"', '"staff"', '"student"'):
        assert secret not in text
    for statement in statements:
        account = statement["actor"]["account"]
        assert account["homePage"] == "http://localhost:18000"
        assert UUID(account["name"])
        assert set(statement["actor"]) == {"objectType", "account"}


def test_keyed_hash_is_stable_and_depends_on_the_secret() -> None:
    event = load_json(EVENTS / "play_video.json")
    one = Transformer(TransformSettings(), secret="a").transform(event)[0]
    again = Transformer(TransformSettings(), secret="a").transform(event)[0]
    other = Transformer(TransformSettings(), secret="b").transform(event)[0]
    assert one == again
    assert one["actor"] != other["actor"]
    assert one["id"] != other["id"], "the actor is part of the statement id"


def test_users_get_different_pseudonyms() -> None:
    actors = Actors("http://lms", "secret")
    names = {actors.pseudonym(str(user)) for user in range(1000)}
    assert len(names) == 1000
    assert actors.pseudonym("3") != actors.pseudonym("edx")


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ConfigError):
        Transformer(TransformSettings(), secret="")


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_imported_external_ids_name_the_actor(tmp_path: Path) -> None:
    ids = load_external_ids(
        write_csv(
            tmp_path / "ids.csv",
            "user_id,external_user_id,external_id_type\n"
            "3,8f8a1f8e-6c3a-4a51-9d4c-6c0d6a9a0b11,xapi\n"
            "3,00000000-0000-4000-8000-000000000000,caliper\n",
        )
    )
    transformer = Transformer(TransformSettings(), secret="s", external_ids=ids)
    (statement,) = transformer.transform(load_json(EVENTS / "play_video.json"))
    assert statement["actor"]["account"]["name"] == "8f8a1f8e-6c3a-4a51-9d4c-6c0d6a9a0b11"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,uuid\n1,x\n", "columns"),
        ("user_id,external_user_id\n1,not-a-uuid\n", "not a UUID"),
        ("user_id,external_user_id\nbob,8f8a1f8e-6c3a-4a51-9d4c-6c0d6a9a0b11\n", "not a number"),
    ],
)
def test_bad_external_id_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_external_ids(write_csv(tmp_path / "ids.csv", text))


def pii_transformer(tmp_path: Path, identifier: str) -> Transformer:
    ids = load_external_ids(
        write_csv(
            tmp_path / "ids.csv",
            "user_id,external_user_id,username,email\n"
            f"3,8f8a1f8e-6c3a-4a51-9d4c-6c0d6a9a0b11,edx,{EMAIL}\n",
        )
    )
    settings = TransformSettings(pii=True, pii_identifier=identifier)  # type: ignore[arg-type]
    return Transformer(settings, secret="s", external_ids=ids)


def test_pii_mode_identifies_by_email(tmp_path: Path) -> None:
    event = load_json(EVENTS / "play_video.json")
    (statement,) = pii_transformer(tmp_path, "mbox").transform(event)
    assert statement["actor"] == {"objectType": "Agent", "mbox": f"mailto:{EMAIL}"}
    (hashed,) = pii_transformer(tmp_path, "mbox_sha1sum").transform(event)
    digest = hashlib.sha1(f"mailto:{EMAIL}".encode()).hexdigest()
    assert hashed["actor"] == {"objectType": "Agent", "mbox_sha1sum": digest}
    assert EMAIL not in json.dumps(hashed)


def test_pii_mode_without_a_known_email_stays_pseudonymous(tmp_path: Path) -> None:
    event = load_json(EVENTS / "play_video.json")
    event["context"]["user_id"] = 99  # not in the export
    (statement,) = pii_transformer(tmp_path, "mbox").transform(event)
    assert "account" in statement["actor"]


def test_the_learner_acted_upon_is_the_actor() -> None:
    """An instructor (context user 3) enrolls learner 42 (data.user_id): the actor is 42."""
    actors = Actors("http://localhost:18000", "s")
    event = load_json(EVENTS / "edx.course.enrollment.activated.json")
    event["data"]["user_id"] = 42
    (statement,) = Transformer(TransformSettings(), secret="s").transform(event)
    assert statement["actor"]["account"]["name"] == actors.pseudonym("42")
    assert actors.pseudonym("42") != actors.pseudonym("3")
