"""Replaying a scenario: years of decisions and deadlines in seconds, on a simulated clock.

The clock is a ``FrozenClock`` that jumps: to the next pending deadline (fired by the same sweep
the daemon uses, at its exact due instant), or to the next scenario step, whichever comes first.
Decisions go through ``Engine.fire`` with their business date, so ``list``, ``history``, ``timers``
and the letters show the campaign afterwards as if it had been lived.

A replay marks the database it fills (``replay``: ``partial`` from its first write, ``complete``
once it has finished), so that an interrupted replay is known as such, and so that ``--reset``
erases a replay's database and never one that operators filled. Its events and plans record the
principal ``replay by <who ran it>``: once anyone else has recorded an event or a plan in it (an
operator's fire, a plan; not the daemon's deadlines, which follow from the replay's own state),
``--reset`` is refused too (``OthersActed``, with
who and how much) unless ``force`` is given. A database replayed before principals named the
replay cannot tell its own events from others': ``--reset`` erases it as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ..clock import FrozenClock
from ..engine.deadlines import DueTimer, fire_due, next_due
from ..engine.fire import Engine
from ..engine.fired import Fired
from ..engine.queries import state_counts
from ..errors import DatabaseNotEmpty, LabelwfError, OthersActed, Problem, ResetRefused, ScenarioError
from ..operations.importer import EntityRow, add_entities
from ..store import reads
from ..store.basis import Basis
from ..store.entities import acts_besides, erasable, erase_everything, get_mark, set_mark
from ..workflow.definition import Workflow
from .replay_acts import run_act
from .scenario import Scenario

SYNTHETIC_PREFIX = "synthetic-pole-"
# A generated cohort's poles are not facts: their entry says so (and their letters carry SPÉCIMEN).
SYNTHETIC_COHORT = Basis.synthetic("cohorte de pôles fictifs générée pour l’exercice (aucun n’est un pôle réel)")
REPLAY_MARK = "replay"  # the mark of a database created by a replay: "partial: ..." or "complete: ..."
REPLAY_PRINCIPAL = "replay by "  # how the principal of a replay's events and plans starts


def replay_principal(principal: str | None) -> str:
    """The principal a replay records: ``replay by <who ran it>`` (no account or OS user starts so)."""
    return f"{REPLAY_PRINCIPAL}{principal or 'labelwf'}"[:200]


@dataclass
class Moment:
    """One line of the timeline: what happened at an instant to how many entities."""

    at: datetime
    kind: str  # import | decision | timer | note | an act's kind (publish, apply, decide, move, ...)
    what: str
    dests: Counter[str] = field(default_factory=Counter)
    entities: list[str] = field(default_factory=list)
    assumed: str | None = None
    note: str = ""
    plan: int | None = None
    workflow: str | None = None  # decision, timer: the workflow whose labels say its trigger and states
    count: int = 0  # import: how many entities
    target: str = ""  # publish: NAME@VERSION; move: the timer moved
    to: datetime | None = None  # move: the instant the timers were moved to
    by: str | None = None  # move: the duration they were moved by
    left: int = 0  # migrate: the instances left on the source version


@dataclass
class ReplayReport:
    """The outcome of a replay: its timeline, the final count per state, and what was left alone."""

    scenario: str
    synthetic: bool
    start: datetime
    until: datetime
    timeline: list[Moment]
    counts: dict[str, int]
    unclassified: list[str]
    letters: dict[str, int]
    skipped_steps: list[int]
    pending_after: int = 0
    next_deadline: datetime | None = None
    erased: int = 0
    by_workflow: dict[str, dict[str, int]] = field(default_factory=dict)  # every workflow the replay used


def replay_mark(engine: Engine) -> str | None:
    """The database's replay mark (``partial: …`` or ``complete: …``), or None if no replay created it."""
    with engine.db.read() as conn:
        return get_mark(conn, REPLAY_MARK)


