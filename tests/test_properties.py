"""Invariants under random use, on SQLite and PostgreSQL (hypothesis)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from labelwf import Engine, EntityRow, LabelwfError, add_entities, load_workflow, store, verify
from labelwf.workflow.definition import Workflow
from tests.conftest import WORKFLOW_FILE
from tests.helpers import fire_timer

WORKFLOW: Workflow = load_workflow(WORKFLOW_FILE)
ZONES = [UTC, ZoneInfo("Europe/Paris"), ZoneInfo("America/Sao_Paulo"), ZoneInfo("Asia/Kolkata")]
_ids = itertools.count()

values = {
    "group": st.sampled_from([1, 2, 3, "2", "4", "deux"]),
    "contract_start": st.sampled_from(["2009-01-01", "2009-06-16", "2009-02-30"]),
    "contract_end": st.sampled_from(["2012-01-01", "2013-01-01T00:00", "bientôt"]),
    "decision_ref": st.sampled_from(["CIADT du 11 mai 2010", ""]),
    "review_ref": st.sampled_from(["rapport 2010-07"]),
}
steps = st.tuples(
    st.sampled_from(WORKFLOW.all_triggers),
    st.dictionaries(st.sampled_from(sorted(values)), st.none(), max_size=3).flatmap(
        lambda keys: st.fixed_dictionaries({k: values[k] for k in keys})
    ),
    st.sampled_from(["operator", "system"]),
)
relaxed = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def new_pole(engine: Engine) -> str:
    entity = f"pole-{next(_ids)}"
    add_entities(engine, [EntityRow(1, entity, f"Pôle {entity}", {})], actor="t", reason="t")
    return entity


def instance_row(engine: Engine, entity: str) -> Any:
    with engine.db.read() as conn:
        return conn.execute(sa.select(store.instance).where(store.instance.c.entity_id == entity)).one()


def seqs(engine: Engine, iid: int) -> list[int]:
    with engine.db.read() as conn:
        return list(
            conn.execute(sa.select(store.event.c.seq).where(store.event.c.instance_id == iid).order_by("seq")).scalars()
        )


@relaxed
@given(script=st.lists(steps, max_size=12))
def test_random_triggers_never_leave_an_unknown_state_skip_a_version_or_break_the_chain(
    engine: Engine, script: list[tuple[str, dict[str, Any], str]]
) -> None:
    entity = new_pole(engine)
    applied = 0
    for trigger, data, role in script:
        before = instance_row(engine, entity)
        try:
            if role == "system":  # the daemon's path: the pending timer of that trigger, if there is one
                fired = fire_timer(engine, entity, trigger)
                if fired is None:
                    continue
            else:
                fired = engine.fire(entity, trigger, data=data, actor="op", reason="property")
        except LabelwfError:
            assert instance_row(engine, entity) == before  # a refusal writes nothing
            continue
        applied += 1
        assert fired.version == before.version + 1
    row = instance_row(engine, entity)
    assert row.state in WORKFLOW.states
    assert row.version == applied
    assert seqs(engine, row.id) == list(range(applied + 1))
    assert verify(engine.db, entity=entity).ok


def walk(engine: Engine, entity: str, choices: list[int]) -> None:
    """Follow allowed transitions, picking among them with ``choices``."""
    data_for = {
        "classify": {"group": 1},
        "sign_contract": {"contract_start": "2009-01-01"},
        "renew": {"decision_ref": "CIADT"},
        "delabel": {"decision_ref": "CIADT", "motif": "Critères non remplis."},
        "label": {"decision_ref": "CIADT"},
        "classify_2012": {"class_2012": "performant"},
        "review_unsatisfactory": {"motif": "Axes d’amélioration non suivis."},
    }
    for choice in choices:
        state = instance_row(engine, entity).state
        allowed = WORKFLOW.triggers_from(state)
        if not allowed:
            return
        trigger = allowed[choice % len(allowed)]
        data = data_for.get(trigger, {})
        if trigger == "classify":
            data = {"group": 1 + choice % 3}
        roles = WORKFLOW.candidates(state, trigger)[0].roles
        if "operator" in roles:
            engine.fire(entity, trigger, data=data, actor="op", reason="walk")
        elif fire_timer(engine, entity, trigger) is None:
            return


TAMPERING = {
    "reason": sa.literal("a different reason"),
    "actor": sa.literal("mallory"),
    "dest": sa.literal("set_by_hand"),
    "data": sa.cast(sa.literal('{"group": 9}'), store.JSONType),
    "occurred_at": None,  # moved by one second, below
    "hash": sa.literal("0" * 64),
    "prev_hash": sa.literal("f" * 64),
}


@relaxed
@given(
    choices=st.lists(st.integers(0, 5), min_size=1, max_size=6),
    pick=st.integers(0, 100),
    column=st.sampled_from(sorted(TAMPERING)),
)
def test_tampering_with_any_stored_event_is_detected_at_that_event(
    engine: Engine, choices: list[int], pick: int, column: str
) -> None:
    entity = new_pole(engine)
    walk(engine, entity, choices)
    iid = instance_row(engine, entity).id
    target = seqs(engine, iid)[pick % len(seqs(engine, iid))]
    where = (store.event.c.instance_id == iid) & (store.event.c.seq == target)
    value = TAMPERING[column]
    if column == "occurred_at":
        with engine.db.read() as conn:
            old = conn.execute(sa.select(store.event.c.occurred_at).where(where)).scalar_one()
        value = sa.literal(old + timedelta(seconds=1), store.UTCDateTime)
    with engine.db.write() as conn:
        conn.execute(store.event.update().where(where).values({column: value}))
    report = verify(engine.db, entity=entity)
    assert not report.ok
    assert [b.seq for b in report.breaks] == [target]


@relaxed
@given(choices=st.lists(st.integers(0, 5), min_size=2, max_size=6), pick=st.integers(0, 100))
def test_removing_an_event_is_detected(engine: Engine, choices: list[int], pick: int) -> None:
    entity = new_pole(engine)
    walk(engine, entity, choices)
    iid = instance_row(engine, entity).id
    all_seqs = seqs(engine, iid)
    target = all_seqs[pick % len(all_seqs)]
    with engine.db.write() as conn:
        conn.execute(store.timer.delete().where(store.timer.c.instance_id == iid))
        conn.execute(store.letter.delete().where(store.letter.c.instance_id == iid))
        conn.execute(store.event.delete().where(store.event.c.instance_id == iid, store.event.c.seq == target))
    report = verify(engine.db, entity=entity)
    assert not report.ok
    if target == all_seqs[-1]:
        assert report.breaks[0].seq is None and "newest events were removed" in report.breaks[0].problem
    else:
        assert report.breaks[0].seq == target + 1


aware_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.sampled_from(ZONES)
)


@settings(max_examples=300, deadline=None)
@given(value=aware_datetimes)
def test_a_datetime_is_stored_on_sqlite_as_sqlalchemy_writes_it_and_read_back_unchanged(value: datetime) -> None:
    dialect = sqlite.dialect()
    ours = store.UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    theirs = sa.DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and theirs is not None
    assert ours(value) == theirs(value.astimezone(UTC).replace(tzinfo=None))
    read = store.UTCDateTime().process_result_value(
        sqlite.DATETIME().result_processor(dialect, None)(ours(value)), dialect
    )
    assert read == value.astimezone(UTC) and read.tzinfo is UTC
