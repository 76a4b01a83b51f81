"""The transformer: settings + injected collaborators -> a pure event -> statements function."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal
from uuid import UUID

import orjson

from aspects import __version__
from aspects.errors import ConfigError
from aspects.transform.caliper.families import TRANSFORMS as CALIPER_TRANSFORMS
from aspects.transform.courses import CourseNames, no_course_names
from aspects.transform.errors import MalformedEvent
from aspects.transform.event import Event
from aspects.transform.identity import Actors, ExternalIds
from aspects.transform.settings import TransformSettings
from aspects.transform.statement import Builder
from aspects.transform.xapi.registry import transforms
from aspects.transform.xapi.repair import NEEDS_REPAIR, check_object, repair
from aspects.transform.xapi.types import Statement, Transform

XAPI_EVENT_NAMES: frozenset[str] = frozenset(transforms())
CALIPER_EVENT_NAMES: frozenset[str] = frozenset(CALIPER_TRANSFORMS)


def caliper_transforms() -> dict[str, Transform]:
    return dict(CALIPER_TRANSFORMS)


def event_name(event: dict[str, Any]) -> str | None:
    """The event's name: ``name``, else (older events) ``event_type``."""
    name = event.get("name") or event.get("event_type")
    return name if isinstance(name, str) else None


class Transformer:
    """Transforms Open edX events into xAPI 1.0.3 statements, as event-routing-backends does.

    Pure apart from caches: the same event always gives the same statements (and ids).
    """

    def __init__(
        self,
        settings: TransformSettings,
        *,
        secret: str,
        course_names: CourseNames = no_course_names,
        external_ids: ExternalIds | None = None,
        vocabulary: Literal["xapi", "caliper"] = "xapi",
    ) -> None:
        root = settings.lms_root_url.rstrip("/")
        actors = Actors(
            root,
            secret,
            external_ids,
            pii=settings.pii,
            pii_identifier=settings.pii_identifier,
        )
        version = settings.transformer_version or f"aspects@{__version__}"
        self._builder = Builder(root, actors, course_names, version)
        table = transforms()
        if settings.enabled_events is not None:
            unknown = sorted(set(settings.enabled_events) - set(table))
            if unknown:
                raise ConfigError(f"transform.enabled_events: unsupported events {unknown}")
            table = {name: table[name] for name in settings.enabled_events}
        if vocabulary == "caliper":
            # Caliper (ERB's mapping, 35 of the names) instead of xAPI; nothing to repair.
            caliper = caliper_transforms()
            table = {name: caliper[name] for name in table if name in caliper}
        self._table: dict[str, Transform] = table
        self._check = vocabulary == "xapi" and not settings.erb_strict

    @property
    def enabled(self) -> frozenset[str]:
        return frozenset(self._table)

    def accepts(self, name: str | None) -> bool:
        """Whether events of this name are transformed (supported and allowed)."""
        return name in self._table

    def transform(self, event: dict[str, Any]) -> list[Statement]:
        """The event's statements; [] when its name is not accepted (see :meth:`accepts`).

        Raises MalformedEvent (with a ``reason``) when an accepted event lacks what its
        statement needs, or has no user.
        """
        name = event_name(event)
        function = self._table.get(name) if name is not None else None
        if function is None or name is None:
            return []
        try:
            statements = function(self._builder, Event(event, name))
            if self._check:
                for statement in statements:
                    check_object(statement, name)
                if name in NEEDS_REPAIR:
                    root = self._builder.root
                    statements = [repair(statement, root, name) for statement in statements]
            return statements
        except MalformedEvent:
            raise
        except (
            TypeError,
            ValueError,
            AttributeError,
            KeyError,
            ArithmeticError,
            RecursionError,
        ) as error:
            # Wrong types deep inside an event: report it, never crash the run.
            raise MalformedEvent(f"{name}: {type(error).__name__}: {error}") from None

    def transform_many(self, events: Iterable[dict[str, Any]]) -> list[Statement]:
        """Statements of many well-formed events (a MalformedEvent stops the batch)."""
        out: list[Statement] = []
        for event in events:
            out.extend(self.transform(event))
        return out


def statement_row_values(statement: Statement) -> tuple[UUID, str]:
    """(statement id, JSON text) ready for ``aspects.store.statements.StatementRow``."""
    return UUID(statement["id"]), orjson.dumps(statement).decode()
