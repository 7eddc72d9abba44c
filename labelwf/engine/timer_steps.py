"""Step 3 of a fire, the timers (``Engine.fire``'s docstring), and a timer closed without firing.

A fire cancels the pending timers of the state it leaves (or, for a timer's own fire, marks that
one fired) and arms those of the state it enters, due in the workflow's time zone. A timer the
sweep closes without firing it (``obsolete``, ``skipped``) is a chain event of its own, so that
the audit trail holds every change of recorded state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from ..audit.sealing import timer_closed
from ..errors import ConcurrentUpdate, MissingData, NotFound
from ..store import fires as sql
from ..store.records import Event, Instance, Timer, TimerStatus
from ..workflow.definition import DAEMON_ACTOR, SYSTEM, Workflow
from ..workflow.timers import MissingAnchor, due_at
from .batch import Checks
from .chain import Writer, chain_action


def close_pending(
    conn: Connection, current: Instance, eid: int, now: datetime, timer: Timer | None, wf: Workflow, checks: Checks
) -> None:
    """Step 3a: the pending timers of the state left are cancelled; a firing timer is marked fired."""
    if timer is not None:
        # The sweep claimed this timer under the write lock, so it is among the pending ones.
        closed = sql.close_pending_timers(conn, current.id, eid, now, fired=timer.id)
        checks.expect(lambda: closed.rowcount >= 1, ConcurrentUpdate(current.entity.id, current.version, None))
    elif wf.states[current.state].timers:
        sql.close_pending_timers(conn, current.id, eid, now)


def arm(
    conn: Connection,
    wf: Workflow,
    state: str,
    iid: int,
    eid: int,
    entity: str,
    trigger: str,
    entered: datetime,
    data: Mapping[str, Any],
) -> tuple[tuple[str, datetime], ...]:
    """Step 3b: the timers of the state entered, due in the workflow's time zone."""
    specs = wf.states[state].timers
    if not specs:
        return ()
    rows = []
    for spec in specs:
        try:
            rows.append((spec.name, spec.trigger, due_at(spec, tz=wf.timezone, entered_at=entered, data=data)))
        except MissingAnchor as exc:
            raise MissingData(entity, trigger, [exc.field]) from None
    sql.insert_timers(conn, iid, eid, [(n, t, d, s.catch_up) for (n, t, d), s in zip(rows, specs, strict=True)])
    return tuple((name, due) for name, _, due in rows)


def close_without_firing(
    engine: Writer, conn: Connection, timer: Timer, status: TimerStatus, note: str, checks: Checks
) -> Event:
    """Close a timer the sweep claimed without firing it (``obsolete``, ``skipped``), as a chain event.

    The event keeps the instance in its state (source = dest), is recorded as the system's with
    ``note`` as its reason, and occurs when the timer fell due; it moves the instance one version
    on.
    """
    current = sql.load_instance(conn, timer.entity, timer.workflow)
    if current is None:
        raise NotFound("instance", timer.entity, f"the instance of timer {timer.name!r} is gone")
    now = engine.clock.now()
    occurred = timer.due_at if current.entered_at is None or timer.due_at >= current.entered_at else now
    event, eid = chain_action(
        engine,
        conn,
        current,
        action=timer_closed(status),
        data={"timer": timer.name, "timer_trigger": timer.trigger, "due_at": timer.due_at.isoformat()},
        actor=DAEMON_ACTOR,
        role=SYSTEM,
        reason=note,
        principal=engine.principal,
        occurred_at=occurred,
        late_by_s=round((now - timer.due_at).total_seconds(), 6),
        checks=checks,
    )
    closed = sql.close_timer(conn, timer.id, status, note, now, eid)
    checks.expect(lambda: closed.rowcount == 1, ConcurrentUpdate(current.entity.id, current.version, None))
    return event
