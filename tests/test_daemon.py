"""The daemon fires each deadline once, at (never before) its due instant, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelwf import Database, Engine, EntityRow, FrozenClock, add_entities, load_workflow, store, verify
from labelwf.cli import main
from labelwf.engine.daemon import Daemon, DaemonSettings
from labelwf.engine.deadlines import DueTimer, fire_due
from labelwf.engine.delivery import DeliverySettings, Outbox
from labelwf.engine.fired import Fired
from labelwf.logs import JsonFormatter, LogfmtFormatter
from tests.conftest import CONFIG_FILE, ROOT
from tests.daemon_helpers import daemon_command, read_until, serve
from tests.helpers import OPERATOR

LABEL_TERM = datetime(2009, 12, 31, 23, 0, tzinfo=UTC)  # 1 January 2010, midnight in Paris


def timer_rows(engine: Engine, entity: str) -> list[sa.Row]:
    with engine.db.read() as conn:
        return conn.execute(
            sa.select(store.timer.c.name, store.timer.c.status, store.timer.c.note)
            .join(store.instance, store.instance.c.id == store.timer.c.instance_id)
            .where(store.instance.c.entity_id == entity)
            .order_by(store.timer.c.id)
        ).all()


def last_event(engine: Engine, entity: str) -> sa.RowMapping:
    with engine.db.read() as conn:
        return (
            conn.execute(
                sa.select(store.event)
                .join(store.instance, store.instance.c.id == store.event.c.instance_id)
                .where(store.instance.c.entity_id == entity)
                .order_by(store.event.c.seq.desc())
            )
            .mappings()
            .first()
        )


def test_a_timer_fires_at_its_due_instant_and_not_before(poles: Engine, clock: FrozenClock) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    daemon = Daemon(poles)
    clock.set(LABEL_TERM - timedelta(microseconds=1))
    assert daemon.tick().fired == 0
    clock.set(LABEL_TERM)
    assert daemon.tick().fired == 1
    event = last_event(poles, "enfant")
    assert (event["trigger"], event["dest"], event["role"]) == ("end_label_term", "awaiting_decision", "system")
    assert event["occurred_at"] == LABEL_TERM and event["late_by_s"] == 0
    assert daemon.tick().fired == 0  # once


def test_a_timer_that_fell_due_during_downtime_fires_once_on_restart_and_says_how_late(
    poles: Engine, clock: FrozenClock
) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    clock.set(LABEL_TERM + timedelta(days=3))
    report = Daemon(poles).tick()
    assert (report.fired, report.skipped) == (1, 0)
    event = last_event(poles, "enfant")
    assert event["late_by_s"] == 3 * 86400
    assert event["occurred_at"] == LABEL_TERM  # the label ended at its term, whenever it was processed
    assert Daemon(poles).tick().fired == 0


SKIPPING = """
workflow: reminders
version: 1
timezone: Europe/Paris
initial: open
states:
  open:
    timers:
      - {name: nudge, after: {days: 1}, trigger: remind, catch_up: skip}
  reminded: {final: true}
transitions:
  - {trigger: remind, source: open, dest: reminded, roles: [system]}
