"""Finding a pole in the console: one box for name, former names, id and region (case, accents and
partial words aside), filters, sorts, pages, an empty result said on a normal page, and the list
downloaded as CSV (French Excel's) and XLSX with its cells neutralised; then in Chromium, "vege"
typed in the box opens Végépolys."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from labelwf import FrozenClock, Runtime, import_entities, load_settings
from labelwf.accounts import add_account
from labelwf.operations.entity_versions import change_entity
from labelwf.service import create_app
from tests.conftest import CONFIG_FILE, POLES_CSV
from tests.helpers import OPERATOR
from tests.test_console import CHROMIUM, browser, server, sign_in  # noqa: F401 (fixtures)

PASSWORD = "correct horse battery"


@pytest.fixture
def runtime(database_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    runtime = Runtime(load_settings(CONFIG_FILE, overrides={"database": database_url}), clock=clock)
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    runtime.engine.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    for name, roles, entity in (("marie", ["operator"], None), ("gouv-enfant", ["stakeholder"], "enfant")):
        add_account(
            runtime.db, name, roles, now=clock.now(), author="tests", key=None, password=PASSWORD, entity=entity
        )
    yield runtime
    runtime.close()


def signed(runtime: Runtime, name: str = "marie") -> TestClient:
    client = TestClient(create_app(runtime), base_url="https://testserver", follow_redirects=False)
    login = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text)
    assert login is not None
    answer = client.post("/console/login", data={"csrf": login[1], "name": name, "password": PASSWORD})
    assert answer.status_code == 303
    return client


def names(page: str) -> list[str]:
    """The poles a results page lists, in its order."""
    body = page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""
    return re.findall(r'<tr><td><a href="/console/instances/[^"]+">([^<]+)</a>', body)


@pytest.mark.parametrize("typed", ["vege", "Végépolys", "VEGEPOLYS", "végé"])
def test_every_spelling_finds_vegepolys(runtime: Runtime, typed: str) -> None:
    page = signed(runtime).get("/console/instances", params={"q": typed})
    assert page.status_code == 200 and names(page.text) == ["Végépolys"] and "1 dossier." in page.text


def test_an_id_and_a_region_find_their_poles(runtime: Runtime) -> None:
    client = signed(runtime)
    assert names(client.get("/console/instances", params={"q": "aerospace-valley"}).text) == ["Aerospace Valley"]
    found = names(client.get("/console/instances", params={"q": "bretagne"}).text)
    assert "Images &amp; Réseaux" in found and len(found) == 5


def test_a_former_name_finds_the_renamed_pole(runtime: Runtime) -> None:
    change_entity(runtime.engine, "vegepolys", {"name": "Vegepolys Valley"}, actor="marie", reason="Fusion")
    client = signed(runtime)
    assert names(client.get("/console/instances", params={"q": "végépolys"}).text) == ["Vegepolys Valley"]
    assert names(client.get("/console/instances", params={"q": "valley vege"}).text) == ["Vegepolys Valley"]


def test_no_result_is_a_normal_page_that_says_so(runtime: Runtime) -> None:
    page = signed(runtime).get("/console/instances", params={"q": "zzz introuvable"})
    assert page.status_code == 200 and "Aucun dossier ne correspond" in page.text and "zzz introuvable" in page.text
    assert "<tbody>" not in page.text


def test_filters_sorts_and_pages(runtime: Runtime) -> None:
    client = signed(runtime)
    page = client.get("/console/instances", params={"state": "group_3"})
    assert names(page.text) == ["Enfant"]
    offered = re.findall(r'<option value="(\w+)"', page.text.split('id="state"')[1].split("</select>")[0])
    assert offered == list(runtime.engine.workflow().states)  # the workflow's own, in its order
    regional = names(client.get("/console/instances", params={"region": "Bretagne"}).text)
    assert regional == sorted(regional) and len(regional) >= 1
    ascending = names(client.get("/console/instances", params={"sort": "name"}).text)
    descending = names(client.get("/console/instances", params={"sort": "name", "order": "desc"}).text)
    assert (
        ascending[0] < ascending[-1]
        and descending[0] > descending[-1]
        and "71 dossiers, 1 à 50" in client.get("/console/instances").text.replace("\xa0", " ")
    )
    second = client.get("/console/instances", params={"page": "2"}).text
    assert len(names(second)) == 21 and 'rel="prev"' in second and 'rel="next"' not in second
    bad = client.get("/console/instances", params={"state": "nonsense", "due_before": "31/02/2012"})
    assert bad.status_code == 422 and "« nonsense » inconnu" in bad.text and "« 31/02/2012 »" in bad.text
    assert client.get("/console/instances", params={"due_before": "01/01/2012"}).status_code == 200
    assert client.get("/console/instances", params={"late": "1"}).status_code == 200


def test_a_stakeholder_has_no_list(runtime: Runtime) -> None:
    client = signed(runtime, "gouv-enfant")
    for path in ("/console/instances", "/console/instances.csv", "/console/instances.xlsx"):
        answer = client.get(path, params={"q": "vege"})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/instances/enfant"


def test_csv_and_xlsx_hold_the_same_rows_with_the_filters(runtime: Runtime) -> None:
    client = signed(runtime)
    raw = client.get("/console/instances.csv", params={"q": "bretagne"})
    assert (
        raw.status_code == 200
        and raw.content.startswith(b"\xef\xbb\xbf")
        and "attachment" in raw.headers["content-disposition"]
    )
    rows = list(csv.reader(io.StringIO(raw.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Pôle", "Identifiant", "Programme", "État"] and len(rows) == 6
    book = load_workbook(io.BytesIO(client.get("/console/instances.xlsx", params={"q": "bretagne"}).content))
    sheet = book.active
    assert sheet is not None
    cells = [["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    assert cells == rows


def test_a_formula_in_a_name_is_neutralised(runtime: Runtime) -> None:
    change_entity(runtime.engine, "enfant", {"name": "=cmd|' /C calc'!A0"}, actor="marie", reason="Test")
    client = signed(runtime)
    rows = list(
        csv.reader(io.StringIO(client.get("/console/instances.csv").content.decode("utf-8-sig")), delimiter=";")
    )
    assert ["'=cmd|' /C calc'!A0", "enfant"] in [r[:2] for r in rows]
    sheet = load_workbook(io.BytesIO(client.get("/console/instances.xlsx").content)).active
    assert sheet is not None
    assert "'=cmd|' /C calc'!A0" in [r[0] for r in sheet.iter_rows(values_only=True)]


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here")
def test_an_operator_types_vege_and_opens_vegepolys(server: str, browser: object) -> None:  # noqa: F811
    page = sign_in(browser, server, "marie")
    page.get_by_role("heading", name="Tableau de bord").wait_for()  # type: ignore[attr-defined]  # the home page: the portfolio
    page.get_by_role("link", name="Dossiers", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_role("heading", name="Dossiers").wait_for()  # type: ignore[attr-defined]
    page.get_by_label("Rechercher un pôle").fill("vege")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Rechercher").click()  # type: ignore[attr-defined]
    page.get_by_text("1 dossier.").wait_for()  # type: ignore[attr-defined]
    page.get_by_role("link", name="Végépolys").click()  # type: ignore[attr-defined]
    page.get_by_text("Décisions possibles").wait_for()  # type: ignore[attr-defined]
    assert page.url.endswith("/console/instances/vegepolys")  # type: ignore[attr-defined]
    page.set_viewport_size({"width": 390, "height": 800})  # type: ignore[attr-defined]
    page.goto(f"{server}/console/instances?q=bretagne")  # type: ignore[attr-defined]
    wide = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    over = page.evaluate(  # type: ignore[attr-defined]
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391)"
        ".map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)"
    )
    assert wide <= 390, f"the list scrolls sideways at 390 px ({wide} px wide: {over})"


def test_the_search_column_is_written_at_registration(runtime: Runtime) -> None:
    with runtime.db.read() as conn:
        from labelwf.store.schema import entity

        row = conn.execute(entity.select().where(entity.c.id == "vegepolys")).mappings().one()
    assert "vegepolys" in row["search"] and row["search"] == row["search"].lower()
