"""The pure rules of the document resources: parameters, preconditions, JSON merge."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from aspects.lrs.documents.params import (
    ACTIVITY_PROFILE,
    AGENT_PROFILE,
    STATE,
    BadRequest,
    parse_address,
)
from aspects.lrs.documents.store import (
    Conflict,
    Document,
    PreconditionFailed,
    check_preconditions,
    etag_of,
    merge_json,
    parse_etags,
)

AGENT = orjson.dumps({"mbox": "mailto:learner@example.org"}).decode()
ACTIVITY = "http://example.org/activity/1"
REG = "A1B2C3D4-0000-4000-8000-000000000001"


def state_params(**extra: str) -> list[tuple[str, str]]:
    return [("activityId", ACTIVITY), ("agent", AGENT), ("stateId", "s1"), *extra.items()]


def test_state_address_is_parsed_and_normalised() -> None:
    address = parse_address(STATE, "PUT", state_params(registration=REG))
    assert address.activity_id == ACTIVITY
    assert address.agent == "Agent|mbox|mailto:learner@example.org"
    assert address.registration == REG.lower()
    assert address.document_id == "s1"
    # the same agent written differently (extra name) is the same document
    named = orjson.dumps({"mbox": "mailto:learner@example.org", "name": "L"}).decode()
    other = parse_address(
        STATE,
        "PUT",
        [("activityId", ACTIVITY), ("agent", named), ("stateId", "s1"), ("registration", REG)],
    )
    assert other.key_hash("s1") == address.key_hash("s1")
    assert other.scope_hash == address.scope_hash
    # but another registration, kind or id is not
    # without a registration it is another document, in the same listing scope
    bare = parse_address(STATE, "PUT", state_params())
    assert bare.key_hash("s1") != address.key_hash("s1")
    assert bare.scope_hash == address.scope_hash
    profile = parse_address(
        ACTIVITY_PROFILE, "PUT", [("activityId", ACTIVITY), ("profileId", "s1")]
    )
    assert profile.scope_hash != bare.scope_hash
    assert address.key_hash("s2") != address.key_hash("s1")


@pytest.mark.parametrize(
    ("kind", "method", "params", "message"),
    [
        (STATE, "PUT", [("agent", AGENT), ("stateId", "s")], "'activityId' is required"),
        (STATE, "GET", [("activityId", ACTIVITY)], "'agent' is required"),
        (STATE, "PUT", [("activityId", ACTIVITY), ("agent", AGENT)], "'stateId' is required"),
        (STATE, "POST", [("activityId", ACTIVITY), ("agent", AGENT)], "'stateId' is required"),
        (STATE, "GET", [("activityId", "not an iri"), ("agent", AGENT)], "must be an IRI"),
        (STATE, "GET", [("activityId", ACTIVITY), ("agent", "true")], "agent"),
        (STATE, "GET", [("activityId", ACTIVITY), ("agent", "{not json")], "agent"),
        (STATE, "GET", [("activityId", ACTIVITY), ("agent", '{"name": "x"}')], "agent"),
        (
            STATE,
            "GET",
            [("activityId", ACTIVITY), ("agent", AGENT), ("registration", "nope")],
            "must be a UUID",
        ),
        (
            STATE,
            "GET",
            [("activityId", ACTIVITY), ("agent", AGENT), ("since", "yesterday")],
            "since",
        ),
        (STATE, "GET", [("activityId", ACTIVITY), ("agent", AGENT), ("foo", "1")], "'foo'"),
        (STATE, "PUT", [*state_params(), ("since", "2024-01-01T00:00:00Z")], "'since'"),
        (
            STATE,
            "GET",
            [("activityId", ACTIVITY), ("activityId", ACTIVITY), ("agent", AGENT)],
            "once",
        ),
        (ACTIVITY_PROFILE, "DELETE", [("activityId", ACTIVITY)], "'profileId' is required"),
        (ACTIVITY_PROFILE, "GET", [("activityId", ACTIVITY), ("agent", AGENT)], "'agent'"),
        (AGENT_PROFILE, "GET", [("agent", AGENT), ("activityId", ACTIVITY)], "'activityId'"),
        (AGENT_PROFILE, "PUT", [("profileId", "p")], "'agent' is required"),
    ],
)
def test_bad_parameters_are_named(
    kind: object, method: str, params: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_address(kind, method, params)  # type: ignore[arg-type]


def test_state_delete_without_id_means_every_document_and_since_is_utc() -> None:
    address = parse_address(STATE, "DELETE", [("activityId", ACTIVITY), ("agent", AGENT)])
    assert address.document_id is None
    listing = parse_address(
        STATE,
        "GET",
        [("activityId", ACTIVITY), ("agent", AGENT), ("since", "2024-05-01T12:00:00+02:00")],
    )
    assert listing.since == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_parse_etags() -> None:
    assert parse_etags('"abc"') == ["abc"]
    assert parse_etags('W/"abc", "def" ,*') == ["abc", "def", "*"]
    assert parse_etags("*") == ["*"]


def test_profiles_in_1_0_3_need_a_precondition_even_to_create() -> None:
    with pytest.raises(BadRequest, match="If-Match or If-None-Match"):
        check_preconditions(None, None, None, require_for_overwrite=True, require_for_create=True)
    with pytest.raises(Conflict):
        check_preconditions("e1", None, None, require_for_overwrite=True, require_for_create=True)
    check_preconditions(None, None, "*", require_for_overwrite=True, require_for_create=True)


@pytest.mark.parametrize(
    ("current", "if_match", "if_none_match", "required", "outcome"),
    [
        (None, None, None, True, None),  # creating: nothing to protect
        ("e1", None, None, False, None),  # State in 1.0.3: overwrite allowed
        ("e1", None, None, True, Conflict),  # must say which version it replaces
        ("e1", '"e1"', None, True, None),
        ("e1", '"e2"', None, True, PreconditionFailed),
        ("e1", "*", None, True, None),
        (None, "*", None, True, PreconditionFailed),
        (None, '"e1"', None, True, PreconditionFailed),
        ("e1", None, "*", True, PreconditionFailed),
        (None, None, "*", True, None),
        ("e1", None, '"e2"', True, None),
        ("e1", None, '"e1"', True, PreconditionFailed),
    ],
)
def test_preconditions(
    current: str | None,
    if_match: str | None,
    if_none_match: str | None,
    required: bool,
    outcome: type[Exception] | None,
) -> None:
    if outcome is None:
        check_preconditions(current, if_match, if_none_match, require_for_overwrite=required)
    else:
        with pytest.raises(outcome):
            check_preconditions(current, if_match, if_none_match, require_for_overwrite=required)


def _doc(content: bytes, content_type: str) -> Document:
    return Document("d", content, content_type, etag_of(content), datetime.now(UTC))


def test_merge_is_one_level_deep() -> None:
    existing = _doc(b'{"a": 1, "nested": {"x": 1, "y": 2}}', "application/json")
    merged, content_type = merge_json(
        existing, b'{"b": 2, "nested": {"z": 3}}', "application/json; charset=utf-8"
    )
    assert orjson.loads(merged) == {"a": 1, "b": 2, "nested": {"z": 3}}
    assert content_type == "application/json"


def test_merge_without_existing_stores_the_body_as_sent() -> None:
    assert merge_json(None, b'{"a":1}', "application/json") == (b'{"a":1}', "application/json")
    assert merge_json(None, b"\x00\x01", "application/octet-stream") == (
        b"\x00\x01",
        "application/octet-stream",
    )


@pytest.mark.parametrize(
    ("existing", "body", "content_type", "message"),
    [
        (_doc(b'{"a":1}', "application/json"), b"text", "text/plain", "must be application/json"),
        (_doc(b"text", "text/plain"), b'{"a":1}', "application/json", "existing document"),
        (_doc(b'{"a":1}', "application/json"), b"{bad", "application/json", "not valid JSON"),
        (_doc(b'{"a":1}', "application/json"), b"[1]", "application/json", "JSON object"),
        (None, b"{bad", "application/json", "not valid JSON"),
        (_doc(b"[1]", "application/json"), b'{"a":1}', "application/json", "JSON object"),
    ],
)
def test_merge_refusals(
    existing: Document | None, body: bytes, content_type: str, message: str
) -> None:
    with pytest.raises(BadRequest, match=message):
        merge_json(existing, body, content_type)


def test_etag_is_sha1_hex() -> None:
    assert etag_of(b"") == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