"""


@pytest.fixture
def reminders(db: Database, clock: FrozenClock, tmp_path: Path) -> Engine:
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "reminders.yaml").write_text(SKIPPING, encoding="utf-8")
    engine = Engine(db, load_workflow(tmp_path / "workflows" / "reminders.yaml"), clock=clock)
    add_entities(
        engine, [EntityRow(1, "late", "Late", {}), EntityRow(2, "timely", "Timely", {})], actor="t", reason="t"
    )
    return engine


def test_a_skip_policy_timer_that_fell_due_during_downtime_is_closed_with_a_record(
    reminders: Engine, clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=1, hours=2))  # two hours late: more than the 5-minute grace
    report = Daemon(reminders).tick()
    assert (report.fired, report.skipped) == (0, 2)
    [(name, status, note)] = timer_rows(reminders, "late")
    assert (name, status) == ("nudge", "skipped")
    assert "while no daemon ran" in note and "7200s late" in note
    # The closing is a chain event of the instance (no transition: it stays where it was).
    closing = last_event(reminders, "late")
    assert (closing["trigger"], closing["source"], closing["dest"]) == ("(timer skipped)", "open", "open")
    assert closing["role"] == "system" and closing["reason"] == note and closing["data"]["timer"] == "nudge"
    assert verify(reminders.db).ok


def test_a_skip_policy_timer_within_the_grace_fires(reminders: Engine, clock: FrozenClock) -> None:
    clock.advance(timedelta(days=1, seconds=30))
    assert Daemon(reminders, DaemonSettings(grace_seconds=60)).tick().fired == 2


def test_an_obsolete_timer_is_closed_with_its_reason_and_never_stops_the_others(
    poles: Engine, clock: FrozenClock
) -> None:
    for entity in ("enfant", "mta", "sporaltec"):
        poles.fire(entity, "classify", data={"group": 3}, **OPERATOR)
    # A timer whose trigger the pole's state cannot take (armed by an older definition, say).
    with poles.db.write() as conn:
        iid, eid = conn.execute(
            sa.select(store.instance.c.id, store.event.c.id)
            .join(store.event, store.event.c.instance_id == store.instance.c.id)
            .where(store.instance.c.entity_id == "enfant")
        ).first()
        conn.execute(
            store.timer.insert().values(
                instance_id=iid,
                name="stale",
                trigger="open_review",
                due_at=LABEL_TERM - timedelta(days=1),
                catch_up="fire",
                status="pending",
                armed_by_event=eid,
            )
        )
    clock.set(LABEL_TERM)
    report = Daemon(poles).tick()
    assert (report.fired, report.obsolete, report.failed) == (3, 1, 0)
    stale = next(t for t in timer_rows(poles, "enfant") if t.name == "stale")
    assert stale.status == "obsolete" and "'open_review' is not allowed in state 'group_3'" in stale.note
    closing = last_event(poles, "enfant")  # after the end of term fired: the stale timer fell due first
    with poles.db.read() as conn:
        events = conn.execute(
            sa.select(store.event.c.trigger, store.event.c.reason)
            .join(store.instance, store.instance.c.id == store.event.c.instance_id)
            .where(store.instance.c.entity_id == "enfant")
            .order_by(store.event.c.seq)
        ).all()
    assert ("(timer obsolete)", stale.note) in [tuple(e) for e in events]
    assert closing["trigger"] == "end_label_term"
    assert verify(poles.db).ok


def themed_programme(db: Database, clock: FrozenClock, folder: Path) -> Engine:
    """A copy of the programme whose end-of-term letter prints the pole's theme (a pole without one fails)."""
    shutil.copytree(ROOT / "templates", folder / "templates")
    shutil.copytree(ROOT / "workflows", folder / "workflows")
    letter = folder / "templates" / "poles-2008" / "fin_label_maintenu.j2"
    letter.write_text(
        letter.read_text(encoding="utf-8").replace("Ce terme", "({{ entity.attributes.theme }}) Ce terme")
    )
    return Engine(db, load_workflow(folder / "workflows" / "poles-2008.yaml"), clock=clock)


