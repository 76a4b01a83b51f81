"""Building the line converter from the settings, in this process or in a worker process.

Workers cannot share the parent's objects, so they get a :class:`ConverterSpec` (plain, picklable
values with the secret already resolved) and build their own transformer from it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from clickhouse_connect.driver.client import Client

from aspects.ingest.convert import DeriveColumns, LineConverter
from aspects.settings import Settings
from aspects.transform.settings import TransformSettings

if TYPE_CHECKING:
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
    if spec.native_chunk and fast is not None:
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
        derive=native_derive() if chunk is not None and spec.native_derive else None,
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


def native_derive() -> DeriveColumns | None:
    """The native ``derive_columns`` (the raw table's derived columns of packed texts), when
    the loaded native module has it."""
    module = sys.modules.get("aspects.transform._fast")  # loaded by open_fast
    derive: DeriveColumns | None = getattr(module, "derive_columns", None)
    return derive
