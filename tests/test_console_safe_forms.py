"""Safe forms in the console: every handled post answers 303 to a page that says its outcome once
(a reload sends nothing again), destructive acts are confirmed first, a plan with nothing executable
is refused everywhere, nobody locks the administration out, and a plan's run is followed live."""

from __future__ import annotations

import html
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelwf import Runtime
from labelwf.accounts import accounts, add_account, set_disabled, tokens
from labelwf.cli import EXIT_REFUSED
from labelwf.errors import AccountError, NothingToExecute
from labelwf.operations import plans
from labelwf.operations.bulk import Selection, plan_decision
from labelwf.service import console_flash
from labelwf.service.plan_runs import PlanRuns
from tests.helpers import refused_form
from tests.test_api_batches import events
from tests.test_cli import Cli, cli  # noqa: F401 - the fixture
from tests.test_console_plans import PASSWORD, runtime, sign_in  # noqa: F401 - the fixture, shared
from tests.test_operations import token


def said(answer: Any) -> str:
    return html.unescape(answer.text)


def a_plan(runtime: Runtime, *entities: str) -> int:  # noqa: F811
    return plan_decision(
        runtime.engine,
        reference="Décision du 30 juin 2008",
        actor="sophie",
        reason="classement",
        selection=Selection(entities=entities),
        trigger="classify",
        data={"group": 1},
    ).batch.id


def admins(runtime: Runtime) -> None:  # noqa: F811
    now = runtime.engine.clock.now()
    add_account(runtime.db, "root", ["admin"], now=now, author="t", key=None, password=PASSWORD)
    add_account(runtime.db, "jmartin", ["viewer"], now=now, author="t", key=None, display_name="Jeanne Martin")


def test_a_decision_posted_without_htmx_redirects_and_a_reload_sends_nothing(runtime: Runtime) -> None:  # noqa: F811
    client, csrf = sign_in(runtime, "marie")
    form = {"csrf": csrf, "trigger": "classify", "field_group": "1", "reason": "rapport 2008", "version": "0"}
    # When marie decides from a page without JavaScript
    posted = client.post("/console/instances/mta/fire", data=form)
    # Then the answer is a redirect to the instance's page, which says the outcome once
    assert posted.status_code == 303 and posted.headers["location"] == "/console/instances/mta"
    count = len(events(runtime, "mta"))
    shown = client.get("/console/instances/mta")
    assert "Décision enregistrée" in said(shown)
    reloaded = client.get("/console/instances/mta")  # a reload is a GET: nothing sent, nothing said again
    assert "Décision enregistrée" not in said(reloaded) and len(events(runtime, "mta")) == count
    # And with htmx the fragment answers in place, as before
    again = client.post("/console/instances/pass/fire", data=form, headers={"hx-request": "true"})
    assert again.status_code == 200 and "Décision enregistrée" in said(again)


def test_a_flash_cookie_not_signed_by_the_session_is_ignored(runtime: Runtime) -> None:  # noqa: F811
    client, csrf = sign_in(runtime, "marie")
    forged = console_flash.redirect("/console/failures", "another session's token", "<b>Piège</b>")
    client.cookies.set(console_flash.COOKIE, forged.headers["set-cookie"].split(";")[0].split("=", 1)[1])
    assert "Piège" not in client.get("/console/failures").text
    genuine = console_flash.redirect("/console/failures", csrf, "<b>Vrai</b>")
    client.cookies.set(console_flash.COOKIE, genuine.headers["set-cookie"].split(";")[0].split("=", 1)[1])
    page = client.get("/console/failures").text
    assert "&lt;b&gt;Vrai&lt;/b&gt;" in page and "<b>Vrai" not in page  # escaped