def begin(engine: Engine, scenario: str, *, reset: bool, force: bool = False) -> int:
    """Claim the database for a replay of ``scenario``: empty, or a replay's erased when ``reset`` (and
    only its own events and plans are there, unless ``force``); mark it partial. One transaction;
    return how many instances were erased."""
    now = engine.clock.now()
    with engine.db.write() as conn:
        existing = reads.count_instances(conn)
        mark = get_mark(conn, REPLAY_MARK)
        erased = 0
        if existing and not reset:
            raise DatabaseNotEmpty(engine.db.display_url, existing, mark)
        if existing and mark is None:
            raise ResetRefused(engine.db.display_url, existing)
        if existing and not force:
            replayed, others = acts_besides(conn, REPLAY_PRINCIPAL)
            if replayed and others:
                raise OthersActed(engine.db.display_url, others, erasable(conn))
        if reset:
            erased = erase_everything(conn)
        set_mark(conn, REPLAY_MARK, f"partial: {scenario} started {now.isoformat(timespec='seconds')}", now)
    return erased


def finish(engine: Engine, scenario: str) -> None:
    """Mark the replay's database complete."""
    now = engine.clock.now()
    with engine.db.write() as conn:
        set_mark(conn, REPLAY_MARK, f"complete: {scenario} finished {now.isoformat(timespec='seconds')}", now)


def synthetic_cohort(split: Sequence[int], renewed_share: float = 7 / 13) -> list[EntityRow]:
    """A generated cohort with ``split`` = (group 1, group 2, group 3) poles; group 3 renewed in the 2010 share."""
    groups = [str(g) for g, n in zip(("1", "2", "3"), split, strict=True) for _ in range(n)]
    renewed = round(split[2] * renewed_share)
    rows, third = [], 0
    for i, group in enumerate(groups, start=1):
        attributes = {
            "group_2008": group,
            "region": "Région synthétique",
            "source": "synthetic",
            "confidence": "synthetic",
        }
        if group == "3":
            attributes["outcome_2010"] = "renewed" if third < renewed else "delabeled"
            third += 1
        rows.append(EntityRow(i + 1, f"{SYNTHETIC_PREFIX}{i:03d}", f"Pôle synthétique {i:03d}", attributes))
    return rows


def advance(engine: Engine, clock: FrozenClock, until: datetime, on_fired: Callable[[DueTimer, Fired], None]) -> None:
    """Move ``clock`` from deadline to deadline up to ``until``, firing each at its due instant."""
    while True:
        upcoming = next_due(engine)
        if upcoming is None or upcoming > until:
            break
        clock.set(max(clock.now(), upcoming))
        report = fire_due(
            engine,
            now=clock.now(),
            observer=lambda outcome, timer, fired, note: on_fired(timer, fired) if fired is not None else None,
        )
        if report.failed:
            raise ScenarioError([Problem("(timers)", None, error) for error in report.errors])
    clock.set(max(clock.now(), until))


