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


def test_an_admin_binds_a_new_signatory_to_a_post_of_the_directory(runtime: Runtime) -> None:  # noqa: F811
    # Given an admin on the accounts' page: the posts of the directory are offered, and the default post
    client, csrf = console(runtime, "root")
    page = html.unescape(client.get("/console/admin").text)
    assert '<label class="fr-label" for="add-post">Poste de signature' in page
    offered = page.split('id="add-post"', 1)[1].split("</select>", 1)[0]
    assert '<option value="">Aucun (pas un compte signataire)</option>' in offered
    # offered by the title their signatory signs with, the keys as values
    datar = "Le délégué interministériel à l'aménagement du territoire et à l'attractivité régionale"
    assert f'<option value="datar">{datar}</option>' in offered
    assert '<option value="region">Le président du conseil régional</option>' in offered
    assert '<option value="service">Le service (quand l\'annuaire ne nomme aucun poste)</option>' in offered
    assert '<th scope="col">Poste de signature</th>' in page
    # When it creates a signatory of the DATAR
    form = {"csrf": csrf, "name": "jeanne", "display_name": "Jeanne Martin", "roles": ["signatory"], "post": "datar"}
    assert client.post("/console/admin/add", data=form).status_code == 303
    # Then the account is bound to the post, which the accounts' table shows
    assert {a.name: a.post for a in accounts.accounts(runtime.db)}["jeanne"] == "datar"
    assert f"<td>jeanne</td><td>Jeanne Martin</td><td>signataire</td><td></td><td>{datar}</td>" in html.unescape(
        client.get("/console/admin").text
    )


def test_a_signatory_without_a_post_or_a_post_without_the_role_is_refused_in_french(
    runtime: Runtime,  # noqa: F811
) -> None:
    client, csrf = console(runtime, "root")
    # When a signatory is added with no post chosen
    alone = {"csrf": csrf, "name": "jeanne", "roles": ["signatory"], "post": ""}
    said = html.unescape(refused_form(client, client.post("/console/admin/add", data=alone), "/console/admin").text)
    # Then it is refused in French, saying what is expected, and the form is refilled
    assert "Refusé : Poste «  » refusé : attendu un poste pour un compte signataire" in said
    assert 'id="add-name" name="name" required maxlength="64" value="jeanne"' in said
    assert 'id="add-roles-signatory" name="roles" value="signatory" checked' in said
    # And a post chosen for an account that is no signatory is refused too, the post chosen again
    agent = {"csrf": csrf, "name": "luc", "roles": ["operator"], "post": "diact"}
    said = html.unescape(refused_form(client, client.post("/console/admin/add", data=agent), "/console/admin").text)
    assert "Refusé : Poste « diact » refusé : attendu un poste pour un compte signataire" in said
    assert '<option value="diact" selected>Le délégué interministériel' in said
    assert {a.name for a in accounts.accounts(runtime.db)}.isdisjoint({"jeanne", "luc"})


def test_a_post_the_form_does_not_offer_is_refused_listing_the_known_posts(runtime: Runtime) -> None:  # noqa: F811
    client, csrf = console(runtime, "root")
    # When a form is forged with a post that is no post of the directory
    forged = {"csrf": csrf, "name": "signataire.x", "roles": ["signatory"], "post": "nimportequoi"}
    said = html.unescape(refused_form(client, client.post("/console/admin/add", data=forged), "/console/admin").text)
    # Then it is refused in French, listing the posts a signatory may be bound to, and no account is made
    assert (
        "Refusé : Poste « nimportequoi » refusé : attendu un poste de l'annuaire (diact, datar, cget, anct, dge, "
        "dgcis, region, premier-ministre) ou le poste par défaut « service »"
    ) in said
    assert "signataire.x" not in {a.name for a in accounts.accounts(runtime.db)}
    # And the default post is one of them
    default = {"csrf": csrf, "name": "signataire.service", "roles": ["signatory"], "post": "service"}
    assert client.post("/console/admin/add", data=default).status_code == 303
    assert {a.name: a.post for a in accounts.accounts(runtime.db)}["signataire.service"] == "service"
