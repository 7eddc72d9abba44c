"""``users contact``: what the letters of an account's decisions say of its person (« Affaire suivie par »).

A decision taken in the console or through the API names its account's person in its letters:
display name, e-mail and telephone, as they read when it is taken. This command changes them
for the decisions to come; the letters already written keep what they said. The change is an
act of the admin chain, as every change to an account.
"""

from __future__ import annotations

import click

from .. import accounts
from .base import App
from .service import _acting, reason_option, users_group


@users_group.command("contact")
@click.argument("name")
@click.option("--display-name", help="The person's first name and name, as the console and the letters show them.")
@click.option("--email", help="The e-mail the letters of its decisions give ('' for none).")
@click.option("--telephone", help="The telephone the letters of its decisions give ('' for none).")
@reason_option
@click.pass_obj
def users_contact(
    app: App, name: str, display_name: str | None, email: str | None, telephone: str | None, reason: str | None
) -> None:
    """Change what the letters of account NAME's decisions say of its person (« Affaire suivie par »).

    Letters already written keep what they said.

    \b
    Example:
      labelwf users contact marie.dupont --display-name "Marie Dupont" --telephone "01 44 87 17 17"
    """
    account = accounts.set_contact(
        app.db, name, display_name=display_name, email=email, telephone=telephone, reason=reason, **_acting(app)
    )
    click.echo(f"{name} : " + " — ".join(v for v in (account.display_name, account.email, account.telephone) if v))
