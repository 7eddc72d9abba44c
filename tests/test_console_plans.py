"""The console's plans and deadline moves, on SQLite and PostgreSQL: a bulk decision planned from a
form, its frozen list, its execution (once) or cancellation; who may; CSRF; every bad input said;
a pending deadline moved from the instance page, and each refusal of a move."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from labelwf import FrozenClock, Runtime, import_entities, load_settings
from labelwf.accounts import add_account
from labelwf.engine import queries
from labelwf.engine.deadlines import fire_due
from labelwf.operations import plans
from labelwf.operations.bulk import Selection, plan_decision
from labelwf.operations.timer_moves import Shift, plan_moves
from labelwf.service import console_plans, create_app
from tests.conftest import CONFIG_FILE, POLES_CSV
from tests.helpers import OPERATOR, START_2009, refused_form
from tests.test_api_batches import events

PASSWORD = "correct horse battery"
PARIS = ZoneInfo("Europe/Paris")
END_2011 = datetime(2012, 1, 1, tzinfo=PARIS)
END_2012 = datetime(2013, 1, 1, tzinfo=PARIS)
FORM = {
    "entities": "mta\nenfant\npass",
    "trigger": "classify",
    "fields": "group=1",
    "reference": "Décision du 30 juin 2008",
    "at": "",
    "reason": "Classement de l'évaluation 2008",
}


@pytest.fixture
def runtime(database_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    runtime = Runtime(load_settings(CONFIG_FILE, overrides={"database": database_url}), clock=clock)
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    runtime.engine.fire("enfant", "classify", data={"group": 3}, **OPERATOR)  # classify no longer applies to it
    for name, roles, entity in (
        ("marie", ["operator"], None),
        ("paul", ["viewer"], None),
        ("sophie", ["supervisor"], None),
        ("gouv-enfant", ["stakeholder"], "enfant"),
    ):
        add_account(
            runtime.db, name, roles, now=clock.now(), author="tests", key=None, password=PASSWORD, entity=entity
        )
    yield runtime
    runtime.close()


def sign_in(runtime: Runtime, name: str) -> tuple[TestClient, str]:
    """A client signed in through the console's form, and its session's CSRF token."""
    client = TestClient(create_app(runtime), base_url="https://testserver", follow_redirects=False)
    login = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text)
    assert login is not None
    signed = client.post("/console/login", data={"csrf": login[1], "name": name, "password": PASSWORD})
    assert signed.status_code == 303
    landing = client.get("/console", follow_redirects=True).text  # a stakeholder lands on its entity's page
    csrf = re.search(r'name="csrf" value="([^"]+)"', landing)
    assert csrf is not None
    return client, csrf[1]


def text(answer: Any) -> str:
    return html.unescape(answer.text)


def items(answer: Any) -> dict[str, list[str]]:
    """The plan page's rows by entity: its cells' texts (n°, entity, action, preview, status, outcome)."""
    found = {}
    for row in re.findall(r'<tr class="item-\w+">(.*?)</tr>', answer.text, re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        found[cells[1]] = cells
    return found


def state(runtime: Runtime, entity: str) -> str:
    return queries.describe(runtime.engine, entity).instance.state


def planned(client: TestClient, csrf: str, **changes: str) -> int:
    answer = client.post("/console/plans", data={"csrf": csrf, **FORM, **changes})
    assert answer.status_code == 303, text(answer)
    found = re.fullmatch(r"/console/plans/(\d+)", answer.headers["location"])
    assert found is not None
    return int(found[1])


def executed(client: TestClient, csrf: str, plan_id: int) -> Any:
    """The plan's page once its confirmed execution, started in the background, has ended."""
    posted = client.post(f"/console/plans/{plan_id}/execution", data={"csrf": csrf, "confirm": "oui"})
    assert posted.status_code == 303 and posted.headers["location"] == f"/console/plans/{plan_id}", text(posted)
    client.app.state.plan_runs.wait(plan_id)  # type: ignore[attr-defined]  # a join, never a sleep
    return client.get(f"/console/plans/{plan_id}")


def a_plan(runtime: Runtime) -> int:
    report = plan_decision(
        runtime.engine,
        reference="Décision du 30 juin 2008",
        actor="sophie",
        reason="classement",
        selection=Selection(entities=("mta", "pass")),
        trigger="classify",
        data={"group": 1},
    )
    return report.batch.id