def test_a_fire_that_fails_stays_pending_and_the_rest_of_its_batch_fires(
    db: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    # Given a programme whose end-of-term letter prints the pole's theme, and three group-3 poles
    # of which the second has no theme on record
    engine = themed_programme(db, clock, tmp_path)
    themes = {"first": {"theme": "Santé"}, "second": {}, "third": {"theme": "Énergie"}}
    add_entities(
        engine, [EntityRow(i, e, e.title(), a) for i, (e, a) in enumerate(themes.items())], actor="t", reason="t"
    )
    for entity in themes:
        engine.fire(entity, "classify", data={"group": 3}, **OPERATOR)
    # When the label term falls due, observed by someone who reads the database at each report
    heard: list[tuple[str, str, str]] = []

    def observe(outcome: str, timer: DueTimer, fired: Fired | None, note: str) -> None:
        heard.append((outcome, timer.entity, last_event(engine, timer.entity)["trigger"]))

    clock.set(LABEL_TERM)
    report = fire_due(engine, observer=observe)
    # Then the two others fired, the second stays pending with its error, and each report came
    # once its fire was committed (a fresh read sees the event)
    assert (report.fired, report.failed, report.obsolete) == (2, 1, 0)
    assert "theme" in report.errors[0] and report.errors[0].startswith("second/label_term")
    assert sorted(heard) == [
        ("failed", "second", "classify"),
        ("fired", "first", "end_label_term"),
        ("fired", "third", "end_label_term"),
    ]
    assert [status for _, status, _ in timer_rows(engine, "second")] == ["pending"]
    assert verify(engine.db).ok


def test_a_failing_timer_is_retried_after_a_growing_delay_and_fires_once_it_can(
    db: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    # Given a group-3 pole whose end-of-term letter cannot be written (no theme on record)
    engine = themed_programme(db, clock, tmp_path)
    add_entities(engine, [EntityRow(1, "sans-theme", "Sans thème", {})], actor="t", reason="t")
    engine.fire("sans-theme", "classify", data={"group": 3}, **OPERATOR)
    daemon = Daemon(engine, DaemonSettings(retry_first_seconds=30, retry_max_seconds=60))
    clock.set(LABEL_TERM)
    # When the daemon ticks again and again, the fire is attempted after 30 s, then every 60 s
    attempts = []
    for _ in range(8):
        attempts.append(daemon.tick().failed)
        clock.advance(timedelta(seconds=15))
    assert attempts == [1, 0, 1, 0, 0, 0, 1, 0]
    # And once the data is fixed, the next attempt fires it
    with engine.db.write() as conn:
        conn.execute(store.entity.update().where(store.entity.c.id == "sans-theme").values(attributes={"theme": "x"}))
    clock.advance(timedelta(seconds=60))
    assert daemon.tick().fired == 1 and last_event(engine, "sans-theme")["trigger"] == "end_label_term"


def test_serving_does_not_spin_on_a_timer_that_keeps_failing(db: Database, clock: FrozenClock, tmp_path: Path) -> None:
    engine = themed_programme(db, clock, tmp_path)
    add_entities(engine, [EntityRow(1, "sans-theme", "Sans thème", {})], actor="t", reason="t")
    engine.fire("sans-theme", "classify", data={"group": 3}, **OPERATOR)
    clock.set(LABEL_TERM)
    daemon = Daemon(engine, DaemonSettings(poll_seconds=0.05))
    idle: list[bool] = []
    serve(daemon, lambda: (idle.append(True), daemon.stop()))
    # The failed timer is held back for its retry: nothing is due now, so the daemon goes idle
    assert idle
    assert [status for _, status, _ in timer_rows(engine, "sans-theme")] == ["pending"]


def test_a_fire_the_database_refuses_stays_pending_and_does_not_block_the_others(
    poles: Engine, clock: FrozenClock
) -> None:
    # Given three group-3 poles, and a stray row in the second's audit trail where its next event goes
    entities = ["enfant", "mta", "pass"]
    for entity in entities:
        poles.fire(entity, "classify", data={"group": 3}, **OPERATOR)
    with poles.db.write() as conn:
        iid = conn.execute(sa.select(store.instance.c.id).where(store.instance.c.entity_id == "mta")).scalar_one()
        stray = {"instance_id": iid, "seq": 2, "dest": "x", "actor": "x", "role": "x", "reason": "x", "data": {}}
        when = {"occurred_at": LABEL_TERM, "recorded_at": LABEL_TERM, "prev_hash": "0" * 64, "hash": "0" * 64}
        conn.execute(store.event.insert().values(**stray, **when))
    # When the label term falls due
    clock.set(LABEL_TERM)
    report = fire_due(poles)
    # Then the database's refusal is that timer's error, and the two others fired
    assert (report.fired, report.failed) == (2, 1)
    assert report.errors[0].startswith("mta/label_term") and "unique" in report.errors[0].lower()
    assert [status for _, status, _ in timer_rows(poles, "mta")] == ["pending"]
    assert all(verify(poles.db, entity=e).ok for e in ("enfant", "pass"))


def test_daemon_once_from_the_cli_logs_one_structured_line_per_fire(poles: Engine) -> None:
    for entity in ("enfant", "mta"):
        poles.fire(entity, "classify", data={"group": 3}, **OPERATOR)
    runner = CliRunner()
    args = ["--config", str(CONFIG_FILE), "--db", poles.db.url, "daemon", "--once", "--no-letters"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "fired 2, obsolete 0, skipped 0, failed 0" in result.stdout
    fired = [line for line in result.stderr.splitlines() if "event=fired" in line]
    assert len(fired) == 2
    assert "entity=enfant" in fired[0] and "timer=label_term" in fired[0] and "late_s=" in fired[0]
    again = runner.invoke(main, [*args, "--log-format", "json"])
    assert "fired 0," in again.stdout


def test_log_lines_stay_one_line_and_write_instants_in_iso_8601() -> None:
    fields = {"entity": "pôle 1", "due": LABEL_TERM, "note": 'refused:\n"x" = y\\z', "empty": ""}
    record = logging.makeLogRecord({"msg": "obsolete", "levelname": "INFO", "fields": fields})
    line = LogfmtFormatter().format(record)
    assert "\n" not in line
    assert 'entity="pôle 1"' in line and f"due={LABEL_TERM.isoformat()}" in line and 'empty=""' in line
    assert 'note="refused:\\n\\"x\\" = y\\\\z"' in line
    parsed = json.loads(JsonFormatter().format(record))
    assert parsed["due"] == LABEL_TERM.isoformat() and parsed["note"] == fields["note"]
    assert parsed["event"] == "obsolete" and parsed["level"] == "info"


def test_serving_fires_what_is_due_and_stops_cleanly(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    live = Engine(poles.db, poles.workflow())  # the system clock: the 2010 deadline is long past
    daemon = Daemon(live, DaemonSettings(poll_seconds=0.05))
    assert serve(daemon, daemon.stop)
    assert last_event(poles, "enfant")["trigger"] == "end_label_term"


def delivered(engine: Engine) -> list[str]:
    with engine.db.read() as conn:
        return list(conn.execute(sa.select(store.letter.c.status).order_by(store.letter.c.id)).scalars())


def test_daemon_once_delivers_the_letters_of_the_fires_it_made(
    poles: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)  # three letters
    settings = DeliverySettings(outbox=tmp_path / "outbox", pdf=False, timezone=ZoneInfo("Europe/Paris"))
    outbox = Outbox(poles.db, settings, clock=clock)
    clock.set(LABEL_TERM)
    report = Daemon(poles, outbox=outbox).run_once()  # the end of the term: two more letters
    assert report.fired == 1
    assert delivered(poles) == ["delivered"] * 5
    filed = sorted(p.name for p in (tmp_path / "outbox" / "enfant").glob("*.txt"))
    assert filed == [
        "2008-06-18-classement_groupe_3-governance.txt",
        "2008-06-18-classement_groupe_3-prefet.txt",
        "2008-06-18-classement_groupe_3-region.txt",
        "2010-01-01-fin_label_maintenu-governance.txt",
        "2010-01-01-fin_label_maintenu-prefet.txt",
    ]


def test_a_serving_daemon_delivers_letters(poles: Engine, clock: FrozenClock, tmp_path: Path) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    outbox = Outbox(poles.db, DeliverySettings(outbox=tmp_path / "outbox", pdf=False), clock=clock)
    daemon = Daemon(poles, DaemonSettings(poll_seconds=0.05), outbox=outbox)

    def stop_once_delivered() -> None:
        if delivered(poles) == ["delivered"] * 3:
            daemon.stop()

    serve(daemon, stop_once_delivered)
    assert delivered(poles) == ["delivered"] * 3


def test_sigterm_stops_a_serving_daemon_after_its_batch(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    command = daemon_command(poles.db.url, "--poll", "0.1")
    proc = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        read_until(proc, "event=sweep")
        proc.send_signal(signal.SIGTERM)
        lines = read_until(proc, "event=stopped")
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    assert "event=stopped" in lines[-1]
    assert last_event(poles, "enfant")["trigger"] == "end_label_term"
