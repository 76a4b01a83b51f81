"""What every command shares: settings from the context, errors printed without tracebacks."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from aspects.errors import ConfigError
from aspects.settings import Settings, load_settings


def get_settings(ctx: click.Context) -> Settings:
    """The validated settings; a ConfigError becomes a clean usage error (exit 2)."""
    root = ctx.find_root()
    cached = root.meta.get("aspects.settings")
    if isinstance(cached, Settings):
        return cached
    config_file = (root.obj or {}).get("config_file")
    try:
        settings = load_settings(Path(config_file) if config_file else None)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    root.meta["aspects.settings"] = settings
    return settings


def stderr_console() -> Console:
    return Console(stderr=True)
