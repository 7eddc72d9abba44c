"""The service: ``serve`` (the REST API), and its ``users`` and ``tokens``.

Every change to an account or a token is an act of the admin chain, recorded with this process's
principal (the OS user) as its author and the ``--reason`` given, if any.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict

import click

from .. import accounts
from ..accounts import ROLES
from ..engine.signing_post import check_signatory_post
from ..message import N_
from .base import App, json_option, main, row, table
from .saying import echo, line, named
from .wording import ROLES as ROLE_WORDS
from .wording import said


def _roles(roles: Sequence[str]) -> str:
    """An account's roles as a line says them: their ids in English, their French names otherwise."""
    return ", ".join(named(role, said(ROLE_WORDS, role)) for role in roles)


reason_option = click.option("--reason", help="Why (recorded with the act in the admin chain).")


class _Acting(TypedDict):
    now: datetime
    author: str
    key: bytes | None


def _acting(app: App) -> _Acting:
    """The author, audit key and time of an administrative act done from this command."""
    return {"now": app.engine.clock.now(), "author": app.runtime.principal, "key": app.runtime.audit_key}


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

    On the first start of a database without an active administrator (none yet, or only other
    accounts, such as a signatory added beforehand), an account `admin` is created with a random
    password, printed once; create tokens for API clients with `labelwf tokens create`.
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
    from ..service.oidc import check_settings

    check_settings(app.runtime.settings)  # before anything starts, for every worker
    app.db.check_schema()
    known = accounts.accounts(app.db)
    administered = any("admin" in a.roles and not a.disabled for a in known)
    if not administered and all(a.name != "admin" for a in known):  # nobody could administer the service
        password = secrets.token_urlsafe(18)
        accounts.add_account(
            app.db, "admin", ["admin"], password=password, reason="first start of the service", **_acting(app)
        )
        echo(
            N_(
                "first start: account admin created, password %(password)s (shown once; change it with "
                "`labelwf users password admin`)",
                password=password,
            ),
            err=True,
        )
    echo(
        N_(
            "serving %(url)s: console http://%(host)s:%(port)s/console, API http://%(host)s:%(port)s/api/v1 "
            "(Ctrl-C stops)",
            url=app.db.display_url,
            host=host,
            port=port,
        ),
        err=True,
    )
    if workers == 1:
        # proxy_headers off: uvicorn (trusting 127.0.0.1 by default) would put a client's own
        # X-Forwarded-For in place of the socket's peer; the service reads it from trusted_proxies only.
        uvicorn.run(
            create_app(app.runtime), host=host, port=port, proxy_headers=False, log_level="warning", server_header=False
        )
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
        proxy_headers=False,
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
@click.option("--post", help="The post a signatory signs for: a key of the directory's post column, or service.")
@click.option("--display-name", default="", help="The name shown in the console.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (else prompted).")
@click.option("--no-password", is_flag=True, help="No local password: the account signs in by OIDC only.")
@click.option(
    "--email",
    help=(
        "The e-mail the letters of its decisions give (« Affaire suivie par »), also the person's address at the "
        "OIDC provider: their first OIDC sign-in with it binds them to this account."
    ),
)
@click.option("--telephone", help="The telephone the letters of its decisions give (6 to 15 digits).")
@reason_option
@click.pass_obj
def users_add(
    app: App,
    name: str,
    roles: tuple[str, ...],
    entity: str | None,
    post: str | None,
    display_name: str,
    password_stdin: bool,
    no_password: bool,
    email: str | None,
    telephone: str | None,
    reason: str | None,
) -> None:
    """Add an account NAME with its roles (viewer, operator, supervisor, admin, stakeholder, signatory).

    \b
    Examples:
      labelwf users add marie.dupont --role operator
      labelwf users add gouvernance-enfant --role stakeholder --entity enfant
      labelwf users add jeanne.martin --role signatory --post datar --display-name "Jeanne Martin"
      labelwf users add marie.dupont --role operator --email marie.dupont@finances.gouv.fr --telephone "01 44 87 17 17"
      printf '%s' "$PASSWORD" | labelwf users add robot --role viewer --password-stdin
      labelwf users add marie.dupont --role operator --no-password --email marie.dupont@finances.gouv.fr
    """
    if post is not None:  # a post no letter could wait for is refused before the password is asked for
        check_signatory_post(post, app.runtime.directory)
    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not no_password:
        password = click.prompt(line(N_("password")), hide_input=True, confirmation_prompt=True)
    account = accounts.add_account(
        app.db,
        name,
        list(roles),
        password=password,
        display_name=display_name,
        entity=entity,
        email=email or None,  # '' as users contact reads it: none
        telephone=telephone or None,
        reason=reason,
        post=post,
        **_acting(app),
    )
    echo(N_("account %(name)s added (%(roles)s)", name=account.name, roles=_roles(account.roles)))


