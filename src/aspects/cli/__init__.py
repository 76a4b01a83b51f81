"""The ``aspects`` command: a thin layer over the library.

Each command group lives in its own module and is imported lazily, so ``aspects --help`` stays
fast and a command only loads what it uses.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from aspects import __version__

# command name -> "module:attribute" of a click command or group
COMMANDS = {
    "config": "aspects.cli.config:config",
    "courses": "aspects.cli.courses:courses",
    "dashboards": "aspects.cli.dashboards:dashboards",
    "db": "aspects.cli.db:db",
    "demo": "aspects.cli.demo:demo",
    "ingest": "aspects.cli.ingest:ingest",
    "lrs": "aspects.cli.lrs:lrs",
    "privacy": "aspects.cli.privacy:privacy",
    "api": "aspects.cli.api:api",
    "export": "aspects.cli.export:export",
    "reports": "aspects.cli.reports:reports_group",
    "serve": "aspects.cli.serve:serve",
    "status": "aspects.cli.status:status",
    "transform": "aspects.cli.transform:transform",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="aspects")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=str),
    envvar="ASPECTS_CONFIG",
    help="TOML settings file (also ASPECTS_CONFIG).",
)
@click.pass_context
def cli(ctx: click.Context, config_file: str | None) -> None:
    """Open learning analytics for Open edX."""
    ctx.obj = {"config_file": config_file}


def main(*args: Any) -> None:
    cli(*args)
