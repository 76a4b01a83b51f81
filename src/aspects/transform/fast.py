"""The native (Rust) transformer: a tracking-log line -> its statements' JSON bytes.

``aspects.transform._fast`` (crate ``native/``, built by ``scripts/compile_native.py``, ``make
compile``) turns a line into exactly the bytes ``orjson.dumps(s)`` gives for each statement ``s``
of ``Transformer.transform(parse_line(line))``, without building Python objects, or answers
"not handled" for anything it does not cover or doubts; the caller then runs the Python path,
which stays the reference (its output, or its error). Contract (docs/transform.md, "Library
contract")::

    fast = open_fast(settings.transform, secret=..., course_names=..., external_ids=...)
    if fast is not None:
        answer = fast.rows(line)  # list[(uuid bytes, json bytes, actor name)] | str | None

- a list: the event was accepted, these are its statements (``[]`` when it yields none);
- a str: the event's name, which the transformer does not accept (skipped, counted by name);
- None: not handled here: ``parse_line`` + ``Transformer.transform`` decide.

``open_fast`` gives None when the build is absent, older than the crate's sources, disabled by
``ASPECTS_PURE_PYTHON=1``, or when the settings need the Python path (PII actors, Caliper).
The Python collaborators (actors with their pseudonyms and external ids, the course-name source,
``normalise_timestamp`` for non-canonical times, the IRI check) are handed to the native code,
which calls them once per user, course, time or object and caches the answers.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
import sysconfig
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal, Protocol

import orjson

from aspects import __version__
from aspects.compiled import PURE_ENV, forced_pure
from aspects.errors import ConfigError
from aspects.transform.batch import Rejection, Summary, event_lines, line_statements
from aspects.transform.courses import CourseNames, no_course_names
from aspects.transform.identity import Actors, ExternalIds
from aspects.transform.settings import TransformSettings
from aspects.transform.transformer import XAPI_EVENT_NAMES, Transformer

__all__ = [
    "DeriveColumns",
    "FastTransformer",
    "native_derive",
    "native_state",
    "open_fast",
    "sources_digest",
    "transform_lines_json",
]

PACKAGE = Path(__file__).resolve().parent
CRATE = PACKAGE.parents[2] / "native"
LIBRARY = PACKAGE / f"_fast{sysconfig.get_config_var('EXT_SUFFIX') or '.so'}"
RECORD = PACKAGE / "_fast.json"
_MODULE = "aspects.transform._fast"


# A whole chunk of lines through the native transformer (``FastTransformer.chunk``,
# native/src/chunk.rs): (ids, texts, actors) of the statements of the lines it handles, packed
# as StatementPacker packs them; the non-blank lines; those skipped; the (start, end) in the
# chunk of each line it leaves to the Python path; the raw table's derived columns of its
# statements (None when it is not sure of one, or when asked not to make them); the (start, end,
# reason) of each line the Python transformer rejects for certain, with its reason word for word
ChunkAnswer = tuple[
    bytes,
    bytes,
    list[str],
    int,
    int,
    list[tuple[int, int]],
    list[bytes] | None,
    list[tuple[int, int, str]],
]


class FastTransformer(Protocol):
    """The native transformer of one site (``aspects.transform._fast.FastTransformer``)."""

    def rows(self, line: bytes, /) -> list[tuple[bytes, bytes, str]] | str | None: ...

    def statements(self, line: bytes, /) -> list[bytes] | str | None: ...

    def chunk(self, data: bytes, /, derive: bool = True) -> ChunkAnswer: ...


def sources_digest(crate: Path) -> str:
    """SHA-256 over the crate's sources (names and contents): what a build is recorded with."""
    paths = [crate / "Cargo.toml", crate / "Cargo.lock", crate / ".cargo" / "config.toml"]
    paths += sorted((crate / "src").rglob("*.rs"))
    h = hashlib.sha256()
    for path in paths:
        h.update(path.relative_to(crate).as_posix().encode() + b"\0")
        h.update(path.read_bytes() if path.exists() else b"-")
        h.update(b"\0")
    return h.hexdigest()


