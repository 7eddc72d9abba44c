"""The admin page lists and chooses accounts' roles by their French words (engine.wording.ROLES), the
ids only as the checkboxes' values."""

from __future__ import annotations

import html

from labelwf import Runtime, accounts
from tests.helpers import refused_form
from tests.test_operations import console, runtime  # noqa: F401 (the console's fixture)


def test_an_admin_reads_and_chooses_roles_by_their_french_words(runtime: Runtime) -> None:  # noqa: F811
    # Given an admin on the accounts' page
    client, csrf = console(runtime, "root")
    page = html.unescape(client.get("/console/admin").text)
    # Then each account's roles are said in French, and offered as checkboxes with the ids as values
    assert "<td>administrateur</td>" in page and "<td>agent</td>" in page
    assert '<input type="checkbox" id="add-roles-operator" name="roles" value="operator"> ' in page
    assert '<label for="add-roles-operator">Agent</label>' in page and "Rôles (viewer" not in page
    # When it creates an account with two roles ticked, then changes them
    form = {"csrf": csrf, "name": "luc", "roles": ["viewer", "operator"]}
    assert client.post("/console/admin/add", data=form).status_code == 303
    assert {a.name: set(a.roles) for a in accounts.accounts(runtime.db)}["luc"] == {"viewer", "operator"}
    changed = client.post(
        "/console/admin/roles", data={"csrf": csrf, "name": "luc", "roles": ["supervisor"], "reason": "chef"}
    )
    # Then the roles are recorded by id and the outcome said in French
    assert changed.status_code == 303
    assert "Rôles de luc : superviseur" in html.unescape(client.get("/console/admin").text)
    assert {a.name: a.roles for a in accounts.accounts(runtime.db)}["luc"] == ("supervisor",)
    # And no role ticked is refused in French, on the page
    none = client.post("/console/admin/roles", data={"csrf": csrf, "name": "luc", "reason": "r"})
    assert refused_form(client, none, "/console/admin").status_code == 200
