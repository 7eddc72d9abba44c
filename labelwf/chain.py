"""Changes of recorded state that are not transitions, each as a chain event.

The instance stays in its state (source = dest) and moves one version on; the event's trigger
names the action in parentheses (``(timer obsolete)``, ``(letter retried)``), its data what was
acted on, and it carries the actor, the reason and the principal like any fire, inside the hashed
record. So the audit trail holds every change of recorded state, not only the transitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from .audit import BATCH_FORMATS
from .batch import IMMEDIATE, Checks
from .errors import ConcurrentUpdate
from .sealing import seal
from .store import fires as sql
from .store.records import Event, Instance

if TYPE_CHECKING:
    from .engine import Engine


def chain_action(
    engine: Engine,
    conn: Connection,
    current: Instance,
    *,
    action: str,
    data: Mapping[str, Any],
    actor: str,
    role: str,
    reason: str,
    principal: str | None,
    occurred_at: datetime | None = None,
    late_by_s: float | None = None,
    checks: Checks = IMMEDIATE,
    batch: int | None = None,
) -> tuple[Event, int]:
    """Write the chain event of ``action`` on ``current`` (state kept, version + 1); return it and its id.

    ``batch``: the plan the action executes (a bulk deadline move), recorded in the event."""
    now = engine.clock.now()
    occurred = occurred_at or now
    event = seal(
        Event(
            entity=current.entity.id,
            workflow=current.workflow,
            seq=current.version + 1,
            trigger=f"({action})",
            source=current.state,
            dest=current.state,
            actor=actor,
            role=role,
            reason=reason,
            data=dict(data),
            occurred_at=occurred,
            recorded_at=now,
            late_by_s=late_by_s,
            prev_hash=current.last_hash,
            hash_format=engine.hash_format if batch is None else BATCH_FORMATS[engine.hash_format],
            principal=principal or engine.principal,
            batch=batch,
        ),
        engine.audit_key,
    )
    entered = current.entered_at or occurred  # still in the state it entered then
    return event, write_link(conn, current, event, current.state, current.data, entered, now, checks)


def write_link(
    conn: Connection,
    current: Instance,
    event: Event,
    state: str,
    data: Mapping[str, Any],
    entered_at: datetime,
    now: datetime,
    checks: Checks,
) -> int:
    """A sealed event added to ``current``'s chain: the instance moved to ``state`` one version on
    (guarded by the version it was read at), the event stored; its id."""
    updated = sql.update_instance(
        conn, current, state=state, data=data, last_hash=event.hash, entered_at=entered_at, now=now
    )
    checks.expect(lambda: updated.rowcount == 1, ConcurrentUpdate(current.entity.id, current.version, None))
    return sql.insert_event(conn, current.id, event)
