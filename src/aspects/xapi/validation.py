"""Validation of xAPI statements against xAPI 1.0.3 and 2.0.0 (IEEE 9274.1.1).

Hand-written rather than a JSON Schema: the LRS must answer every invalid statement with a 400
whose message names the field (a JSON path such as ``statement.context.instructor.mbox``) and
the rule broken, and several rules (exactly one inverse functional identifier, revision only
with an Activity object, distinct interaction component ids, raw score between min and max)
are not expressible as a plain schema anyway. Every function is pure and raises
:class:`StatementInvalid` at the first problem found.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

VERSIONS = ("1.0.3", "2.0.0")

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# is_iri's byte sets: the characters of a scheme after its first letter, and the ASCII characters
# _IRI's last class excludes: its six punctuation marks, the backslash, and what ``\s`` matches
# in ASCII (tab, newline, vertical tab, form feed, carriage return, 0x1c-0x1f, space).
_SCHEME_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-"
_NOT_IN_IRI = b'\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f <>"{}|\\^`'
_MBOX = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
_SHA2 = re.compile(r"^[0-9a-fA-F]{56}$|^[0-9a-fA-F]{64}$|^[0-9a-fA-F]{96}$|^[0-9a-fA-F]{128}$")
_LANGUAGE_TAG = re.compile(
    r"^(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"
    r"(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?$"
    r"|^[xX](?:-[A-Za-z0-9]{1,8})+$"
    r"|^[iI]-[A-Za-z]{2,8}$"
)
# is_language_tag's verdicts (a pure function of the tag), bounded: a client sending endless
# distinct tags gets the expression's answer each time once this is full.
_TAG_VERDICTS: dict[str, bool] = {}
_TAG_VERDICTS_MAX = 4_096
_TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)"
    r"(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
_DURATION = re.compile(
    r"^P\d+(?:[.,]\d+)?W$|"
    r"^P(?=\d|T\d)(?:\d+(?:[.,]\d+)?Y)?(?:\d+(?:[.,]\d+)?M)?"
    r"(?:\d+(?:[.,]\d+)?D)?(?:T(?=\d)(?:\d+(?:[.,]\d+)?H)?(?:\d+(?:[.,]\d+)?M)?"
    r"(?:\d+(?:[.,]\d+)?S)?)?$"
)
_VERSION = {"1.0.3": re.compile(r"^1\.0(?:\.\d+)?$"), "2.0.0": re.compile(r"^[12]\.0(?:\.\d+)?$")}

INTERACTION_TYPES = frozenset(
    {
        "true-false",
        "choice",
        "fill-in",
        "long-fill-in",
        "matching",
        "performance",
        "sequencing",
        "likert",
        "numeric",
        "other",
    }
)
_COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
_CONTEXT_ACTIVITY_KEYS = frozenset({"parent", "grouping", "category", "other"})
_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


class StatementInvalid(ValueError):
    """A statement breaks a rule of the specification; ``path`` names the field, ``rule`` why."""

    def __init__(self, path: str, rule: str) -> None:
        super().__init__(f"{path}: {rule}")
        self.path = path
        self.rule = rule


def validate_statement(statement: Any, version: str = "1.0.3") -> None:
    """Raise :class:`StatementInvalid` unless ``statement`` is a valid xAPI statement.

    ``version`` is the xAPI version of the request (``1.0.3`` or ``2.0.0``); it decides the
    few rules that differ (context agents and groups, time zones, the ``version`` property).
    """
    if version not in VERSIONS:
        raise ValueError(f"unsupported xAPI version {version!r}")
    try:
        _statement(statement, "statement", version, substatement=False)
    except (TypeError, AttributeError, KeyError) as error:
        # A shape no rule above anticipated (e.g. an object where a string belongs): still the
        # client's error, never a 500.
        raise StatementInvalid("statement", f"malformed statement ({error})") from None


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def is_iri(value: Any) -> bool:
    """``_IRI.match(value)``, answered without the regular expression for ASCII text.

    IRI checks were most of the cost of validating a statement (four to ten per statement, ~5 us
    each: the regex engine tests _IRI's negated class with ``\\s`` character by character); byte
    operations give the same verdict for a fraction. The scheme is the text before the first
    colon (the scheme class has no colon); ``$`` also matches before a final newline. Text with
    non-ASCII characters (Unicode whitespace) goes through _IRI itself."""
    if not isinstance(value, str):
        return False
    if not value.isascii():
        return bool(_IRI.match(value))
    colon = value.find(":")
    if colon < 1 or value[0] not in _LETTERS:
        return False
    text = value.encode()
    if text[1:colon].translate(None, _SCHEME_BYTES):
        return False
    rest = text[colon + 1 :]
    if rest.endswith(b"\n"):
        rest = rest[:-1]
    return bool(rest) and len(rest.translate(None, _NOT_IN_IRI)) == len(rest)


def is_language_tag(value: Any) -> bool:
    """``_LANGUAGE_TAG.match(value)``, remembered per tag: statements use a handful of tags
    (``en-US``...) and the expression's alternatives cost ~1.5 us per match, the look-up ~0.1."""
    if not isinstance(value, str):
        return False
    verdict = _TAG_VERDICTS.get(value)
    if verdict is None:
        verdict = bool(_LANGUAGE_TAG.match(value))
        if len(_TAG_VERDICTS) < _TAG_VERDICTS_MAX:
            _TAG_VERDICTS[value] = verdict
    return verdict


def check_timestamp(value: Any, path: str, require_zone: bool = False) -> datetime:
    """The parsed timestamp (ISO 8601 / RFC 3339); rejects ``-00:00`` as RFC 3339 asks."""
    if not isinstance(value, str):
        raise StatementInvalid(path, "must be an ISO 8601 timestamp string")
    match = _TIMESTAMP.match(value)
    if not match:
        raise StatementInvalid(path, f"must be an ISO 8601 timestamp, got {value!r}")
    zone = match["zone"]
    if zone is None and require_zone:
        raise StatementInvalid(path, "must include a time zone offset")
    if zone in ("-00", "-0000", "-00:00"):
        raise StatementInvalid(path, "must not use the unknown-offset -00:00 (RFC 3339)")
    time = match["time"].replace(",", ".")
    if "." in time:
        whole, fraction = time.split(".")
        time = f"{whole}.{(fraction + '000000')[:6]}"
    offset = "+00:00"
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        offset = f"{zone[0]}{digits[:2]}:{(digits[2:] or '00')}"
    try:
        return datetime.fromisoformat(f"{match['date']}T{time}{offset}")
    except ValueError:
        raise StatementInvalid(path, f"is not a real date and time: {value!r}") from None


# -- helpers -----------------------------------------------------------------------------------


def _object(value: Any, path: str, allowed: frozenset[str] | set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StatementInvalid(path, "must be a JSON object")
    for key, item in value.items():
        if key not in allowed:
            raise StatementInvalid(f"{path}.{key}", "is not an allowed property here")
        if item is None:
            raise StatementInvalid(f"{path}.{key}", "must not be null")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise StatementInvalid(path, "must be a string")
    return value


def _iri(value: Any, path: str) -> str:
    if not is_iri(value):
        raise StatementInvalid(path, f"must be an absolute IRI, got {value!r}")
    return str(value)


def _uuid(value: Any, path: str) -> str:
    if not is_uuid(value):
        raise StatementInvalid(path, f"must be a UUID, got {value!r}")
    return str(value)


def _bool(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        raise StatementInvalid(path, "must be true or false")


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StatementInvalid(path, "must be a number")
    return float(value)


def _language_map(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise StatementInvalid(path, "must be a language map (object of language tag -> string)")
    for tag, text in value.items():
        if not is_language_tag(tag):
            raise StatementInvalid(f"{path}.{tag}", "key must be an RFC 5646 language tag")
        if not isinstance(text, str):
            raise StatementInvalid(f"{path}.{tag}", "must be a string")


def _extensions(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise StatementInvalid(path, "must be an object whose keys are IRIs")
    for key in value:
        if not is_iri(key):
            raise StatementInvalid(f"{path}.{key}", "extension key must be an absolute IRI")


def _object_type(value: dict[str, Any], path: str, expected: str) -> None:
    if "objectType" in value and value["objectType"] != expected:
        raise StatementInvalid(f"{path}.objectType", f"must be {expected!r}")


# -- agents and groups -------------------------------------------------------------------------


def _ifis(value: dict[str, Any], path: str) -> int:
    count = 0
    if "mbox" in value:
        if not isinstance(value["mbox"], str) or not _MBOX.match(value["mbox"]):
            raise StatementInvalid(f"{path}.mbox", "must be a mailto: IRI of an email address")
        count += 1
    if "mbox_sha1sum" in value:
        if not isinstance(value["mbox_sha1sum"], str) or not _SHA1.match(value["mbox_sha1sum"]):
            raise StatementInvalid(f"{path}.mbox_sha1sum", "must be a hex SHA-1 (40 characters)")
        count += 1
    if "openid" in value:
        _iri(value["openid"], f"{path}.openid")
        count += 1
    if "account" in value:
        account = _object(value["account"], f"{path}.account", {"homePage", "name"})
        for key in ("homePage", "name"):
            if key not in account:
                raise StatementInvalid(f"{path}.account.{key}", "is required")
        _iri(account["homePage"], f"{path}.account.homePage")
        _string(account["name"], f"{path}.account.name")
        count += 1
    return count


_AGENT_KEYS = frozenset({"objectType", "name", *_IFIS})
_GROUP_KEYS = frozenset({"objectType", "name", "member", *_IFIS})


def validate_agent(value: Any, path: str) -> None:
    """An Agent: exactly one inverse functional identifier."""
    agent = _object(value, path, _AGENT_KEYS)
    _object_type(agent, path, "Agent")
    if "name" in agent:
        _string(agent["name"], f"{path}.name")
    if _ifis(agent, path) != 1:
        raise StatementInvalid(path, "an Agent must have exactly one inverse functional identifier")


def validate_group(value: Any, path: str) -> None:
    """A Group: identified (one IFI) or anonymous (no IFI, members required); members are Agents."""
    group = _object(value, path, _GROUP_KEYS)
    if group.get("objectType") != "Group":
        raise StatementInvalid(f"{path}.objectType", "must be 'Group'")
    if "name" in group:
        _string(group["name"], f"{path}.name")
    count = _ifis(group, path)
    if count > 1:
        raise StatementInvalid(path, "a Group must not have more than one identifier")
    if "member" in group:
        members = group["member"]
        if not isinstance(members, list):
            raise StatementInvalid(f"{path}.member", "must be an array of Agents")
        for index, member in enumerate(members):
            validate_agent(member, f"{path}.member[{index}]")
    if count == 0 and not group.get("member"):
        raise StatementInvalid(f"{path}.member", "an anonymous Group must list its members")


def validate_actor(value: Any, path: str) -> None:
    """An Agent or a Group (by objectType)."""
    if isinstance(value, dict) and value.get("objectType") == "Group":
        validate_group(value, path)
    else:
        validate_agent(value, path)


# -- verb, activity ----------------------------------------------------------------------------


def _verb(value: Any, path: str) -> None:
    verb = _object(value, path, {"id", "display"})
    if "id" not in verb:
        raise StatementInvalid(f"{path}.id", "is required")
    _iri(verb["id"], f"{path}.id")
    if "display" in verb:
        _language_map(verb["display"], f"{path}.display")


_DEFINITION_KEYS = frozenset(
    {
        "name",
        "description",
        "type",
        "moreInfo",
        "extensions",
        "interactionType",
        "correctResponsesPattern",
        *_COMPONENT_LISTS,
    }
)


def _definition(value: Any, path: str) -> None:
    definition = _object(value, path, _DEFINITION_KEYS)
    for key in ("name", "description"):
        if key in definition:
            _language_map(definition[key], f"{path}.{key}")
    if "type" in definition:
        _iri(definition["type"], f"{path}.type")
    if "moreInfo" in definition:
        _iri(definition["moreInfo"], f"{path}.moreInfo")
    if "extensions" in definition:
        _extensions(definition["extensions"], f"{path}.extensions")
    interaction = definition.get("interactionType")
    if "interactionType" in definition and (
        not isinstance(interaction, str) or interaction not in INTERACTION_TYPES
    ):
        raise StatementInvalid(f"{path}.interactionType", "is not an xAPI interaction type")
    if "correctResponsesPattern" in definition:
        pattern = definition["correctResponsesPattern"]
        if not isinstance(pattern, list) or not all(isinstance(item, str) for item in pattern):
            raise StatementInvalid(f"{path}.correctResponsesPattern", "must be an array of strings")
    for key in _COMPONENT_LISTS:
        if key in definition:
            _components(definition[key], f"{path}.{key}")
    for key in ("correctResponsesPattern", *_COMPONENT_LISTS):
        if key in definition and "interactionType" not in definition:
            raise StatementInvalid(f"{path}.interactionType", f"is required when {key} is present")


def _components(value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise StatementInvalid(path, "must be an array of interaction components")
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        component = _object(item, where, {"id", "description"})
        if "id" not in component:
            raise StatementInvalid(f"{where}.id", "is required")
        identifier = _string(component["id"], f"{where}.id")
        if identifier in seen:
            raise StatementInvalid(f"{where}.id", "interaction component ids must be distinct")
        seen.add(identifier)
        if "description" in component:
            _language_map(component["description"], f"{where}.description")


def validate_activity(value: Any, path: str) -> None:
    activity = _object(value, path, {"objectType", "id", "definition"})
    _object_type(activity, path, "Activity")
    if "id" not in activity:
        raise StatementInvalid(f"{path}.id", "is required")
    _iri(activity["id"], f"{path}.id")
    if "definition" in activity:
        _definition(activity["definition"], f"{path}.definition")


# -- object, result, context, attachments ------------------------------------------------------


def _statement_object(value: Any, path: str, version: str, substatement: bool) -> None:
    if not isinstance(value, dict):
        raise StatementInvalid(path, "must be a JSON object")
    kind = value.get("objectType", "Activity")
    if kind == "Activity":
        validate_activity(value, path)
    elif kind == "Agent":
        validate_agent(value, path)
    elif kind == "Group":
        validate_group(value, path)
    elif kind == "StatementRef":
        ref = _object(value, path, {"objectType", "id"})
        if "id" not in ref:
            raise StatementInvalid(f"{path}.id", "is required")
        _uuid(ref["id"], f"{path}.id")
    elif kind == "SubStatement":
        if substatement:
            raise StatementInvalid(f"{path}.objectType", "a SubStatement must not nest another")
        _statement(value, path, version, substatement=True)
    else:
        raise StatementInvalid(f"{path}.objectType", f"unknown objectType {kind!r}")


def _result(value: Any, path: str) -> None:
    keys = {"score", "success", "completion", "response", "duration", "extensions"}
    result = _object(value, path, keys)
    if "score" in result:
        score = _object(result["score"], f"{path}.score", {"scaled", "raw", "min", "max"})
        numbers = {key: _number(item, f"{path}.score.{key}") for key, item in score.items()}
        if "scaled" in numbers and not -1 <= numbers["scaled"] <= 1:
            raise StatementInvalid(f"{path}.score.scaled", "must be between -1 and 1")
        low, high = numbers.get("min"), numbers.get("max")
        if low is not None and high is not None and not low < high:
            raise StatementInvalid(f"{path}.score.max", "must be greater than min")
        raw = numbers.get("raw")
        if raw is not None and low is not None and raw < low:
            raise StatementInvalid(f"{path}.score.raw", "must not be less than min")
        if raw is not None and high is not None and raw > high:
            raise StatementInvalid(f"{path}.score.raw", "must not be greater than max")
    for key in ("success", "completion"):
        if key in result:
            _bool(result[key], f"{path}.{key}")
    if "response" in result:
        _string(result["response"], f"{path}.response")
    if "duration" in result:
        duration = result["duration"]
        if not isinstance(duration, str) or not _DURATION.match(duration):
            raise StatementInvalid(f"{path}.duration", "must be an ISO 8601 duration")
    if "extensions" in result:
        _extensions(result["extensions"], f"{path}.extensions")


def _context(value: Any, path: str, version: str, object_is_activity: bool) -> None:
    keys = {
        "registration",
        "instructor",
        "team",
        "contextActivities",
        "revision",
        "platform",
        "language",
        "statement",
        "extensions",
    }
    if version == "2.0.0":
        keys |= {"contextAgents", "contextGroups"}
    context = _object(value, path, keys)
    if "registration" in context:
        _uuid(context["registration"], f"{path}.registration")
    if "instructor" in context:
        validate_actor(context["instructor"], f"{path}.instructor")
    if "team" in context:
        validate_group(context["team"], f"{path}.team")
    if "contextActivities" in context:
        where = f"{path}.contextActivities"
        activities = _object(context["contextActivities"], where, _CONTEXT_ACTIVITY_KEYS)
        for key, item in activities.items():
            items = item if isinstance(item, list) else [item]
            for index, activity in enumerate(items):
                validate_activity(activity, f"{where}.{key}[{index}]")
    for key in ("revision", "platform"):
        if key in context:
            _string(context[key], f"{path}.{key}")
            if not object_is_activity:
                raise StatementInvalid(
                    f"{path}.{key}", "is only allowed when the object is an Activity"
                )
    if "language" in context and not is_language_tag(context["language"]):
        raise StatementInvalid(f"{path}.language", "must be an RFC 5646 language tag")
    if "statement" in context:
        ref = _object(context["statement"], f"{path}.statement", {"objectType", "id"})
        if ref.get("objectType") != "StatementRef":
            raise StatementInvalid(f"{path}.statement.objectType", "must be 'StatementRef'")
        if "id" not in ref:
            raise StatementInvalid(f"{path}.statement.id", "is required")
        _uuid(ref["id"], f"{path}.statement.id")
    if "extensions" in context:
        _extensions(context["extensions"], f"{path}.extensions")
    for key, kind, member in (
        ("contextAgents", "contextAgent", "agent"),
        ("contextGroups", "contextGroup", "group"),
    ):
        if key in context:
            _context_agents(context[key], f"{path}.{key}", kind, member)


def _context_agents(value: Any, path: str, kind: str, member: str) -> None:
    if not isinstance(value, list):
        raise StatementInvalid(path, f"must be an array of {kind} objects")
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        entry = _object(item, where, {"objectType", member, "relevantTypes"})
        if entry.get("objectType") != kind:
            raise StatementInvalid(f"{where}.objectType", f"must be {kind!r}")
        if member not in entry:
            raise StatementInvalid(f"{where}.{member}", "is required")
        if member == "agent":
            validate_agent(entry[member], f"{where}.agent")
        else:
            validate_group(entry[member], f"{where}.group")
        if "relevantTypes" in entry:
            types = entry["relevantTypes"]
            if not isinstance(types, list) or not types:
                raise StatementInvalid(
                    f"{where}.relevantTypes", "must be a non-empty array of IRIs"
                )
            for position, type_iri in enumerate(types):
                _iri(type_iri, f"{where}.relevantTypes[{position}]")


def _attachments(value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise StatementInvalid(path, "must be an array of attachment objects")
    keys = {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"}
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        attachment = _object(item, where, keys)
        for key in ("usageType", "display", "contentType", "length", "sha2"):
            if key not in attachment:
                raise StatementInvalid(f"{where}.{key}", "is required")
        _iri(attachment["usageType"], f"{where}.usageType")
        _language_map(attachment["display"], f"{where}.display")
        if "description" in attachment:
            _language_map(attachment["description"], f"{where}.description")
        content_type = _string(attachment["contentType"], f"{where}.contentType")
        if "/" not in content_type:
            raise StatementInvalid(f"{where}.contentType", "must be an Internet media type")
        length = attachment["length"]
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise StatementInvalid(f"{where}.length", "must be a non-negative integer")
        sha2 = attachment["sha2"]
        if not isinstance(sha2, str) or not _SHA2.match(sha2):
            raise StatementInvalid(f"{where}.sha2", "must be a hex SHA-2 hash")
        if "fileUrl" in attachment:
            _iri(attachment["fileUrl"], f"{where}.fileUrl")


# -- the statement -----------------------------------------------------------------------------

_STATEMENT_KEYS = frozenset(
    {
        "id",
        "actor",
        "verb",
        "object",
        "result",
        "context",
        "timestamp",
        "stored",
        "authority",
        "version",
        "attachments",
        "objectType",
    }
)
_SUBSTATEMENT_KEYS = frozenset(
    {"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}
)


def _statement(value: Any, path: str, version: str, substatement: bool) -> None:
    statement = _object(value, path, _SUBSTATEMENT_KEYS if substatement else _STATEMENT_KEYS)
    if substatement:
        if statement.get("objectType") != "SubStatement":
            raise StatementInvalid(f"{path}.objectType", "must be 'SubStatement'")
    elif "objectType" in statement:
        raise StatementInvalid(f"{path}.objectType", "is not an allowed property of a Statement")
    for key in ("actor", "verb", "object"):
        if key not in statement:
            raise StatementInvalid(f"{path}.{key}", "is required")
    if "id" in statement:
        _uuid(statement["id"], f"{path}.id")
    validate_actor(statement["actor"], f"{path}.actor")
    _verb(statement["verb"], f"{path}.verb")
    _statement_object(statement["object"], f"{path}.object", version, substatement)
    if "result" in statement:
        _result(statement["result"], f"{path}.result")
    if "context" in statement:
        target = statement["object"]
        is_activity = (
            isinstance(target, dict) and target.get("objectType", "Activity") == "Activity"
        )
        _context(statement["context"], f"{path}.context", version, is_activity)
    require_zone = version == "2.0.0"
    if "timestamp" in statement:
        check_timestamp(statement["timestamp"], f"{path}.timestamp", require_zone)
    if "stored" in statement:
        check_timestamp(statement["stored"], f"{path}.stored", require_zone)
    if "authority" in statement:
        _authority(statement["authority"], f"{path}.authority")
    if "version" in statement:
        text = statement["version"]
        if not isinstance(text, str) or not _VERSION[version].match(text):
            raise StatementInvalid(f"{path}.version", f"is not a supported xAPI version: {text!r}")
    if "attachments" in statement:
        _attachments(statement["attachments"], f"{path}.attachments")
    verb = statement["verb"]
    if verb.get("id") == VOIDED and not substatement:
        target = statement["object"]
        if target.get("objectType") != "StatementRef":
            raise StatementInvalid(
                f"{path}.object", "a voiding statement's object must be a StatementRef"
            )


VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def _authority(value: Any, path: str) -> None:
    """An Agent, or (OAuth) an anonymous Group of exactly two Agents."""
    validate_actor(value, path)
    if value.get("objectType") == "Group":
        if _ifis(value, path) != 0:
            raise StatementInvalid(
                path, "an authority Group must be anonymous (OAuth consumer + user)"
            )
        if len(value.get("member") or []) != 2:
            raise StatementInvalid(
                f"{path}.member", "an authority Group must have exactly two Agents"
            )