def test_a_decision_is_planned_from_the_form_then_executed_once(runtime: Runtime, clock: FrozenClock) -> None:
    clock.advance(timedelta(days=1))
    client, csrf = sign_in(runtime, "sophie")
    assert 'href="/console/plans"' in client.get("/console/instances").text  # in the navigation
    form = client.get("/console/plans/new")
    assert (
        form.status_code == 200 and 'action="/console/plans"' in form.text and '<option value="classify"' in form.text
    )
    assert '<option value="end_label_term"' not in form.text  # the daemon's trigger is not offered
    # Given a decision on three poles, one of which is in a state classify does not leave
    plan_id = planned(client, csrf, at="18/06/2008 10:30")
    # Then nothing is fired, and the page lists the frozen items with the refusal
    assert state(runtime, "mta") == "evaluated" and all(e["batch_id"] is None for e in events(runtime, "mta"))
    page = client.get(f"/console/plans/{plan_id}")
    assert page.status_code == 200
    assert "à exécuter : 2 · refusé : 1" in text(page) and "planifié" in text(page)
    rows = items(page)
    assert list(rows) == ["mta", "enfant", "pass"]
    assert rows["mta"][2:5] == [
        "classify (group=1)",
        "evaluated → group_1 ; courriers : classement_groupe_1",
        "à exécuter",
    ]
    assert rows["enfant"][4] == "refusé" and "not allowed in state 'group_3'" in rows["enfant"][3]
    assert 'href="/console/instances/mta"' in page.text
    assert f'action="/console/plans/{plan_id}/execution"' in page.text
    assert f'action="/console/plans/{plan_id}/cancellation"' in page.text
    # When it is executed (confirmed, in the background)
    ran = executed(client, csrf, plan_id)
    assert ran.status_code == 200, text(ran)
    assert "terminé" in text(ran) and "fait : 2 · refusé : 1" in text(ran)
    assert "/execution" not in ran.text and "/cancellation" not in ran.text  # finished: neither button
    done = items(ran)
    assert done["mta"][4] == "fait" and done["mta"][5].startswith("→ group_1 (version 1), 3 courrier(s)")
    assert state(runtime, "mta") == state(runtime, "pass") == "group_1" and state(runtime, "enfant") == "group_3"
    last = events(runtime, "mta")[-1]
    assert last["batch_id"] == plan_id and last["actor"] == "sophie"
    assert last["principal"].startswith("sophie (password session; request ")
    assert last["reason"] == "Décision du 30 juin 2008 : Classement de l'évaluation 2008"
    assert last["occurred_at"] == datetime(2008, 6, 18, 8, 30, tzinfo=UTC)  # 10:30 in Paris, the act's date
    # And running it again does nothing, and says why
    again = refused_form(
        client, client.post(f"/console/plans/{plan_id}/execution", data={"csrf": csrf, "confirm": "oui"})
    )
    assert "Rien n'a été exécuté : ce plan est terminé" in text(again)
    assert len(events(runtime, "mta")) == 2
    # And the list shows it, latest first, with its counts
    listed = client.get("/console/plans")
    assert listed.status_code == 200 and f'href="/console/plans/{plan_id}"' in listed.text
    assert "Décision du 30 juin 2008" in text(listed) and "fait : 2 · refusé : 1" in text(listed)
    history = client.get("/console/instances/mta").text
    assert f'href="/console/plans/{plan_id}"' in history  # each event names its plan


def test_a_long_plan_is_paged(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_plans, "PAGE", 2)
    client, csrf = sign_in(runtime, "sophie")
    plan_id = planned(client, csrf, entities="mta\npass\nenfant\natlantis\nmta")
    first = client.get(f"/console/plans/{plan_id}")
    assert list(items(first)) == ["mta", "pass"] and "éléments 1 à 2 sur 5" in text(first)
    assert f'href="/console/plans/{plan_id}?after=1"' in first.text
    second = client.get(f"/console/plans/{plan_id}?after=1")
    assert list(items(second)) == ["enfant", "atlantis"]
    last = client.get(f"/console/plans/{plan_id}?after=3")
    assert [r[4] for r in items(last).values()] == ["refusé"] and "suivants" not in last.text
    assert "listed twice" in items(last)["mta"][3]


