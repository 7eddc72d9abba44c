"""The stakeholder's view of the console and the instance page in labels.

A stakeholder reads its pole's decisions (the decision, its date, the deciding authority as
recorded), never the staff's accounts, principals, request ids or reasons; only the letters to the
roles that stand for its pole (not the préfet's nor the région's), all of them in one ZIP; and
nothing of another pole: every route answers 404, as for what does not exist. Staff read states,
decisions and recipients by their French labels, not their ids.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelwf import FrozenClock, Runtime, import_entities, load_settings
from labelwf.accounts import add_account
from labelwf.engine import queries
from labelwf.service import create_app
from tests.conftest import CONFIG_FILE, POLES_CSV

PASSWORD = "correct horse battery"


@pytest.fixture
def runtime(tmp_path: Any, clock: FrozenClock) -> Iterator[Runtime]:
    runtime = Runtime(load_settings(CONFIG_FILE, overrides={"database": f"sqlite:///{tmp_path}/stake.db"}), clock=clock)
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    for name, roles, entity in (("marie", ["operator"], None), ("gouv-enfant", ["stakeholder"], "enfant")):
        add_account(
            runtime.db, name, roles, now=clock.now(), author="tests", key=None, password=PASSWORD, entity=entity
        )
    for entity in ("enfant", "mta"):  # marie decides at the console's desk, as an agent
        runtime.engine.fire(entity, "classify", data={"group": 3}, actor="marie", reason="Note interne de marie")
    yield runtime
    runtime.close()


def sign_in(runtime: Runtime, name: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(runtime), base_url="https://testserver", follow_redirects=False)
    login = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text)
    assert login is not None
    signed = client.post("/console/login", data={"csrf": login[1], "name": name, "password": PASSWORD})
    assert signed.status_code == 303
    landing = client.get("/console/instances/enfant")
    csrf = re.search(r'name="csrf" value="([^"]+)"', landing.text)
    return client, csrf[1] if csrf else ""


def letters(runtime: Runtime, entity: str) -> dict[str, int]:
    return {m.recipient.role: m.id for m in queries.describe(runtime.engine, entity).letters}


def test_a_stakeholder_reads_its_decisions_without_the_staffs_names_reasons_or_requests(runtime: Runtime) -> None:
    client, _ = sign_in(runtime, "gouv-enfant")
    page = client.get("/console/instances/enfant")
    assert page.status_code == 200
    shown = html.unescape(page.text)
    assert "« Classement » le 18/06/2008 : Évalué → Groupe 3 (3 courriers émis)" in shown
    for internal in ("marie", "Note interne", "request ", "session", "(par "):
        assert internal not in shown, internal


def test_a_stakeholder_reads_only_the_letters_to_its_pole_and_downloads_them_in_one_zip(runtime: Runtime) -> None:
    client, _ = sign_in(runtime, "gouv-enfant")
    mine = letters(runtime, "enfant")
    assert set(mine) == {"governance", "prefet", "region"}
    page = html.unescape(client.get("/console/instances/enfant").text)
    assert f"/console/letters/{mine['governance']}" in page and "Gouvernance du pôle" in page
    assert f"/console/letters/{mine['prefet']}" not in page and f"/console/letters/{mine['region']}" not in page
    assert client.get(f"/console/letters/{mine['governance']}").status_code == 200
    for role in ("prefet", "region"):  # addressed to the préfet and the région, not to the pole
        for suffix in ("", "/html", "/pdf"):
            assert client.get(f"/console/letters/{mine[role]}{suffix}").status_code == 404
    answer = client.get("/console/instances/enfant/letters.zip")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert 'filename="courriers-enfant.zip"' in answer.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert len(names) == 1 and names[0].startswith("2008-06-18 ") and names[0].endswith((".pdf", ".html"))
    assert "maintien du label" in names[0]


def test_a_stakeholder_reaches_nothing_of_another_pole_and_is_told_404_not_403(runtime: Runtime) -> None:
    client, csrf = sign_in(runtime, "gouv-enfant")
    other = letters(runtime, "mta")
    gets = [
        "/console/instances/mta",
        "/console/instances/mta?as_of=2008-06-18",
        "/console/instances/mta/letters.zip",
        "/console/instances/nowhere/letters.zip",
        *(f"/console/letters/{other['governance']}{s}" for s in ("", "/html", "/pdf")),
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = {
        "/console/instances/mta/fire": {"trigger": "start_reevaluation", "reason": "x", "version": "1"},
        "/console/instances/mta/timers/label_term/move": {"to": "01/01/2011 00:00", "reason": "x", "version": "1"},
        "/console/instances/mta/versions": {"valid_from": "2009-01-01", "name": "X", "reason": "x"},
    }
    for url, form in posts.items():
        assert client.post(url, data={"csrf": csrf, **form}).status_code == 404, url
    assert queries.describe(runtime.engine, "mta").instance.version == 1  # nothing changed


def test_staff_read_states_decisions_and_recipients_by_their_labels(runtime: Runtime) -> None:
    client, _ = sign_in(runtime, "marie")
    page = html.unescape(client.get("/console/instances/enfant").text)
    shown = re.sub(r"<[^>]+>", " ", page.split("</details>", 1)[1])  # after the diagram (its ids are its own)
    assert 'id="state">Groupe 3<' in page and "Décider : Ouverture de la nouvelle évaluation" in page
    said = (
        "« Classement » par marie le 18/06/2008 : Évalué → Groupe 3 (3 courriers émis), motif : Note interne de marie"
    )
    assert said in shown
    assert "Préfet de région" in shown
    workflow = runtime.engine.workflow()
    for state, definition in workflow.states.items():
        if definition.label:
            assert not re.search(rf"\b{state}\b", shown), state
    for trigger in workflow.all_triggers:  # "label" is also a French word, said in the letters' subjects
        if workflow.trigger_label(trigger) != trigger and trigger != "label":
            assert not re.search(rf"\b{trigger}\b", shown), trigger
