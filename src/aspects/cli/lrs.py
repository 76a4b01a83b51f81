"""``aspects lrs``: the xAPI Learning Record Store: credentials (and ``serve``)."""

from __future__ import annotations

import click
import orjson
from rich.console import Console
from rich.table import Table

from aspects.cli.common import get_settings
from aspects.lrs.auth import SCOPES, CredentialError, create_credential, list_credentials
from aspects.lrs.auth import revoke_credential as revoke_one
from aspects.lrs.db import make_sessionmaker


@click.group()
def lrs() -> None:
    """The xAPI Learning Record Store."""


@lrs.group()
def credentials() -> None:
    """Manage the HTTP Basic credentials of LRS clients (secrets are stored hashed)."""


@credentials.command("create")
@click.option("--name", required=True, help="Who uses it (shown as the statements' authority).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(SCOPES),
    help="xAPI scope, repeatable. Default: statements/write and statements/read/mine.",
)
@click.option("--key", default=None, help="Use this key (username) instead of a random one.")
@click.option(
    "--secret",
    envvar="ASPECTS_LRS_NEW_SECRET",
    default=None,
    help="Use this secret (>= 12 characters; better via ASPECTS_LRS_NEW_SECRET) "
    "instead of a generated one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print key, secret and scopes as JSON.")
@click.pass_context
def create(
    ctx: click.Context,
    name: str,
    scopes: tuple[str, ...],
    key: str | None,
    secret: str | None,
    as_json: bool,
) -> None:
    """Create a credential; its secret is printed once and cannot be shown again."""
    settings = get_settings(ctx)
    factory = make_sessionmaker(settings)
    try:
        with factory() as session:
            credential, plain = create_credential(
                session,
                name=name,
                scopes=scopes,
                home_page=settings.lrs.authority_home_page,
                key=key,
                secret=secret,
            )
    except CredentialError as error:
        raise click.UsageError(str(error)) from None
    if as_json:
        document = {"key": credential.key, "secret": plain, "scopes": list(credential.scopes)}
        click.echo(orjson.dumps(document).decode())
        return
    click.echo(f"key:    {credential.key}")
    click.echo(f"secret: {plain}")
    click.echo(f"scopes: {' '.join(credential.scopes)}")
    click.echo("The secret is shown only now; it is stored hashed.")


@credentials.command("list")
@click.option("--active", is_flag=True, help="Hide revoked credentials.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@click.pass_context
def list_command(ctx: click.Context, active: bool, as_json: bool) -> None:
    """List credentials (never their secrets)."""
    settings = get_settings(ctx)
    with make_sessionmaker(settings)() as session:
        found = list_credentials(session, include_revoked=not active)
    if as_json:
        for item in found:
            line = {
                "key": item.key,
                "name": item.name,
                "scopes": list(item.scopes),
                "created_at": item.created_at.isoformat(),
                "revoked_at": item.revoked_at.isoformat() if item.revoked_at else None,
            }
            click.echo(orjson.dumps(line).decode())
        return
    table = Table("name", "scopes", "created", "revoked")
    table.add_column("key", no_wrap=True)  # copied into other tools: never wrapped
    for item in found:
        table.add_row(
            item.name,
            " ".join(item.scopes),
            item.created_at.strftime("%Y-%m-%d %H:%M"),
            item.revoked_at.strftime("%Y-%m-%d %H:%M") if item.revoked_at else "",
            item.key,
        )
    Console().print(table)


@credentials.command("revoke")
@click.argument("key")
@click.pass_context
def revoke(ctx: click.Context, key: str) -> None:
    """Revoke a credential at once (it is kept, marked revoked)."""
    settings = get_settings(ctx)
    try:
        with make_sessionmaker(settings)() as session:
            credential = revoke_one(session, key)
    except CredentialError as error:
        raise click.UsageError(str(error)) from None
    assert credential.revoked_at is not None
    click.echo(f"revoked {credential.key} ({credential.name}) at {credential.revoked_at:%c}")


@lrs.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: lrs.host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: lrs.port, 8100).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the xAPI LRS (base URL http://HOST:PORT/xAPI) until interrupted."""
    from aspects.lrs.serve import serve as run

    settings = get_settings(ctx)
    click.echo(
        f"aspects LRS on http://{host or settings.lrs.host}:{port or settings.lrs.port}/xAPI",
        err=True,
    )
    run(settings, host, port)
