"""Bulk decisions, on SQLite and PostgreSQL: a frozen plan, previewed entity by entity, run exactly once."""

from __future__ import annotations

import csv
import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelwf import Engine, EntityRow, LabelwfError, add_entities, verify
from labelwf.clock import FrozenClock
from labelwf.errors import ActionRefused, NothingToExecute, PlanRejected
from labelwf.operations import plans
from labelwf.operations.bulk import Outcome, Selection, plan_decision, read_outcomes
from labelwf.store import fires, reads
from labelwf.store.records import BatchStatus, Event, Instance, ItemStatus
from tests.conftest import POLES_CSV

ACT = {"reference": "Décision du 30 juin 2008", "actor": "dgcis", "reason": "classement de l'évaluation 2008"}


def _show(engine: Engine, entity: str) -> Instance:
    with engine.db.read() as conn:
        found = fires.load_instance(conn, entity, "poles-2008")
    assert found is not None
    return found


def state(engine: Engine, entity: str) -> str:
    return _show(engine, entity).state


def poles_history(engine: Engine, entity: str) -> list[Event]:
    with engine.db.read() as conn:
        return list(reads.history(conn, _show(engine, entity), limit=1000).items)


def test_a_plan_previews_each_entity_and_fires_nothing(poles: Engine) -> None:
    # Given three poles to classify in group 1, one of them named twice and one unknown
    selection = Selection(entities=("mta", "enfant", "mta", "atlantis"))
    # When the decision is planned
    report = plan_decision(poles, selection=selection, trigger="classify", data={"group": 1}, **ACT)
    # Then each entity has its preview, or the reason it would be refused; nothing was fired
    by = [(i.entity, i.status, i.preview.get("dest") or i.preview["refused"]) for i in report.items]
    assert by[0] == ("mta", ItemStatus.PENDING, "group_1")
    assert by[1] == ("enfant", ItemStatus.PENDING, "group_1")
    assert by[2][:2] == ("mta", ItemStatus.REFUSED) and "listed twice" in by[2][2]
    assert by[3][:2] == ("atlantis", ItemStatus.REFUSED) and "no such entity" in by[3][2]
    assert report.batch.counts == {"pending": 2, "refused": 2} and report.batch.status is BatchStatus.PLANNED
    assert report.items[0].preview["letters"] == ["classement_groupe_1"]
    assert state(poles, "mta") == "evaluated"


def test_running_a_plan_fires_each_pending_item_once_with_the_plan_s_id(poles: Engine) -> None:
    report = plan_decision(
        poles, selection=Selection(entities=("mta", "enfant", "atlantis")), trigger="classify", data={"group": 2}, **ACT
    )
    done = plans.run(poles, report.batch.id)
    assert (done.done, done.changed, done.failed, done.remaining) == (2, 0, 0, 0)
    assert done.batch.status is BatchStatus.DONE and done.batch.counts == {"done": 2, "refused": 1}
    assert state(poles, "mta") == state(poles, "enfant") == "group_2"
    # Each event carries the plan's id, inside its hash, and the act's reference in its reason
    events = poles_history(poles, "mta")
    assert events[-1].batch == report.batch.id and events[-1].hash_format == 6
    assert events[-1].reason.startswith("Décision du 30 juin 2008 : ")
    assert verify(poles.db).ok
    # Running it again does nothing more
    again = plans.run(poles, report.batch.id)
    assert (again.done, again.remaining) == (0, 0) and len(poles_history(poles, "mta")) == 2


def test_an_instance_changed_since_the_preview_is_reported_not_fired(poles: Engine) -> None:
    report = plan_decision(
        poles, selection=Selection(entities=("mta", "enfant")), trigger="classify", data={"group": 1}, **ACT
    )
    poles.fire("enfant", "classify", actor="dgcis", reason="décision individuelle", data={"group": 3})
    done = plans.run(poles, report.batch.id)
    assert (done.done, done.changed) == (1, 1)
    changed = plans.items(poles, report.batch.id, status="changed")
    assert [i.entity for i in changed] == ["enfant"] and "changed by someone else" in str(changed[0].outcome)
    assert state(poles, "enfant") == "group_3"


def test_a_filter_selects_every_matching_instance_not_one_page(poles: Engine) -> None:
    report = plan_decision(
        poles,
        selection=Selection(where={"group_2008": ("1",)}, excluded=("axelera",)),
        trigger="classify",
        data={"group": 1},
        **ACT,
    )
    # Every pole whose 2008 group 1 is on record, minus the one excluded
    with POLES_CSV.open(encoding="utf-8") as f:
        expected = {r["id"] for r in csv.DictReader(f) if r["group_2008"] == "1"} - {"axelera"}
    assert {i.entity for i in report.items} == expected and len(expected) > 5
    assert all(i.status is ItemStatus.PENDING for i in report.items)
    assert "axelera" not in {i.entity for i in report.items}


