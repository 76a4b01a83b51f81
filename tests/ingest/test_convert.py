"""The line converter labels statements for the forwarding filters only when something is
forwarded; everything else it produces is the same either way."""

from __future__ import annotations

from aspects.ingest.convert import event_name, event_org
from aspects.ingest.files import Chunk
from aspects.ingest.synthetic import synthetic_lines
from aspects.ingest.transformer import build_converter, converter_spec
from aspects.settings import Settings
from aspects.transform import MalformedEvent, MalformedLine, Transformer, parse_line
from tests.ingest.conftest import SECRET


def _chunk(templates: list[str], count: int) -> Chunk:
    lines = synthetic_lines(templates, count, seed=5, per_second=20, malformed_every=50)
    data = b"".join(lines)
    return Chunk(0, data)


def test_labels_only_when_forwarding_and_nothing_else_changes(
    settings: Settings, templates: list[str]
) -> None:
    values = settings.model_dump()
    values["ingest"]["forward"] = [{"name": "remote", "url": "http://127.0.0.1:9/xAPI"}]
    forwarding = Settings.model_validate(values)
    assert forwarding.ingest.forward
    chunk = _chunk(templates, 400)
    plain = build_converter(converter_spec(settings)).convert(chunk)
    labelled = build_converter(converter_spec(forwarding)).convert(chunk)

    assert plain.labels == []
    assert plain.statements == labelled.statements
    assert plain.statements.count > 300
    assert (plain.events, plain.skipped, plain.rejected) == (
        labelled.events,
        labelled.skipped,
        labelled.rejected,
    )
    assert plain.events == 400

    # With forwarding, each statement carries its event's name and organisation.
    transformer = Transformer(settings.transform, secret=SECRET)
    expected: list[tuple[str, str]] = []
    rejected = 0
    for line in chunk.data.splitlines():
        try:
            event = parse_line(line)
            produced = transformer.transform(event)
        except (MalformedLine, MalformedEvent):
            rejected += 1
            continue
        expected.extend([(event_name(event), event_org(event))] * len(produced))
    assert list(labelled.each_label()) == expected
    assert len(expected) == labelled.statements.count
    assert len(plain.rejected) == rejected >= 8  # every 50th line is cut in half