def test_a_cancelled_plan_offers_nothing_and_refuses_to_run(runtime: Runtime) -> None:
    client, csrf = sign_in(runtime, "sophie")
    plan_id = a_plan(runtime)
    posted = client.post(f"/console/plans/{plan_id}/cancellation", data={"csrf": csrf})
    assert posted.status_code == 303
    cancelled = client.get(posted.headers["location"])
    assert cancelled.status_code == 200 and "Plan annulé : 2 élément(s)" in text(cancelled)
    assert "annulé : 2" in text(cancelled) and "/execution" not in cancelled.text
    ran = refused_form(
        client, client.post(f"/console/plans/{plan_id}/execution", data={"csrf": csrf, "confirm": "oui"})
    )
    assert "ce plan est annulé" in text(ran)
    again = refused_form(client, client.post(f"/console/plans/{plan_id}/cancellation", data={"csrf": csrf}))
    assert "ne peut plus être annulé : il est annulé" in text(again)
    assert len(events(runtime, "mta")) == 1 and state(runtime, "mta") == "evaluated"
    for path in ("/console/plans/999999", "/console/plans/abc", f"/console/plans/{10**30}"):
        missing = client.get(path)
        assert missing.status_code == 404 and "Aucun plan" in text(missing)
    assert client.post("/console/plans/999999/execution", data={"csrf": csrf}).status_code == 404
    assert client.post("/console/plans/999999/cancellation", data={"csrf": csrf}).status_code == 404


def test_plans_are_refused_to_operators_viewers_and_stakeholders(runtime: Runtime) -> None:
    plan_id = a_plan(runtime)
    for name in ("marie", "paul", "gouv-enfant"):
        client, csrf = sign_in(runtime, name)
        assert 'href="/console/plans"' not in client.get("/console", follow_redirects=True).text
        for path in ("/console/plans", "/console/plans/new", f"/console/plans/{plan_id}"):
            refused = client.get(path)
            assert refused.status_code == 403 and "demande le rôle supervisor" in text(refused), (name, path)
        for path in ("/console/plans", f"/console/plans/{plan_id}/execution", f"/console/plans/{plan_id}/cancellation"):
            assert client.post(path, data={"csrf": csrf, **FORM}).status_code == 403, (name, path)
    assert plans.get(runtime.engine, plan_id).status == "planned" and len(plans.listing(runtime.engine)) == 1
    assert state(runtime, "mta") == "evaluated"
    anonymous = TestClient(create_app(runtime), base_url="https://testserver", follow_redirects=False)
    assert anonymous.get("/console/plans").headers["location"] == "/console/login"


def test_a_form_without_the_session_s_csrf_token_is_refused(runtime: Runtime) -> None:
    client, _ = sign_in(runtime, "sophie")
    refused = refused_form(client, client.post("/console/plans", data=FORM), "/console/plans/new")
    assert "Formulaire expiré" in text(refused)
    assert plans.listing(runtime.engine) == []
    plan_id = a_plan(runtime)
    for action in ("execution", "cancellation"):
        stale = refused_form(client, client.post(f"/console/plans/{plan_id}/{action}", data={"csrf": "stale"}))
        assert "Formulaire expiré" in text(stale)
    assert plans.get(runtime.engine, plan_id).status == "planned" and len(events(runtime, "mta")) == 1


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"trigger": "renew_twice"}, "Déclencheur « renew_twice » inconnu de poles-2008@1 (ou réservé au démon) ;"),
        ({"trigger": "end_label_term"}, "réservé au démon) ; possibles : classify, classify_2012"),
        ({"trigger": ""}, "Choisissez le déclencheur"),
        ({"reference": "  "}, "La référence de la décision est obligatoire : une ligne de 300 caractères au plus"),
        ({"reference": "x" * 301}, "refusée : attendu une ligne de 300 caractères au plus"),
        ({"fields": "group=1\ngroup 2"}, "Champs, ligne 2 : « group 2 » n'est pas de la forme nom=valeur"),
        ({"fields": "groupe=1"}, "« groupe » n'est pas un champ de poles-2008@1 ; ses champs : group, contract_start"),
        ({"fields": "group=1\ngroup=2"}, "le champ « group » est déjà donné"),
        ({"at": "31/02/2008"}, "Date de la décision « 31/02/2008 » illisible : attendu AAAA-MM-JJ"),
        ({"at": "demain"}, "« demain » illisible"),
        ({"entities": ""}, "Aucun dossier choisi"),
        ({"entities": "", "state": "nowhere"}, "État « nowhere » inconnu de poles-2008@1 ; ses états : evaluated"),
        ({"entities": "", "state": "delabeled"}, "Plan non créé : the selection holds no instance"),
        ({"entities": "mta\x1b[2J"}, "Identifiant de dossier « mta\\x1b[2J » refusé"),
        ({"reason": " "}, "Le motif est obligatoire"),
        ({"workflow": "poles-2099"}, "Parcours « poles-2099 » inconnu ; parcours chargés : poles-2008"),
    ],
)
def test_bad_input_is_said_with_its_value_and_stores_nothing(
    runtime: Runtime, changes: dict[str, str], says: str
) -> None:
    client, csrf = sign_in(runtime, "sophie")
    posted = client.post("/console/plans", data={"csrf": csrf, **FORM, **changes})
    answer = refused_form(client, posted, "/console/plans/new")  # a reload of the form sends nothing
    assert says in text(answer), text(answer)
    assert plans.listing(runtime.engine) == []
    if "reference" not in changes:
        assert 'value="Décision du 30 juin 2008"' in text(answer)  # what was typed is kept


