"""Statement validation: valid statements pass, each broken rule names its field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from aspects.xapi.agents import ids_only, ifi_key, parse_agent_param
from aspects.xapi.validation import StatementInvalid, check_timestamp, validate_statement

ACTOR = {"objectType": "Agent", "name": "A", "mbox": "mailto:a@example.com"}


def statement(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "12345678-1234-4234-8234-123456789012",
        "actor": copy.deepcopy(ACTOR),
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/attempted",
            "display": {"en-US": "attempted"},
        },
        "object": {
            "id": "http://example.com/activity",
            "definition": {
                "name": {"en": "Act"},
                "interactionType": "choice",
                "choices": [{"id": "a", "description": {"en": "A"}}, {"id": "b"}],
                "correctResponsesPattern": ["a"],
            },
        },
        "result": {"score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10}, "duration": "PT1H2M"},
        "context": {
            "registration": "12345678-1234-4234-8234-123456789013",
            "contextActivities": {"parent": {"id": "http://example.com/p"}},
            "platform": "edX",
            "language": "zh-Hant-TW",
        },
        "timestamp": "2024-01-02T03:04:05.123Z",
    }
    base.update(changes)
    return base


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_valid_statement_passes(version: str) -> None:
    validate_statement(statement(), version)


def test_anonymous_group_actor_and_substatement_pass() -> None:
    group = {"objectType": "Group", "member": [ACTOR]}
    sub = {
        "objectType": "SubStatement",
        "actor": ACTOR,
        "verb": {"id": "http://example.com/v"},
        "object": {"objectType": "StatementRef", "id": "12345678-1234-4234-8234-123456789012"},
    }
    validate_statement(statement(actor=group, object=sub, context={}))


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"id": "not-a-uuid"}, "statement.id"),
        ({"actor": {"mbox": "a@example.com"}}, "statement.actor.mbox"),
        ({"actor": {"mbox": "mailto:a@x.org", "openid": "http://x.org/a"}}, "statement.actor"),
        ({"actor": {"objectType": "Group"}}, "statement.actor.member"),
        ({"verb": {"display": {"en": "x"}}}, "statement.verb.id"),
        ({"verb": {"id": "attempted"}}, "statement.verb.id"),
        (
            {"verb": {"id": "http://x.org/v", "display": {"not a tag": "x"}}},
            "statement.verb.display.not a tag",
        ),
        (
            {
                "object": {
                    "id": "http://x.org/a",
                    "definition": {"choices": [{"id": "a"}, {"id": "a"}]},
                }
            },
            "statement.object.definition.choices[1].id",
        ),
        ({"result": {"score": {"scaled": 1.5}}}, "statement.result.score.scaled"),
        ({"result": {"score": {"raw": 11, "max": 10}}}, "statement.result.score.raw"),
        ({"result": {"duration": "1 hour"}}, "statement.result.duration"),
        ({"result": {"success": "yes"}}, "statement.result.success"),
        ({"timestamp": "2024-01-02T03:04:05-00:00"}, "statement.timestamp"),
        ({"timestamp": "yesterday"}, "statement.timestamp"),
        ({"version": "0.95"}, "statement.version"),
        ({"unknown": 1}, "statement.unknown"),
        ({"result": None}, "statement.result"),
        (
            {
                "object": {"objectType": "Agent", "mbox": "mailto:b@x.org"},
                "context": {"platform": "x"},
            },
            "statement.context.platform",
        ),
        (
            {"attachments": [{"usageType": "http://x.org/u", "display": {"en": "x"}}]},
            "statement.attachments[0].contentType",
        ),
    ],
)
def test_invalid_statement_names_field(changes: dict[str, Any], path: str) -> None:
    with pytest.raises(StatementInvalid) as raised:
        validate_statement(statement(**changes))
    assert raised.value.path == path


def test_voiding_statement_needs_statement_ref() -> None:
    with pytest.raises(StatementInvalid, match="StatementRef"):
        validate_statement(
            statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"}, context={})
        )


def test_version_specific_rules() -> None:
    agents = {"contextAgents": [{"objectType": "contextAgent", "agent": ACTOR}]}
    validate_statement(statement(context=agents), "2.0.0")
    with pytest.raises(StatementInvalid, match="contextAgents"):
        validate_statement(statement(context=agents), "1.0.3")
    validate_statement(statement(timestamp="2024-01-02T03:04:05"), "1.0.3")
    with pytest.raises(StatementInvalid, match="time zone"):
        validate_statement(statement(timestamp="2024-01-02T03:04:05"), "2.0.0")
    validate_statement(statement(version="2.0.0"), "2.0.0")


def test_timestamp_parsing_keeps_offset() -> None:
    parsed = check_timestamp("2024-01-02T03:04:05.5+0200", "t")
    assert parsed.utcoffset() is not None
    assert parsed.isoformat() == "2024-01-02T03:04:05.500000+02:00"


def test_agent_param_and_identity() -> None:
    agent = parse_agent_param('{"mbox": "mailto:a@example.com", "name": "x"}')
    assert ifi_key(agent) == "Agent|mbox|mailto:a@example.com"
    assert ids_only(agent) == {"mbox": "mailto:a@example.com"}
    with pytest.raises(StatementInvalid, match="agent"):
        parse_agent_param("{not json")
    with pytest.raises(StatementInvalid):
        parse_agent_param('{"objectType": "Group", "member": [{"mbox": "mailto:a@x.org"}]}')
