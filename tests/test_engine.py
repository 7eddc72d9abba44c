"""Contract of Engine.fire on the 2008 programme, run on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from labelwf import (
    ConcurrentUpdate,
    Engine,
    EntityRow,
    InvalidData,
    InvalidTransition,
    LetterError,
    MissingData,
    MissingJustification,
    NotFound,
    RoleNotAllowed,
    add_entities,
    load_workflow,
    store,
    verify,
)
from labelwf.workflow.definition import TransitionDef
from tests.conftest import ROOT
from tests.helpers import CIADT, DELABEL, OPERATOR, PATHS, START_2009, SYSTEM, drive, fire_timer


def snapshot(engine: Engine, entity: str) -> dict[str, Any]:
    """Everything a fire may write about one instance."""
    with engine.db.read() as conn:
        row = conn.execute(
            sa.select(store.instance.c.id, store.instance.c.state, store.instance.c.version).where(
                store.instance.c.entity_id == entity
            )
        ).one()
        count = lambda table: conn.execute(  # noqa: E731
            sa.select(sa.func.count()).select_from(table).where(table.c.instance_id == row.id)
        ).scalar()
        pending = conn.execute(
            sa.select(sa.func.count()).where(store.timer.c.instance_id == row.id, store.timer.c.status == "pending")
        ).scalar()
        return {
            "state": row.state,
            "version": row.version,
            "events": count(store.event),
            "timers": count(store.timer),
            "pending": pending,
            "letters": count(store.letter),
        }


def step_for(transition: TransitionDef) -> tuple[dict[str, Any], dict[str, Any]]:
    """The data and caller that take ``transition``."""
    data: dict[str, Any] = {}
    if transition.trigger == "classify":
        data = {"group": int(transition.dest[-1])}
    elif transition.trigger == "classify_2012":
        data = {"class_2012": "tres_performant"}
    elif "contract_start" in transition.requires:
        data = dict(START_2009)
    elif "decision_ref" in transition.requires:
        data = dict(CIADT)
    if "motif" in transition.requires:
        data["motif"] = DELABEL["motif"]
    who = OPERATOR if "operator" in transition.roles else SYSTEM
    return data, who


def every_declared_step() -> list[Any]:
    wf = load_workflow(ROOT / "workflows" / "poles-2008.yaml")
    return [
        pytest.param(t, source, id=f"{source}-{t.trigger}->{t.dest}") for t in wf.transitions for source in t.sources
    ]


@pytest.mark.parametrize(("transition", "source"), every_declared_step())
def test_every_declared_transition_moves_the_instance_and_records_one_event(
    poles: Engine, transition: TransitionDef, source: str
) -> None:
    # Given a pole in the transition's source state
    drive(poles, "enfant", source)
    before = snapshot(poles, "enfant")
    data, who = step_for(transition)
    # When the trigger fires (a system one through its timer, as the daemon fires it)
    fired = fire_timer(poles, "enfant", transition.trigger) if who is SYSTEM else None
    fired = fired or poles.fire("enfant", transition.trigger, data=data, **who)
    # Then the pole is in the destination, one version and one audit event further
    after = snapshot(poles, "enfant")
    assert (fired.source, fired.dest) == (source, transition.dest)
    assert after["state"] == transition.dest
    assert after["version"] == before["version"] + 1 == fired.version
    assert after["events"] == before["events"] + 1
    assert fired.letters == sum(len(poles.workflow().letters[n].to) for n in transition.letters)
    assert verify(poles.db).ok


@pytest.mark.parametrize("state", list(PATHS))
def test_every_trigger_a_state_cannot_take_is_refused_with_what_it_can(poles: Engine, state: str) -> None:
    drive(poles, "enfant", state)
    wf = poles.workflow()
    before = snapshot(poles, "enfant")
    for trigger in sorted(set(wf.all_triggers) - set(wf.triggers_from(state))):
        with pytest.raises(InvalidTransition) as refused:
            poles.fire("enfant", trigger, data={}, actor="x", reason="y")
        assert refused.value.state == state
        assert refused.value.allowed == list(wf.triggers_from(state))
    assert snapshot(poles, "enfant") == before


def test_a_trigger_reserved_to_the_system_is_refused_to_an_operator(poles: Engine) -> None:
    drive(poles, "enfant", "group_3")
    before = snapshot(poles, "enfant")
    with pytest.raises(RoleNotAllowed) as refused:
        poles.fire("enfant", "end_label_term", **OPERATOR)
    assert refused.value.allowed == ["system"]
    assert "reserved to role(s) system" in str(refused.value)
    assert snapshot(poles, "enfant") == before


@pytest.mark.parametrize(
    ("data", "error", "text"),
    [
        ({}, MissingData, "requires data: contract_start"),
        ({"contract_start": "janvier 2009"}, InvalidData, "must be a date YYYY-MM-DD, got 'janvier 2009'"),
        ({"contract_start": "2009-01-01", "contrat_end": "x"}, InvalidData, "unknown data field 'contrat_end'"),
        ({"contract_start": "2009-01-01", "contract_end": "2012-13-01"}, InvalidData, "contract_end"),
    ],
)
def test_bad_transition_data_is_refused_and_says_what_is_expected(
    poles: Engine, data: dict[str, str], error: type[Exception], text: str
) -> None:
    drive(poles, "enfant", "group_1")
    before = snapshot(poles, "enfant")
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        poles.fire("enfant", "sign_contract", data=data, **OPERATOR)
    assert snapshot(poles, "enfant") == before


@pytest.mark.parametrize(("actor", "reason"), [("", "why"), ("who", ""), ("who", "   ")])
def test_an_operator_action_needs_an_actor_and_a_reason(poles: Engine, actor: str, reason: str) -> None:
    with pytest.raises(MissingJustification):
        poles.fire("enfant", "classify", data={"group": 1}, actor=actor, reason=reason)
    assert snapshot(poles, "enfant")["version"] == 0


def test_an_unknown_entity_is_not_found(poles: Engine) -> None:
    with pytest.raises(NotFound, match="no instance 'atlantis'"):
        poles.fire("atlantis", "classify", data={"group": 1}, **OPERATOR)


def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    before = snapshot(poles, "enfant")
    with pytest.raises(ConcurrentUpdate) as conflict:
        poles.fire("enfant", "start_reevaluation", expected_version=0, **OPERATOR)
    assert (conflict.value.expected_version, conflict.value.found_version) == (0, 1)
    assert snapshot(poles, "enfant") == before
    poles.fire("enfant", "start_reevaluation", expected_version=1, **OPERATOR)


def test_entering_a_state_arms_its_timers_in_the_workflow_time_zone(poles: Engine) -> None:
    drive(poles, "iar", "group_2")
    fired = poles.fire("iar", "sign_contract", data={"contract_start": "2009-01-01"}, **OPERATOR)
    # 18 months after 1 January 2009 is 1 July 2010 at midnight in Paris (CEST, UTC+2).
    assert dict(fired.timers_armed) == {
        "review_18_months": datetime(2010, 6, 30, 22, 0, tzinfo=UTC),
        "contract_end": datetime(2011, 12, 31, 23, 0, tzinfo=UTC),
    }


def test_a_contract_end_given_on_signature_replaces_the_default(poles: Engine) -> None:
    drive(poles, "iar", "group_1")
    fired = poles.fire(
        "iar", "sign_contract", data={"contract_start": "2009-06-16", "contract_end": "2013-01-01"}, **OPERATOR
    )
    assert dict(fired.timers_armed) == {"contract_end": datetime(2012, 12, 31, 23, 0, tzinfo=UTC)}


def test_leaving_a_state_cancels_its_pending_timers(poles: Engine) -> None:
    drive(poles, "enfant", "group_3")
    assert snapshot(poles, "enfant")["pending"] == 1
    poles.fire("enfant", "start_reevaluation", **OPERATOR)  # re-arms the same deadline in reevaluation
    assert snapshot(poles, "enfant")["pending"] == 1
    poles.fire("enfant", "delabel", data=DELABEL, **OPERATOR)
    after = snapshot(poles, "enfant")
    assert (after["pending"], after["timers"]) == (0, 2)


def test_each_step_queues_its_letters_for_every_recipient_with_the_french_date(poles: Engine) -> None:
    fired = poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    assert fired.letters == 3
    with poles.db.read() as conn:
        letters = conn.execute(sa.select(store.letter).order_by(store.letter.c.id)).mappings().all()
    assert [m["recipient"] for m in letters] == ["governance", "prefet", "region"]
    assert all(m["subject"] == "Pôle Enfant\u00a0: maintien du label jusqu’à la fin de l’année 2009" for m in letters)
    assert all("Paris, le 18 juin 2008" in m["body"] and m["status"] == "pending" for m in letters)


def test_a_letter_that_cannot_be_rendered_fails_the_whole_fire(db: Any, clock: Any, tmp_path: Path) -> None:
    # Given a copy of the programme whose group-1 letter reads a data field that nobody sets
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    letter = tmp_path / "templates" / "poles-2008" / "classement_groupe_1.j2"
    text = letter.read_text(encoding="utf-8").replace("groupe 1", "groupe 1 ({{ data.budget_2009 }})")
    letter.write_text(text, encoding="utf-8")
    engine = Engine(db, load_workflow(tmp_path / "workflows" / "poles-2008.yaml"), clock=clock)
    add_entities(engine, [EntityRow(2, "enfant", "Enfant", {})], actor="t", reason="t")
    before = snapshot(engine, "enfant")
    # When the pole is classified in group 1, the fire fails and names the template and variable
    with pytest.raises(LetterError) as failed:
        engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    assert failed.value.template == "classement_groupe_1"
    assert "budget_2009" in str(failed.value)
    # Then nothing of it was written
    assert snapshot(engine, "enfant") == before


def test_business_time_of_a_decision_is_recorded_apart_from_the_recording_time(poles: Engine, clock: Any) -> None:
    ciadt = datetime(2010, 5, 11, 10, 0, tzinfo=UTC)
    drive(poles, "enfant", "awaiting_decision")
    clock.set(datetime(2010, 5, 20, tzinfo=UTC))  # recorded nine days after the decision
    fired = poles.fire("enfant", "delabel", data=DELABEL, at=ciadt, **OPERATOR)
    assert fired.occurred_at == ciadt
    with poles.db.read() as conn:
        recorded = conn.execute(sa.select(store.event.c.recorded_at).where(store.event.c.id == fired.event_id)).scalar()
    assert recorded == clock.now()