def under_contract(runtime: Runtime, entity: str) -> None:
    runtime.engine.fire(entity, "classify", data={"group": 1}, **OPERATOR)
    runtime.engine.fire(entity, "sign_contract", data=START_2009, **OPERATOR)


def due(runtime: Runtime, entity: str, name: str) -> datetime:
    (timer,) = [t for t in queries.describe(runtime.engine, entity).timers if t.name == name]
    return timer.due_at


def test_an_operator_moves_a_pending_deadline_from_the_instance_page(runtime: Runtime) -> None:
    under_contract(runtime, "mta")
    client, csrf = sign_in(runtime, "marie")
    page = client.get("/console/instances/mta").text
    assert 'action="/console/instances/mta/timers/contract_end/move"' in page
    assert 'name="to" required maxlength="40" value="01/01/2012 00:00"' in page
    form = {"csrf": csrf, "version": "2", "to": "01/01/2013", "reason": "Phase 2 prolongée"}
    moved = client.post("/console/instances/mta/timers/contract_end/move", data=form, headers={"hx-request": "true"})
    assert moved.status_code == 200, text(moved)
    assert moved.text.startswith('<section id="instance"')  # swapped in place by htmx
    shown = "Échéance « Fin du contrat de performance » déplacée : du 01/01/2012 00:00 au 01/01/2013 00:00 (version 3)"
    assert shown in text(moved)
    assert due(runtime, "mta", "contract_end") == END_2012
    history = text(client.get("/console/instances/mta"))
    moved_line = "Échéance « Fin du contrat de performance » déplacée du 01/01/2012 au 01/01/2013 par marie le"
    assert moved_line in history and "motif : Phase 2 prolongée" in history
    assert "(compte marie, console)" in history and "request" not in history
    last = events(runtime, "mta")[-1]
    assert last["trigger"] == "(timer moved)" and last["actor"] == "marie"
    assert last["principal"].startswith("marie (password session; request ")