@users_group.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (else prompted).")
@reason_option
@click.pass_obj
def users_password(app: App, name: str, password_stdin: bool, reason: str | None) -> None:
    """Give account NAME a new password (12 characters at least); its sessions end, its tokens are revoked.

    \b
    Example:
      labelwf users password admin
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt(line(N_("new password")), hide_input=True, confirmation_prompt=True)
    accounts.set_password(app.db, name, password, reason=reason, **_acting(app))
    echo(N_("password of %(name)s changed; its console sessions ended and its API tokens were revoked", name=name))


@users_group.command("roles")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES), help="Repeat for several.")
@reason_option
@click.pass_obj
def users_roles(app: App, name: str, roles: tuple[str, ...], reason: str | None) -> None:
    """Give account NAME these roles instead of its own; its sessions end, its tokens are revoked.

    \b
    Example:
      labelwf users roles marie.dupont --role supervisor --reason "chef de bureau depuis le 1er mars"
    """
    account = accounts.set_roles(app.db, name, list(roles), reason=reason, **_acting(app))
    echo(
        N_(
            "account %(name)s now holds %(roles)s; its console sessions ended and its API tokens were revoked",
            name=name,
            roles=_roles(account.roles),
        )
    )


@users_group.command("list")
@json_option
@click.pass_obj
def users_list(app: App, as_json: bool) -> None:
    """List the accounts."""
    found = accounts.accounts(app.db)
    if as_json:
        return app.emit_json([a.__dict__ for a in found])
    out = table(f"{len(found)} compte(s)", "nom", "nom affiché", "rôles", "dossier", "courriel (OIDC)", "désactivé")
    for a in found:
        oidc = f"{a.email or ''}{' (lié)' if a.oidc_bound else ''}"
        roles = ", ".join(said(ROLE_WORDS, r) for r in a.roles)
        row(out, a.name, a.display_name, roles, a.entity or "", oidc, "oui" if a.disabled else "")
    app.print_rows(out, "`labelwf users add NAME --role ROLE`, ou `labelwf serve` crée admin au premier démarrage")
    return None


@users_group.command("disable")
@click.argument("name")
@reason_option
@click.pass_obj
def users_disable(app: App, name: str, reason: str | None) -> None:
    """Disable an account: it can no longer sign in; its sessions end and its tokens are revoked."""
    accounts.set_disabled(app.db, name, True, reason=reason, **_acting(app))
    echo(N_("account %(name)s disabled; its console sessions ended and its API tokens were revoked", name=name))


@users_group.command("enable")
@click.argument("name")
@reason_option
@click.pass_obj
def users_enable(app: App, name: str, reason: str | None) -> None:
    """Enable a disabled account again: it signs in afresh (no session or token of before comes back)."""
    accounts.set_disabled(app.db, name, False, reason=reason, **_acting(app))
    echo(N_("account %(name)s enabled (create new tokens for it: the old ones stay revoked)", name=name))


@main.group("tokens")
def tokens_group() -> None:
    """API tokens: create (shown once), list, revoke."""


@tokens_group.command("create")
@click.argument("account")
@click.option("--label", required=True, help="What the token is for (shown in `tokens list`).")
@reason_option
@click.pass_obj
def tokens_create(app: App, account: str, label: str, reason: str | None) -> None:
    """Create an API token for ACCOUNT; it is printed once, only its hash is kept.

    The token records who created it (this process's principal), and the admin chain the act.

    \b
    Example:
      labelwf tokens create marie.dupont --label "script de relance"
    """
    token_id, token = accounts.create_token(app.db, account, label, reason=reason, **_acting(app))
    click.echo(token)
    echo(
        N_(
            "token %(id)s for %(account)s: shown once, keep it secret (Authorization: Bearer …)",
            id=token_id,
            account=account,
        ),
        err=True,
    )


@tokens_group.command("list")
@click.option("--account", help="Only this account's tokens.")
@json_option
@click.pass_obj
def tokens_list(app: App, account: str | None, as_json: bool) -> None:
    """List the tokens (never their secret)."""
    found = accounts.tokens(app.db, account)
    if as_json:
        return app.emit_json(found)
    out = table(f"{len(found)} jeton(s)", "n°", "compte", "libellé", "créé le", "créé par", "révoqué le")
    for t in found:
        created, revoked = app.local(t["created_at"]), app.local(t["revoked_at"])
        row(out, t["id"], t["account"], t["label"], created, t["created_by"] or "(non enregistré)", revoked)
    app.print_rows(out, "`labelwf tokens create ACCOUNT --label WHAT`")
    return None


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@reason_option
@click.pass_obj
def tokens_revoke(app: App, token_id: int, reason: str | None) -> None:
    """Revoke token TOKEN_ID for good (the admin chain records who revoked it)."""
    accounts.revoke_token(app.db, token_id, reason=reason, **_acting(app))
    echo(N_("token %(id)s revoked", id=token_id))
