"""Firing due timers: claim them from the database and fire each through the engine.

The database is the record of every deadline. A sweep claims pending timers due at or before
``now`` in batches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of daemons share the
work; SQLite has one writer at a time), and fires them in the batch's transaction; the same
transaction marks each timer fired. A batch in which a fire fails is rolled back and run again
with a savepoint around each fire, so that only the failing ones stay pending. A crash at any
point leaves each timer either pending (fired by the next sweep) or fired (never again).

* A timer whose trigger the instance can no longer take (an operator moved it by hand) is closed
  as ``obsolete`` with the reason; it never fires and never stops the sweep.
* A timer later than ``grace`` (it fell due while no daemon ran) follows its catch-up policy:
  ``fire`` fires it and the event records how late; ``skip`` closes it as ``skipped`` with a note.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import store
from .engine import Check, Engine, Fired
from .errors import LabelwfError, TransitionRefused
from .hotpath import Prepared, Savepoint, Statements, pipeline, pipelines

DAEMON_ACTOR = "labelwf-daemon"
Observer = Callable[[str, "DueTimer", Fired | None, str], None]
_t, _i = store.timer, store.instance
_CLAIM = (
    sa.select(_t.c.id, _t.c.name, _t.c.trigger, _t.c.due_at, _t.c.catch_up, _i.c.entity_id, _i.c.workflow)
    .join(_i, _i.c.id == _t.c.instance_id)
    .where(_t.c.status == store.PENDING, _t.c.due_at <= sa.bindparam("now", type_=store.UTCDateTime))
    .order_by(_t.c.due_at, _t.c.id)
    .limit(sa.bindparam("size", type_=sa.Integer))
)


class DueTimer(NamedTuple):
    """A pending timer claimed by a sweep."""

    id: int
    name: str
    trigger: str
    due_at: datetime
    catch_up: str
    entity_id: str
    workflow: str


# Closing a timer without firing it (obsolete, skipped); like the fires, it may run in a pipeline.
_CLOSE = (
    _t.update()
    .where(_t.c.id == sa.bindparam("tid"), _t.c.status == store.PENDING)
    .values(
        status=sa.bindparam("status"),
        note=sa.bindparam("note"),
        closed_at=sa.bindparam("now", type_=store.UTCDateTime),
    )
)
_STATEMENTS = Statements(
    lambda dialect: {
        "claim": Prepared(
            _CLAIM if dialect.name == "sqlite" else _CLAIM.with_for_update(of=_t, skip_locked=True), dialect
        ),
        "close": Prepared(_CLOSE, dialect),
    }
)


@dataclass
class SweepReport:
    """What one sweep did."""

    fired: int = 0
    obsolete: int = 0
    skipped: int = 0
    failed: int = 0
    batches: int = 0
    max_late_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    failed_ids: list[int] = field(default_factory=list)

    @property
    def closed(self) -> int:
        """Timers this sweep took out of the pending set."""
        return self.fired + self.obsolete + self.skipped


def _close(conn: Connection, timer_id: int, status: str, note: str, now: datetime) -> None:
    _STATEMENTS.for_connection(conn)["close"].execute(
        conn, {"tid": timer_id, "status": status, "note": note, "now": now}
    )


def next_due(engine: Engine, *, excluding: Collection[int] = ()) -> datetime | None:
    """Return when the soonest pending timer falls due (one indexed query), or None.

    ``excluding``: timers not to count (those a daemon holds back before retrying them).
    """
    query = sa.select(sa.func.min(_t.c.due_at)).where(_t.c.status == store.PENDING)
    if excluding:
        query = query.where(_t.c.id.not_in(sorted(excluding)))
    with engine.db.read() as conn:
        return conn.execute(query).scalar()


def fire_due(
    engine: Engine,
    *,
    now: datetime | None = None,
    batch_size: int = 200,
    limit: int | None = None,
    grace: timedelta = timedelta(minutes=5),
    actor: str = DAEMON_ACTOR,
    observer: Observer | None = None,
    should_stop: Callable[[], bool] | None = None,
    hold: Collection[int] = (),
) -> SweepReport:
    """Fire every pending timer due at or before ``now`` (default: the engine's clock); return counts.

    Each batch of ``batch_size`` timers is one transaction; ``limit`` caps the timers handled by
    this call (the rest waits for the next one), so other work is never starved by a storm.
    ``observer(outcome, timer, fired, note)`` hears of every timer handled (outcome: fired,
    obsolete, skipped or failed), once its batch has committed; ``should_stop()`` is asked
    between batches. Timers in ``hold`` stay pending untouched (a daemon retrying a failed one
    later); a timer that fails stays pending too, and ``SweepReport.failed_ids`` names it.

    A batch first runs without a savepoint per fire (two statements, and on PostgreSQL two round
    trips, fewer per fire). If any fire of it fails, the whole batch is rolled back and run again
    with a savepoint around each fire, so that only the failing ones are left out.
    """
    now = now or engine.clock.now()
    report = SweepReport()
    failed: set[int] = set(hold)  # held, or failed in this sweep: read past them until the next one
    careful = False
    while (limit is None or report.closed + report.failed < limit) and not (should_stop and should_stop()):
        size = batch_size if limit is None else min(batch_size, limit - report.closed - report.failed)
        outcomes: list[_Outcome] = []
        try:
            with engine.db.write() as conn:
                claim = _STATEMENTS.for_connection(conn)["claim"]
                # Timers that failed earlier in this sweep stay pending; read past them.
                asked = size + len(failed)
                found = claim.execute(conn, {"now": now, "size": asked}).fetchall()
                processed = [DueTimer(*claim.process(r)) for r in found]
                rows = [r for r in processed if r.id not in failed][:size]
                if careful:
                    outcomes = [_fire_one(engine, conn, row, now, grace, actor, careful=True) for row in rows]
                else:
                    outcomes = _fire_batch(engine, conn, rows, now, grace, actor)
        except _FireFailed:
            careful = True  # the batch was rolled back; run it again, each fire in its savepoint
            continue
        careful = False
        if not rows:
            break
        report.batches += 1
        for outcome in outcomes:
            _count(report, outcome, failed)
            if observer is not None:
                observer(outcome.kind, outcome.timer, outcome.fired, outcome.note)
        if len(found) < asked:  # nothing more is due
            break
    return report


def _fire_batch(
    engine: Engine, conn: Connection, rows: list[DueTimer], now: datetime, grace: timedelta, actor: str
) -> list[_Outcome]:
    """Fire ``rows`` without savepoints, pipelined where the driver can; raise ``_FireFailed`` if any fails.

    In a pipeline (PostgreSQL) a fire waits for two results only (its instance, its event's id);
    the other statements' results arrive later, so their checks run at the end, and a database
    error may surface at any later statement: either way the batch is redone, carefully.
    """
    checks: list[Check] | None = [] if pipelines(conn) else None
    try:
        with pipeline(conn):
            outcomes = [_fire_one(engine, conn, row, now, grace, actor, careful=False, checks=checks) for row in rows]
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _FireFailed from exc
    for holds, error in checks or ():
        if not holds():
            raise _FireFailed from error
    return outcomes


class _Outcome(NamedTuple):
    kind: str  # fired, obsolete, skipped or failed
    timer: DueTimer
    fired: Fired | None = None
    note: str = ""
    late_s: float = 0.0


class _FireFailed(Exception):
    """A fire failed in a batch run without savepoints: the batch must run again, carefully."""


def _count(report: SweepReport, outcome: _Outcome, failed: set[int]) -> None:
    if outcome.kind == "fired":
        report.fired += 1
        report.max_late_s = max(report.max_late_s, outcome.late_s)
    elif outcome.kind == "obsolete":
        report.obsolete += 1
    elif outcome.kind == "skipped":
        report.skipped += 1
    else:
        report.failed += 1
        report.errors.append(f"{outcome.timer.entity_id}/{outcome.timer.name}: {outcome.note}")
        report.failed_ids.append(outcome.timer.id)
        failed.add(outcome.timer.id)


def _fire_one(
    engine: Engine,
    conn: Connection,
    row: DueTimer,
    now: datetime,
    grace: timedelta,
    actor: str,
    *,
    careful: bool,
    checks: list[Check] | None = None,
) -> _Outcome:
    """Handle one claimed timer. Without ``careful`` (no savepoint), a failure raises ``_FireFailed``."""
    late = now - row.due_at
    if late > grace and row.catch_up == "skip":
        note = (
            f"fell due {row.due_at.isoformat()} while no daemon ran; skipped "
            f"{late.total_seconds():.0f}s late by its catch-up policy"
        )
        _close(conn, row.id, store.SKIPPED, note, now)
        return _Outcome("skipped", row, note=note)
    savepoint = Savepoint(conn) if careful else None
    try:
        fired = engine.fire_in(
            conn,
            row.entity_id,
            row.trigger,
            actor=actor,
            role="system",
            workflow=row.workflow,
            reason=f"timer {row.name} due {row.due_at.isoformat()}",
            timer_id=row.id,
            due=row.due_at,
            at=row.due_at,
            checks=checks,
        )
    except (LabelwfError, conn.dialect.loaded_dbapi.Error) as exc:
        # A database error too (a row that breaks a constraint): left pending with the error, it
        # must not stop the deadlines behind it, which the sweep reaches in due order.
        if savepoint is None:
            raise _FireFailed from exc
        savepoint.rollback()
        if isinstance(exc, TransitionRefused):
            _close(conn, row.id, store.OBSOLETE, f"obsolete: {exc}", now)
            return _Outcome("obsolete", row, note=str(exc))
        return _Outcome("failed", row, note=" ".join(str(exc).split()))
    if savepoint is not None:
        savepoint.release()
    return _Outcome("fired", row, fired, late_s=late.total_seconds())
