"""Plans and deadline moves over the REST API, on SQLite and PostgreSQL: a bulk decision planned,
previewed and executed once; who may; every refusal as problem+json; one timer moved with If-Match."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from labelwf import FrozenClock, Runtime, import_entities, load_settings, store
from labelwf.accounts import add_account, create_token
from labelwf.engine.deadlines import fire_due
from labelwf.service import create_app
from tests.conftest import CONFIG_FILE, POLES_CSV

PROBLEM = "application/problem+json"
PARIS = ZoneInfo("Europe/Paris")
ACT = {"reference": "Décision du 30 juin 2008", "reason": "classement de l'évaluation 2008"}


@pytest.fixture
def runtime(database_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    runtime = Runtime(load_settings(CONFIG_FILE, overrides={"database": database_url}), clock=clock)
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    yield runtime
    runtime.close()


@pytest.fixture
def tokens(runtime: Runtime, clock: FrozenClock) -> dict[str, str]:
    made = {}
    for name, roles in (("marie", ["operator"]), ("paul", ["viewer"]), ("sophie", ["supervisor"])):
        add_account(
            runtime.db, name, roles, now=clock.now(), author="tests", key=None, password="correct horse battery"
        )
        made[name] = create_token(runtime.db, name, "tests", now=clock.now(), author="tests", key=None)[1]
    return made


@pytest.fixture
def api(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def as_(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def decision(*entities: str, **extra: Any) -> dict[str, Any]:
    body = {"kind": "decision", "trigger": "classify", "data": {"group": 1}, "selection": {"entities": list(entities)}}
    return body | ACT | extra


def events(runtime: Runtime, entity: str) -> list[sa.RowMapping]:
    with runtime.db.read() as conn:
        return list(
            conn.execute(
                sa.select(store.event)
                .join(store.instance, store.instance.c.id == store.event.c.instance_id)
                .where(store.instance.c.entity_id == entity)
                .order_by(store.event.c.seq)
            ).mappings()
        )


def state(api: TestClient, tokens: dict[str, str], entity: str) -> str:
    found: str = api.get(f"/api/v1/instances/{entity}", headers=as_(tokens["paul"])).json()["state"]
    return found


def is_problem(answer: Any, status: int, kind: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["type"] == f"/problems/{kind}" and body["status"] == status
    return body


def test_a_decision_is_planned_previewed_then_executed_once(
    api: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    # Given a decision on three poles, one of which does not exist
    sophie = as_(tokens["sophie"])
    planned = api.post("/api/v1/batches", json=decision("mta", "enfant", "atlantis"), headers=sophie)
    # Then the plan is stored with its preview, and nothing is fired
    assert planned.status_code == 201, planned.text
    plan = planned.json()
    assert planned.headers["location"] == f"/api/v1/batches/{plan['id']}"
    assert plan["status"] == "planned" and plan["counts"] == {"pending": 2, "refused": 1}
    assert plan["actor"] == "sophie" and plan["principal"].startswith("sophie (token ")
    by = {i["entity"]: i for i in plan["items"]}
    assert by["mta"]["preview"]["dest"] == "group_1" and by["mta"]["status"] == "pending"
    assert by["atlantis"]["status"] == "refused" and "no such entity" in by["atlantis"]["preview"]["refused"]
    assert plan["next"] is None and state(api, tokens, "mta") == "evaluated"
    # When it is executed
    url = f"/api/v1/batches/{plan['id']}"
    ran = api.post(f"{url}/execution", headers=sophie)
    assert ran.status_code == 200, ran.text
    assert ran.json()["run"] == {"done": 2, "changed": 0, "failed": 0, "remaining": 0, "stopped": False}
    assert ran.json()["status"] == "done" and ran.json()["counts"] == {"done": 2, "refused": 1}
    assert state(api, tokens, "mta") == state(api, tokens, "enfant") == "group_1"
    last = events(runtime, "mta")[-1]
    # (the events carry who executed the plan, the plan keeps who planned it beside)
    assert last["batch_id"] == plan["id"] and last["principal"] == ran.json()["executed_by"]
    assert ran.json()["principal"] == plan["principal"] and last["principal"].startswith("sophie (token ")
    assert last["reason"] == f"{ACT['reference']} : {ACT['reason']}"
    # And a second execution does nothing
    again = api.post(f"{url}/execution", headers=sophie).json()
    assert again["run"] == {"done": 0, "changed": 0, "failed": 0, "remaining": 0, "stopped": False}
    assert len(events(runtime, "mta")) == 2
    # And the plan reads back, its items paged and filtered
    assert api.get("/api/v1/batches", headers=sophie).json()["items"][0]["id"] == plan["id"]
    first = api.get(url, params={"limit": 1}, headers=sophie).json()
    assert [i["entity"] for i in first["items"]] == ["mta"] and first["next"] == 0
    rest = api.get(url, params={"after": first["next"]}, headers=sophie).json()
    assert [i["entity"] for i in rest["items"]] == ["enfant", "atlantis"] and rest["next"] is None
    done = api.get(url, params={"status": "done"}, headers=sophie).json()["items"]
    assert [i["entity"] for i in done] == ["mta", "enfant"] and done[0]["outcome"]["dest"] == "group_1"


def test_an_instance_changed_since_the_preview_is_reported_not_fired(api: TestClient, tokens: dict[str, str]) -> None:
    plan = api.post("/api/v1/batches", json=decision("mta", "enfant"), headers=as_(tokens["sophie"])).json()
    fire = {"trigger": "classify", "fields": {"group": 3}, "reason": "rapport"}
    headers = as_(tokens["marie"], **{"If-Match": '"0"'})
    assert api.post("/api/v1/instances/mta/transitions", json=fire, headers=headers).status_code == 201
    ran = api.post(f"/api/v1/batches/{plan['id']}/execution", headers=as_(tokens["sophie"])).json()
    assert ran["run"]["done"] == 1 and ran["run"]["changed"] == 1
    assert state(api, tokens, "mta") == "group_3"


def test_plans_are_for_supervisors(api: TestClient, tokens: dict[str, str]) -> None:
    plan = api.post("/api/v1/batches", json=decision("mta"), headers=as_(tokens["sophie"])).json()
    for name in ("marie", "paul"):
        mine = as_(tokens[name])
        is_problem(api.post("/api/v1/batches", json=decision("mta"), headers=mine), 403, "forbidden")
        is_problem(api.get("/api/v1/batches", headers=mine), 403, "forbidden")
        is_problem(api.get(f"/api/v1/batches/{plan['id']}", headers=mine), 403, "forbidden")
        is_problem(api.post(f"/api/v1/batches/{plan['id']}/execution", headers=mine), 403, "forbidden")
        is_problem(api.post(f"/api/v1/batches/{plan['id']}/cancellation", headers=mine), 403, "forbidden")
    assert api.get(f"/api/v1/batches/{plan['id']}", headers=as_(tokens["sophie"])).json()["status"] == "planned"
    is_problem(api.get("/api/v1/batches"), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("body", "kind", "says"),
    [
        (decision("mta", actor="quelqu'un d'autre"), "invalid-request", "actor"),
        (decision("mta") | {"selection": {"entities": ["mta"], "ids": ["x"]}}, "invalid-request", "ids"),
        ({**decision("mta"), "kind": "merger"}, "invalid-request", "kind"),
        (decision("mta", at="2008-07-01T00:00:00"), "invalid-request", "timezone"),
        (decision("mta", selection={"entities": ["m"] * 10_001}), "invalid-request", "10000"),
        (decision("mta", selection={"entities": ["a\x00"]}), "invalid-request", "U+0000"),
        (decision(trigger=None, outcomes=[{"entity": "mta"}]), "invalid-request", "outcomes.0.trigger"),
        (decision("mta", trigger="renew_twice"), "plan-rejected", "unknown trigger(s) renew_twice"),
        (decision(selection={"states": ["nowhere"]}), "plan-rejected", "unknown state 'nowhere'"),
        (decision("mta", reference="ligne\nsuivante"), "plan-rejected", "reference"),
        ({"kind": "timer_move", "timer": "contract_end", "selection": {"all": True}} | ACT, "invalid-request", "to"),
        (
            {"kind": "timer_move", "timer": "nope", "by": "+1 year", "selection": {"all": True}} | ACT,
            "plan-rejected",
            "no timer 'nope'",
        ),
    ],
)
def test_a_plan_that_cannot_be_made_is_a_422_problem_and_stores_nothing(
    api: TestClient, tokens: dict[str, str], body: dict[str, Any], kind: str, says: str
) -> None:
    answer = api.post("/api/v1/batches", json=body, headers=as_(tokens["sophie"]))
    is_problem(answer, 422, kind)
    assert says in answer.text
    assert api.get("/api/v1/batches", headers=as_(tokens["sophie"])).json()["items"] == []


def test_outcomes_give_each_entity_its_own_trigger_and_fields(api: TestClient, tokens: dict[str, str]) -> None:
    outcomes = [{"entity": "mta", "data": {"group": 2}}, {"entity": "enfant"}]
    body = decision(outcomes=outcomes, selection=None)
    plan = api.post("/api/v1/batches", json=body, headers=as_(tokens["sophie"])).json()
    assert [i["preview"]["dest"] for i in plan["items"]] == ["group_2", "group_1"]


def test_a_cancelled_plan_cannot_be_executed_nor_cancelled_again(
    api: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    sophie = as_(tokens["sophie"])
    plan = api.post("/api/v1/batches", json=decision("mta", "enfant"), headers=sophie).json()
    url = f"/api/v1/batches/{plan['id']}"
    cancelled = api.post(f"{url}/cancellation", headers=sophie)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["counts"] == {"cancelled": 2}
    refused = is_problem(api.post(f"{url}/execution", headers=sophie), 409, "action-refused")
    assert refused["found"] == "cancelled"
    is_problem(api.post(f"{url}/cancellation", headers=sophie), 409, "action-refused")
    assert len(events(runtime, "mta")) == 1
    for path in ("/api/v1/batches/999999/execution", "/api/v1/batches/999999/cancellation"):
        is_problem(api.post(path, headers=sophie), 404, "not-found")
    is_problem(api.get("/api/v1/batches/0", headers=sophie), 404, "not-found")
    is_problem(api.get(f"/api/v1/batches/{10**30}", headers=sophie), 404, "not-found")


def under_contract(api: TestClient, tokens: dict[str, str], entity: str) -> int:
    """Classify ``entity`` in group 1 and sign its contract; return its contract_end timer's id."""
    steps = [
        {"trigger": "classify", "fields": {"group": 1}, "reason": "classement"},
        {"trigger": "sign_contract", "fields": {"contract_start": "2009-01-01"}, "reason": "contrat"},
    ]
    for version, step in enumerate(steps):
        headers = as_(tokens["marie"], **{"If-Match": f'"{version}"'})
        fired = api.post(f"/api/v1/instances/{entity}/transitions", json=step, headers=headers)
        assert fired.status_code == 201, fired.text
    timers = api.get("/api/v1/timers", params={"limit": 1000}, headers=as_(tokens["paul"])).json()["items"]
    (found,) = [t["id"] for t in timers if (t["entity"], t["name"]) == (entity, "contract_end")]
    return int(found)


