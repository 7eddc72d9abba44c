"""The console in a real Chromium: sign in, find a pole, fire with a reason and see the new state
without reloading, the conflict of a stale page, a letter and its PDF, a viewer and a stakeholder,
a supervisor's bulk decision planned, previewed and executed.

Runs the service in a thread on a socket bound before it starts (no waiting), against Debian's
Chromium driven by Playwright. Screenshots of the main pages go to ``test-artifacts/console``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from labelwf import FrozenClock, Runtime, import_entities, load_settings
from labelwf.accounts import add_account
from labelwf.service import create_app
from tests.conftest import CONFIG_FILE, POLES_CSV, ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = ROOT / "test-artifacts" / "console"
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="no Chromium here (apt-get install chromium; CI has it)"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    clock = FrozenClock(datetime(2008, 6, 18, 12, tzinfo=UTC))
    runtime = Runtime(
        load_settings(CONFIG_FILE, overrides={"database": f"sqlite:///{tmp_path}/console.db"}), clock=clock
    )
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    for name, roles, entity in (
        ("marie", ["operator"], None),
        ("paul", ["viewer"], None),
        ("sophie", ["supervisor"], None),
        ("root", ["admin"], None),
        ("gouv-enfant", ["stakeholder"], "enfant"),
    ):
        add_account(
            runtime.db, name, roles, now=clock.now(), author="tests", key=None, password=PASSWORD, entity=entity
        )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    service = uvicorn.Server(uvicorn.Config(create_app(runtime), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=service.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    service.should_exit = True
    thread.join(timeout=30)
    sock.close()
    runtime.close()


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "CI installs Debian's chromium"
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def sign_in(browser: object, base: str, name: str) -> object:
    page = browser.new_context(accept_downloads=True).new_page()  # type: ignore[attr-defined]
    page.goto(f"{base}/console")
    page.get_by_label("Identifiant").fill(name)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    return page


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_an_operator_finds_a_pole_fires_and_meets_a_stale_page(server: str, browser: object) -> None:
    page = sign_in(browser, server, "marie")
    page.get_by_role("heading", name="Tableau de bord").wait_for()  # the home page: the portfolio
    page.get_by_role("link", name="Dossiers", exact=True).click()
    page.get_by_role("heading", name="Dossiers").wait_for()
    shot(page, "list")
    page.get_by_label("État").select_option("evaluated")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="Enfant", exact=True).click()
    page.get_by_text("Décisions possibles").wait_for()
    stale = page.context.new_page()
    stale.goto(page.url)  # the same pole in a second tab, before the decision
    form = page.locator("form.fire").filter(has_text="Classement →")
    form.get_by_label("Groupe attribué").select_option("3")
    form.get_by_label("Motif").fill("Rapport d'évaluation du 18 juin 2008")
    url = page.url
    form.get_by_role("button").click()
    page.get_by_text("Décision enregistrée").wait_for()
    assert page.locator("#state").inner_text() == "Groupe 3" and page.url == url  # swapped in place, in words
    offered = page.locator("form.fire legend").all_inner_texts()
    # not end_label_term, the daemon's
    assert offered == [
        "Classement de l'évaluation de la phase 2 → Phase 2 évaluée",
        "Ouverture de la nouvelle évaluation → Nouvelle évaluation en cours",
    ]
    assert "Rapport d'évaluation du 18 juin 2008" in page.locator("ol.history").inner_text()
    shot(page, "instance")
    old = stale.locator("form.fire").filter(has_text="Classement →")
    old.get_by_label("Groupe attribué").select_option("3")  # a required choice starts empty
    old.get_by_label("Motif").fill("Autre avis")
    old.get_by_role("button").click()
    stale.get_by_text("modifié par quelqu").wait_for()
    assert stale.locator("#state").inner_text() == "Groupe 3"  # and the current state is shown


def test_a_letter_is_shown_and_its_pdf_downloaded(server: str, browser: object) -> None:
    page = sign_in(browser, server, "marie")
    page.goto(f"{server}/console/instances/enfant")
    form = page.locator("form.fire").filter(has_text="Classement →")
    form.get_by_label("Groupe attribué").select_option("3")
    form.get_by_label("Motif").fill("Rapport")
    form.get_by_role("button").click()
    page.get_by_text("Décision enregistrée").wait_for()
    page.get_by_role("link", name="maintien du label").first.click()
    page.frame_locator("iframe.letter").get_by_text("Enfant").first.wait_for()
    shot(page, "letter")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le PDF").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")


def test_a_viewer_is_offered_no_decision_and_is_refused_if_it_posts_anyway(server: str, browser: object) -> None:
    page = sign_in(browser, server, "paul")
    page.goto(f"{server}/console/instances/enfant")
    page.get_by_text("Historique").wait_for()
    assert page.locator("form.fire").count() == 0
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        f"{server}/console/instances/enfant/fire",
        form={"csrf": csrf, "version": "0", "trigger": "classify", "field_group": "3", "reason": "x"},
    )
    assert answer.status == 403 and "Vous ne pouvez pas décider" in answer.text()


def test_a_stakeholder_sees_only_its_pole(server: str, browser: object) -> None:
    page = sign_in(browser, server, "gouv-enfant")
    page.get_by_text("Historique").wait_for()
    assert page.url.endswith("/console/instances/enfant")
    shot(page, "stakeholder")
    other = page.request.get(f"{server}/console/instances/mta")
    assert other.status == 404
    assert page.request.get(f"{server}/console/deadlines").status == 404


def test_an_admin_sees_the_diagram_failures_audit_and_accounts_screens(server: str, browser: object) -> None:
    page = sign_in(browser, server, "root")
    page.get_by_role("heading", name="Tableau de bord").wait_for()  # the home page: the portfolio
    page.get_by_role("link", name="Dossiers", exact=True).click()
    page.get_by_role("heading", name="Dossiers").wait_for()
    page.goto(f"{server}/console/instances/enfant")
    page.get_by_text("Schéma du parcours").click()  # a <details>: opens without JavaScript
    diagram = page.locator("details.diagram svg")
    diagram.wait_for()
    assert diagram.locator('[aria-current="true"]').count() == 1
    shot(page, "diagram")
    page.get_by_role("link", name="Incidents").click()
    page.get_by_role("heading", name="Ce qui attend une personne").wait_for()
    shot(page, "failures")
    page.get_by_role("link", name="Audit").click()
    page.get_by_role("button", name="Vérifier toutes les chaînes").click()
    page.get_by_text("Intègre").wait_for()
    shot(page, "audit")
    page.get_by_role("link", name="Comptes").click()
    page.get_by_label("Identifiant").fill("luc")
    page.get_by_role("group", name="Rôles du nouveau compte").get_by_label("Lecteur").check()
    page.get_by_role("button", name="Créer le compte").click()
    page.get_by_text("Compte luc créé").wait_for()
    shot(page, "accounts")


def test_a_supervisor_plans_a_bulk_decision_sees_the_frozen_list_and_executes_it(server: str, browser: object) -> None:
    page = sign_in(browser, server, "sophie")
    page.get_by_role("heading", name="Tableau de bord").wait_for()  # the home page: the portfolio
    page.get_by_role("link", name="Dossiers", exact=True).click()
    page.get_by_role("heading", name="Dossiers").wait_for()
    page.get_by_role("link", name="Plans", exact=True).click()
    page.get_by_role("heading", name="Plans", exact=True).wait_for()
    page.get_by_role("link", name="Nouvelle décision groupée").click()
    page.get_by_label("Pôles (un identifiant par ligne)").fill("mta\nenfant\natlantis")
    page.get_by_label("Déclencheur").select_option("classify")
    page.get_by_label("Champs (nom=valeur, un par ligne)").fill("group=1")
    page.get_by_label("Référence de la décision").fill("Décision du 30 juin 2008")
    page.get_by_label("Motif").fill("Classement de l'évaluation 2008")
    page.get_by_role("button", name="Préparer le plan").click()
    page.get_by_text("Rien n'a encore été exécuté").wait_for()  # planned: the frozen list, nothing fired
    rows = page.locator("table.items tbody tr")
    assert rows.count() == 3
    assert "evaluated → group_1" in rows.nth(0).inner_text()
    assert "no such entity" in rows.nth(2).inner_text()
    assert page.locator("#plan-counts").inner_text() == "à exécuter : 2 · refusé : 1"
    shot(page, "plan")
    page.get_by_role("button", name="Exécuter").click()
    page.get_by_text("Exécuter le plan n°").first.wait_for()  # a confirmation first
    page.get_by_role("button", name="Confirmer").click()
    page.get_by_text("Exécution terminée").wait_for()
    assert page.locator("#plan-counts").inner_text() == "fait : 2 · refusé : 1"
    assert "fait" in rows.nth(0).inner_text() and "→ group_1" in rows.nth(1).inner_text()
    assert page.get_by_role("button", name="Exécuter").count() == 0  # finished: nothing more to run
    shot(page, "plan-done")
    page.get_by_role("link", name="mta", exact=True).click()
    page.get_by_text("Historique").wait_for()
    assert page.locator("#state").inner_text() == "Groupe 1"
