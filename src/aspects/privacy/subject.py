"""Who an erasure is about: every identifier under which a learner may appear in our data.

One learner can appear under several actor ids: the keyed hash of their LMS user id, the keyed
hash of their username (events that carry only a username), an imported LMS external id, and,
while PII is on, ``mailto:`` + email or ``sha1:`` + its SHA1. The erasure removes all of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from uuid import UUID

from aspects.errors import AspectsError
from aspects.settings import Settings
from aspects.transform.identity import Actors, ExternalIds, load_external_ids


class SubjectError(AspectsError):
    """The identifier given cannot name a learner under the current settings."""


@dataclass(frozen=True)
class Subject:
    """The identifiers of one learner (raw-table actor ids, LMS user ids, usernames, emails)."""

    actor_ids: frozenset[str] = field(default_factory=frozenset)
    user_ids: frozenset[str] = field(default_factory=frozenset)
    usernames: frozenset[str] = field(default_factory=frozenset)
    emails: frozenset[str] = field(default_factory=frozenset)

    def __or__(self, other: Subject) -> Subject:
        return Subject(
            self.actor_ids | other.actor_ids,
            self.user_ids | other.user_ids,
            self.usernames | other.usernames,
            self.emails | other.emails,
        )

    @property
    def empty(self) -> bool:
        return not (self.actor_ids or self.user_ids or self.usernames or self.emails)


def email_actor_ids(email: str) -> set[str]:
    """The actor ids of an email: ``mbox`` and ``mbox_sha1sum`` forms (see transform.identity)."""
    mbox = f"mailto:{email}"
    return {mbox, "sha1:" + hashlib.sha1(mbox.encode()).hexdigest()}  # noqa: S324 - xAPI's SHA1


def pii_enabled(settings: Settings) -> bool:
    return settings.transform.pii or settings.courses.pii


def resolve(settings: Settings, user: str, *, actors: Actors | None = None) -> Subject:
    """The subject named by ``user``: an actor UUID, an LMS user id, or (PII on) a username.

    ``actors`` defaults to the transformer's own (same secret and external ids), so the
    pseudonyms computed here are exactly those the transformer wrote.
    """
    user = user.strip()
    if not user:
        raise SubjectError("give an LMS user id, an actor UUID or (with PII on) a username")
    try:
        return Subject(actor_ids=frozenset({str(UUID(user))}))
    except ValueError:
        pass
    external = _external_ids(settings)
    if actors is None:
        actors = transformer_actors(settings, external)
    ids = {actors.pseudonym(user)}
    emails = set()
    email = external.email(user)
    if email:
        emails.add(email)
        ids |= email_actor_ids(email)
    if user.isdigit():
        return Subject(frozenset(ids), user_ids=frozenset({user}), emails=frozenset(emails))
    if not pii_enabled(settings):
        raise SubjectError(
            f"{user!r} is neither an LMS user id nor an actor UUID; erasing by username needs "
            "PII on (transform.pii or courses.pii): without it we cannot know who it is"
        )
    return Subject(frozenset(ids), usernames=frozenset({user}), emails=frozenset(emails))


def transformer_actors(settings: Settings, external: ExternalIds | None = None) -> Actors:
    """The transformer's pseudonymisation (same secret, same imported external ids)."""
    return Actors(
        settings.transform.lms_root_url,
        settings.secret("transform", settings.transform.secret),
        external if external is not None else _external_ids(settings),
    )


def _external_ids(settings: Settings) -> ExternalIds:
    path = settings.transform.external_ids_file
    return load_external_ids(path) if path is not None else ExternalIds()
