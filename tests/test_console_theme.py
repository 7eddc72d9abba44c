"""The console's look: the DSFR (vendored, pinned, served by labelwf) for the shipped State programme,
a neutral stylesheet for the others, chosen in configuration; in a browser every file it asks for
under /console/static answers, a skip link leads to the content, and after a decision taken in place
the focus is on its result."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from labelwf import ConfigError, Runtime, load_settings
from labelwf.service.pages import CONSOLE_CSP
from tests.conftest import CONFIG_FILE, ROOT
from tests.console_campaign import PASSWORD, campaign, served, signed_in

STATIC = ROOT / "labelwf" / "service" / "static"
DSFR = STATIC / "dsfr"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
browser_only = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="no Chromium here (apt-get install chromium; CI has it)"
)


@pytest.fixture(scope="module", params=["dsfr", "neutral"])
def themed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    runtime = campaign(tmp_path_factory.mktemp(request.param), request.param)
    yield runtime
    runtime.close()


def test_the_shipped_configurations_dress_the_console_as_the_state_and_others_default_to_neutral() -> None:
    assert load_settings(CONFIG_FILE, env={}).console_theme == "dsfr"
    assert load_settings(ROOT / "programme.yaml", env={}).console_theme == "dsfr"
    assert load_settings(CONFIG_FILE, env={"LABELWF_CONSOLE_THEME": "Neutral"}).console_theme == "neutral"
    with pytest.raises(ConfigError, match=r"console_theme = 'marianne' is invalid: expected dsfr .* or neutral"):
        load_settings(CONFIG_FILE, env={"LABELWF_CONSOLE_THEME": "marianne"})


def test_the_vendored_dsfr_is_pinned_and_every_file_its_css_points_to_is_shipped() -> None:
    version = (DSFR / "VERSION").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"1\.\d+\.\d+", version)
    css = (DSFR / "dsfr.min.css").read_text(encoding="utf-8")
    assert f"DSFR v{version} " in css[:300] and f"**{version}**" in (DSFR / "README.md").read_text(encoding="utf-8")
    referenced = {u.strip("'\"") for u in re.findall(r"url\(([^)]+)\)", css) if not u.strip("'\"").startswith("data:")}
    # a browser that reads woff2 (every one the console supports) never asks for the .woff listed after it
    missing = sorted(u for u in referenced if not u.endswith(".woff") and not (DSFR / u).is_file())
    assert len(referenced) > 40 and missing == []
    assert (DSFR / "LICENSE.md").is_file() and (DSFR / "dsfr.module.min.js").is_file()


def test_the_package_data_ships_the_dsfr_subfolders() -> None:
    declared = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for glob in ('"service/static/dsfr/*"', '"service/static/dsfr/*/*"', '"service/static/dsfr/*/*/*"'):
        assert glob in declared
    deepest = max(len(p.relative_to(STATIC).parts) for p in DSFR.rglob("*") if p.is_file())
    assert deepest <= 4  # service/static/dsfr/*/*/* reaches dsfr/icons/system/x.svg


def test_the_console_may_load_its_fonts_and_nothing_from_elsewhere() -> None:
    assert "font-src 'self'" in CONSOLE_CSP and "http" not in CONSOLE_CSP


def test_the_state_theme_shows_the_bloc_marque_and_the_issuing_administration_and_the_neutral_one_does_not(
    themed: Runtime,
) -> None:
    client = signed_in(themed, "marie")
    home = client.get("/console").text
    assert 'href="#main">Aller au contenu</a>' in home and '<main id="main"' in home
    if themed.settings.console_theme == "dsfr":
        assert '<p class="fr-logo">République<br>Française</p>' in home
        # in force on 1 December 2010: the DATAR (décret du 14 décembre 2009)
        assert "Délégation interministérielle à l&#39;aménagement du territoire et à l&#39;attractivité" in home
        assert "/console/static/dsfr/dsfr.min.css" in home and "/console/static/console.css" not in home
    else:
        assert "fr-logo" not in home and "/console/static/dsfr/" not in home and "Délégation" not in home
        assert "/console/static/console.css" in home
    for sheet in re.findall(r'<link rel="stylesheet" href="([^"]+)"', home):
        assert TestClient.get(client, sheet).status_code == 200, sheet


@browser_only
def test_in_a_browser_every_static_file_answers_the_skip_link_leads_to_main_and_a_decision_focuses_its_result(
    themed: Runtime,
) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None
    with served(themed) as base, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 844})
        failed: list[str] = []
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/console/login")
        page.get_by_label("Identifiant").fill("marie")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_role("heading", name="Tableau de bord").wait_for()
        page.wait_for_load_state("networkidle")  # the home page's files all asked for before leaving it
        if themed.settings.console_theme == "dsfr":  # on a phone the menu is behind its button (DSFR's script)
            assert not page.get_by_role("link", name="Dossiers", exact=True).is_visible()
            page.get_by_role("button", name="Menu").click()
            page.get_by_role("link", name="Dossiers", exact=True).wait_for()
        page.goto(f"{base}/console/instances/vegepolys")
        page.wait_for_load_state("networkidle")
        # Given the keyboard: the first Tab reaches the skip link, Enter goes to the content
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        # When a decision is taken in place
        form = page.locator("form.fire").filter(has_text="Examen satisfaisant")
        form.get_by_label("Motif").fill("Examen à 18 mois : axes d'amélioration tenus")
        form.get_by_role("button").click()
        page.get_by_text("Décision enregistrée").wait_for()
        # Then the focus is on its result, and nothing the page asked for failed
        assert "Décision enregistrée" in page.evaluate("document.activeElement.textContent")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        browser.close()
    assert [f for f in failed if "/console/static/" in f] == [] and failed == []
    assert errors == []  # no script refused by the Content-Security-Policy, no 404