def test_a_new_token_is_shown_once_after_the_redirect_and_a_reload_makes_no_other(runtime: Runtime) -> None:  # noqa: F811
    admins(runtime)
    client, csrf = sign_in(runtime, "root")
    posted = client.post("/console/admin/token", data={"csrf": csrf, "name": "jmartin", "label": "script"})
    assert posted.status_code == 303 and posted.headers["location"] == "/console/admin"
    first = client.get("/console/admin")
    assert 'id="new-token">lwf_' in first.text and "Jeton créé pour jmartin" in said(first)
    second = client.get("/console/admin")
    assert 'id="new-token"' not in second.text
    assert len([t for t in tokens(runtime.db) if t["account"] == "jmartin"]) == 1


def test_disabling_and_revoking_are_confirmed_first_and_nothing_happens_without(runtime: Runtime) -> None:  # noqa: F811
    admins(runtime)
    client, csrf = sign_in(runtime, "root")
    # Disabling: the form leads to a page saying who, what happens, Confirmer and Annuler
    asked = client.post("/console/admin/disable", data={"csrf": csrf, "name": "jmartin"})
    assert asked.status_code == 303
    confirm = client.get(asked.headers["location"])
    text = said(confirm)
    assert "Désactiver le compte de Jeanne Martin (jmartin)" in text and "Confirmer" in text
    assert 'name="confirm" value="oui"' in confirm.text and 'href="/console/admin">Annuler' in confirm.text
    assert not next(a for a in accounts(runtime.db) if a.name == "jmartin").disabled
    done = client.post("/console/admin/disable", data={"csrf": csrf, "name": "jmartin", "confirm": "oui"})
    assert done.status_code == 303 and "désactivé" in said(client.get("/console/admin"))
    # Revoking a token: the same
    token(runtime, "root")
    token_id = str(tokens(runtime.db, "root")[0]["id"])
    asked = client.post("/console/admin/revoke", data={"csrf": csrf, "token_id": token_id})
    confirm = client.get(asked.headers["location"])
    assert f"Révoquer le jeton n° {token_id}" in said(confirm)
    assert all(t["revoked_at"] is None for t in tokens(runtime.db) if str(t["id"]) == token_id)
    client.post("/console/admin/revoke", data={"csrf": csrf, "token_id": token_id, "confirm": "oui"})
    assert all(t["revoked_at"] is not None for t in tokens(runtime.db) if str(t["id"]) == token_id)


def test_nobody_disables_the_last_active_admin_or_themselves(runtime: Runtime) -> None:  # noqa: F811
    admins(runtime)
    now = runtime.engine.clock.now()
    with pytest.raises(AccountError, match="last enabled admin"):  # the library, for the CLI and the API too
        set_disabled(runtime.db, "root", True, now=now, author="t", key=None)
    add_account(runtime.db, "claire", ["admin"], now=now, author="t", key=None, password=PASSWORD)
    client, csrf = sign_in(runtime, "claire")
    set_disabled(runtime.db, "root", True, now=now, author="t", key=None)  # claire is now the last one
    page = client.get("/console/admin")
    assert "Votre compte : un autre administrateur seul peut le désactiver" in said(page)
    refused = client.post("/console/admin/disable", data={"csrf": csrf, "name": "claire", "confirm": "oui"})
    assert "votre propre compte" in said(refused_form(client, refused, "/console/admin"))


def test_executing_a_plan_is_confirmed_first_with_what_it_will_do(runtime: Runtime) -> None:  # noqa: F811
    plan_id = a_plan(runtime, "mta", "pass", "enfant")
    client, csrf = sign_in(runtime, "sophie")
    page = client.get(f"/console/plans/{plan_id}")
    assert f'action="/console/plans/{plan_id}/execution"' in page.text and 'method="get"' in page.text
    confirm = client.get(f"/console/plans/{plan_id}/execution")
    assert f"Exécuter le plan n° {plan_id} (Décision du 30 juin 2008) : 2 décision(s) sur 2 dossier(s)" in said(confirm)
    assert "Les 1 élément(s) refusés à l'aperçu ne seront pas tentés" in said(confirm)
    unconfirmed = client.post(f"/console/plans/{plan_id}/execution", data={"csrf": csrf})
    assert unconfirmed.status_code == 303 and unconfirmed.headers["location"] == f"/console/plans/{plan_id}/execution"
    assert plans.get(runtime.engine, plan_id).counts["pending"] == 2 and len(events(runtime, "mta")) == 1


