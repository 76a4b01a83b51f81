"""Who did it: the xAPI actor of an event, pseudonymous unless PII is enabled.

The actor is ``{"objectType": "Agent", "account": {"homePage": <LMS root>, "name": <UUID>}}``.
The UUID is the learner's xAPI external id from the LMS when a mapping is imported (so our
statements and those of the LMS's own event-routing-backends name the same actor), else a keyed
hash (HMAC-SHA256 with the per-site secret) of the LMS user id: stable across runs, and not
reversible without the secret. Events that carry only a username are hashed by username (the LMS
knows both; we cannot join them without the mapping).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from aspects.errors import ConfigError

PiiIdentifier = Literal["mbox", "mbox_sha1sum"]
_CACHE_LIMIT = 500_000
# RFC 4122 variant: the first hex digit of the fourth group keeps its low 2 bits, top bits 10.
_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}
# names json.dumps writes as they are (UUIDs, imported or hashed)
_PLAIN = re.compile(r"[0-9A-Za-z-]*")


@dataclass(frozen=True)
class ExternalIds:
    """An imported LMS export: user id (and optionally username) -> xAPI external id, email."""

    by_user_id: Mapping[str, str] = field(default_factory=dict)
    by_username: Mapping[str, str] = field(default_factory=dict)
    emails: Mapping[str, str] = field(default_factory=dict)

    def __reduce__(
        self,
    ) -> tuple[type[ExternalIds], tuple[Mapping[str, str], Mapping[str, str], Mapping[str, str]]]:
        # explicit: the compiled (mypyc) class cannot be unpickled field by field
        return (ExternalIds, (self.by_user_id, self.by_username, self.emails))

    def external_id(self, user_key: str) -> str | None:
        if user_key.isdigit():
            return self.by_user_id.get(user_key)
        return self.by_username.get(user_key)

    def email(self, user_key: str) -> str | None:
        return self.emails.get(user_key)


def load_external_ids(path: Path) -> ExternalIds:
    """Read a CSV with columns ``user_id`` and ``external_user_id`` (the LMS's ExternalId table),
    optionally ``external_id_type`` (only ``xapi`` rows are used), ``username`` and ``email``.
    """
    by_id: dict[str, str] = {}
    by_name: dict[str, str] = {}
    emails: dict[str, str] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            if not {"user_id", "external_user_id"} <= columns:
                raise ConfigError(f"{path}: needs the columns user_id and external_user_id")
            for number, row in enumerate(reader, start=2):
                if row.get("external_id_type", "xapi").strip().lower() not in ("xapi", ""):
                    continue
                user_id = (row["user_id"] or "").strip()
                try:
                    external = str(UUID((row["external_user_id"] or "").strip()))
                except ValueError:
                    raise ConfigError(f"{path}:{number}: external_user_id is not a UUID") from None
                if not user_id.isdigit():
                    raise ConfigError(f"{path}:{number}: user_id is not a number")
                by_id[user_id] = external
                username = (row.get("username") or "").strip()
                if username:
                    by_name[username] = external
                email = (row.get("email") or "").strip()
                if email:
                    emails[user_id] = email
                    if username:
                        emails[username] = email
    except OSError as error:
        raise ConfigError(f"cannot read external ids {path}: {error}") from None
    return ExternalIds(by_id, by_name, emails)


class Actors:
    """Turns an event's user key (LMS user id or username) into an actor and its id text."""

    def __init__(
        self,
        lms_root_url: str,
        secret: str,
        external_ids: ExternalIds | None = None,
        *,
        pii: bool = False,
        pii_identifier: PiiIdentifier = "mbox",
    ) -> None:
        if not secret:
            raise ConfigError("the transformer needs a non-empty secret for pseudonymous actors")
        self._root = lms_root_url
        self._key = secret.encode()
        self._external = external_ids or ExternalIds()
        self._pii = pii
        self._pii_identifier = pii_identifier
        self._cache: dict[str, tuple[dict[str, Any], str]] = {}
        # keyed once: each pseudonym copies this state instead of re-keying HMAC
        self._hmac = hmac.new(self._key, digestmod=hashlib.sha256)
        # the JSON text of an account actor around its name (json.dumps' exact spacing)
        self._text_head = '{"objectType": "Agent", "account": {"name": "'
        self._text_tail = f'", "homePage": {json.dumps(lms_root_url)}}}}}'

    def pseudonym(self, user_key: str) -> str:
        """The UUID that names this user: imported external id, else the keyed hash."""
        known = self._external.external_id(user_key)
        if known is not None:
            return known
        kind = "user_id" if user_key.isdigit() else "username"
        mac = self._hmac.copy()
        mac.update(f"{kind}:{user_key}".encode())
        h = mac.hexdigest()
        # str(UUID(bytes=digest[:16], version=4)) without building the UUID
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"

    def actor(self, user_key: str) -> tuple[dict[str, Any], str]:
        """(actor, actor text used in the statement id) for this user; cached per user."""
        cached = self._cache.get(user_key)
        if cached is not None:
            return cached
        result = self._build(user_key)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[user_key] = result
        return result

    def _build(self, user_key: str) -> tuple[dict[str, Any], str]:
        email = self._external.email(user_key) if self._pii else None
        if email is not None:
            mbox = f"mailto:{email}"
            if self._pii_identifier == "mbox":
                ifi: dict[str, Any] = {"mbox": mbox}
            else:
                # xAPI 1.0.3: the SHA1 of the mailto IRI, hex encoded.
                ifi = {"mbox_sha1sum": hashlib.sha1(mbox.encode()).hexdigest()}  # noqa: S324
            actor = {"objectType": "Agent", **ifi}
            return actor, json.dumps(actor)
        name = self.pseudonym(user_key)
        # ERB derives statement ids from exactly this text: json.dumps, name before homePage.
        if _PLAIN.fullmatch(name):  # nothing to escape: the text around it is fixed
            text = f"{self._text_head}{name}{self._text_tail}"
        else:
            text = json.dumps(
                {"objectType": "Agent", "account": {"name": name, "homePage": self._root}}
            )
        return {"objectType": "Agent", "account": {"homePage": self._root, "name": name}}, text