def test_an_outcomes_file_gives_each_entity_its_trigger_and_fields(poles: Engine, tmp_path: Path) -> None:
    path = tmp_path / "outcomes.csv"
    path.write_text("id,group,source\nmta,1,x\nenfant,3,y\nsporaltec,7,z\n", encoding="utf-8")
    outcomes = read_outcomes(path, poles.workflow(), trigger="classify", ignore=["source"])
    report = plan_decision(poles, outcomes=outcomes, **ACT)
    statuses = {i.entity: (i.status, i.preview.get("dest")) for i in report.items}
    assert statuses["mta"] == (ItemStatus.PENDING, "group_1")
    assert statuses["enfant"] == (ItemStatus.PENDING, "group_3")
    assert statuses["sporaltec"][0] is ItemStatus.REFUSED
    assert "line 4" in report.items[2].preview["refused"]
    plans.run(poles, report.batch.id)
    assert state(poles, "enfant") == "group_3" and state(poles, "sporaltec") == "evaluated"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("name,group\nmta,1\n", "id column"),
        ("id,grp\nmta,1\n", "unknown column(s) 'grp'"),
        ("id,group\nmta,1,2\n", "3 cells for 2 columns"),
        ("id,group\n", "no data rows"),
        ("id\nmta\n", "no trigger column"),
    ],
)
def test_a_bad_outcomes_file_is_refused_whole_saying_where(
    poles: Engine, tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PlanRejected, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read_outcomes(path, poles.workflow(), trigger=None if "trigger" in expected else "classify")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"reference": ""}, "reference"),
        ({"reason": " "}, "reason"),
        ({"actor": "labelwf-daemon"}, "actor"),
        ({"trigger": "explode"}, "unknown trigger"),
    ],
)
def test_a_plan_that_cannot_be_made_stores_nothing(poles: Engine, change: dict[str, str], expected: str) -> None:
    args = {**ACT, "trigger": "classify"} | change
    with pytest.raises(Exception, match=expected):
        plan_decision(poles, selection=Selection(entities=("mta",)), data={"group": 1}, **args)  # type: ignore[arg-type]
    assert plans.listing(poles) == []


def test_a_selection_of_no_instance_is_refused(poles: Engine) -> None:
    with pytest.raises(PlanRejected, match="holds no instance"):
        plan_decision(poles, selection=Selection(states=("delabeled",)), trigger="classify", **ACT)
    with pytest.raises(PlanRejected, match="unknown state 'nope'"):
        plan_decision(poles, selection=Selection(states=("nope",)), trigger="classify", **ACT)


def test_a_cancelled_plan_runs_no_more_and_says_so(poles: Engine) -> None:
    report = plan_decision(
        poles, selection=Selection(where={"group_2008": ("1",)}), trigger="classify", data={"group": 1}, **ACT
    )
    first = plans.run(poles, report.batch.id, size=3, progress=lambda done, total: plans.cancel(poles, report.batch.id))
    assert first.done == 3 and first.stopped
    assert first.batch.counts == {"done": 3, "cancelled": len(report.items) - 3}
    with pytest.raises(ActionRefused, match="cancelled"):
        plans.run(poles, report.batch.id)
    with pytest.raises(ActionRefused, match="cancelled"):
        plans.cancel(poles, report.batch.id)


def test_the_decision_s_business_date_is_each_event_s(poles: Engine, clock: FrozenClock) -> None:
    at = clock.now() + timedelta(days=12)
    clock.advance(timedelta(days=30))
    report = plan_decision(
        poles, selection=Selection(entities=("mta",)), trigger="classify", data={"group": 1}, at=at, **ACT
    )
    plans.run(poles, report.batch.id)
    assert poles_history(poles, "mta")[-1].occurred_at == at


def test_outcome_objects_can_be_given_directly(poles: Engine) -> None:
    outcomes = [Outcome("mta", "classify", {"group": 1}), Outcome("enfant", "classify", {"group": 2})]
    report = plan_decision(poles, outcomes=outcomes, selection=Selection(entities=("mta",)), **ACT)
    assert [i.entity for i in report.items] == ["mta"]


_batches = itertools.count()
outcome_lists = st.lists(
    st.tuples(
        st.integers(0, 7), st.sampled_from(["classify", "sign_contract", "renew"]), st.sampled_from([1, 2, 3, 4])
    ),
    min_size=1,
    max_size=12,
)
meddling = st.lists(st.tuples(st.integers(0, 7), st.sampled_from([1, 2, 3])), max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=outcome_lists, concurrent=meddling)
def test_preview_and_execution_agree_entity_by_entity(
    engine: Engine, chosen: list[tuple[int, str, int]], concurrent: list[tuple[int, int]]
) -> None:
    # Given eight fresh entities, some of them classified already
    prefix = f"p{next(_batches)}-"
    ids = [f"{prefix}{i}" for i in range(8)]
    add_entities(engine, [EntityRow(i, e, e, {}) for i, e in enumerate(ids)], actor="t", reason="t")
    engine.fire(ids[7], "classify", actor="dgcis", reason="r", data={"group": 1})
    outcomes = [Outcome(ids[i], trigger, {"group": group}) for i, trigger, group in chosen]
    report = plan_decision(engine, outcomes=outcomes, **ACT)
    before = {e: _show(engine, e) for e in ids}
    # When other decisions change some instances between the plan and its run
    changed: set[str] = set()
    for i, group in concurrent:
        try:
            engine.fire(ids[i], "classify", actor="other", reason="r", data={"group": group})
            changed.add(ids[i])
        except LabelwfError:
            pass
    if report.batch.counts.get("pending"):
        plans.run(engine, report.batch.id)
    else:  # every item refused at its preview: the plan is refused as having nothing to execute
        with pytest.raises(NothingToExecute):
            plans.run(engine, report.batch.id)
    # Then each item did exactly what its preview said, or was reported changed, or stayed refused
    for item in plans.items(engine, report.batch.id):
        after = _show(engine, item.entity)
        if item.preview.get("refused"):
            assert item.status is ItemStatus.REFUSED
        elif item.entity in changed:
            assert item.status is ItemStatus.CHANGED
        else:
            assert item.status is ItemStatus.DONE, item
            assert after.state == item.preview["dest"] and after.version == before[item.entity].version + 1
    for entity in set(ids) - {i.entity for i in plans.items(engine, report.batch.id)} - changed:
        assert _show(engine, entity).version == before[entity].version
    assert verify(engine.db).ok
