"""``aspects config``: show the effective settings (secrets redacted) and their documentation."""

from __future__ import annotations

import click
import orjson

from aspects.cli.common import get_settings
from aspects.settings_docs import settings_markdown


@click.group()
def config() -> None:
    """Inspect settings."""


@config.command("show")
@click.pass_context
def show(ctx: click.Context) -> None:
    """Print the effective settings as JSON, secrets as **********."""
    settings = get_settings(ctx)
    click.echo(orjson.dumps(settings.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())


@config.command("docs")
def docs() -> None:
    """Print the settings reference (the source of docs/settings.md)."""
    click.echo(settings_markdown(), nl=False)
