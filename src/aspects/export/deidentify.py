"""De-identification of statements for researchers (pure functions).

Every Agent or Group in a statement (actor, object, authority, context instructor and team,
group members, sub-statements) is replaced by an account of ``urn:aspects:export`` named by a
pseudonym, and loses its ``name``. The ``authority`` (which LRS credential stored it) is
dropped. Pseudonyms:

- without a salt: the stored pseudonymous UUID of an account actor is kept (so exports of one
  site can be joined with each other and with the dashboards' ids); an email or OpenID actor
  (stored only when PII is on) becomes a keyed hash with the site secret;
- with a salt (one per export): every identifier becomes HMAC-SHA256(salt, id), so two exports
  with different salts cannot be joined on learners.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from uuid import UUID

HOME_PAGE = "urn:aspects:export"
_IFI = ("mbox", "mbox_sha1sum", "openid", "account")


def _is_agent(value: dict[str, Any]) -> bool:
    return value.get("objectType") in ("Agent", "Group") or any(key in value for key in _IFI)


def _keyed_uuid(key: bytes, text: str) -> str:
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    return str(UUID(bytes=digest[:16], version=4))


class Deidentifier:
    """Rewrites statements for one export (one salt, or none)."""

    def __init__(self, site_secret: str, salt: str | None = None) -> None:
        self._site = site_secret.encode()
        self._salt = salt.encode() if salt else None
        self._cache: dict[str, str] = {}

    def pseudonym(self, agent: dict[str, Any]) -> str | None:
        """The exported name of an agent, None for an anonymous Group."""
        identifier = _identifier(agent)
        if identifier is None:
            return None
        cached = self._cache.get(identifier)
        if cached is not None:
            return cached
        if self._salt is not None:
            value = _keyed_uuid(self._salt, identifier)
        elif identifier.startswith("account:"):
            value = identifier.rsplit("|", 1)[-1]
        else:
            value = _keyed_uuid(self._site, identifier)
        if len(self._cache) < 1_000_000:
            self._cache[identifier] = value
        return value

    def agent(self, agent: dict[str, Any]) -> dict[str, Any]:
        kind = "Group" if agent.get("objectType") == "Group" else "Agent"
        out: dict[str, Any] = {"objectType": kind}
        name = self.pseudonym(agent)
        if name is not None:
            out["account"] = {"homePage": HOME_PAGE, "name": name}
        members = agent.get("member")
        if kind == "Group" and isinstance(members, list):
            out["member"] = [self.agent(m) for m in members if isinstance(m, dict)]
        return out

    def statement(self, statement: dict[str, Any]) -> dict[str, Any]:
        """A de-identified copy of the statement."""
        out = self._walk(statement, top=True)
        assert isinstance(out, dict)
        return out

    def _walk(self, value: Any, top: bool = False) -> Any:
        if isinstance(value, list):
            return [self._walk(item) for item in value]
        if not isinstance(value, dict):
            return value
        if (
            not top
            and _is_agent(value)
            and value.get("objectType")
            not in (
                "Activity",
                "StatementRef",
                "SubStatement",
            )
        ):
            return self.agent(value)
        return {
            key: self._walk(item) for key, item in value.items() if not (top and key == "authority")
        }


def _identifier(agent: dict[str, Any]) -> str | None:
    account = agent.get("account")
    if isinstance(account, dict):
        return f"account:{account.get('homePage')}|{account.get('name')}"
    for key in ("mbox", "mbox_sha1sum", "openid"):
        if key in agent:
            return f"{key}:{agent[key]}"
    return None
