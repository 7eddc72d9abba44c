"""axe-core (pinned, vendored in tests/vendor) finds no violation on a page of every console route,
as each role, at 1280 and 390 px wide, in the State's theme, and on the home and instance pages in
the neutral one; and no page scrolls sideways on a 390 px phone."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from labelwf import Runtime
from labelwf.engine import queries
from labelwf.store import schema
from tests.conftest import ROOT
from tests.console_campaign import PASSWORD, ROLES, campaign, served

AXE = ROOT / "tests" / "vendor" / "axe-core-4.14.1.min.js"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTHS = (1280, 390)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="no Chromium here (apt-get install chromium; CI has it)"
)


def routes(runtime: Runtime, role: str) -> list[str]:
    """A page of every console route this role may open (its links in the layout), ids from the campaign."""
    letter = queries.describe(runtime.engine, "vegepolys").letters[0].id
    with runtime.db.read() as conn:
        plan = conn.execute(sa.select(sa.func.min(schema.batch.c.id))).scalar()
    pole = ["/console/instances/vegepolys", f"/console/letters/{letter}"]
    if role == "stakeholder":
        return ["/console", *pole]
    pages = ["/console", "/console/instances", "/console/instances?q=vege", "/console/deadlines", *pole]
    pages.append("/console/instances/nulle-part")  # the French page of what does not exist
    if role in ("operator", "supervisor", "admin"):
        pages.append("/console/failures")
    if role in ("supervisor", "admin"):
        pages += ["/console/plans", "/console/plans/new", "/console/audit"]
        pages += [f"/console/plans/{plan}"] if plan is not None else []
    if role == "admin":
        pages.append("/console/admin")
    return pages


@pytest.fixture(scope="module", params=["dsfr", "neutral"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, str]]:
    runtime = campaign(tmp_path_factory.mktemp(request.param), request.param)
    with served(runtime) as base:
        yield runtime, base
    runtime.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "CI installs Debian's chromium"
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def violations(page: Any) -> list[str]:
    """axe-core's violations on the page as it is, one line each (rule, impact, where)."""
    page.add_script_tag(path=str(AXE))  # inline: the context bypasses the CSP (test_console_theme keeps it)
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [f"{v['id']} ({v['impact']}): {json.dumps([n['target'] for n in v['nodes']][:3])}" for v in found]


@pytest.mark.parametrize("name", list(ROLES))
def test_every_page_of_a_role_has_no_axe_violation_and_no_sideways_scroll(
    site: tuple[Runtime, str], browser: Any, name: str
) -> None:
    runtime, base = site
    theme = runtime.settings.console_theme
    # Given a signed-in account of this role (the login page is checked on the way)
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{base}/console/login")
    found = {f"/console/login @{WIDTHS[0]}": violations(page)}
    page.get_by_label("Identifiant").fill(name)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state("networkidle")
    pages = routes(runtime, ROLES[name])
    if theme != "dsfr":  # the neutral theme: its home and instance pages
        pages = [p for p in pages if p in ("/console", "/console/instances/vegepolys")]
    wide: dict[str, int] = {}
    for path in pages:
        for width in WIDTHS:
            # When the page is read at this width
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            found[f"{path} @{width}"] = violations(page)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                wide[f"{path} @{width}"] = scroll
    # Then axe finds nothing and nothing scrolls sideways
    assert {k: v for k, v in found.items() if v} == {}
    assert wide == {}
    context.close()
