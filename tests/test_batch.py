"""The batch runner alone, on SQLite and PostgreSQL: many fires in one transaction, a failing one alone undone."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelwf import Engine, NotFound, store, verify
from labelwf.engine.batch import Checks, run_batch
from labelwf.engine.decision import Request

Item = tuple[str, int]  # entity, group


def classify(engine: Engine) -> Any:
    def apply(conn: Connection, item: Item, checks: Checks) -> str:
        entity, group = item
        request = Request(entity=entity, trigger="classify", actor="dgcis", reason="batch", data={"group": group})
        return engine.apply(conn, request, checks=checks).dest

    return apply


def failed(conn: Connection, item: Item, error: Exception) -> str:
    return f"failed: {type(error).__name__}"


def states(engine: Engine) -> dict[str, str]:
    with engine.db.read() as conn:
        rows = conn.execute(sa.select(store.instance.c.entity_id, store.instance.c.state)).all()
    return {entity: state for entity, state in rows if state != "evaluated"}


def test_a_batch_that_succeeds_commits_every_fire_in_one_go(poles: Engine) -> None:
    items = [("enfant", 3), ("mta", 1), ("sporaltec", 2)]
    result = run_batch(poles.db, lambda conn: items, classify(poles), failed)
    assert result.outcomes == ("group_3", "group_1", "group_2") and not result.redone
    assert states(poles) == {"enfant": "group_3", "mta": "group_1", "sporaltec": "group_2"}


def test_one_failing_fire_among_many_leaves_the_others_committed_and_itself_untouched(poles: Engine) -> None:
    # Given a batch in which one item is refused by the workflow (group 4) and one names no instance
    items = [("enfant", 3), ("mta", 4), ("atlantis", 1), ("sporaltec", 2)]
    # When it runs
    result = run_batch(poles.db, lambda conn: items, classify(poles), failed)
    # Then it was redone carefully: the failing items are recovered, the others committed
    assert result.redone and result.items == tuple(items)
    assert result.outcomes == ("group_3", "failed: InvalidData", "failed: NotFound", "group_2")
    assert states(poles) == {"enfant": "group_3", "sporaltec": "group_2"}
    assert verify(poles.db).ok


def test_a_database_error_in_one_item_is_that_item_s_failure(poles: Engine) -> None:
    fire = classify(poles)

    def apply(conn: Connection, item: Item, checks: Checks) -> str:
        if item[0] == "mta":  # a row the database refuses: the entity exists already
            conn.execute(
                store.entity.insert().values(
                    id="enfant", name="x", attributes={}, contacts=[], created_at=sa.func.now()
                )
            )
        result: str = fire(conn, item, checks)
        return result

    result = run_batch(poles.db, lambda conn: [("enfant", 3), ("mta", 1), ("sporaltec", 2)], apply, failed)
    assert result.outcomes[0] == "group_3" and result.outcomes[2] == "group_2"
    assert result.outcomes[1].startswith("failed: ") and "Integrity" in result.outcomes[1]
    assert states(poles) == {"enfant": "group_3", "sporaltec": "group_2"}


def test_recover_runs_in_the_batch_transaction_after_the_failed_item_was_undone(poles: Engine) -> None:
    fire = classify(poles)

    def recover(conn: Connection, item: Item, error: Exception) -> str:
        return "recovered " + fire(conn, (item[0], 1), Checks(deferred=False))  # a write of its own

    result = run_batch(poles.db, lambda conn: [("enfant", 3), ("mta", 9)], fire, recover)
    assert result.outcomes == ("group_3", "recovered group_1")
    assert states(poles) == {"enfant": "group_3", "mta": "group_1"}
    assert verify(poles.db).ok


def test_an_interrupt_rolls_the_whole_batch_back(poles: Engine) -> None:
    fire = classify(poles)

    def apply(conn: Connection, item: Item, checks: Checks) -> str:
        if item[0] == "sporaltec":
            raise KeyboardInterrupt
        result: str = fire(conn, item, checks)
        return result

    with pytest.raises(KeyboardInterrupt):
        run_batch(poles.db, lambda conn: [("enfant", 3), ("mta", 1), ("sporaltec", 2)], apply, failed)
    assert states(poles) == {}


def test_an_empty_claim_is_an_empty_batch(poles: Engine) -> None:
    result = run_batch(poles.db, lambda conn: [], classify(poles), failed)
    assert (result.items, result.outcomes, result.redone) == ((), (), False)
    with pytest.raises(NotFound):
        poles.fire("atlantis", "classify", data={"group": 1}, actor="a", reason="r")
