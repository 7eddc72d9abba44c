"""The service: ``serve`` (the REST API), and its ``users`` and ``tokens``."""

from __future__ import annotations

import os
import secrets
import sys

import click

from .. import accounts
from ..accounts import ROLES
from .base import App, json_option, main, row, table


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (a proxy adds TLS).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes sharing the port (each its own interpreter; on SQLite they write one at a time).",
)
@click.pass_obj
def serve(app: App, host: str, port: int, workers: int) -> None:
    """Serve the console (/console) and the REST API (/api/v1, OpenAPI at /api/v1/openapi.json).

    On the first start of a database without accounts, an account `admin` is created with a
    random password, printed once; create tokens for API clients with `labelwf tokens create`.
    With --workers N, N processes serve the same port: the per-account rate limits and the
    sign-in throttle then hold per process.

    \b
    Examples:
      labelwf serve
      labelwf serve --host 0.0.0.0 --port 8080      # behind a TLS reverse proxy only
      labelwf serve --workers 2                     # on PostgreSQL, or a machine with cores to spare
    """
    import uvicorn

    from ..service import create_app

    app.db.check_schema()
    if not accounts.accounts(app.db):
        password = secrets.token_urlsafe(18)
        accounts.add_account(app.db, "admin", ["admin"], now=app.engine.clock.now(), password=password)
        click.echo(
            f"first start: account admin created, password {password} (shown once; change it with "
            "`labelwf users password admin`)",
            err=True,
        )
    click.echo(
        f"serving {app.db.display_url}: console http://{host}:{port}/console, API http://{host}:{port}/api/v1 "
        "(Ctrl-C stops)",
        err=True,
    )
    if workers == 1:
        uvicorn.run(create_app(app.runtime), host=host, port=port, log_level="warning", server_header=False)
        return
    # Each worker builds its own runtime from the same settings: the config file and the database
    # this command was given travel in the environment the workers inherit.
    settings = app.runtime.settings
    if settings.source is not None:
        os.environ["LABELWF_CONFIG"] = str(settings.source)
    os.environ["LABELWF_DATABASE"] = settings.database
    app.runtime.close()
    uvicorn.run(
        "labelwf.service.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
    )


@main.group("users")
def users_group() -> None:
    """The service's accounts: add, list, disable, enable."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES), help="Repeat for several.")
@click.option("--entity", help="The one entity a stakeholder account sees.")
@click.option("--display-name", default="", help="The name shown in the console.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (else prompted).")
@click.option("--no-password", is_flag=True, help="No local password: the account signs in by OIDC only.")
@click.option(
    "--email",
    help="The person's address at the OIDC provider: their first OIDC sign-in with it binds them to this account.",
)
@click.pass_obj
def users_add(
    app: App,
    name: str,
    roles: tuple[str, ...],
    entity: str | None,
    display_name: str,
    password_stdin: bool,
    no_password: bool,
    email: str | None,
) -> None:
    """Add an account NAME with its roles (viewer, operator, supervisor, admin, stakeholder).

    \b
    Examples:
      labelwf users add marie.dupont --role operator
      labelwf users add gouvernance-enfant --role stakeholder --entity enfant
      printf '%s' "$PASSWORD" | labelwf users add robot --role viewer --password-stdin
      labelwf users add marie.dupont --role operator --no-password --email marie.dupont@finances.gouv.fr
    """
    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not no_password:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    account = accounts.add_account(
        app.db,
        name,
        list(roles),
        now=app.engine.clock.now(),
        password=password,
        display_name=display_name,
        entity=entity,
        email=email,
    )
    click.echo(f"account {account.name} added ({', '.join(account.roles)})")


@users_group.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (else prompted).")
@click.pass_obj
def users_password(app: App, name: str, password_stdin: bool) -> None:
    """Give account NAME a new password (12 characters at least).

    \b
    Example:
      labelwf users password admin
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("new password", hide_input=True, confirmation_prompt=True)
    accounts.set_password(app.db, name, password)
    click.echo(f"password of {name} changed")


@users_group.command("list")
@json_option
@click.pass_obj
def users_list(app: App, as_json: bool) -> None:
    """List the accounts."""
    found = accounts.accounts(app.db)
    if as_json:
        return app.emit_json([a.__dict__ for a in found])
    out = table(f"{len(found)} account(s)", "name", "display name", "roles", "entity", "e-mail (OIDC)", "disabled")
    for a in found:
        oidc = f"{a.email or ''}{' (bound)' if a.oidc_bound else ''}"
        row(out, a.name, a.display_name, ", ".join(a.roles), a.entity or "", oidc, "yes" if a.disabled else "")
    app.print_rows(out, "`labelwf users add NAME --role ROLE`, or `labelwf serve` creates admin on first start")
    return None


@users_group.command("disable")
@click.argument("name")
@click.pass_obj
def users_disable(app: App, name: str) -> None:
    """Disable an account: it can no longer sign in, nor use its tokens."""
    accounts.set_disabled(app.db, name, True)
    click.echo(f"account {name} disabled")


@users_group.command("enable")
@click.argument("name")
@click.pass_obj
def users_enable(app: App, name: str) -> None:
    """Enable a disabled account again."""
    accounts.set_disabled(app.db, name, False)
    click.echo(f"account {name} enabled")


@main.group("tokens")
def tokens_group() -> None:
    """API tokens: create (shown once), list, revoke."""


@tokens_group.command("create")
@click.argument("account")
@click.option("--label", required=True, help="What the token is for (shown in `tokens list`).")
@click.pass_obj
def tokens_create(app: App, account: str, label: str) -> None:
    """Create an API token for ACCOUNT; it is printed once, only its hash is kept.

    \b
    Example:
      labelwf tokens create marie.dupont --label "script de relance"
    """
    token_id, token = accounts.create_token(app.db, account, label, now=app.engine.clock.now())
    click.echo(token)
    click.echo(f"token {token_id} for {account}: shown once, keep it secret (Authorization: Bearer …)", err=True)


@tokens_group.command("list")
@click.option("--account", help="Only this account's tokens.")
@json_option
@click.pass_obj
def tokens_list(app: App, account: str | None, as_json: bool) -> None:
    """List the tokens (never their secret)."""
    found = accounts.tokens(app.db, account)
    if as_json:
        return app.emit_json(found)
    out = table(f"{len(found)} token(s)", "id", "account", "label", "created", "revoked")
    for t in found:
        row(out, t["id"], t["account"], t["label"], app.local(t["created_at"]), app.local(t["revoked_at"]))
    app.print_rows(out, "`labelwf tokens create ACCOUNT --label WHAT`")
    return None


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@click.pass_obj
def tokens_revoke(app: App, token_id: int) -> None:
    """Revoke token TOKEN_ID for good."""
    accounts.revoke_token(app.db, token_id, now=app.engine.clock.now())
    click.echo(f"token {token_id} revoked")
