"""Deadline changes as audited actions: a pending timer moved to another instant, as a chain event.

``move_timer`` moves one entity's pending timer (``--to`` an instant, or ``--by`` a calendar
offset such as ``+1 year``) and records the old and new due instants in a ``(timer moved)`` event
of its instance (``chain``). A timer that is not pending, a new instant before the instance's last
event or equal to the old one are refused. A deadline that already passed but has not fired (no
daemon ran, or its sweep has not come) can be moved: the event says it was overdue.

``plan_moves`` is the bulk form (every such timer of a selection, e.g. every ``contract_end`` to
2013-01-01), a plan like a bulk decision (``plans``): previewed, frozen, run once per item.

A move is bounded (``WINDOW``): a deadline lands between 1900-01-01 and 2199-12-31 (UTC) and moves
by at most a hundred years; an offset counts at most 100 years, 1,200 months, 5,218 weeks or
36,525 days. A programme's deadlines are years apart, not centuries; past Python's year 9999 a
move was an unexpected error, and a date of year 9000 would only be a typing slip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from ..clock import require_aware
from ..engine.batch import IMMEDIATE, Checks
from ..engine.chain import chain_action
from ..engine.decision import CLOCK_SKEW, Request, refuse_reserved, require_justification
from ..engine.fire import Engine
from ..errors import (
    ActionRefused,
    BusinessTimeRefused,
    ConcurrentUpdate,
    InvalidData,
    LabelwfError,
    NotFound,
    PlanRejected,
    Problem,
)
from ..store import batches as bsql
from ..store import fires as sql
from ..store import reads
from ..store.basis import Basis, basis_from_json
from ..store.records import Batch, BatchItem, Instance, ItemStatus, Timer, TimerStatus
from ..workflow.definition import OPERATOR
from ..workflow.timers import Offset, add_calendar, localize
from . import plan_items
from .bulk import Selection, check_act, recorded_reason, select_entities
from .plan_items import PlanReport

KIND = "timer_move"
MOVED = "timer moved"
# ASCII digits only (``\d`` also reads "٣"), at most 9 of them before any is converted
_BY_RE = re.compile(r"^\s*([+-])\s*([0-9]{1,9})\s*(year|month|week|day)s?\s*$", re.IGNORECASE)
_TOO_FAR_RE = re.compile(r"^\s*[+-]\s*[0-9]{10,}\s*(year|month|week|day)s?\s*$", re.IGNORECASE)
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)  # LATEST excluded
MAX_MOVE = timedelta(days=36_525)  # a hundred years
MOST = {"year": 100, "month": 1_200, "week": 5_218, "day": 36_525}  # what an offset counts, per unit
WINDOW = "a deadline falls between 1900-01-01 and 2199-12-31 (UTC) and moves by at most 100 years"


def _outside(instant: datetime) -> bool:
    """Whether ``instant`` falls outside the years a deadline may be moved to."""
    try:
        return not EARLIEST <= instant < LATEST
    except OverflowError:  # an offset that takes it past year 9999 in UTC
        return True


@dataclass(frozen=True, slots=True)
class Shift:
    """Where a timer goes: to an instant, or by a calendar offset from its due instant."""

    to: datetime | None = None
    by: str | None = None  # "+1 year", "-3 months", "+10 days"

    def __post_init__(self) -> None:
        if (self.to is None) == (self.by is None):
            raise InvalidData("(timer)", MOVED, "to/by", "give exactly one of --to DATE or --by '+1 year'")
        if self.by is not None:
            found = _BY_RE.match(self.by)
            too_far = _TOO_FAR_RE.match(self.by) is not None
            if found is None and not too_far:
                problem = f"{self.by!r} is not an offset; expected e.g. +1 year, -2 months"
                raise InvalidData("(timer)", MOVED, "by", problem)
            if too_far or (found is not None and int(found.group(2)) > MOST[found.group(3).lower()]):
                problem = f"{self.by!r} moves too far: at most 100 years, 1,200 months, 5,218 weeks or 36,525 days"
                raise InvalidData("(timer)", MOVED, "by", problem)
        if self.to is not None and _outside(self.to):
            raise InvalidData("(timer)", MOVED, "to", f"{self.to.isoformat()} is out of bounds: {WINDOW}")

    def apply(self, due: datetime, engine: Engine, workflow: str) -> datetime:
        """The new due instant of a timer due at ``due`` (offsets move the workflow's local calendar)."""
        if self.to is not None:
            return self.to.astimezone(UTC)
        assert self.by is not None
        found = _BY_RE.match(self.by)
        assert found is not None
        sign, count, unit = found.group(1), int(found.group(2)), found.group(3).lower()
        n = count if sign == "+" else -count
        offset = {"year": Offset(months=12 * n), "month": Offset(months=n), "week": Offset(days=7 * n)}.get(
            unit, Offset(days=n)
        )
        zone = engine.workflow(workflow).timezone
        try:
            wall = add_calendar(due.astimezone(zone).replace(tzinfo=None), offset)
            return localize(wall, zone).astimezone(UTC)
        except (ValueError, OverflowError):  # past year 9999 (or before year 1): a deadline moved there before
            raise InvalidData("(timer)", MOVED, "by", f"{self.by!r} from {due.isoformat()}: {WINDOW}") from None

    def describe(self) -> str:
        """``to 2013-01-01T00:00:00+01:00`` or ``by +1 year``."""
        return f"to {self.to.isoformat()}" if self.to is not None else f"by {self.by}"


@dataclass(frozen=True, slots=True)
class Moved:
    """A timer moved: its old and new due instants, the event that recorded it."""

    entity: str
    timer: str
    old_due: datetime
    new_due: datetime
    overdue: bool  # it had fallen due, unfired, when it was moved
    seq: int
    event_id: int


def _pending(conn: Connection, current: Instance, name: str) -> Timer:
    named = reads.timers_named(conn, current, name)
    found = next((t for t in named if t.status is TimerStatus.PENDING), None)
    if found is None:
        if named:
            subject = f"timer {name!r} of {current.entity.id}"
            raise ActionRefused("move", subject, str(named[0].status), "pending")
        names = ", ".join(t.name for t in reads.timers_of(conn, current)) or "none"
        raise NotFound("pending timer", f"{current.entity.id}/{name}", f"its pending timers: {names}")
    return found


def _target(conn: Connection, current: Instance, timer: Timer, shift: Shift, engine: Engine) -> datetime:
    entity, field = current.entity.id, "to" if shift.to is not None else "by"
    try:
        new_due = shift.apply(timer.due_at, engine, current.workflow)
    except InvalidData as exc:
        raise InvalidData(entity, MOVED, exc.field, exc.problem) from None
    if _outside(new_due):
        raise InvalidData(entity, MOVED, field, f"{new_due.isoformat()} is out of bounds: {WINDOW}")
    if abs(new_due - timer.due_at) > MAX_MOVE:
        problem = (
            f"timer {timer.name!r} due {timer.due_at.isoformat()} would move to {new_due.isoformat()}, "
            f"more than 100 years: {WINDOW}"
        )
        raise InvalidData(entity, MOVED, field, problem)
    last = reads.last_event_at(conn, current.id)
    if last is not None and new_due < last:
        raise InvalidData(
            current.entity.id,
            MOVED,
            "to",
            f"{new_due.isoformat()} is before the instance's last event ({last.isoformat()}); "
            "a deadline cannot be moved into the instance's past",
        )
    if new_due == timer.due_at:
        raise InvalidData(current.entity.id, MOVED, "to", f"timer {timer.name!r} is already due {new_due.isoformat()}")
    return new_due


def move_in(
    engine: Engine,
    conn: Connection,
    current: Instance,
    name: str,
    shift: Shift,
    *,
    actor: str,
    reason: str,
    principal: str | None = None,
    batch: int | None = None,
    checks: Checks = IMMEDIATE,
    at: datetime | None = None,
    basis: Basis | None = None,
) -> Moved:
    """Move ``current``'s pending timer ``name`` inside ``conn``'s transaction (one chain event), dated
    ``at`` (the act's business time: not before the instance's last event nor in the future);
    ``basis``: where the move comes from (the record's keys, an assumption), hashed with the event."""
    timer = _pending(conn, current, name)
    new_due = _target(conn, current, timer, shift, engine)
    now = engine.clock.now()
    if at is not None:
        last = reads.last_event_at(conn, current.id)
        at = require_aware(at, "at")
        if (last is not None and at < last) or at > now + CLOCK_SKEW:
            raise BusinessTimeRefused(current.entity.id, at, last, now + CLOCK_SKEW)
    overdue = timer.due_at <= now
    data: dict[str, Any] = {
        "timer": timer.name,
        "timer_trigger": timer.trigger,
        "from": timer.due_at.isoformat(),
        "to": new_due.isoformat(),
        "overdue": overdue,
    }
    notice = notice_of(engine, current, name)
    zone = engine.workflow_of(current).timezone
    moved_data = {  # what the notice prints: the old and new instants, local
        **current.data,
        "timer_from": timer.due_at.astimezone(zone).isoformat(),
        "timer_to": new_due.astimezone(zone).isoformat(),
    }
    event, eid = chain_action(
        engine,
        conn,
        current,
        action=MOVED,
        data=data,
        actor=actor,
        role=OPERATOR,
        reason=reason,
        principal=principal,
        checks=checks,
        batch=batch,
        occurred_at=at,
        letters=notice,
        letter_data=moved_data,
        basis=basis,
    )
    moved = sql.move_timer(conn, timer.id, timer.due_at, new_due)
    checks.expect(lambda: moved.rowcount == 1, ConcurrentUpdate(current.entity.id, current.version, None))
    return Moved(current.entity.id, timer.name, timer.due_at, new_due, overdue, event.seq, eid)


def notice_of(engine: Engine, current: Instance, name: str) -> tuple[str, ...]:
    """The letter the workflow sends when timer ``name`` of ``current``'s state is moved (``notify``), if any."""
    specs = engine.workflow_of(current).states[current.state].timers
    return tuple(s.notify for s in specs if s.name == name and s.notify is not None)


def move_timer(
    engine: Engine,
    entity: str,
    name: str,
    shift: Shift,
    *,
    actor: str,
    reason: str,
    workflow: str | None = None,
    principal: str | None = None,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Moved:
    """Move one entity's pending timer ``name`` (``shift``: to an instant or by an offset), audited."""
    refuse_reserved(Request(entity=entity, trigger=MOVED, actor=actor, reason=reason))
    require_justification(entity, MOVED, actor, reason)
    with engine.db.write() as conn:
        current = _instance(engine, conn, entity, workflow)
        if expected_version is not None and current.version != expected_version:
            raise ConcurrentUpdate(entity, expected_version, current.version)
        return move_in(engine, conn, current, name, shift, actor=actor, reason=reason, principal=principal, at=at)


def _instance(engine: Engine, conn: Connection, entity: str, workflow: str | None) -> Instance:
    name = engine.workflow_for(conn, entity, workflow)
    current = sql.load_instance(conn, entity, name)
    if current is None:
        raise NotFound("instance", entity, f"no {name} instance for it; `labelwf list` shows the instances")
    return current


def plan_moves(
    engine: Engine,
    name: str,
    shift: Shift,
    selection: Selection,
    *,
    reference: str,
    actor: str,
    reason: str,
    workflow: str | None = None,
    principal: str | None = None,
    at: datetime | None = None,
    basis: Basis | None = None,
) -> PlanReport:
    """Freeze the move of timer ``name`` on every instance of ``selection``, previewed one by one
    (``at``: the act's date, each event's business time; default when each item runs; ``basis``:
    where the act comes from, each event's)."""
    wf = engine.workflow(workflow)
    check_act(wf, reference, actor, reason)
    if not any(name == spec.name for state in wf.states.values() for spec in state.timers):
        declared = sorted({spec.name for state in wf.states.values() for spec in state.timers})
        raise PlanRejected([Problem("(plan)", None, f"no timer {name!r} in {wf.key}; it declares: {declared}")])
    rows: list[dict[str, Any]] = []
    with engine.db.read() as conn:
        ids = select_entities(conn, wf, selection)
        if not ids:
            raise PlanRejected([Problem("(plan)", None, "the selection holds no instance")])
        found = {i.entity.id: i for i in bsql.workflow_instances(conn, wf.name, entity_ids=ids)}
        seen: set[str] = set()
        for seq, entity in enumerate(ids):
            row: dict[str, Any] = {
                "seq": seq,
                "entity_id": entity,
                "instance_id": None,
                "seen_version": None,
                "action": {"timer": name, "to": shift.to.isoformat() if shift.to else None, "by": shift.by},
            }
            current = found.get(entity)
            try:
                if current is None:
                    raise NotFound("instance", entity, f"no {wf.name} instance for it")
                if entity in seen:
                    raise InvalidData(entity, MOVED, "entity", "listed twice")
                seen.add(entity)
                timer = _pending(conn, current, name)
                new_due = _target(conn, current, timer, shift, engine)
                last = reads.last_event_at(conn, current.id)
                if at is not None and last is not None and at < last:
                    raise BusinessTimeRefused(entity, at, last, engine.clock.now() + CLOCK_SKEW)
            except LabelwfError as exc:
                row["preview"], row["status"] = {"refused": str(exc)}, ItemStatus.REFUSED.value
            else:
                row["instance_id"], row["seen_version"] = current.id, current.version
                row["preview"] = {
                    "from": timer.due_at.isoformat(),
                    "dest": new_due.isoformat(),
                    "timer": name,
                    "letters": list(notice_of(engine, current, name)),
                }
                row["status"] = ItemStatus.PENDING.value
            rows.append(row)
    return plan_items.store(
        engine,
        kind=KIND,
        workflow=wf.name,
        reference=reference,
        actor=actor,
        reason=reason,
        principal=principal,
        occurred_at=at,
        spec={"timer": name, "shift": shift.describe(), "selection": selection.describe()}
        | ({} if basis is None else {"basis": basis.as_json()}),
        rows=rows,
    )


def execute(
    engine: Engine, conn: Connection, plan: Batch, item: BatchItem, checks: Checks
) -> tuple[dict[str, Any], int]:
    """Move one item's timer at the version the preview saw (``plan_items.Executor``)."""
    current = plan_items.seen_instance(conn, plan, item)
    to = item.action.get("to")
    shift = Shift(to=datetime.fromisoformat(to) if to else None, by=item.action.get("by"))
    moved = move_in(
        engine,
        conn,
        current,
        str(item.action["timer"]),
        shift,
        actor=plan.actor,
        reason=recorded_reason(plan.reference, plan.reason),
        principal=plan.executed_by or plan.principal,
        batch=plan.id,
        checks=checks,
        at=plan.occurred_at,
        basis=basis_from_json(plan.spec.get("basis")),
    )
    outcome = {"seq": moved.seq, "dest": moved.new_due.isoformat(), "from": moved.old_due.isoformat()}
    return outcome | {"overdue": moved.overdue}, moved.event_id