def test_each_refused_move_is_said_and_changes_nothing(runtime: Runtime) -> None:
    under_contract(runtime, "mta")
    client, csrf = sign_in(runtime, "marie")
    url = "/console/instances/mta/timers/contract_end/move"

    def move(to: str, *, version: str = "2", path: str = url, **more: str) -> Any:
        form = {"csrf": csrf, "version": version, "to": to, "reason": "report", **more}
        return client.post(path, data=form, headers={"hx-request": "true"})  # in place, with its status

    for to, status, says in (
        ("2012-01-01T00:00", 422, "is already due"),
        ("01/01/2008", 422, "le 01/01/2008 à 00:00 est passé (nous sommes le 18/06/2008)"),
        ("demain", 422, "« demain » n'est pas une date lisible : attendu JJ/MM/AAAA"),
        ("", 422, "attendu JJ/MM/AAAA ou JJ/MM/AAAA HH:MM"),
        ("2013-01-01T00:00", 409, "modifié par quelqu'un d'autre"),
    ):
        answer = move(to, version="1" if status == 409 else "2")
        assert answer.status_code == status and says in text(answer), (to, text(answer))
    caught_up = move("01/01/2008", catch_up="1")  # a catch-up into the past: still not before the last event
    assert caught_up.status_code == 422 and "before the instance's last event" in text(caught_up)
    other = move("2013-01-01T00:00", path="/console/instances/mta/timers/review_18_months/move")
    assert other.status_code == 422 and "Rien ne correspond à « mta/review_18_months »" in text(other)
    no_reason = move("2013-01-01T00:00", reason=" ")
    assert no_reason.status_code == 422 and "Un motif est obligatoire" in text(no_reason)
    assert due(runtime, "mta", "contract_end") == END_2011 and len(events(runtime, "mta")) == 3
    fire_due(runtime.engine, now=END_2011)  # the deadline fires: it is no longer pending
    fired = move("2013-01-01T00:00", version="3")
    assert fired.status_code == 422 and "son statut est « déclenché »" in text(fired)


def test_a_plan_of_deadline_moves_shows_both_instants_and_runs_from_its_page(runtime: Runtime) -> None:
    under_contract(runtime, "mta")
    plan = plan_moves(
        runtime.engine,
        "contract_end",
        Shift(to=END_2012),
        Selection(entities=("mta", "pass")),
        reference="CIADT du 11 mai 2010",
        actor="sophie",
        reason="phase 2 prolongée",
    ).batch
    client, csrf = sign_in(runtime, "sophie")
    page = client.get(f"/console/plans/{plan.id}")
    assert "déplacement d'échéances" in text(page) and "contract_end déplacée au 01/01/2013 00:00" in text(page)
    rows = items(page)
    assert rows["mta"][2:5] == ["contract_end → 01/01/2013 00:00", "01/01/2012 00:00 → 01/01/2013 00:00", "à exécuter"]
    assert rows["pass"][4] == "refusé" and "pending timer" in rows["pass"][3]
    ran = executed(client, csrf, plan.id)
    assert ran.status_code == 200 and "fait : 1" in text(ran)
    assert items(ran)["mta"][5] == "échéance au 01/01/2013 00:00 (version 3)"
    assert due(runtime, "mta", "contract_end") == END_2012 and events(runtime, "mta")[-1]["batch_id"] == plan.id


def test_a_viewer_is_offered_no_move_and_refused_if_it_posts_one(runtime: Runtime) -> None:
    under_contract(runtime, "mta")
    viewer, csrf = sign_in(runtime, "paul")
    page = viewer.get("/console/instances/mta").text
    assert (
        "« Fin du contrat de performance » le 01/01/2012" in html.unescape(page)
        and "/timers/contract_end/move" not in page
        and "Déplacer" not in page
    )
    form = {"csrf": csrf, "version": "2", "to": "2013-01-01T00:00", "reason": "x"}
    refused = viewer.post("/console/instances/mta/timers/contract_end/move", data=form)
    assert refused.status_code == 403 and "Vous ne pouvez pas déplacer les échéances" in text(refused)
    operator, _ = sign_in(runtime, "marie")
    stale = operator.post("/console/instances/mta/timers/contract_end/move", data=form | {"csrf": "stale"})
    assert "Formulaire expiré" in text(refused_form(operator, stale, "/console/instances/mta"))
    assert due(runtime, "mta", "contract_end") == END_2011 and len(events(runtime, "mta")) == 3


def test_the_plan_form_offers_decisions_states_and_field_types_by_their_french_words(runtime: Runtime) -> None:
    # Given a supervisor on the plan form
    client, _ = sign_in(runtime, "sophie")
    form = html.unescape(client.get("/console/plans/new").text)
    # Then decisions and states are said by their labels, their ids only the options' values
    assert '<option value="classify" >Classement</option>' in form
    assert '<option value="evaluated" >Évalué</option>' in form
    # And each field by its label and its type in French
    assert "Groupe attribué à l'issue de l'évaluation de 2008 : <code>group</code>, nombre entier (1, 2, 3)" in form
    assert "date</li>" in form and "string" not in form and "integer" not in form
