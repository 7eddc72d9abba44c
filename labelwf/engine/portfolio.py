"""The portfolio at a glance, for the console's home page: per workflow and version (a phase of the
programme), how many instances are in each state; what falls due in the next days; what is late (a
pending deadline whose due instant has passed: nobody handled it) with the action to take; the
latest decisions; the letters waiting; the incidents.

Everything a person reads is said with the workflow file's words (a state's label or description,
a transition's label or where it leads), never an engine id; the ids stay in the records for links.
Each part is one grouped or indexed read (``store.portfolio``), so the page costs the same at
100,000 instances as at 1,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import NotFound
from ..store import portfolio as store
from ..store import reads
from ..store.records import LetterStatus
from ..workflow.definition import DAEMON_ACTOR, Workflow
from .fire import Engine

WINDOWS = (30, 90, 365)  # the windows of "what falls due" the console offers, in days
DEFAULT_WINDOW = 90
SHOWN = 20  # deadlines of each kind listed (the counts say how many in all)
DECISIONS = 10
WAITING = (LetterStatus.PENDING, LetterStatus.RETRY, LetterStatus.FAILED)
INCIDENT_LETTERS = (LetterStatus.FAILED, LetterStatus.UNCERTAIN, LetterStatus.RETRY)


@dataclass(frozen=True, slots=True)
class StateCount:
    """How many instances of one workflow version are in one state, and what the state is called."""

    state: str
    label: str
    count: int
    final: bool


@dataclass(frozen=True, slots=True)
class PhaseCounts:
    """The counts per state of one workflow version (every declared state, zero included)."""

    workflow: str
    version: int
    title: str
    total: int
    states: tuple[StateCount, ...]


@dataclass(frozen=True, slots=True)
class Deadline:
    """A pending deadline: its pole, when it falls due, and the action it calls for, in words."""

    entity: str
    entity_name: str
    state_label: str
    action: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    """A recorded decision in words: when, which pole, from which state to which, by whom."""

    entity: str
    entity_name: str
    action: str
    source_label: str
    dest_label: str
    actor: str
    by_deadline: bool
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Portfolio:
    """The home page's content, read at ``now``."""

    now: datetime
    days: int
    phases: tuple[PhaseCounts, ...]
    late: tuple[Deadline, ...]
    late_count: int
    upcoming: tuple[Deadline, ...]
    upcoming_count: int
    decisions: tuple[Decision, ...]
    letters: dict[str, int]  # waiting letters by status (pending, retry, failed)
    incidents: int  # what the failures page lists: letters not delivered and deadlines overdue


def state_label(workflow: Workflow, state: str) -> str:
    """What ``state`` is called in ``workflow``: its label, else its description, else its id."""
    found = workflow.states.get(state)
    if found is None:
        return state
    return str(getattr(found, "label", "") or found.description or state)


def action_label(workflow: Workflow, trigger: str) -> str:
    """What taking ``trigger`` does, in the workflow's words: its label or description if it declares
    one, else where it leads ("vers « … »")."""
    candidates = [t for t in workflow.transitions if t.trigger == trigger]
    for transition in candidates:
        said = getattr(transition, "label", "") or getattr(transition, "description", "")
        if said:
            return str(said)
    dests = sorted({state_label(workflow, t.dest) for t in candidates})
    return " ou ".join(f"vers « {d} »" for d in dests) if dests else trigger


