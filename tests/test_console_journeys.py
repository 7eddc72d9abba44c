"""Issue 26's journeys in a real Chromium, on the replayed 2008-2010 campaign: an operator finds
Végépolys by typing « vege » and decides with a French date; a stakeholder reaches nothing of another
pole; an admin cannot lock themselves out; and a reload after every form of the console sends
nothing (Post/Redirect/Get: each reload is a GET, and nothing is written again).

The supervisor's journey (preview, confirm, execute, watch the progress to « Exécution terminée »)
is ``test_console.py::test_a_supervisor_plans_a_bulk_decision_sees_the_frozen_list_and_executes_it``;
here its forms are reloaded. One replay and one browser for the module; each test acts on its own
poles. No sleep: Playwright waits for what it looks for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from labelwf import Runtime
from labelwf.engine import queries
from labelwf.store import schema
from tests.console_campaign import PASSWORD, campaign, served
from tests.test_console import CHROMIUM

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not __import__("os").environ.get("CI"),
    reason="no Chromium here (apt-get install chromium; CI has it)",
)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    replayed = campaign(tmp_path_factory.mktemp("journeys"), "dsfr")
    yield replayed
    replayed.close()


@pytest.fixture(scope="module")
def base(runtime: Runtime) -> Iterator[str]:
    with served(runtime) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "CI installs Debian's chromium"
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def sign_in(browser: Any, base: str, name: str, *, script: bool = True) -> Any:
    context = browser.new_context(java_script_enabled=script)
    page = context.new_page()
    page.goto(f"{base}/console")
    page.get_by_label("Identifiant").fill(name)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    return page


def counts(runtime: Runtime) -> dict[str, int]:
    """What a form may write: events, accounts, tokens, plans (and the admin acts)."""
    with runtime.db.read() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in (schema.event, schema.account, schema.api_token, schema.batch, schema.admin_event)
        }


def reloaded(page: Any, runtime: Runtime) -> None:
    """Reload the page the form led to: Chromium asks nothing and sends a GET, and nothing is written."""
    before, url = counts(runtime), page.url
    sent: list[tuple[str, str, str]] = []

    def seen(request: Any) -> None:
        sent.append((request.method, request.url, request.resource_type))

    page.on("request", seen)
    page.reload()
    page.wait_for_load_state()
    page.remove_listener("request", seen)
    assert [(m, u) for m, u, kind in sent if kind == "document"] == [("GET", url)], sent  # the page, once
    assert all(method == "GET" for method, _, _ in sent), sent
    assert counts(runtime) == before


def offered(runtime: Runtime, trigger: str) -> str:
    """A pole of the campaign on which ``trigger`` may be decided now, not used by another test."""
    for row in queries.list_instances(runtime.engine, limit=500).items:
        entity = row.entity.id
        if entity in TAKEN or entity == "vegepolys":
            continue
        if any(a.trigger == trigger for a in queries.describe(runtime.engine, entity).allowed):
            TAKEN.add(entity)
            return entity
    raise AssertionError(f"no pole of the campaign may take {trigger} now")


TAKEN: set[str] = set()


def test_an_operator_finds_vegepolys_by_typing_vege_and_decides_with_a_french_date(
    runtime: Runtime, base: str, browser: Any
) -> None:
    page = sign_in(browser, base, "marie")
    page.get_by_role("link", name="Dossiers", exact=True).click()
    page.get_by_label("Rechercher un pôle").fill("vege")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="Végépolys").first.click()
    page.get_by_text("Décisions possibles").wait_for()
    form = page.locator("form.fire").filter(has_text="Examen insatisfaisant")
    form.locator("#review_unsatisfactory-effective_date").fill("01/01/2011")
    form.locator("#review_unsatisfactory-motif").fill("Les axes d'amélioration n'ont pas été suivis.")
    form.get_by_label("Motif (obligatoire)").fill("Examen à 18 mois")
    form.get_by_role("button").click()
    page.get_by_text("Décision enregistrée").wait_for()
    state = runtime.engine.workflow().state_label("funding_revised")
    assert page.locator("#state").inner_text() == state
    history = page.locator("ol.history").inner_text()
    assert "Examen à 18 mois" in history and "funding_revised" not in history
    letter = page.locator("ul.letters a").filter(has_text=re.compile("xamen", re.I)).first
    letter.click()
    page.frame_locator("iframe.letter").get_by_text("Végépolys").first.wait_for()


def test_a_stakeholder_reaches_nothing_of_another_pole(base: str, browser: Any) -> None:
    page = sign_in(browser, base, "gouv-vegepolys")
    page.get_by_text("Historique").wait_for()
    for path in (
        "/console/instances/enfant",
        "/console/instances/enfant/letters.zip",
        "/console/instances/enfant?as_of=2009-01-01",
        "/console/letters/1",
        "/console/letters/1/pdf",
        "/console/deadlines",
        "/console/plans",
        "/console/admin",
    ):
        answer = page.goto(f"{base}{path}")
        assert answer.status in (403, 404), path
        assert "text/html" in answer.headers["content-type"], path
        assert "Enfant" not in page.locator("main").inner_text(), path
        assert page.locator("html").get_attribute("lang") == "fr"


def test_an_admin_cannot_lock_themselves_out(runtime: Runtime, base: str, browser: Any) -> None:
    page = sign_in(browser, base, "root")
    page.goto(f"{base}/console/admin")
    own = page.locator("tr").filter(has=page.get_by_role("cell", name="root", exact=True))
    assert own.get_by_role("button", name=re.compile("Désactiver")).count() == 0
    assert "un autre administrateur seul peut le désactiver" in own.inner_text()
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    before = counts(runtime)
    forged = page.request.post(
        f"{base}/console/admin/disable", form={"csrf": csrf, "name": "root", "confirm": "oui"}, max_redirects=0
    )
    assert forged.status == 303
    page.goto(f"{base}{forged.headers['location']}")
    assert "Vous ne pouvez pas désactiver votre propre compte" in page.locator("main").inner_text()
    assert counts(runtime) == before
    page.goto(f"{base}/console/admin")
    page.get_by_role("heading", name="Comptes et jetons").wait_for()  # still signed in, still admin


def test_reloading_after_each_form_of_an_instance_sends_nothing(runtime: Runtime, base: str, browser: Any) -> None:
    page = sign_in(browser, base, "marie", script=False)  # without htmx: each form posts and is redirected
    entity = offered(runtime, "review_satisfactory")  # a pole in its 18-month review
    page.goto(f"{base}/console/instances/{entity}")
    decision = page.locator("form.fire").filter(has_text="Examen satisfaisant")
    decision.get_by_label("Motif (obligatoire)").fill("Examen à 18 mois")
    decision.get_by_role("button").click()
    page.get_by_text("Décision enregistrée").wait_for()
    reloaded(page, runtime)
    assert page.get_by_text("Décision enregistrée").count() == 0  # said once
    moving = offered(runtime, "review_satisfactory")  # a pole in its review: its contract's end is pending
    page.goto(f"{base}/console/instances/{moving}")
    move = page.locator("form.move").first
    move.locator("input[name=to]").fill("01/06/2013")
    move.locator("input[name=reason]").fill("Phase 2 prolongée")
    move.get_by_role("button", name="Déplacer").click()
    page.get_by_text("déplacée").first.wait_for()
    reloaded(page, runtime)
    page.get_by_text("Enregistrer un changement").click()
    version = page.locator("form.version")
    version.locator("#version-from").fill("01/11/2010")
    version.locator("#version-region").fill("Pays de la Loire")
    version.locator("#version-reason").fill("Nouvelle région")
    version.get_by_role("button").click()
    page.get_by_text("Nouvelle version enregistrée").wait_for()
    reloaded(page, runtime)
    # A refused form is redirected too: a reload sends nothing
    page.locator("form.move").first.locator("input[name=to]").fill("demain")
    page.locator("form.move").first.locator("input[name=reason]").fill("x")
    page.locator("form.move").first.get_by_role("button", name="Déplacer").click()
    page.get_by_text("n'est pas une date lisible").wait_for()
    reloaded(page, runtime)


def test_reloading_after_each_admin_form_sends_nothing(runtime: Runtime, base: str, browser: Any) -> None:
    page = sign_in(browser, base, "root")
    page.goto(f"{base}/console/admin")
    page.get_by_label("Identifiant").fill("luc")
    page.get_by_role("group", name="Rôles du nouveau compte").get_by_label("Lecteur").check()
    page.get_by_role("button", name="Créer le compte").click()
    page.get_by_text("Compte luc créé").wait_for()
    reloaded(page, runtime)
    row = page.locator("tr").filter(has=page.get_by_role("cell", name="luc", exact=True))
    row.get_by_role("button", name=re.compile("jeton", re.I)).click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("lwf_")
    reloaded(page, runtime)
    assert page.locator("#new-token").count() == 0 and token not in page.content()  # shown once
    page.locator("form[action='/console/admin/revoke'] button").first.click()
    page.get_by_role("button", name="Confirmer").click()
    page.get_by_text("révoqué").first.wait_for()
    reloaded(page, runtime)
    row = page.locator("tr").filter(has=page.get_by_role("cell", name="luc", exact=True))
    roles = page.get_by_role("group", name="Rôles de luc")
    roles.get_by_label("Lecteur").uncheck()
    roles.get_by_label("Agent").check()
    row.get_by_role("button", name=re.compile("rôles", re.I)).click()
    page.get_by_text("Rôles de luc :").wait_for()
    reloaded(page, runtime)
    row = page.locator("tr").filter(has=page.get_by_role("cell", name="luc", exact=True))
    row.get_by_role("button", name=re.compile("Désactiver")).click()
    page.get_by_role("button", name="Confirmer").click()
    page.get_by_text("Compte luc désactivé").wait_for()
    reloaded(page, runtime)
    row = page.locator("tr").filter(has=page.get_by_role("cell", name="luc", exact=True))
    row.get_by_role("button", name=re.compile("Réactiver")).click()
    page.get_by_text("Compte luc réactivé").wait_for()
    reloaded(page, runtime)


def test_reloading_after_each_plan_form_sends_nothing(runtime: Runtime, base: str, browser: Any) -> None:
    page = sign_in(browser, base, "sophie")
    entities = [offered(runtime, "review_satisfactory") for _ in range(2)]
    for run in (True, False):  # one plan executed, one cancelled
        page.goto(f"{base}/console/plans/new")
        page.get_by_label("Pôles (un identifiant par ligne)").fill(entities.pop())
        page.get_by_label("Déclencheur").select_option("review_satisfactory")
        page.get_by_label("Référence de la décision").fill("CIADT du 11 mai 2010")
        page.get_by_label("Motif").fill("Examen à 18 mois")
        page.get_by_role("button", name="Préparer le plan").click()
        page.get_by_text("Rien n'a encore été exécuté").wait_for()
        reloaded(page, runtime)
        if run:
            page.get_by_role("button", name="Exécuter").click()
            page.get_by_role("button", name="Confirmer").click()
            page.get_by_text("Exécution terminée").wait_for()
        else:
            page.get_by_role("button", name=re.compile("Annuler")).click()
            page.get_by_text("Plan annulé").wait_for()
        reloaded(page, runtime)
