"""Firing due timers: claim them from the database and fire each through the engine.

The database is the record of every deadline. A sweep claims pending timers due at or before
``now`` in batches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of daemons share the
work; SQLite has one writer at a time) and fires them through the batch runner (``batch``): one
transaction per batch, which also marks each timer fired, and a failing fire rolled back alone.
A crash at any point leaves each timer either pending (fired by the next sweep) or fired (never
again).

* A timer whose trigger the instance can no longer take (an operator moved it by hand) is closed
  as ``obsolete`` with the reason; it never fires and never stops the sweep.
* A timer later than ``grace`` (it fell due while no daemon ran) follows its catch-up policy:
  ``fire`` fires it and the event records how late; ``skip`` closes it as ``skipped`` with a note.
* A timer whose fire fails otherwise (a letter that cannot be rendered, a row the database
  refuses) stays pending with its error, and the sweep goes on with the deadlines behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.engine import Connection

from ..errors import LabelwfError, TransitionRefused
from ..store import fires as sql
from ..store import reads
from ..store.prepared import Savepoint
from ..store.records import Timer, TimerStatus
from ..workflow.definition import DAEMON_ACTOR
from .batch import Checks, run_batch
from .fire import Engine
from .fired import Fired

DueTimer = Timer  # a pending timer claimed by a sweep


class Outcome(StrEnum):
    """What a sweep did with one due timer."""

    FIRED = "fired"
    OBSOLETE = "obsolete"
    SKIPPED = "skipped"
    FAILED = "failed"


Observer = Callable[[Outcome, Timer, Fired | None, str], None]


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


@dataclass(frozen=True, slots=True)
class _Handled:
    kind: Outcome
    fired: Fired | None = None
    note: str = ""
    late_s: float = 0.0


def next_due(engine: Engine, *, excluding: Collection[int] = ()) -> datetime | None:
    """Return when the soonest pending timer falls due (one indexed query), or None.

    ``excluding``: timers not to count (those a daemon holds back before retrying them).
    """
    with engine.db.read() as conn:
        return reads.next_due(conn, excluding=excluding)


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
    ``observer(outcome, timer, fired, note)`` hears of every timer handled, once its batch has
    committed; ``should_stop()`` is asked between batches. Timers in ``hold`` stay pending
    untouched (a daemon retrying a failed one later); a timer that fails stays pending too, and
    ``SweepReport.failed_ids`` names it.
    """
    now = now or engine.clock.now()
    report = SweepReport()
    passed: set[int] = set(hold)  # held, or failed in this sweep: read past them until the next one
    sweep = _Sweep(engine, now, grace, actor)
    while (limit is None or report.closed + report.failed < limit) and not (should_stop and should_stop()):
        size = batch_size if limit is None else min(batch_size, limit - report.closed - report.failed)
        claim = _Claim(now, size, passed)
        result = run_batch(engine.db, claim, sweep.apply, sweep.recover)
        if not result.items:
            break
        report.batches += 1
        for timer, handled in zip(result.items, result.outcomes, strict=True):
            _count(report, timer, handled, passed)
            if observer is not None:
                observer(handled.kind, timer, handled.fired, handled.note)
        if claim.exhausted:  # nothing more is due
            break
    return report


class _Claim:
    """One batch's claim: ``size`` due timers, reading past those ``passed`` (held, or failed this sweep)."""

    def __init__(self, now: datetime, size: int, passed: set[int]) -> None:
        self.now, self.size, self.passed = now, size, passed
        self.exhausted = False  # the claim found fewer due timers than it asked for

    def __call__(self, conn: Connection) -> Sequence[Timer]:
        asked = self.size + len(self.passed)
        found = sql.claim_due_timers(conn, self.now, asked)
        self.exhausted = len(found) < asked
        return [t for t in found if t.id not in self.passed][: self.size]


class _Sweep:
    """How a sweep handles one claimed timer (``apply``), and one whose fire failed (``recover``)."""

    def __init__(self, engine: Engine, now: datetime, grace: timedelta, actor: str) -> None:
        self.engine, self.now, self.grace, self.actor = engine, now, grace, actor

    def apply(self, conn: Connection, timer: Timer, checks: Checks) -> _Handled:
        late = self.now - timer.due_at
        if late > self.grace and timer.catch_up == "skip":
            note = (
                f"fell due {timer.due_at.isoformat()} while no daemon ran; skipped "
                f"{late.total_seconds():.0f}s late by its catch-up policy"
            )
            self.engine.close_timer(conn, timer, TimerStatus.SKIPPED, note, checks=checks)
            return _Handled(Outcome.SKIPPED, note=note)
        fired = self.engine.fire_timer(conn, timer, actor=self.actor, checks=checks)
        return _Handled(Outcome.FIRED, fired, late_s=late.total_seconds())

    def recover(self, conn: Connection, timer: Timer, error: Exception) -> _Handled:
        if isinstance(error, TransitionRefused):
            savepoint = Savepoint(conn)
            try:
                self.engine.close_timer(conn, timer, TimerStatus.OBSOLETE, f"obsolete: {error}")
            except Exception as exc:  # closing it failed too: the timer stays pending, with that error
                savepoint.rollback()
                error = exc
            else:
                savepoint.release()
                return _Handled(Outcome.OBSOLETE, note=str(error))
        # Anything else (a letter that cannot render, a row the database refuses) leaves the timer
        # pending with its error; it must not stop the deadlines behind it, reached in due order.
        detail = " ".join(str(error).split()) or type(error).__name__
        if not isinstance(error, (LabelwfError, *self.engine.db.driver_errors)):  # name an unexpected kind
            detail = f"{type(error).__name__}: {detail}"
        return _Handled(Outcome.FAILED, note=detail)


def _count(report: SweepReport, timer: Timer, handled: _Handled, passed: set[int]) -> None:
    if handled.kind is Outcome.FIRED:
        report.fired += 1
        report.max_late_s = max(report.max_late_s, handled.late_s)
    elif handled.kind is Outcome.OBSOLETE:
        report.obsolete += 1
    elif handled.kind is Outcome.SKIPPED:
        report.skipped += 1
    else:
        report.failed += 1
        report.errors.append(f"{timer.entity}/{timer.name}: {handled.note}")
        report.failed_ids.append(timer.id)
        passed.add(timer.id)
