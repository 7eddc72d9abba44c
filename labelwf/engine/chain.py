"""Changes of recorded state that are not transitions, each as a chain event.

The instance stays in its state (source = dest) and moves one version on; the event's trigger
names the action in parentheses (``(timer obsolete)``, ``(letter retried)``), its data what was
acted on, and it carries the actor, the reason and the principal like any fire, inside the hashed
record. So the audit trail holds every change of recorded state, not only the transitions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from ..audit.hashing import format_for
from ..audit.sealing import letter_row, seal
from ..clock import Clock
from ..errors import ConcurrentUpdate
from ..letters.render import RenderedLetter
from ..store import fires as sql
from ..store.entity_versions import dated
from ..store.records import Basis, Event, Instance
from ..workflow.definition import TransitionDef, Workflow
from .batch import IMMEDIATE, Checks
from .decision import Decision


class Writer(Protocol):
    """What a chain event needs of the ``Engine`` that writes it (the engine imports this module)."""

    clock: Clock
    principal: str | None
    audit_key: bytes | None
    hash_format: int

    def workflow_of(self, instance: Instance) -> Workflow: ...

    def step_letters(
        self, wf: Workflow, current: Instance, decision: Decision, event: Event
    ) -> list[RenderedLetter]: ...


def chain_action(
    engine: Writer,
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
    letters: Sequence[str] = (),
    letter_data: Mapping[str, Any] | None = None,
    basis: Basis | None = None,
) -> tuple[Event, int]:
    """Write the chain event of ``action`` on ``current`` (state kept, version + 1); return it and its id.

    ``batch``: the plan the action executes (a bulk deadline move), recorded in the event.
    ``letters``: letters of the instance's workflow the action sends (a moved deadline's notice),
    rendered with ``letter_data`` as their ``data`` (default the instance's), sealed with the event.
    ``basis``: where the action's fact comes from (the record, an assumption…), hashed with it."""
    now = engine.clock.now()
    occurred = occurred_at or now
    event = Event(
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
        hash_format=format_for(engine.hash_format, batch=batch, basis=basis),
        principal=principal or engine.principal,
        batch=batch,
        basis=basis,
    )
    rendered = []
    if letters:
        step = TransitionDef(f"({action})", (current.state,), current.state, letters=tuple(letters))
        context = dict(letter_data if letter_data is not None else current.data)
        then = dated(conn, current, occurred, now)  # a notice names the entity as it was on its date
        rendered = engine.step_letters(engine.workflow_of(current), then, Decision(step, {}, context), event)
    event = seal(event, engine.audit_key, tuple(letter.checksum for letter in rendered))
    entered = current.entered_at or occurred  # still in the state it entered then
    eid = write_link(conn, current, event, current.state, current.data, entered, now, checks)
    if rendered:
        sql.insert_letters(conn, [letter_row(letter, current.id, eid, now) for letter in rendered])
    return event, eid


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
