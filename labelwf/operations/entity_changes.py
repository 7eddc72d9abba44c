"""Entities that change: a pole that ceases, poles that merge — each as chain events, one transaction.

* ``cease``: the entity disappears (a liquidation): its instance ends in the workflow's
  ``endings.ceased`` final state with the recorded reason, its pending timers cancelled, and no
  letter (there is no decision to notify).
* ``merge``: the label and the live instance pass to a successor. Into an **absorbing** entity
  (it keeps its own instance and records whom it absorbed), or into a **new** entity (registered
  now, its instance starting in the state, data and pending deadlines of the first merging one,
  its first event naming its predecessors). Each absorbed instance ends in ``endings.merged``
  with an event that names its successor, so a history reads through the link either way.

Refused, writing nothing: an entity with no live instance (already in a final state), a merger
into an entity whose label has ended (delabeled, ceased, merged), an entity merged into itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from ..audit.hashing import GENESIS, format_for
from ..audit.sealing import seal
from ..clock import require_aware
from ..engine.batch import IMMEDIATE
from ..engine.chain import chain_action, write_link
from ..engine.decision import CLOCK_SKEW, Request, refuse_reserved, require_justification
from ..engine.fire import Engine
from ..errors import ActionRefused, BusinessTimeRefused, InvalidData, NotFound
from ..store import fires as sql
from ..store import reads
from ..store.basis import Basis
from ..store.entities import existing_entities, insert_entities
from ..store.records import Entity, Event, Instance
from ..text import text_problem
from ..workflow.definition import OPERATOR, Workflow
from .importer import ID_RE, MAX_NAME

CEASED, MERGED_INTO, ABSORBED, SUCCEEDED = "(entity ceased)", "(merged into)", "(absorbed)", "(successor of)"


@dataclass(frozen=True, slots=True)
class Change:
    """What an entity's change wrote: the instances it ended, and the successor's instance version."""

    ended: tuple[str, ...]
    successor: str | None = None
    successor_version: int | None = None


def _ending(wf: Workflow, kind: str) -> str:
    state = wf.endings.get(kind)
    if state is None:
        raise ActionRefused(
            kind.rstrip("d"),
            f"an entity of {wf.key}",
            "not declared",
            f"a final state under endings: {{{kind}: STATE}} in the workflow file",
        )
    return state


def _live(engine: Engine, conn: Connection, entity: str, wf_name: str, action: str) -> Instance:
    current = sql.load_instance(conn, entity, wf_name)
    if current is None:
        raise NotFound("instance", entity, f"no {wf_name} instance for it; `labelwf list` shows the instances")
    wf = engine.workflow_of(current)
    if wf.states[current.state].final:
        raise ActionRefused(action, entity, f"in final state {current.state!r}", "a live instance (label in force)")
    return current


def _when(conn: Connection, current: Instance, at: datetime | None, now: datetime) -> datetime:
    occurred = require_aware(at, "at") if at is not None else now
    last = reads.last_event_at(conn, current.id)
    if (last is not None and occurred < last) or occurred > now + CLOCK_SKEW:
        raise BusinessTimeRefused(current.entity.id, occurred, last, now + CLOCK_SKEW)
    return occurred


def _end(
    engine: Engine,
    conn: Connection,
    current: Instance,
    dest: str,
    trigger: str,
    data: dict[str, Any],
    *,
    actor: str,
    reason: str,
    occurred: datetime,
    principal: str | None,
    basis: Basis | None = None,
) -> None:
    """``current`` ends in ``dest``: one chain event, its pending timers cancelled."""
    now = engine.clock.now()
    event = seal(
        Event(
            entity=current.entity.id,
            workflow=current.workflow,
            seq=current.version + 1,
            trigger=trigger,
            source=current.state,
            dest=dest,
            actor=actor,
            role=OPERATOR,
            reason=reason,
            data=data,
            occurred_at=occurred,
            recorded_at=now,
            late_by_s=None,
            prev_hash=current.last_hash,
            hash_format=format_for(engine.hash_format, basis=basis),
            principal=principal or engine.principal,
            basis=basis,
        ),
        engine.audit_key,
    )
    eid = write_link(conn, current, event, dest, current.data, occurred, now, IMMEDIATE)
    sql.close_pending_timers(conn, current.id, eid, now)


def _justified(entity: str, action: str, actor: str, reason: str) -> None:
    refuse_reserved(Request(entity=entity, trigger=action, actor=actor, reason=reason))
    require_justification(entity, action, actor, reason)


def cease(
    engine: Engine,
    entity: str,
    *,
    actor: str,
    reason: str,
    at: datetime | None = None,
    workflow: str | None = None,
    principal: str | None = None,
    basis: Basis | None = None,
) -> Change:
    """End ``entity``'s live instance because the entity itself ceased (no decision, no letter);
    ``basis``: where the fact comes from (the record's keys, an assumption), hashed with the event."""
    _justified(entity, CEASED, actor, reason)
    with engine.db.write() as conn:
        wf_name = engine.workflow_for(conn, entity, workflow)
        current = _live(engine, conn, entity, wf_name, "cease")
        dest = _ending(engine.workflow_of(current), "ceased")
        occurred = _when(conn, current, at, engine.clock.now())
        _end(
            engine,
            conn,
            current,
            dest,
            CEASED,
            {},
            actor=actor,
            reason=reason,
            occurred=occurred,
            principal=principal,
            basis=basis,
        )
    return Change(ended=(entity,))


def merge(
    engine: Engine,
    merging: Sequence[str],
    into: str,
    *,
    actor: str,
    reason: str,
    name: str | None = None,
    at: datetime | None = None,
    workflow: str | None = None,
    principal: str | None = None,
    basis: Basis | None = None,
) -> Change:
    """Pass the label of ``merging`` entities to ``into``: an existing live entity that absorbs them,
    or (with ``name``) a new entity whose instance continues the first merging one's. ``basis``:
    where the merger comes from (the record's keys, an assumption), in each of its events."""
    _justified(into, MERGED_INTO, actor, reason)
    absorbed = list(dict.fromkeys(merging))
    if not absorbed:
        raise InvalidData(into, MERGED_INTO, "merging", "name at least one entity that merges")
    twice = sorted({entity for entity in merging if list(merging).count(entity) > 1})
    if twice:
        raise InvalidData(
            into, MERGED_INTO, "merging", f"{', '.join(map(repr, twice))} named twice: name each entity once"
        )
    if into in absorbed:
        raise InvalidData(into, MERGED_INTO, "into", f"{into!r} cannot merge into itself")
    now = engine.clock.now()
    with engine.db.write() as conn:
        wf_name = engine.workflow_for(conn, absorbed[0], workflow)
        currents = [_live(engine, conn, e, wf_name, "merge") for e in absorbed]
        dest = _ending(engine.workflow_of(currents[0]), "merged")
        occurred = max(_when(conn, c, at, now) for c in currents)
        if existing_entities(conn, [into]):
            if name is not None:
                raise InvalidData(into, MERGED_INTO, "name", f"{into!r} exists already: absorb into it without a name")
            successor = _live(engine, conn, into, wf_name, "absorb into")
            _when(conn, successor, occurred, now)
            event, _ = chain_action(
                engine,
                conn,
                successor,
                action=ABSORBED[1:-1],
                data={"absorbed": absorbed},
                actor=actor,
                role=OPERATOR,
                reason=reason,
                principal=principal,
                occurred_at=occurred,
                basis=basis,
            )
            version = event.seq
        else:
            version = _found(
                engine, conn, currents[0], into, name, absorbed, actor, reason, occurred, principal, basis=basis
            )
        for current in currents:
            data = {"successor": into}
            _end(
                engine,
                conn,
                current,
                dest,
                MERGED_INTO,
                data,
                actor=actor,
                reason=reason,
                occurred=occurred,
                principal=principal,
                basis=basis,
            )
    return Change(ended=tuple(absorbed), successor=into, successor_version=version)


def _found(
    engine: Engine,
    conn: Connection,
    first: Instance,
    into: str,
    name: str | None,
    absorbed: list[str],
    actor: str,
    reason: str,
    occurred: datetime,
    principal: str | None,
    *,
    basis: Basis | None = None,
) -> int:
    """Register the new entity ``into`` and start its instance where ``first`` stands; return its version."""
    if not ID_RE.match(into):
        raise InvalidData(
            into, MERGED_INTO, "into", "a slug: lower-case letters, digits and '-', at most 100 characters"
        )
    refused = text_problem(str(name or ""), "name", max_length=MAX_NAME, multiline=False)
    if refused is not None:
        raise InvalidData(into, MERGED_INTO, "name", refused)
    if not (name or "").strip():
        raise InvalidData(into, MERGED_INTO, "name", f"{into!r} is a new entity: give its name")
    now = engine.clock.now()
    attributes = {k: v for k, v in first.entity.attributes.items() if k in ("region", "theme")}
    attributes["former_name"] = " ; ".join(absorbed)
    insert_entities(conn, [Entity(into, str(name).strip(), attributes, first.entity.contacts)], now)
    event = seal(
        Event(
            entity=into,
            workflow=first.workflow,
            seq=0,
            trigger=SUCCEEDED,
            source=None,
            dest=first.state,
            actor=actor,
            role=OPERATOR,
            reason=reason,
            data={"successor_of": absorbed},
            occurred_at=occurred,
            recorded_at=now,
            late_by_s=None,
            prev_hash=GENESIS,
            hash_format=format_for(engine.hash_format, basis=basis),
            principal=principal or engine.principal,
            basis=basis,
        ),
        engine.audit_key,
    )
    iid = sql.insert_instance(
        conn,
        entity_id=into,
        workflow=first.workflow,
        workflow_version=first.workflow_version,
        state=first.state,
        last_hash=event.hash,
        entered_at=first.entered_at or occurred,
        now=now,
        data=first.data,
    )
    eid = sql.insert_event(conn, iid, event)
    pending = reads.timers_of(conn, first)
    if pending:
        sql.insert_timers(conn, iid, eid, [(t.name, t.trigger, t.due_at, t.catch_up) for t in pending])
    return 0
