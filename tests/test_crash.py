"""Daemons killed at any point, or several at once, lose nothing and double nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from labelwf import Engine, EntityRow, add_entities, store, verify
from tests.daemon_helpers import daemon_command, read_lines
from tests.helpers import OPERATOR

POLES = 240


def group_3_cohort(engine: Engine, n: int = POLES) -> list[str]:
    """``n`` poles in group 3: each has a label_term timer due 1 January 2010 (long past)."""
    ids = [f"crash-{i:04d}" for i in range(n)]
    add_entities(engine, [EntityRow(i, e, e, {}) for i, e in enumerate(ids)], actor="t", reason="t")
    for entity in ids:
        engine.fire(entity, "classify", data={"group": 3}, **OPERATOR)
    return ids


def assert_each_timer_fired_exactly_once(engine: Engine, n: int) -> None:
    with engine.db.read() as conn:
        statuses = dict(
            conn.execute(sa.select(store.timer.c.status, sa.func.count()).group_by(store.timer.c.status)).all()
        )
        events = conn.execute(sa.select(sa.func.count()).where(store.event.c.trigger == "end_label_term")).scalar()
        doubled = conn.execute(
            sa.select(store.event.c.instance_id)
            .where(store.event.c.trigger == "end_label_term")
            .group_by(store.event.c.instance_id)
            .having(sa.func.count() > 1)
        ).all()
        letters = conn.execute(
            sa.select(sa.func.count()).where(store.letter.c.template == "fin_label_maintenu")
        ).scalar()
        states = dict(
            conn.execute(sa.select(store.instance.c.state, sa.func.count()).group_by(store.instance.c.state)).all()
        )
    assert statuses == {"fired": n}
    assert events == n and doubled == []
    assert letters == 2 * n  # governance and préfet, each once
    assert states.get("awaiting_decision") == n
    assert verify(engine.db).ok


@pytest.mark.slow
def test_a_daemon_killed_at_random_points_loses_and_doubles_nothing(poles: Engine) -> None:
    group_3_cohort(poles)
    chance = random.Random(2010)
    kills = 0
    for _attempt in range(60):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        command = daemon_command(poles.db.url, "--once", "--batch-size", "7")
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        wanted = chance.randint(1, 45)
        lines = read_lines(proc, "event=fired", wanted)
        if lines >= wanted and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)  # in the middle of a batch, or between two
            kills += 1
        proc.wait(timeout=120)
        assert proc.stdout is not None and proc.stderr is not None
        output = proc.stdout.read()
        proc.stdout.close()
        proc.stderr.close()
        if proc.returncode == 0 and "fired 0," in output:
            break
    else:
        pytest.fail("the daemon never finished")
    assert kills >= 3, "the test should have killed the daemon several times"
    assert_each_timer_fired_exactly_once(poles, POLES)


@pytest.mark.slow
@pytest.mark.parametrize("daemons", [2, 4])
def test_several_daemons_on_postgresql_fire_each_timer_once(poles: Engine, daemons: int) -> None:
    if poles.db.is_sqlite:
        pytest.skip("several daemons share one database on PostgreSQL; SQLite has one writer at a time")
    group_3_cohort(poles)
    procs = [
        subprocess.Popen(
            daemon_command(poles.db.url, "--once", "--batch-size", "5"),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(daemons)
    ]
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        outputs.append(out)
    fired = [int(out.split("fired ")[1].split(",")[0]) for out in outputs]
    assert sum(fired) == POLES  # each timer fired by exactly one daemon
    assert sum(1 for n in fired if n) >= 2  # and the work was shared
    assert_each_timer_fired_exactly_once(poles, POLES)


def outbox_leftovers(outbox: Path) -> list[Path]:
    return sorted(p for p in outbox.glob("*/.*") if p.is_file())


@pytest.mark.slow
def test_a_sender_killed_while_filing_letters_leaves_no_partial_file_and_files_each_once(
    poles: Engine, tmp_path: Path
) -> None:
    group_3_cohort(poles, 15)  # 45 classification letters waiting, 30 more when the end of term fires
    outbox = tmp_path / "outbox"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "LABELWF_OUTBOX": str(outbox)}
    command = [*daemon_command(poles.db.url, "--once")]
    command.remove("--no-letters")
    chance = random.Random(1944)
    kills = 0
    for _attempt in range(40):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        wanted = chance.randint(1, 12)
        if read_lines(proc, "event=letter ", wanted) >= wanted and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)  # while filing a letter's files, or between two
            kills += 1
        proc.wait(timeout=120)
        assert proc.stderr is not None
        proc.stderr.close()
        # Time passes for the killed sender's claims (the test moves it): the next sender takes
        # them again. Its files are not aged: the next sender, started at once as a restarted
        # daemon is, removes what the killed one left half-written because no live writer holds it.
        with poles.db.write() as conn:
            conn.execute(
                store.letter.update()
                .where(store.letter.c.status == "sending")
                .values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC))
            )
        with poles.db.read() as conn:
            waiting = conn.execute(sa.select(sa.func.count()).where(store.letter.c.status != "delivered")).scalar()
        if proc.returncode == 0 and waiting == 0:
            break
    else:
        pytest.fail("the sender never finished")
    assert kills >= 3, "the test should have killed the sender several times"
    assert outbox_leftovers(outbox) == []  # no partial file, hidden or not
    with poles.db.read() as conn:
        letters = conn.execute(
            sa.select(
                store.letter.c.body, store.letter.c.template, store.letter.c.recipient, store.instance.c.entity_id
            ).join(store.instance, store.instance.c.id == store.letter.c.instance_id)
        ).all()
    assert len(letters) == 75
    texts = sorted(outbox.glob("*/*.txt"))
    assert len(texts) == 75  # each letter filed once, under its own name
    by_name = {(e, t, r): body for body, t, r, e in letters}
    for path in texts:  # <entity>/<date>-<template>-<recipient>.txt, complete
        template, recipient = path.stem[len("2010-01-01-") :].rsplit("-", 1)
        assert path.read_text(encoding="utf-8") == by_name[(path.parent.name, template, recipient)]
