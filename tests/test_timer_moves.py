"""Deadline changes, on SQLite and PostgreSQL: a pending timer moved as a chain event, one or in bulk."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from labelwf import Engine, store, verify
from labelwf.clock import FrozenClock
from labelwf.engine.deadlines import fire_due
from labelwf.errors import ActionRefused, BusinessTimeRefused, InvalidData, NotFound, ReservedIdentity
from labelwf.operations import plans
from labelwf.operations.bulk import Selection
from labelwf.operations.timer_moves import Shift, move_timer, plan_moves
from labelwf.store import fires, reads
from labelwf.store.records import Instance, ItemStatus, TimerStatus

PARIS = ZoneInfo("Europe/Paris")
END_2011 = datetime(2012, 1, 1, tzinfo=PARIS)
END_2012 = datetime(2013, 1, 1, tzinfo=PARIS)
WHO = {"actor": "DATAR", "reason": "CIADT du 11 mai 2010 : phase 2 prolongée jusqu'à fin 2012"}


def instance(engine: Engine, entity: str) -> Instance:
    with engine.db.read() as conn:
        found = fires.load_instance(conn, entity, "poles-2008")
    assert found is not None
    return found


def contract_end(engine: Engine, entity: str) -> datetime:
    with engine.db.read() as conn:
        (timer,) = [t for t in reads.timers_of(conn, instance(engine, entity)) if t.name == "contract_end"]
    return timer.due_at


def under_contract(engine: Engine, *entities: str) -> None:
    for entity in entities:
        engine.fire(entity, "classify", actor="dgcis", reason="classement", data={"group": 1})
        engine.fire(entity, "sign_contract", actor="dgcis", reason="contrat", data={"contract_start": "2009-01-01"})


def test_a_timer_moved_keeps_both_instants_in_the_chain(poles: Engine) -> None:
    under_contract(poles, "mta")
    moved = move_timer(poles, "mta", "contract_end", Shift(by="+1 year"), **WHO)
    assert (moved.old_due, moved.new_due, moved.overdue) == (END_2011, END_2012, False)
    assert contract_end(poles, "mta") == END_2012
    with poles.db.read() as conn:
        last = reads.history(conn, instance(poles, "mta"), limit=100).items[-1]
    assert last.trigger == "(timer moved)" and last.source == last.dest == "contract"
    assert datetime.fromisoformat(last.data["from"]) == END_2011
    assert datetime.fromisoformat(last.data["to"]) == END_2012
    assert verify(poles.db).ok


def test_a_moved_timer_fires_at_its_new_instant_only(poles: Engine, clock: FrozenClock) -> None:
    under_contract(poles, "mta")
    move_timer(poles, "mta", "contract_end", Shift(to=END_2012), **WHO)
    assert fire_due(poles, now=END_2011 + timedelta(days=1)).fired == 0
    assert fire_due(poles, now=END_2012).fired == 1
    assert instance(poles, "mta").state == "evaluation_due"


def test_a_deadline_passed_but_not_fired_can_be_moved_and_says_so(poles: Engine, clock: FrozenClock) -> None:
    under_contract(poles, "mta")
    clock.set(END_2011 + timedelta(days=3))  # no daemon ran since the contract ended
    moved = move_timer(poles, "mta", "contract_end", Shift(to=END_2012), **WHO)
    assert moved.overdue and contract_end(poles, "mta") == END_2012
    assert fire_due(poles).fired == 0


@pytest.mark.parametrize(
    ("shift", "error", "match"),
    [
        (Shift(to=datetime(2008, 1, 1, tzinfo=PARIS)), InvalidData, "before the instance's last event"),
        (Shift(to=END_2011), InvalidData, "already due"),
        (Shift(by="+0 days"), InvalidData, "already due"),
    ],
)
def test_impossible_moves_are_refused_and_write_nothing(
    poles: Engine, shift: Shift, error: type[Exception], match: str
) -> None:
    under_contract(poles, "mta")
    before = instance(poles, "mta").version
    with pytest.raises(error, match=match):
        move_timer(poles, "mta", "contract_end", shift, **WHO)
    assert instance(poles, "mta").version == before and contract_end(poles, "mta") == END_2011


def test_a_timer_that_is_not_pending_cannot_be_moved(poles: Engine) -> None:
    under_contract(poles, "mta")
    fire_due(poles, now=END_2011)
    with pytest.raises(ActionRefused, match="it is fired; expected pending"):
        move_timer(poles, "mta", "contract_end", Shift(to=END_2012), **WHO)
    with pytest.raises(NotFound, match="pending timer"):
        move_timer(poles, "mta", "review_18_months", Shift(to=END_2012), **WHO)


def test_a_bad_offset_or_the_daemon_s_name_is_refused() -> None:
    with pytest.raises(InvalidData, match="not an offset"):
        Shift(by="next tuesday")
    with pytest.raises(InvalidData, match="exactly one"):
        Shift()


def test_the_daemon_s_name_is_refused(poles: Engine) -> None:
    under_contract(poles, "mta")
    with pytest.raises(ReservedIdentity):
        move_timer(poles, "mta", "contract_end", Shift(to=END_2012), actor="labelwf-daemon", reason="x")


def test_every_contract_end_of_a_selection_moves_in_one_plan(poles: Engine) -> None:
    # Given three poles under contract and one not (no contract_end timer)
    under_contract(poles, "mta", "enfant", "sporaltec")
    selection = Selection(entities=("mta", "enfant", "sporaltec", "vegepolys"))
    report = plan_moves(poles, "contract_end", Shift(to=END_2012), selection, reference="CIADT du 11 mai 2010", **WHO)
    assert report.batch.counts == {"pending": 3, "refused": 1}
    refused = [i for i in report.items if i.status is ItemStatus.REFUSED]
    assert refused[0].entity == "vegepolys" and "pending timer" in refused[0].preview["refused"]
    done = plans.run(poles, report.batch.id)
    assert done.done == 3 and all(contract_end(poles, e) == END_2012 for e in ("mta", "enfant", "sporaltec"))
    with poles.db.read() as conn:
        last = reads.history(conn, instance(poles, "enfant"), limit=100).items[-1]
    assert last.batch == report.batch.id and last.trigger == "(timer moved)"
    assert verify(poles.db).ok


def test_a_bulk_move_of_an_undeclared_timer_is_refused(poles: Engine) -> None:
    with pytest.raises(Exception, match="no timer 'nope'"):
        plan_moves(poles, "nope", Shift(to=END_2012), Selection(everything=True), reference="r", **WHO)


def test_a_timer_closed_after_the_plan_is_reported_changed(poles: Engine) -> None:
    under_contract(poles, "mta")
    report = plan_moves(
        poles, "contract_end", Shift(to=END_2012), Selection(entities=("mta",)), reference="CIADT", **WHO
    )
    fire_due(poles, now=END_2011)  # the contract ended before the plan ran
    done = plans.run(poles, report.batch.id)
    assert done.changed == 1 and done.done == 0
    with poles.db.read() as conn:
        statuses = {t.status for t in reads.timers_named(conn, instance(poles, "mta"), "contract_end")}
    assert statuses == {TimerStatus.FIRED}


def test_a_move_is_dated_at_the_act_and_never_before_the_last_event(poles: Engine, clock: FrozenClock) -> None:
    under_contract(poles, "mta")
    clock.set(datetime(2010, 6, 1, tzinfo=PARIS))
    act = datetime(2010, 5, 11, 10, tzinfo=PARIS)
    move_timer(poles, "mta", "contract_end", Shift(to=END_2012), at=act, **WHO)
    with poles.db.read() as conn:
        last = reads.history(conn, instance(poles, "mta"), limit=100).items[-1]
    assert last.occurred_at == act
    with pytest.raises(BusinessTimeRefused):
        move_timer(poles, "mta", "contract_end", Shift(by="+1 day"), at=datetime(2010, 1, 1, tzinfo=PARIS), **WHO)


def notices(engine: Engine, entity: str) -> list[tuple[str, str, str]]:
    with engine.db.read() as conn:
        rows = conn.execute(
            sa.select(store.letter.c.template, store.letter.c.recipient, store.letter.c.body)
            .join(store.instance, store.instance.c.id == store.letter.c.instance_id)
            .where(store.instance.c.entity_id == entity, store.letter.c.template == "report_echeance_contrat")
        ).all()
    return [(r.template, r.recipient, r.body) for r in rows]


def test_a_moved_deadline_sends_the_notice_its_workflow_declares_with_both_dates(poles: Engine) -> None:
    # Given a contract whose end (contract_end, notify: report_echeance_contrat) is moved by a year
    under_contract(poles, "mta")
    move_timer(poles, "mta", "contract_end", Shift(by="+1 year"), **WHO)
    # Then its notice goes to each recipient of the letter, with the old and the new date, local
    sent = notices(poles, "mta")
    assert sorted(r for _, r, _ in sent) == ["governance", "prefet", "region"]
    body = " ".join(sent[0][2].split())
    assert "fixée au 1er janvier 2012, est reportée au 1er janvier 2013" in body
    assert verify(poles.db).ok  # the letters are sealed with the event that sent them


def test_a_deadline_without_a_notice_moves_silently_and_a_plan_previews_the_notice(poles: Engine) -> None:
    poles.fire("enfant", "classify", actor="dgcis", reason="classement", data={"group": 3})

    def letters() -> int:
        with poles.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(store.letter)).scalar_one())

    before = letters()
    move_timer(poles, "enfant", "label_term", Shift(by="+1 month"), **WHO)
    assert letters() == before
    under_contract(poles, "pass")
    report = plan_moves(
        poles, "contract_end", Shift(to=END_2012), Selection(entities=("pass",)), reference="CIADT", **WHO
    )
    assert report.items[0].preview["letters"] == ["report_echeance_contrat"]
