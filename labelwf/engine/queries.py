"""What front ends show (the CLI now, the API next): typed, paged, and true to each instance's version.

Every read opens a read transaction (no write lock) and speaks the workflow version the instance
runs on: a version-1 instance lists version 1's triggers even when version 2 is loaded.
Listings are ``Page`` objects with a keyset cursor (``next``) and a count of what follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from ..errors import NotFound
from ..message import N_
from ..store import Database, reads
from ..store.records import Event, Instance, Letter, LetterStatus, Page, Timer
from ..workflow.definition import Workflow
from .fire import Engine

DEFAULT_PAGE = 100
NOT_LISTED = N_("`labelwf list` shows the instances")


@dataclass(frozen=True, slots=True)
class Allowed:
    """A trigger an instance can take now: where it leads, the data it takes, who may fire it."""

    trigger: str
    to: tuple[str, ...]
    requires: tuple[str, ...]
    optional: tuple[str, ...]
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InstanceView:
    """One instance as its own workflow version describes it, with its pending timers and letters."""

    instance: Instance
    workflow: Workflow
    description: str
    final: bool
    allowed: tuple[Allowed, ...]
    timers: tuple[Timer, ...]
    letters: tuple[Letter, ...]


def allowed_triggers(workflow: Workflow, state: str) -> tuple[Allowed, ...]:
    """The triggers ``state`` takes in ``workflow``, with their destinations, fields and roles."""
    allowed = []
    for trigger in workflow.triggers_from(state):
        candidates = workflow.candidates(state, trigger)
        allowed.append(
            Allowed(
                trigger=trigger,
                to=tuple(sorted({c.dest for c in candidates})),
                requires=tuple(sorted({f for c in candidates for f in c.requires})),
                optional=tuple(sorted({f for c in candidates for f in c.optional})),
                roles=tuple(sorted({r for c in candidates for r in c.roles})),
            )
        )
    return tuple(allowed)


def list_instances(
    engine: Engine,
    *,
    workflow: str | None = None,
    state: str | None = None,
    after: str | None = None,
    limit: int = DEFAULT_PAGE,
) -> Page[Instance]:
    """Instances by entity id, of one workflow (or all) and optionally in one state."""
    if workflow is not None and workflow not in engine.workflow_names:
        raise NotFound("workflow", workflow, N_("loaded: %(names)s", names=", ".join(engine.workflow_names)))
    if state is not None:
        names = [workflow] if workflow is not None else list(engine.workflow_names)
        known = {s for name in names for w in engine.workflows if w.name == name for s in w.states}
        if state not in known:
            where = engine.workflow(workflow).key if workflow is not None else ", ".join(names)
            raise NotFound("state", state, f"{where} has: {', '.join(sorted(known))}")
    with engine.db.read() as conn:
        return reads.list_instances(conn, workflow=workflow, state=state, after=after, limit=limit)


def _one(conn: Connection, engine: Engine, entity: str, workflow: str | None) -> Instance:
    """The instance of ``entity`` in ``workflow`` (or the only workflow it has one in)."""
    found = reads.find_instances(conn, entity, engine.workflow_for(conn, entity, workflow))
    if not found:
        raise NotFound("instance", entity, NOT_LISTED)
    return found[0]


def find(engine: Engine, entity: str, workflow: str | None = None) -> Instance:
    """The instance of ``entity`` (in ``workflow`` when several are loaded)."""
    with engine.db.read() as conn:
        return _one(conn, engine, entity, workflow)


def describe(engine: Engine, entity: str, workflow: str | None = None) -> InstanceView:
    """One instance: state, the triggers it can take in its own workflow version, timers and letters."""
    with engine.db.read() as conn:
        instance = _one(conn, engine, entity, workflow)
        timers = reads.timers_of(conn, instance)
        letters = reads.letters_of(conn, instance)
    wf = engine.workflow_of(instance)
    definition = wf.states.get(instance.state)
    return InstanceView(
        instance=instance,
        workflow=wf,
        description=definition.description if definition else "",
        final=bool(definition and definition.final),
        allowed=allowed_triggers(wf, instance.state),
        timers=tuple(timers),
        letters=tuple(letters),
    )


def history(
    engine: Engine, entity: str, workflow: str | None = None, *, after: str | None = None, limit: int = DEFAULT_PAGE
) -> Page[Event]:
    """The audit events of one instance, oldest first."""
    with engine.db.read() as conn:
        return reads.history(conn, _one(conn, engine, entity, workflow), after=after, limit=limit)


def pending_timers(
    db: Database, *, due_before: datetime | None = None, after: str | None = None, limit: int = DEFAULT_PAGE
) -> Page[Timer]:
    """Pending timers of every instance, soonest first (optionally only those due before an instant)."""
    with db.read() as conn:
        return reads.pending_timers(conn, due_before=due_before, after=after, limit=limit)


def list_letters(
    db: Database,
    *,
    entity: str | None = None,
    status: LetterStatus | str | None = None,
    after: str | None = None,
    limit: int = DEFAULT_PAGE,
) -> Page[Letter]:
    """Letters of the outbox, newest first (optionally one entity's, or in one status)."""
    wanted = LetterStatus(status) if status is not None else None
    with db.read() as conn:
        return reads.list_letters(conn, entity_id=entity, status=wanted, after=after, limit=limit)


def get_letter(db: Database, letter_id: int) -> Letter:
    """One letter with its frozen text and HTML."""
    if not 0 < letter_id < 2**63:  # no such id in a 64-bit column (and the driver would refuse to send it)
        raise NotFound("letter", letter_id, N_("`labelwf letters` lists them"))
    with db.read() as conn:
        found = reads.get_letter(conn, letter_id)
    if found is None:
        raise NotFound("letter", letter_id, N_("`labelwf letters` lists them"))
    return found


def letter_basis_kind(db: Database, letter_id: int) -> str | None:
    """The kind of basis (record, assumed, synthetic) of the step that queued a letter, or None."""
    with db.read() as conn:
        found = reads.letter_basis(conn, letter_id)
    kind = found.get("kind") if isinstance(found, dict) else None
    return kind if isinstance(kind, str) else None


def state_counts(db: Database, workflow: Workflow) -> dict[str, int]:
    """How many instances of ``workflow`` are in each of its states (zero included)."""
    with db.read() as conn:
        found = reads.state_counts(conn, workflow.name)
    return {state: found.get(state, 0) for state in workflow.states} | {
        state: n for state, n in found.items() if state not in workflow.states
    }
