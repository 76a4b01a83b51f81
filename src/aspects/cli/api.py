"""``aspects api``: the reports API's keys, and serving it on its own."""

from __future__ import annotations

import click
import orjson
from rich.console import Console
from rich.table import Table

from aspects.api.keys import ApiKeyError, create_key, list_keys, revoke_key
from aspects.cli.common import get_settings
from aspects.store.client import open_client


@click.group()
def api() -> None:
    """The reports API (JSON/CSV reports for integrations)."""


@api.group()
def keys() -> None:
    """API keys scoped to courses or organisations (stored hashed)."""


@keys.command("create")
@click.option("--name", required=True, help="Who uses the key (shown in `list`).")
@click.option("--course", "courses", multiple=True, help="Course key it may read; repeatable.")
@click.option("--org", "orgs", multiple=True, help="Organisation it may read; repeatable.")
@click.option("--all-courses", is_flag=True, help="Every course (operators only).")
@click.option("--pii", is_flag=True, help="May see usernames/emails when PII is on.")
@click.option("--erase", is_flag=True, help="May call the retirement hook (erase learners).")
@click.option("--json", "as_json", is_flag=True, help="Print id and key as JSON.")
@click.pass_context
def create(
    ctx: click.Context,
    name: str,
    courses: tuple[str, ...],
    orgs: tuple[str, ...],
    all_courses: bool,
    pii: bool,
    erase: bool,
    as_json: bool,
) -> None:
    """Create a key; it is printed once and only its hash is kept."""
    settings = get_settings(ctx)
    client = open_client(settings.store, settings.data_dir)
    try:
        key, plain = create_key(
            client,
            settings.store.database,
            name=name,
            courses=courses,
            orgs=orgs,
            all_courses=all_courses,
            pii=pii,
            erase=erase,
        )
    except ApiKeyError as error:
        raise click.UsageError(str(error)) from None
    if as_json:
        click.echo(orjson.dumps({"id": key.key_id, "key": plain}).decode())
        return
    click.echo(f"id:  {key.key_id}")
    click.echo(f"key: {plain}")
    click.echo("The key is shown only now; send it as the X-API-Key header.")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Every key (never the key itself)."""
    settings = get_settings(ctx)
    client = open_client(settings.store, settings.data_dir)
    found = list_keys(client, settings.store.database)
    if as_json:
        for key in found:
            click.echo(
                orjson.dumps(
                    {
                        "id": key.key_id,
                        "name": key.name,
                        "courses": list(key.courses),
                        "orgs": list(key.orgs),
                        "all_courses": key.all_courses,
                        "pii": key.pii,
                        "erase": key.erase,
                        "created_at": key.created_at.isoformat(),
                        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
                    }
                ).decode()
            )
        return
    table = Table("id", "name", "scope", "pii", "erase", "created", "revoked")
    for key in found:
        scope = "all courses" if key.all_courses else " ".join([*key.orgs, *key.courses])
        table.add_row(
            key.key_id,
            key.name,
            scope,
            "yes" if key.pii else "",
            "yes" if key.erase else "",
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
        )
    Console().print(table)


@keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke a key at once (by its id)."""
    settings = get_settings(ctx)
    client = open_client(settings.store, settings.data_dir)
    try:
        revoke_key(client, settings.store.database, key_id)
    except ApiKeyError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"revoked {key_id}")


@api.command("serve")
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Serve the reports API alone on api.host:api.port.

    Other apps mount the same routes with aspects.api.app.install() and router().
    """
    import uvicorn

    from aspects.api.app import create_app

    settings = get_settings(ctx)
    client = open_client(settings.store, settings.data_dir)
    uvicorn.run(create_app(settings, client), host=settings.api.host, port=settings.api.port)