def test_a_pending_timer_is_moved_with_if_match_as_an_event(
    api: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    timer = under_contract(api, tokens, "mta")
    url = f"/api/v1/timers/{timer}"
    move = {"by": "+1 year", "reason": "CIADT du 11 mai 2010", "on_behalf_of": "DATAR"}
    is_problem(api.patch(url, json=move, headers=as_(tokens["marie"])), 428, "precondition-required")
    is_problem(api.patch(url, json=move, headers=as_(tokens["marie"], **{"If-Match": '"1"'})), 412, "concurrent-update")
    is_problem(api.patch(url, json=move, headers=as_(tokens["paul"], **{"If-Match": '"2"'})), 403, "forbidden")
    moved = api.patch(url, json=move, headers=as_(tokens["marie"], **{"If-Match": '"2"'}))
    assert moved.status_code == 200, moved.text
    answer = moved.json()
    assert (answer["entity"], answer["timer"], answer["overdue"], answer["version"]) == (
        "mta",
        "contract_end",
        False,
        3,
    )
    assert datetime.fromisoformat(answer["from"]) == datetime(2012, 1, 1, tzinfo=PARIS)
    assert datetime.fromisoformat(answer["to"]) == datetime(2013, 1, 1, tzinfo=PARIS)
    assert moved.headers["etag"] == '"3"'
    last = events(runtime, "mta")[-1]
    assert last["trigger"] == "(timer moved)" and last["actor"] == "DATAR"
    assert last["principal"].startswith("marie (token ")
    timers = api.get("/api/v1/instances/mta", headers=as_(tokens["paul"])).json()["timers"]
    assert [datetime.fromisoformat(t["due_at"]) for t in timers if t["name"] == "contract_end"] == [
        datetime(2013, 1, 1, tzinfo=PARIS)
    ]


@pytest.mark.parametrize(
    ("move", "status", "kind", "says"),
    [
        ({"to": "2008-01-01T00:00:00+01:00"}, 422, "invalid-data", "2007-12-31T23:00:00+00:00 is before"),
        ({"to": "2012-01-01T00:00:00+01:00"}, 422, "invalid-data", "already due"),
        ({"by": "next tuesday"}, 422, "invalid-data", "'next tuesday' is not an offset"),
        ({"by": "+999999999 years"}, 422, "invalid-data", "moves too far: at most 100 years"),
        ({"to": "2013-01-01T00:00:00+01:00", "by": "+1 year"}, 422, "invalid-request", "exactly one"),
        ({"to": "2013-01-01T00:00:00+01:00", "timer": "other"}, 422, "invalid-request", "timer"),
    ],
)
def test_an_impossible_move_is_a_problem_and_writes_nothing(
    api: TestClient,
    tokens: dict[str, str],
    runtime: Runtime,
    move: dict[str, Any],
    status: int,
    kind: str,
    says: str,
) -> None:
    timer = under_contract(api, tokens, "mta")
    body = move | {"reason": "prolongation"}
    answer = api.patch(f"/api/v1/timers/{timer}", json=body, headers=as_(tokens["marie"], **{"If-Match": '"2"'}))
    problem = is_problem(answer, status, kind)
    assert says in problem["detail"]
    assert len(events(runtime, "mta")) == 3


def test_a_timer_that_is_not_pending_or_does_not_exist_is_refused(
    api: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    timer = under_contract(api, tokens, "mta")
    assert fire_due(runtime.engine, now=datetime(2012, 1, 1, tzinfo=PARIS)).fired == 1  # the contract ended
    move = {"by": "+1 year", "reason": "trop tard"}
    headers = as_(tokens["marie"], **{"If-Match": '"3"'})
    refused = api.patch(f"/api/v1/timers/{timer}", json=move, headers=headers)
    assert is_problem(refused, 409, "action-refused")["expected"] == "pending"
    for missing in (999_999, 0, 10**30):
        answer = api.patch(f"/api/v1/timers/{missing}", json=move, headers=headers)
        is_problem(answer, 404, "not-found")


def test_every_contract_end_of_a_selection_moves_in_one_plan(api: TestClient, tokens: dict[str, str]) -> None:
    under_contract(api, tokens, "mta")
    body = {
        "kind": "timer_move",
        "timer": "contract_end",
        "to": "2013-01-01T00:00:00+01:00",
        "selection": {"entities": ["mta", "vegepolys"]},
        "reference": "CIADT du 11 mai 2010",
        "reason": "phase 2 prolongée jusqu'à fin 2012",
    }
    sophie = as_(tokens["sophie"])
    plan = api.post("/api/v1/batches", json=body, headers=sophie).json()
    assert plan["kind"] == "timer_move" and plan["counts"] == {"pending": 1, "refused": 1}
    ran = api.post(f"/api/v1/batches/{plan['id']}/execution", headers=sophie).json()
    assert ran["run"]["done"] == 1 and ran["counts"] == {"done": 1, "refused": 1}
    timers = api.get("/api/v1/instances/mta", headers=as_(tokens["paul"])).json()["timers"]
    assert [datetime.fromisoformat(t["due_at"]) for t in timers if t["name"] == "contract_end"] == [
        datetime(2013, 1, 1, tzinfo=PARIS)
    ]


def test_a_plan_created_again_with_its_idempotency_key_is_the_same_plan(
    api: TestClient, tokens: dict[str, str]
) -> None:
    key = as_(tokens["sophie"], **{"Idempotency-Key": "plan-2008-06-30"})
    first = api.post("/api/v1/batches", json=decision("mta", "enfant"), headers=key)
    again = api.post("/api/v1/batches", json=decision("mta", "enfant"), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    listed = api.get("/api/v1/batches", headers=as_(tokens["sophie"])).json()["items"]
    assert [b["id"] for b in listed] == [first.json()["id"]]
    other = api.post("/api/v1/batches", json=decision("pass"), headers=key)
    assert is_problem(other, 422, "idempotency-key-reused")
    blank = api.post(
        "/api/v1/batches", json=decision("pass"), headers=as_(tokens["sophie"], **{"Idempotency-Key": " "})
    )
    is_problem(blank, 422, "invalid-header")
