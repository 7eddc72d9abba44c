"""An account is created with the e-mail and telephone its decisions' letters give (« Affaire suivie par »):
``users add --email --telephone`` and the admin console's form, checked as ``users contact`` checks them."""

from __future__ import annotations

import html

from click.testing import CliRunner

from labelwf import Runtime, accounts
from labelwf.cli import main
from tests.conftest import CONFIG_FILE
from tests.helpers import refused_form
from tests.test_operations import console, runtime  # noqa: F401 (the console's fixture)


def test_users_add_takes_the_email_and_telephone_and_refuses_a_bad_telephone_saying_what_is_right(
    runtime: Runtime,  # noqa: F811
) -> None:
    base = ["--config", str(CONFIG_FILE), "--db", runtime.settings.database, "users", "add"]
    runner = CliRunner(env={"LABELWF_LOCALE": "fr"})
    # When an account is added with its e-mail and telephone
    args = [*base, "claire", "--role", "operator", "--no-password", "--email", "marie.dupont@finances.gouv.fr"]
    done = runner.invoke(main, [*args, "--telephone", "01 44 87 17 17"])
    assert done.exit_code == 0, done.output
    # Then its letters will give them
    (claire,) = [a for a in accounts.accounts(runtime.db) if a.name == "claire"]
    assert (claire.email, claire.telephone) == ("marie.dupont@finances.gouv.fr", "01 44 87 17 17")
    # And a telephone that is no number, or an e-mail that is not one, is refused in French, nothing added
    for option, value in (("--telephone", "demain"), ("--email", "luc at finances")):
        refused = runner.invoke(main, [*base, "luc", "--role", "viewer", "--no-password", option, value])
        assert refused.exit_code == 2 and value in refused.stderr, refused.output
        assert "refusé" in refused.stderr.casefold() or "attendu" in refused.stderr
        assert "01 44 87 17 17" in refused.stderr or "@" in refused.stderr  # what would be right
    assert "luc" not in [a.name for a in accounts.accounts(runtime.db)]
    # And an empty value is none, as users contact reads it
    empty = runner.invoke(main, [*base, "hugo", "--role", "viewer", "--no-password", "--email", "", "--telephone", ""])
    assert empty.exit_code == 0, empty.output
    (hugo,) = [a for a in accounts.accounts(runtime.db) if a.name == "hugo"]
    assert (hugo.email, hugo.telephone) == (None, None)


def test_the_admin_console_creates_an_account_with_its_email_and_telephone(runtime: Runtime) -> None:  # noqa: F811
    client, csrf = console(runtime, "root")
    page = html.unescape(client.get("/console/admin").text)
    assert '<label class="fr-label" for="add-telephone">Téléphone' in page and 'type="tel"' in page
    # When an admin creates an account with its e-mail and telephone
    form = {
        "csrf": csrf,
        "name": "luc",
        "roles": ["operator"],
        "display_name": "Luc Durand",
        "email": "luc.durand@finances.gouv.fr",
        "telephone": "+33 1 44 87 17 17",
    }
    assert client.post("/console/admin/add", data=form).status_code == 303
    # Then the account has them, and the page lists them
    (luc,) = [a for a in accounts.accounts(runtime.db) if a.name == "luc"]
    assert (luc.email, luc.telephone) == ("luc.durand@finances.gouv.fr", "+33 1 44 87 17 17")
    listed = html.unescape(client.get("/console/admin").text)
    assert "<td>+33 1 44 87 17 17</td>" in listed and "Compte luc créé." in listed
    # And a bad telephone is refused in French on the page, what was typed kept, nothing created
    bad = form | {"name": "ana", "telephone": "demain"}
    refused = html.unescape(refused_form(client, client.post("/console/admin/add", data=bad), "/console/admin").text)
    assert "Refusé" in refused and "« demain »" in refused and "01 44 87 17 17" in refused
    assert 'value="ana"' in refused and 'value="demain"' in refused
    assert "ana" not in [a.name for a in accounts.accounts(runtime.db)]
