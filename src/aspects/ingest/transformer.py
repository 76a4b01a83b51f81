"""Building the line converter from the settings, in this process or in a worker process.

Workers cannot share the parent's objects, so they get a :class:`ConverterSpec` (plain, picklable
values with the secret already resolved) and build their own transformer from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aspects.ingest.convert import LineConverter
from aspects.settings import Settings
from aspects.transform.settings import TransformSettings


@dataclass(frozen=True)
class ConverterSpec:
    transform: TransformSettings
    secret: str
    max_line: int


def converter_spec(settings: Settings) -> ConverterSpec:
    """Everything a process needs to convert lines like this one does."""
    return ConverterSpec(
        settings.transform,
        settings.secret("transform", settings.transform.secret),
        settings.ingest.dead_letter_max_bytes,
    )


def build_converter(spec: ConverterSpec) -> LineConverter:
    """A converter using the project's transformer (aspects.transform)."""
    from aspects.transform import (
        Transformer,
        load_course_names,
        load_external_ids,
        parse_line,
        statement_row_values,
    )
    from aspects.transform.courses import no_course_names

    settings = spec.transform
    transformer = Transformer(
        settings,
        secret=spec.secret,
        course_names=(
            load_course_names(settings.course_names_file)
            if settings.course_names_file is not None
            else no_course_names
        ),
        external_ids=(
            load_external_ids(settings.external_ids_file)
            if settings.external_ids_file is not None
            else None
        ),
    )

    def transform(event: dict[str, Any]) -> list[tuple[str, str]]:
        produced = []
        for statement in transformer.transform(event):
            statement_id, text = statement_row_values(statement)
            produced.append((str(statement_id), text))
        return produced

    return LineConverter(parse_line, transform, spec.max_line)