def native_state() -> str:
    """``"loaded"`` when the native module can be used, else why not."""
    if forced_pure():
        return f"disabled ({PURE_ENV} set)"
    if not LIBRARY.exists():
        return "not built (make compile)"
    try:
        record = json.loads(RECORD.read_text())
    except (OSError, ValueError):
        return "no build record (make compile)"
    if not isinstance(record, dict) or record.get("python") != sys.implementation.cache_tag:
        return "built for another Python (make compile)"
    if CRATE.is_dir() and record.get("sources") != sources_digest(CRATE):
        return "out of date: native/ changed since the build (make compile)"
    try:
        importlib.import_module(_MODULE)
    except ImportError as error:
        return f"cannot be loaded: {error}"
    return "loaded"


# The native ``derive_columns``: a packed texts column (LEB128 length + JSON per statement) ->
# the raw table's derived columns as Native streams, or None when it is not sure of one.
DeriveColumns = Callable[[bytes], Sequence[bytes] | None]


def native_derive() -> DeriveColumns | None:
    """The native ``derive_columns`` when the native module is usable, else None (ClickHouse
    then computes the derived columns from the JSON). A module already loaded (by
    :func:`open_fast` or :func:`native_state`) passed the build checks then; they hash the
    crate's sources, so they are not run again for it."""
    if forced_pure():
        return None
    module = sys.modules.get(_MODULE)
    if module is None:
        if native_state() != "loaded":
            return None
        module = sys.modules[_MODULE]
    derive: DeriveColumns | None = getattr(module, "derive_columns", None)
    return derive


def open_fast(
    settings: TransformSettings,
    *,
    secret: str,
    course_names: CourseNames = no_course_names,
    external_ids: ExternalIds | None = None,
    vocabulary: Literal["xapi", "caliper"] = "xapi",
) -> FastTransformer | None:
    """The native transformer for these settings, or None when the Python path must run.

    Same arguments as :class:`~aspects.transform.transformer.Transformer` (and the same
    ConfigError for unsupported enabled_events).
    """
    if settings.pii or vocabulary != "xapi":
        return None
    enabled = XAPI_EVENT_NAMES
    if settings.enabled_events is not None:
        unknown = sorted(set(settings.enabled_events) - XAPI_EVENT_NAMES)
        if unknown:
            raise ConfigError(f"transform.enabled_events: unsupported events {unknown}")
        enabled = frozenset(settings.enabled_events)
    state = native_state()
    if state != "loaded":
        if state.startswith(("out of date", "no build", "built for")):
            warnings.warn(
                f"aspects.transform._fast: {state}; using the Python transformer",
                RuntimeWarning,
                stacklevel=2,
            )
        return None
    from aspects.transform.statement import normalise_timestamp
    from aspects.xapi.validation import is_iri

    module = importlib.import_module(_MODULE)
    root = settings.lms_root_url.rstrip("/")
    actors = Actors(root, secret, external_ids, pii=False)
    fast: FastTransformer = module.FastTransformer(
        root,
        settings.transformer_version or f"aspects@{__version__}",
        sorted(enabled),
        not settings.erb_strict,
        actors.actor,
        course_names,
        normalise_timestamp,
        is_iri,
        orjson.dumps,
    )
    return fast


def transform_lines_json(
    fast: FastTransformer | None,
    transformer: Transformer,
    lines: Iterable[str | bytes],
    summary: Summary,
    *,
    source: str = "-",
    on_reject: Callable[[Rejection], None] | None = None,
) -> Iterator[bytes]:
    """:func:`aspects.transform.batch.transform_lines`, yielding each statement's JSON bytes.

    The native transformer answers each line it handles; the others go through ``transformer``
    (the same settings) by :func:`~aspects.transform.batch.line_statements`, as in
    transform_lines: same statements, counts and rejections.
    """
    for number, line in event_lines(lines, summary):
        if fast is not None:
            answer = fast.statements(
                line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
            )
            if isinstance(answer, list):
                summary.statements += len(answer)
                yield from answer
                continue
            if isinstance(answer, str):
                summary.skipped[answer] += 1
                continue
        for statement in line_statements(transformer, line, number, summary, source, on_reject):
            yield orjson.dumps(statement)
