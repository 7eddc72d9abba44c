"""The counts per workflow version and state that the database keeps (``store.counters``) always equal
a count over the instance table, on SQLite and PostgreSQL, whatever is fired, refused or rolled back."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from labelwf import Engine, LabelwfError
from labelwf.engine.portfolio import phase_counts
from labelwf.store import counters
from labelwf.store.schema import instance
from tests.helpers import fire_timer
from tests.test_properties import new_pole, relaxed, steps


def assert_counts_match(engine: Engine) -> None:
    with engine.db.read() as conn:
        assert counters.counts_by_version(conn) == counters.counted_by_scan(conn)


@relaxed
@given(script=st.lists(st.tuples(st.integers(0, 2), steps), max_size=15))
def test_the_counters_equal_a_count_of_the_rows_after_random_fires(
    engine: Engine, script: list[tuple[int, tuple[str, dict[str, Any], str]]]
) -> None:
    entities = [new_pole(engine) for _ in range(3)]
    for which, (trigger, data, role) in script:
        try:
            if role == "system":
                fire_timer(engine, entities[which], trigger)
            else:
                engine.fire(entities[which], trigger, data=data, actor="op", reason="property")
        except LabelwfError:
            pass
    assert_counts_match(engine)


def test_a_rolled_back_change_leaves_the_counters_as_they_were(poles: Engine) -> None:
    with poles.db.read() as conn:
        before = counters.counts_by_version(conn)
    with pytest.raises(RuntimeError), poles.db.write() as conn:
        conn.execute(sa.update(instance).where(instance.c.entity_id == "enfant").values(state="delabeled"))
        raise RuntimeError("rolled back")
    with poles.db.read() as conn:
        assert counters.counts_by_version(conn) == before


def test_moves_between_states_and_versions_and_deletions_are_counted(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, actor="op", reason="r")
    with poles.db.write() as conn:
        conn.execute(sa.update(instance).where(instance.c.entity_id == "mta").values(workflow_version=7))
        conn.execute(sa.update(instance).where(instance.c.entity_id == "pass").values(version=instance.c.version))
    assert_counts_match(poles)
    by_state = {(p.version, s.state): s.count for p in phase_counts(poles) for s in p.states}
    assert by_state[(1, "evaluated")] == 69
    assert by_state[(7, "evaluated")] == 1
    with poles.db.read() as conn:
        assert counters.count(conn, workflow="poles-2008") == 71
        assert counters.count(conn, states=["evaluated"]) == 70
        assert counters.count(conn, workflow="other") == 0
