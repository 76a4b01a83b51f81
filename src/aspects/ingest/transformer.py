"""Building the line converter from the settings, in this process or in a worker process.

Workers cannot share the parent's objects, so they get a :class:`ConverterSpec` (plain, picklable
values with the secret already resolved) and build their own transformer from it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from aspects.ingest.convert import Converted, LineConverter
from aspects.ingest.files import Chunk
from aspects.transform.settings import TransformSettings

if TYPE_CHECKING:
    # Only annotations: a worker process imports this module, and these two cost ~1 s of CPU
    # per worker to import (sqlalchemy via the settings' store section, clickhouse_connect).
    from clickhouse_connect.driver.client import Client

    from aspects.settings import Settings
    from aspects.transform.course_store import StoreCourseNames
    from aspects.transform.courses import CourseNames
    from aspects.transform.fast import FastTransformer
    from aspects.transform.identity import ExternalIds


@dataclass(frozen=True)
class ConverterSpec:
    transform: TransformSettings
    secret: str
    max_line: int
    # Course names read from the store, for processes that cannot query it (workers).
    course_names: dict[str, str] | None = None
    # Label statements for the forwarding filters (only when forwarding targets are configured).
    labels: bool = True
    # Use the native transformer when it is built and covers the settings (unlabelled lines).
    native: bool = True
    # ... a whole chunk per call (FastTransformer.chunk) rather than a line (rows).
    native_chunk: bool = True
    # ... with the raw table's derived columns computed there (else ClickHouse computes them).
    native_derive: bool = True


def converter_spec(settings: Settings, client: Client | None = None) -> ConverterSpec:
    """Everything a process needs to convert lines like this one does.

    With a store ``client`` (and no ``transform.course_names_file``), the course names of the
    store's course-structure tables are included as a snapshot.
    """
    names = None
    if client is not None and settings.transform.course_names_file is None:
        names = store_course_names(client, settings.store.database).snapshot()
    return ConverterSpec(
        settings.transform,
        settings.secret("transform", settings.transform.secret),
        settings.ingest.dead_letter_max_bytes,
        names,
        labels=bool(settings.ingest.forward),
    )


def store_course_names(client: Client, database: str) -> StoreCourseNames:
    from aspects.transform.course_store import StoreCourseNames

    return StoreCourseNames(client, database)


def build_converter(spec: ConverterSpec, course_names: CourseNames | None = None) -> LineConverter:
    """A converter using the project's transformer (aspects.transform).

    ``course_names`` (e.g. a refreshing store source in the live follower) wins over the
    spec's file or snapshot.
    """
    from aspects.transform import (
        Transformer,
        load_course_names,
        load_external_ids,
        parse_line,
    )
    from aspects.transform.courses import StaticCourseNames, no_course_names

    settings = spec.transform
    if course_names is None:
        if settings.course_names_file is not None:
            course_names = load_course_names(settings.course_names_file)
        elif spec.course_names is not None:
            course_names = StaticCourseNames(spec.course_names)
        else:
            course_names = no_course_names
    external_ids = (
        load_external_ids(settings.external_ids_file)
        if settings.external_ids_file is not None
        else None
    )
    transformer = Transformer(
        settings, secret=spec.secret, course_names=course_names, external_ids=external_ids
    )
    # Labelled lines need the parsed event, which only the Python path makes.
    fast = (
        None
        if spec.labels or not spec.native
        else native_transformer(settings, spec.secret, course_names, external_ids)
    )
    chunk = None
    derive = None
    if spec.native_chunk and fast is not None:
        from aspects.transform.fast import native_derive  # loaded with the native transformer

        derive = native_derive() if spec.native_derive else None
        chunk = fast.chunk if spec.native_derive else partial(fast.chunk, derive=False)
    # Statements are serialised and packed by the converter (StatementPacker.add_all/add_rows),
    # or by the native transformer (chunk).
    return LineConverter(
        parse_line,
        transformer.transform,
        spec.max_line,
        labels=spec.labels,
        fast=None if fast is None else fast.rows,
        chunk=chunk,
        derive=derive,
    )


def native_transformer(
    settings: TransformSettings,
    secret: str,
    course_names: CourseNames,
    external_ids: ExternalIds | None,
) -> FastTransformer | None:
    """The native transformer for these settings, or None when there is none (not built,
    stale, disabled by ``ASPECTS_PURE_PYTHON``, or settings it does not cover)."""
    from aspects.transform.fast import open_fast

    return open_fast(settings, secret=secret, course_names=course_names, external_ids=external_ids)


# --- the backfill's worker processes -------------------------------------------------------------
# Here rather than in aspects.ingest.backfill: a spawned worker imports the module of the function
# it runs, and backfill's imports (the sink, the ingest state with sqlalchemy, the store client)
# cost each worker ~1.3 s of CPU at start (measured: 2.8 -> ~1.0 s for two workers), i.e. ~1.5 us
# per event of a 1M-line backfill, for nothing a worker uses.

_worker_converter: LineConverter | None = None

# glibc's mallopt parameters
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Buffers up to this size come from the heap (and go back to it), not from fresh mmaps.
_WORKER_MMAP_THRESHOLD = 64 << 20
_WORKER_TRIM_THRESHOLD = 256 << 20


def keep_freed_memory() -> bool:
    """Have glibc's malloc reuse freed memory for the large buffers of each chunk (the native
    columns, their bytes objects, the pickled answer: a few MB per chunk) instead of mapping
    fresh pages for each and unmapping them after: each fresh page costs a page fault and a
    zeroing. Measured in the two workers of a 1M-line backfill: system CPU 4.6-5.0 -> 1.0-1.2
    us per event and user 29 -> 26-27 (the copies into fresh pages). False where it cannot be
    set (not glibc); the process then works as before."""
    name = ctypes.util.find_library("c")
    if name is None or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # another C library (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(
        mallopt(_M_MMAP_THRESHOLD, _WORKER_MMAP_THRESHOLD)
        and mallopt(_M_TRIM_THRESHOLD, _WORKER_TRIM_THRESHOLD)
    )


def init_worker(spec: ConverterSpec) -> None:
    """A backfill worker process's initializer: its converter, and malloc kept from returning
    the chunks' buffers to the system (:func:`keep_freed_memory`)."""
    global _worker_converter
    keep_freed_memory()
    _worker_converter = build_converter(spec)


def convert_in_worker(chunk: Chunk) -> Converted:
    """One chunk in a worker process (after :func:`init_worker`)."""
    assert _worker_converter is not None
    return _worker_converter.convert(chunk)