class _Versions:
    """The loaded workflow version an instance runs on, or its workflow's newest if not loaded."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __call__(self, name: str, version: int) -> Workflow | None:
        try:
            return self._engine.workflow(name, version)
        except NotFound:
            try:
                return self._engine.workflow(name)
            except NotFound:
                return None


def phase_counts(engine: Engine) -> tuple[PhaseCounts, ...]:
    """Per workflow version that holds instances, the count in each of its states (one GROUP BY)."""
    with engine.db.read() as conn:
        rows = store.counts_by_version(conn)
    grouped: dict[tuple[str, int], dict[str, int]] = {}
    for name, version, state, count in rows:
        grouped.setdefault((name, version), {})[state] = count
    versions = _Versions(engine)
    phases = []
    for (name, version), found in sorted(grouped.items()):
        wf = versions(name, version)
        declared = list(wf.states) if wf is not None else []
        states = [s for s in declared if s in found or not (wf and wf.states[s].final)]
        states += sorted(s for s in found if s not in declared)
        phases.append(
            PhaseCounts(
                workflow=name,
                version=version,
                title=(wf.title if wf is not None and wf.title else name),
                total=sum(found.values()),
                states=tuple(
                    StateCount(
                        state=s,
                        label=state_label(wf, s) if wf is not None else s,
                        count=found.get(s, 0),
                        final=bool(wf and s in wf.states and wf.states[s].final),
                    )
                    for s in states
                ),
            )
        )
    return tuple(phases)


def _deadline(row: store.DueRow, versions: _Versions) -> Deadline:
    wf = versions(row.workflow, row.workflow_version)
    return Deadline(
        entity=row.entity,
        entity_name=row.entity_name,
        state_label=state_label(wf, row.state) if wf is not None else row.state,
        action=action_label(wf, row.trigger) if wf is not None else row.trigger,
        due_at=row.due_at,
    )


def deadlines(
    engine: Engine, *, days: int = DEFAULT_WINDOW, shown: int = SHOWN
) -> tuple[tuple[Deadline, ...], int, tuple[Deadline, ...], int]:
    """(late, how many late, upcoming, how many upcoming) at the engine's clock: late deadlines are
    pending and due before now (the oldest first); upcoming ones fall due from now to ``days`` days on."""
    now = engine.clock.now()
    until = now + timedelta(days=days)
    versions = _Versions(engine)
    with engine.db.read() as conn:
        late = store.due_between(conn, start=None, end=now, limit=shown)
        late_count = store.count_due(conn, start=None, end=now) if len(late) >= shown else len(late)
        upcoming = store.due_between(conn, start=now, end=until, limit=shown)
        upcoming_count = store.count_due(conn, start=now, end=until) if len(upcoming) >= shown else len(upcoming)
    return (
        tuple(_deadline(r, versions) for r in late),
        late_count,
        tuple(_deadline(r, versions) for r in upcoming),
        upcoming_count,
    )


def latest_decisions(engine: Engine, limit: int = DECISIONS) -> tuple[Decision, ...]:
    """The newest decisions recorded, newest first, in the workflow's words."""
    versions = _Versions(engine)
    with engine.db.read() as conn:
        rows = store.latest_decisions(conn, limit)
    decided = []
    for r in rows:
        wf = versions(r.workflow, r.workflow_version)

        def said(state: str | None, wf: Workflow | None = wf) -> str:
            if state is None:
                return ""
            return state_label(wf, state) if wf is not None else state

        decided.append(
            Decision(
                entity=r.entity,
                entity_name=r.entity_name,
                action=action_label(wf, r.trigger) if wf is not None else r.trigger,
                source_label=said(r.source),
                dest_label=said(r.dest),
                actor=r.actor,
                by_deadline=r.role == "system" or r.actor == DAEMON_ACTOR,
                occurred_at=r.occurred_at,
            )
        )
    return tuple(decided)


def letter_counts(engine: Engine) -> dict[str, int]:
    """How many letters wait in each status but delivered (one GROUP BY over the status index's ranges)."""
    with engine.db.read() as conn:
        return reads.letter_status_counts(conn, waiting_only=True)


def portfolio(engine: Engine, *, days: int = DEFAULT_WINDOW, grace_s: float = 0.0, shown: int = SHOWN) -> Portfolio:
    """The whole home page at the engine's clock; ``grace_s`` is the daemon's grace, past which a late
    deadline counts as an incident (as on the failures page)."""
    now = engine.clock.now()
    late, late_count, upcoming, upcoming_count = deadlines(engine, days=days, shown=shown)
    letters = letter_counts(engine)
    with engine.db.read() as conn:
        overdue = store.count_due(conn, start=None, end=now - timedelta(seconds=grace_s))
    return Portfolio(
        now=now,
        days=days,
        phases=phase_counts(engine),
        late=late,
        late_count=late_count,
        upcoming=upcoming,
        upcoming_count=upcoming_count,
        decisions=latest_decisions(engine),
        letters={s.value: letters.get(s.value, 0) for s in WAITING},
        incidents=overdue + sum(letters.get(s.value, 0) for s in INCIDENT_LETTERS),
    )
