"""Open edX tracking-log events -> xAPI 1.0.3 statements, identical to event-routing-backends.

Contract (used by ingest, the CLI and tests; keep it stable)::

    from aspects.transform import (
        parse_line, MalformedLine, MalformedEvent, Transformer, statement_row_values,
        load_external_ids, StaticCourseNames, XAPI_EVENT_NAMES,
    )

- ``parse_line(line) -> dict``: one tracking.log line (logger prefix allowed, ``event`` as an
  object or a JSON string, ``time`` or ``timestamp``) -> the event in ERB's fixture shape.
  Raises ``MalformedLine`` (an ``AspectsError``) whose ``.reason`` says why.
- ``Transformer(settings: TransformSettings, *, secret: str, course_names=..., external_ids=...)``
  where ``secret`` is ``Settings.secret("transform", settings.transform.secret)``,
  ``course_names`` is any ``(course_id) -> str | None`` (``CourseNames`` protocol;
  ``StaticCourseNames`` for a mapping, ``load_course_names(csv)``) and ``external_ids`` an
  ``ExternalIds`` (``load_external_ids(csv)``: the LMS's user id -> xAPI UUID export).
  - ``transformer.transform(event) -> list[dict]``: the statements (usually one; problem_check
    with several questions gives a parent and one per question). ``[]`` when the event's name is
    not transformed: ``transformer.accepts(event_name(event))`` tells unsupported/disabled
    names apart. Raises ``MalformedEvent`` (``.reason``) when an accepted event lacks what its
    statement needs or has no user (anonymous events).
  - pure and deterministic: same event -> same statements and ids (ERB's uuid5 scheme, so the
    LMS's own ERB and we produce the same id for the same event).
  - ``vocabulary="caliper"`` gives Caliper 1.2 events instead (ERB's 35 Caliper names).
  - statements share their actor, verb and course objects: serialise them, do not modify them.
- ``statement_row_values(statement) -> (UUID, json_text)`` for
  ``aspects.store.statements.StatementRow``.
- ``transform_lines(transformer, lines)`` (module ``aspects.transform.batch``): a whole log,
  with a ``Summary`` (events read, statements, skipped by name, rejected lines with line number
  and reason) instead of exceptions.

Privacy: the actor is ``account {homePage: LMS root, name: UUID}``; no username, email or name
is written unless ``settings.pii`` is on (then ``mbox``/``mbox_sha1sum`` from the imported
emails).
"""

from __future__ import annotations

# First: chooses the compiled modules or their sources before any of them is imported.
from aspects.transform.native import select_build  # isort: skip

select_build()

from aspects.transform.courses import (  # noqa: E402
    CourseNames,
    StaticCourseNames,
    load_course_names,
    no_course_names,
)
from aspects.transform.errors import MalformedEvent, MalformedLine  # noqa: E402
from aspects.transform.identity import ExternalIds, load_external_ids  # noqa: E402
from aspects.transform.logline import parse_line  # noqa: E402
from aspects.transform.transformer import (  # noqa: E402
    XAPI_EVENT_NAMES,
    Transformer,
    event_name,
    statement_row_values,
)

__all__ = [
    "XAPI_EVENT_NAMES",
    "CourseNames",
    "ExternalIds",
    "MalformedEvent",
    "MalformedLine",
    "StaticCourseNames",
    "Transformer",
    "event_name",
    "load_course_names",
    "load_external_ids",
    "no_course_names",
    "parse_line",
    "statement_row_values",
]