def replay(
    engine: Engine,
    scenario: Scenario,
    *,
    until: datetime | None = None,
    synthetic: Sequence[int] | None = None,
    actor: str = "replay",
    reset: bool = False,
    force: bool = False,
    on_erased: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Run ``scenario`` on an empty database with a simulated clock; return the timeline and final counts.

    ``reset`` erases the database first, once the arguments are known to be good, and only if a
    replay created it and nobody else recorded anything in it since, unless ``force`` (``begin``).
    Until the replay finishes the database is marked partial. ``on_erased(instances)`` is called once
    the erasure is committed, before the replay starts (the caller archives what covered the old content).
    """
    end = until or scenario.until
    if end < scenario.start:
        zone = engine.workflow(scenario.workflow).timezone

        def local(instant: datetime) -> str:
            return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")

        message = f"--until {local(end)} is before the scenario's start, {local(scenario.start)} ({zone})"
        raise ScenarioError([Problem(str(scenario.source), None, message)])
    erased = begin(engine, scenario.name, reset=reset, force=force)
    if erased and on_erased is not None:
        on_erased(erased)
    marker = engine  # marks the database on the real clock, not the simulated one
    clock = FrozenClock(scenario.start)
    published = [engine.workflow(scenario.workflow, scenario.version)]
    base, engine = engine, _replaying(engine, clock, published)
    rows = synthetic_cohort(synthetic) if synthetic is not None else list(scenario.rows)
    label = (
        "synthetic cohort " + "/".join(map(str, synthetic)) if synthetic is not None else scenario.entities_file.name
    )
    timeline: list[Moment] = []
    entry = SYNTHETIC_COHORT if synthetic is not None else scenario.basis
    add_entities(engine, rows, actor=actor, reason=f"replay of {scenario.name}: {label}", basis=entry)
    imported = Moment(scenario.start, "import", f"{len(rows)} entities imported ({label})", count=len(rows))
    imported.target = label
    timeline.append(imported)
    touched: set[str] = set()
    pending: dict[tuple[datetime, str, str], Moment] = {}

    def on_timer(timer: DueTimer, fired: Fired) -> None:
        key = (timer.due_at, timer.name, fired.dest)
        moment = pending.get(key)
        if moment is None:
            moment = pending[key] = Moment(timer.due_at, "timer", f"{timer.name}: {timer.trigger}", target=timer.name)
            moment.workflow = fired.workflow
            timeline.append(moment)
        moment.dests[fired.dest] += 1
        moment.entities.append(timer.entity)

    skipped: list[int] = []
    for step in scenario.steps:
        if step.at > end:
            break
        advance(engine, clock, step.at, on_timer)
        if step.note is not None:
            timeline.append(Moment(step.at, "note", step.note))
            continue
        if step.act is not None and step.act.kind == "publish":
            name, _, version = step.act.target.partition("@")
            published.append(base.workflow(name, int(version)))
            engine = _replaying(base, clock, published)
            in_force = Moment(step.at, "publish", f"{step.act.target} in force", assumed=step.assumed)
            in_force.target = step.act.target
            timeline.append(in_force)
            continue
        if step.act is not None:
            if synthetic is not None:
                skipped.append(step.line)
                timeline.append(Moment(step.at, "note", f"step at line {step.line} ({step.act.kind}) not replayed"))
                continue
            done = run_act(engine, step, step.act, str(scenario.source))
            moment = Moment(step.at, step.act.kind, step.act.describe(), assumed=step.assumed, note=done.note)
            moment.dests, moment.entities, moment.plan = done.dests, done.entities, done.plan
            moment.workflow, moment.target = step.act.workflow or scenario.workflow, step.act.target
            moment.to, moment.by, moment.left = step.act.to, step.act.by, done.left
            touched.update(done.entities)
            timeline.append(moment)
            continue
        if synthetic is not None and step.names_entities:
            skipped.append(step.line)
            timeline.append(
                Moment(
                    step.at, "note", f"step at line {step.line} names real poles: not replayed on the synthetic cohort"
                )
            )
            step = replace(step, entities=())
        selected = step.select(rows)
        if not selected:
            continue
        assert step.trigger is not None
        moment = Moment(step.at, "decision", step.trigger, assumed=step.assumed, note=step.reason)
        moment.workflow = step.workflow or scenario.workflow
        for entity in selected:
            try:
                fired = engine.fire(
                    entity,
                    step.trigger,
                    actor=step.actor,
                    reason=step.reason,
                    data=dict(step.data or {}),
                    at=step.at,
                    workflow=step.workflow or scenario.workflow,
                    basis=step.basis,
                )
            except LabelwfError as exc:
                raise ScenarioError([Problem(str(scenario.source), step.line, f"{entity}: {exc}")]) from None
            moment.dests[fired.dest] += 1
            moment.entities.append(entity)
            touched.add(entity)
        timeline.append(moment)
    advance(engine, clock, end, on_timer)
    finish(marker, scenario.name)

    with engine.db.read() as conn:
        letters = reads.letter_counts(conn)
        pending_after, next_deadline = reads.pending_summary(conn)
    timeline.sort(key=lambda m: m.at)  # stable: same-instant moments keep their order
    return ReplayReport(
        scenario=scenario.name,
        synthetic=synthetic is not None,
        start=scenario.start,
        until=end,
        timeline=timeline,
        counts=state_counts(engine.db, engine.workflow(scenario.workflow)),
        by_workflow={w.name: state_counts(engine.db, w) for w in _latest(published)},
        unclassified=sorted(r.id for r in rows if r.id not in touched),
        letters=letters,
        skipped_steps=skipped,
        pending_after=pending_after,
        next_deadline=next_deadline,
        erased=erased,
    )


def _replaying(base: Engine, clock: FrozenClock, published: Sequence[Workflow]) -> Engine:
    """``base`` on the replay's clock, with the workflows in force, recording the replay's principal."""
    engine = base.with_clock(clock, published, history=True)  # its letters are history: never « à signer »
    engine.principal = replay_principal(base.principal)
    return engine


def _latest(workflows: Sequence[Workflow]) -> list[Workflow]:
    """The latest version of each workflow name, in the order the names first appear."""
    latest: dict[str, Workflow] = {}
    for w in workflows:
        if w.name not in latest or w.version > latest[w.name].version:
            latest[w.name] = w
    return list(latest.values())
