"""SQL of the statements resource, one named file per query."""

from __future__ import annotations

from importlib import resources
from string import Template


def load(name: str, database: str) -> str:
    """The query in ``name`` for ``database`` (``${db}``), its comment lines removed."""
    text = (resources.files(__package__) / name).read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return Template(body).substitute(db=database)