def test_a_plan_with_nothing_executable_cannot_be_executed_anywhere(runtime: Runtime) -> None:  # noqa: F811
    plan_id = a_plan(runtime, "enfant", "atlantis")  # enfant is classified already; atlantis does not exist
    client, csrf = sign_in(runtime, "sophie")
    page = client.get(f"/console/plans/{plan_id}")
    assert "Aucune décision de ce plan n'est applicable" in said(page) and "rien d'applicable" in said(page)
    assert "planifié" not in said(page) and f"/console/plans/{plan_id}/execution" not in page.text
    assert f"/console/plans/{plan_id}/cancellation" in page.text  # it can still be closed
    posted = client.post(f"/console/plans/{plan_id}/execution", data={"csrf": csrf, "confirm": "oui"})
    assert "Aucune décision de ce plan n'est applicable" in said(refused_form(client, posted))
    with pytest.raises(NothingToExecute) as refused:
        plans.run(runtime.engine, plan_id)
    assert refused.value.plan == plan_id and refused.value.refused == 2
    api = TestClient(client.app)
    answer = api.post(f"/api/v1/batches/{plan_id}/execution", headers=token(runtime, "sophie"))
    assert answer.status_code == 409 and answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == "/problems/nothing-to-execute"
    assert plans.get(runtime.engine, plan_id).status.value == "planned"


def test_the_cli_refuses_a_plan_with_nothing_executable(cli: Cli) -> None:  # noqa: F811
    act = ["--reference", "R", "--actor", "DGCIS", "--reason", "Classement"]
    planned = cli.json("decide", "plan", "--trigger", "classify", "--set", "group=1", "--entity", "atlantis", *act)
    refused = cli("decide", "run", str(planned["id"]), code=EXIT_REFUSED)
    assert "refused at its preview" in refused.output


def test_a_running_plan_s_page_polls_its_progress_until_the_end(runtime: Runtime) -> None:  # noqa: F811
    plan_id = a_plan(runtime, "mta", "pass")
    client, csrf = sign_in(runtime, "sophie")
    # Given a run that waits for the test after each item
    batch_done, go_on = threading.Semaphore(0), threading.Semaphore(0)

    def between(done: int, total: int) -> None:
        batch_done.release()
        go_on.acquire()

    runs = PlanRuns(size=1, progress=between)
    client.app.state.plan_runs = runs  # type: ignore[attr-defined]
    # When it is confirmed: the answer comes at once, to the plan's page
    posted = client.post(f"/console/plans/{plan_id}/execution", data={"csrf": csrf, "confirm": "oui"})
    assert posted.status_code == 303 and posted.headers["location"] == f"/console/plans/{plan_id}"
    assert batch_done.acquire(timeout=30)
    page = client.get(f"/console/plans/{plan_id}")
    # Then the page says how far it is, and polls a fragment
    assert "Exécution lancée" in said(page) and "Exécution en cours" in said(page)
    assert f'hx-get="/console/plans/{plan_id}/progress"' in page.text and 'hx-trigger="every 2s"' in page.text
    assert 'id="progress-done">1<' in page.text and 'id="progress-left">1<' in page.text
    assert "Exécuter…" not in page.text  # not offered twice
    go_on.release()
    assert batch_done.acquire(timeout=30)
    go_on.release()
    runs.wait(plan_id)
    # And once it has ended, the fragment stops polling and has the page reloaded
    fragment = client.get(f"/console/plans/{plan_id}/progress", headers={"hx-request": "true"})
    assert "hx-get" not in fragment.text and fragment.headers["hx-refresh"] == "true"
    assert "Exécution terminée" in said(fragment) and 'id="progress-left">0<' in fragment.text
    assert "fait : 2" in said(client.get(f"/console/plans/{plan_id}"))
