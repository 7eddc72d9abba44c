"""What needs a person, over the API and in the console: failures, a letter's retry or resolution,
the audit trail's verification and export, accounts and tokens — who may, and what is recorded."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from labelwf import FrozenClock, Runtime, import_entities, load_settings, store
from labelwf.accounts import add_account, create_token
from labelwf.errors import AccountError
from labelwf.service import create_app
from tests.conftest import CONFIG_FILE, POLES_CSV
from tests.helpers import OPERATOR, refused_form
from tests.test_letter_actions import letters, outbox

PASSWORD = "correct horse battery"


@pytest.fixture
def runtime(database_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime(load_settings(CONFIG_FILE, overrides={"database": database_url}), clock=clock)
    runtime.db.upgrade()
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "entity,role,name,address,email\n"
        "enfant,governance,Mme Claire Martin,1 rue X / Angers,presidence@enfant.example\n",
        encoding="utf-8",
    )
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up", contacts=contacts)
    runtime.engine.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    outbox(runtime.engine, tmp_path, clock).deliver_due()  # the e-mailed letter fails: no server takes it
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
    yield runtime
    runtime.close()


def token(runtime: Runtime, name: str) -> dict[str, str]:
    made = create_token(runtime.db, name, "tests", now=runtime.engine.clock.now(), author="tests", key=None)[1]
    return {"Authorization": f"Bearer {made}"}


def failed_letter(runtime: Runtime) -> int:
    letter_id, status = letters(runtime.engine)["governance"]
    assert status == "failed"
    return letter_id


def test_failures_list_the_letters_that_need_a_person_and_a_retry_is_recorded_with_the_principal(
    runtime: Runtime,
) -> None:
    api = TestClient(create_app(runtime))
    letter_id = failed_letter(runtime)
    listed = api.get("/api/v1/failures", headers=token(runtime, "marie")).json()
    assert [x["id"] for x in listed["letters"]["failed"]] == [letter_id]
    assert listed["letters"]["uncertain"] == [] and listed["overdue_timers"] == []
    assert api.get("/api/v1/failures", headers=token(runtime, "paul")).status_code == 403

    refused = api.post(
        f"/api/v1/letters/{letter_id}/resolution", json={"reason": "vu"}, headers=token(runtime, "marie")
    )
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/action-refused"
    assert refused.json()["found"] == "failed"
    viewer = api.post(f"/api/v1/letters/{letter_id}/retry", json={"reason": "x"}, headers=token(runtime, "paul"))
    assert viewer.status_code == 403
    unknown = api.post(
        f"/api/v1/letters/{letter_id}/retry", json={"reason": "x", "who": "y"}, headers=token(runtime, "marie")
    )
    assert unknown.status_code == 422

    done = api.post(
        f"/api/v1/letters/{letter_id}/retry", json={"reason": "adresse corrigée"}, headers=token(runtime, "marie")
    )
    assert done.status_code == 200, done.text
    assert done.json()["letter"]["status"] == "pending" and done.json()["event"]["trigger"] == "(letter retried)"
    assert done.json()["event"]["principal"].startswith("marie (token ")
    assert api.get("/api/v1/failures", headers=token(runtime, "marie")).json()["letters"]["failed"] == []


def test_the_audit_export_streams_every_event_with_its_hashes_for_supervisors_only(runtime: Runtime) -> None:
    api = TestClient(create_app(runtime))
    assert api.get("/api/v1/audit/export", headers=token(runtime, "marie")).status_code == 403
    answer = api.get("/api/v1/audit/export", headers=token(runtime, "sophie"))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/jsonl")
    lines = [json.loads(line) for line in answer.text.splitlines()]
    with runtime.db.read() as conn:
        assert len(lines) == conn.execute(sa.select(sa.func.count()).select_from(store.event)).scalar_one()
    first = lines[0]
    assert {"entity", "seq", "prev_hash", "hash", "hash_format", "principal", "letters"} <= set(first)
    one = api.get("/api/v1/audit/export?entity=enfant", headers=token(runtime, "sophie")).text.splitlines()
    assert [json.loads(x)["seq"] for x in one] == list(range(len(one)))


def console(runtime: Runtime, name: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(runtime), base_url="https://testserver", follow_redirects=False)
    form = client.get("/console/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    signed = client.post("/console/login", data={"csrf": csrf[1], "name": name, "password": PASSWORD})
    assert signed.status_code == 303
    page = client.get("/console", follow_redirects=True).text  # a stakeholder lands on its entity's page
    session_csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert session_csrf is not None
    return client, session_csrf[1]


def test_the_console_shows_failures_to_operators_and_records_their_retry(runtime: Runtime) -> None:
    letter_id = failed_letter(runtime)
    client, csrf = console(runtime, "marie")
    page = client.get("/console/failures")
    assert page.status_code == 200 and f"/console/letters/{letter_id}/retry" in page.text
    expired = client.post(f"/console/letters/{letter_id}/retry", data={"csrf": "stale", "reason": "x"})
    assert "Formulaire expiré" in refused_form(client, expired, "/console/failures").text
    empty = client.post(f"/console/letters/{letter_id}/retry", data={"csrf": csrf, "reason": " "})
    assert "Refusé" in refused_form(client, empty).text and letters(runtime.engine)["governance"][1] == "failed"
    posted = client.post(f"/console/letters/{letter_id}/retry", data={"csrf": csrf, "reason": "adresse corrigée"})
    assert posted.status_code == 303 and posted.headers["location"] == "/console/failures"
    done = client.get("/console/failures")
    assert done.status_code == 200 and "remise en file" in html.unescape(done.text)
    assert "remise en file" not in html.unescape(client.get("/console/failures").text)  # said once
    assert letters(runtime.engine)["governance"][1] == "pending"
    with runtime.db.read() as conn:
        principal = conn.execute(sa.select(store.event.c.principal).order_by(store.event.c.id.desc())).first()
    assert principal is not None and principal[0].startswith("marie (password session; request ")


def test_each_operations_screen_is_refused_to_the_roles_it_is_not_for(runtime: Runtime) -> None:
    letter_id = failed_letter(runtime)
    viewer, csrf = console(runtime, "paul")
    assert "/console/failures" not in viewer.get("/console/instances").text  # not offered
    assert viewer.get("/console/failures").status_code == 403
    assert viewer.post(f"/console/letters/{letter_id}/retry", data={"csrf": csrf, "reason": "x"}).status_code == 403
    assert letters(runtime.engine)["governance"][1] == "failed"
    operator, csrf = console(runtime, "marie")
    assert operator.get("/console/audit").status_code == 403 and operator.get("/console/admin").status_code == 403
    stakeholder, _ = console(runtime, "gouv-enfant")
    assert stakeholder.get("/console/failures").status_code == 403


def test_a_supervisor_verifies_the_chains_and_downloads_the_export(runtime: Runtime) -> None:
    client, csrf = console(runtime, "sophie")
    posted = client.post("/console/audit/verify", data={"csrf": csrf})  # an older page's form: sent to the GET
    assert posted.status_code == 303 and posted.headers["location"] == "/console/audit/verification"
    result = client.get("/console/audit/verification")
    assert result.status_code == 200 and "Intègre" in result.text
    export = client.get("/console/audit/export")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    assert all(json.loads(line)["hash"] for line in export.text.splitlines())


def test_an_admin_adds_an_account_makes_it_a_token_shown_once_and_revokes_it(runtime: Runtime) -> None:
    client, csrf = console(runtime, "root")
    bad = client.post("/console/admin/add", data={"csrf": csrf, "name": "Bad Name!", "roles": "viewer"})
    refilled = refused_form(client, bad, "/console/admin").text
    assert "Refusé" in refilled and 'name="name" required maxlength="64" value="Bad Name!"' in refilled
    added = client.post(
        "/console/admin/add",
        data={"csrf": csrf, "name": "luc", "roles": "viewer", "email": "luc@culture.gouv.fr", "password": ""},
    )
    assert added.status_code == 303 and "Compte luc créé" in client.get("/console/admin").text
    assert client.post("/console/admin/token", data={"csrf": csrf, "name": "luc", "label": "script"}).status_code == 303
    made = client.get("/console/admin")
    secret = re.search(r'<code id="new-token">(lwf_[^<]+)</code>', made.text)
    assert secret is not None
    bearer = {"Authorization": f"Bearer {secret[1]}"}
    assert client.get("/api/v1/instances", headers=bearer).status_code == 200
    assert secret[1] not in client.get("/console/admin").text  # shown once
    token_id = re.findall(r'name="token_id" value="(\d+)"', client.get("/console/admin").text)[0]
    client.post("/console/admin/revoke", data={"csrf": csrf, "token_id": token_id, "confirm": "oui"})
    assert client.get("/api/v1/instances", headers=bearer).status_code == 401  # at once: revoked by this process
    client.post("/console/admin/disable", data={"csrf": csrf, "name": "luc", "confirm": "oui"})
    listed = client.get("/console/admin").text
    assert "désactivé" in listed


def test_a_workflow_s_definition_and_diagram_are_served_and_the_console_draws_the_current_state(
    runtime: Runtime,
) -> None:
    api = TestClient(create_app(runtime))
    wf = runtime.engine.workflow()
    base = f"/api/v1/workflows/{wf.name}/versions/{wf.version}"
    definition = api.get(base, headers=token(runtime, "paul")).json()
    assert [s["name"] for s in definition["states"]] == list(wf.states)
    assert {t["trigger"] for t in definition["transitions"]} == set(wf.all_triggers)
    drawn = api.get(f"{base}/diagram?state=group_3", headers=token(runtime, "paul"))
    assert drawn.headers["content-type"].startswith("image/svg+xml") and 'aria-current="true"' in drawn.text
    assert api.get(f"{base}/diagram?state=nowhere", headers=token(runtime, "paul")).status_code == 404
    assert api.get(f"/api/v1/workflows/{wf.name}/versions/99", headers=token(runtime, "paul")).status_code == 404
    client, _ = console(runtime, "paul")
    page = client.get("/console/instances/enfant").text
    assert "<svg" in page and 'aria-current="true"' in page and "<script" not in page.split("<svg")[1]


def test_fires_beyond_an_account_s_share_in_a_minute_are_refused_with_when_to_retry(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.settings = dataclasses.replace(runtime.settings, fires_per_minute=2)
    api = TestClient(create_app(runtime))
    marie = token(runtime, "marie")
    for entity in ("enfant", "mta"):
        version = api.get(f"/api/v1/instances/{entity}", headers=marie).headers["etag"]
        body = {"trigger": "classify", "fields": {"group": 1}, "reason": "rapport 2008"}
        answer = api.post(f"/api/v1/instances/{entity}/transitions", json=body, headers={**marie, "If-Match": version})
        assert answer.status_code in (201, 409), answer.text
    refused = api.post(
        "/api/v1/instances/pass/transitions",
        json={"trigger": "classify", "fields": {"group": 1}, "reason": "rapport 2008"},
        headers={**marie, "If-Match": '"0"'},
    )
    assert refused.status_code == 429 and refused.json()["type"] == "/problems/rate-limited"
    assert int(refused.headers["retry-after"]) >= 1 and refused.json()["per_minute"] == 2
    clock.advance(timedelta(seconds=61))
    again = api.post(
        "/api/v1/instances/pass/transitions",
        json={"trigger": "classify", "fields": {"group": 1}, "reason": "rapport 2008"},
        headers={**marie, "If-Match": '"0"'},
    )
    assert again.status_code != 429


def test_the_last_admin_cannot_be_disabled_and_accounts_are_checked_when_made(runtime: Runtime) -> None:
    client, csrf = console(runtime, "root")
    refused = client.post("/console/admin/disable", data={"csrf": csrf, "name": "root", "confirm": "oui"})
    assert "votre propre compte" in html.unescape(refused_form(client, refused, "/console/admin").text)
    assert client.get("/console/admin").status_code == 200  # still signed in, still admin
    now = runtime.engine.clock.now()
    with pytest.raises(AccountError, match="imported entity"):
        add_account(runtime.db, "ghost", ["stakeholder"], now=now, author="tests", key=None, entity="nope")
    add_account(runtime.db, "anne", ["viewer"], now=now, author="tests", key=None, email="anne@culture.gouv.fr")
    with pytest.raises(AccountError, match="no other account has"):
        add_account(runtime.db, "anne2", ["viewer"], now=now, author="tests", key=None, email="ANNE@culture.gouv.fr")


def test_a_letter_id_beyond_64_bits_is_not_found_in_the_console_too(runtime: Runtime) -> None:
    client, csrf = console(runtime, "marie")
    posted = client.post("/console/letters/99999999999999999999/retry", data={"csrf": csrf, "reason": "x"})
    answer = refused_form(client, posted, "/console/failures")
    assert "Rien ne correspond à « 99999999999999999999 »" in html.unescape(answer.text)
