"""Two processes firing conflicting triggers on one pole at the same moment: exactly one wins."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
import sqlalchemy as sa

from labelwf import ConcurrentUpdate, Database, Engine, TransitionRefused, load_workflow, store, verify
from tests.conftest import WORKFLOW_FILE

RACES = 15


def racer(url: str, group: int, entities: list[str], expect: bool, barrier: Any, results: Any) -> None:
    """One operator process: for each pole, wait for the other, then classify it."""
    engine = Engine(Database(url), load_workflow(WORKFLOW_FILE))
    outcomes = []
    for entity in entities:
        barrier.wait(timeout=60)
        try:
            engine.fire(
                entity,
                "classify",
                data={"group": group},
                actor=f"operator-{group}",
                reason="race",
                expected_version=0 if expect else None,
            )
            outcomes.append((entity, group, "won"))
        except ConcurrentUpdate:
            outcomes.append((entity, group, "conflict"))
        except TransitionRefused:
            outcomes.append((entity, group, "refused"))
    engine.db.dispose()
    results.put(outcomes)


@pytest.mark.slow
@pytest.mark.parametrize("expect_version", [True, False], ids=["with-expected-version", "blind"])
def test_two_processes_classifying_one_pole_at_once_leave_exactly_one_decision(
    poles: Engine, expect_version: bool
) -> None:
    entities = [f"race-{i}" for i in range(RACES)]
    from labelwf import EntityRow, add_entities

    add_entities(poles, [EntityRow(i, e, e, {}) for i, e in enumerate(entities)], actor="t", reason="t")
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    url = poles.db.url
    workers = [
        context.Process(target=racer, args=(url, group, entities, expect_version, barrier, results)) for group in (1, 3)
    ]
    for worker in workers:
        worker.start()
    outcomes = results.get(timeout=120) + results.get(timeout=120)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    by_entity: dict[str, dict[str, int]] = {}
    for entity, group, outcome in outcomes:
        by_entity.setdefault(entity, {})[outcome] = group
    with poles.db.read() as conn:
        rows = conn.execute(
            sa.select(store.instance.c.entity_id, store.instance.c.state, store.instance.c.version).where(
                store.instance.c.entity_id.in_(entities)
            )
        ).all()
        classify_events = conn.execute(sa.select(sa.func.count()).where(store.event.c.trigger == "classify")).scalar()
    for entity, state, version in rows:
        outcome = by_entity[entity]
        assert list(outcome).count("won") == 1, outcome
        loser = "conflict" if expect_version else next(k for k in outcome if k != "won")
        assert loser in ("conflict", "refused") and loser in outcome
        assert state == f"group_{outcome['won']}"  # the winner's decision, not lost, not overwritten
        assert version == 1
    assert classify_events == RACES  # nothing doubled
    assert verify(poles.db).ok
