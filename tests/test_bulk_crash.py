"""A bulk decision killed with SIGKILL at random points, run again, decides each entity exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys

import pytest
import sqlalchemy as sa

from labelwf import Engine, EntityRow, add_entities, store, verify
from labelwf.operations import plans
from labelwf.operations.bulk import Selection, plan_decision
from tests.conftest import CONFIG_FILE
from tests.daemon_helpers import read_lines

POLES = 300


def run_command(url: str, plan_id: int) -> list[str]:
    config = ["--config", str(CONFIG_FILE), "--db", url]
    return [
        sys.executable,
        "-m",
        "labelwf.cli",
        *config,
        "decide",
        "run",
        str(plan_id),
        "--batch-size",
        "7",
        "--progress",
    ]


@pytest.mark.slow
def test_a_bulk_run_killed_at_random_points_decides_each_entity_once(engine: Engine) -> None:
    ids = [f"bulk-{i:04d}" for i in range(POLES)]
    add_entities(engine, [EntityRow(i, e, e, {}) for i, e in enumerate(ids)], actor="t", reason="t")
    report = plan_decision(
        engine,
        selection=Selection(entities=tuple(ids)),
        trigger="classify",
        data={"group": 2},
        reference="Décision de test",
        actor="dgcis",
        reason="classement en masse",
    )
    chance = random.Random(2012)
    kills = 0
    for _attempt in range(60):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            run_command(engine.db.url, report.batch.id),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        wanted = chance.randint(1, 12)
        lines = read_lines(proc, "progress:", wanted)
        if lines >= wanted and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)  # in the middle of a batch, or between two
            kills += 1
        proc.wait(timeout=120)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
        if plans.get(engine, report.batch.id).status == "done":
            break
    else:
        pytest.fail("the plan never finished")
    assert kills >= 3, "the test should have killed the run several times"
    with engine.db.read() as conn:
        events = conn.execute(
            sa.select(store.event.c.instance_id, sa.func.count())
            .where(store.event.c.trigger == "classify")
            .group_by(store.event.c.instance_id)
        ).all()
        states = dict(
            conn.execute(sa.select(store.instance.c.state, sa.func.count()).group_by(store.instance.c.state)).all()
        )
    assert len(events) == POLES and all(n == 1 for _, n in events)
    assert states == {"group_2": POLES}
    assert plans.get(engine, report.batch.id).counts == {"done": POLES}
    assert verify(engine.db).ok
