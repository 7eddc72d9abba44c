"""Running a scenario's programme operations (``scenario_acts``) during a replay, each through the
library's own operation: plans for decisions, deadline moves and migrations (previewed, then run),
``add_entities`` and ``Engine.create`` for entities that join, ``entity_changes`` for mergers and
cessations. A refusal stops the replay with the step's line: a scenario of the public record must
replay cleanly, so a refused item means the scenario (or the workflow) is wrong.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..engine.fire import Engine
from ..errors import LabelwfError, Problem, ScenarioError
from ..operations import entity_changes, plans
from ..operations.bulk import plan_decision, read_outcomes
from ..operations.entity_versions import change_entity
from ..operations.importer import add_entities as add_entity_rows
from ..operations.importer import read_entities
from ..operations.migration import load_migration, plan_migration
from ..operations.region_map import apply_region_map, read_region_map
from ..operations.timer_moves import Shift, plan_moves
from ..store.records import ItemStatus
from .scenario import Step
from .scenario_acts import Act, ids_of


@dataclass
class ActOutcome:
    """What an act did: the destination states it led to (with how many), the entities, its plan."""

    dests: Counter[str] = field(default_factory=Counter)
    entities: list[str] = field(default_factory=list)
    plan: int | None = None
    note: str = ""
    left: int = 0  # migrate: the instances left on the source version


def run_act(engine: Engine, step: Step, act: Act, source: str) -> ActOutcome:
    """Run ``act`` at ``step.at`` on ``engine`` (whose clock stands at that instant); raise
    ``ScenarioError`` naming the step's line if anything is refused."""
    try:
        return _RUNNERS[act.kind](engine, step, act)
    except LabelwfError as exc:
        raise ScenarioError([Problem(source, step.line, f"{act.describe()}: {exc}")]) from None
    except (OSError, ValueError) as exc:
        raise ScenarioError([Problem(source, step.line, f"{act.describe()}: {exc}")]) from None


def _import(engine: Engine, step: Step, act: Act) -> ActOutcome:
    wf = engine.workflow(act.workflow)
    rows = read_entities(act.target, wf)
    add_entity_rows(
        engine,
        rows,
        actor=step.actor,
        reason=step.reason,
        workflow=wf.name,
        source=act.target,
        at=step.at,
        basis=step.basis,
    )
    return ActOutcome(Counter({wf.initial: len(rows)}), [r.id for r in rows])


def _apply(engine: Engine, step: Step, act: Act) -> ActOutcome:
    wf = engine.workflow(act.workflow)
    applicants = [e for e in (act.entities or ids_of(act.target)) if e not in act.selection.excluded]
    with engine.db.write() as conn:
        for entity in applicants:
            engine.create(
                conn, entity, actor=step.actor, reason=step.reason, workflow=wf.name, at=step.at, basis=step.basis
            )
    return ActOutcome(Counter({wf.initial: len(applicants)}), applicants)


def _planned(engine: Engine, step: Step, batch_id: int) -> ActOutcome:
    """Run a stored plan whole; every item must have been previewed as doable and then done."""
    items = plans.items(engine, batch_id)
    refused = [i for i in items if i.status is ItemStatus.REFUSED]
    if refused:
        shown = "; ".join(f"{i.entity}: {i.preview.get('refused')}" for i in refused[:5])
        more = f" (and {len(refused) - 5} more)" if len(refused) > 5 else ""
        plans.cancel(engine, batch_id)
        raise ScenarioError([Problem("(plan)", step.line, f"plan {batch_id} refused {len(refused)}: {shown}{more}")])
    plans.run(engine, batch_id)
    done = plans.items(engine, batch_id)
    undone = [i for i in done if i.status is not ItemStatus.DONE]
    if undone:
        shown = "; ".join(f"{i.entity}: {i.status.value} {i.outcome or ''}".strip() for i in undone[:5])
        raise ScenarioError([Problem("(plan)", step.line, f"plan {batch_id}: {len(undone)} not done: {shown}")])
    dests = Counter(str(i.preview.get("dest", "")) for i in done)
    return ActOutcome(dests, [i.entity for i in done], batch_id)


def _decide(engine: Engine, step: Step, act: Act) -> ActOutcome:
    wf = engine.workflow(act.workflow)
    outcomes = read_outcomes(act.target, wf, trigger=act.trigger, ignore=act.ignore)
    if act.data:
        outcomes = [type(o)(o.entity, o.trigger, {**act.data, **o.data}, o.line, o.basis) for o in outcomes]
    report = plan_decision(
        engine,
        reference=act.reference,
        actor=step.actor,
        reason=step.reason,
        outcomes=outcomes,
        at=step.at,
        workflow=wf.name,
        basis=step.basis,
    )
    return _planned(engine, step, report.batch.id)


def _move(engine: Engine, step: Step, act: Act) -> ActOutcome:
    report = plan_moves(
        engine,
        act.target,
        Shift(to=act.to, by=act.by),
        act.selection,
        reference=act.reference,
        actor=step.actor,
        reason=step.reason,
        workflow=act.workflow,
        at=step.at,
        basis=step.basis,
    )
    outcome = _planned(engine, step, report.batch.id)
    outcome.dests = Counter({f"{act.target} moved": len(outcome.entities)})
    return outcome


def _migrate(engine: Engine, step: Step, act: Act) -> ActOutcome:
    migration = load_migration(act.target, engine)
    report = plan_migration(engine, migration, actor=step.actor, reason=step.reason, at=step.at, basis=step.basis)
    left = sum(report.batch.spec.get("left", {}).values())
    outcome = _planned(engine, step, report.batch.id)
    outcome.note = f"{migration.source.key} → {migration.target.key}; {left} left on {migration.source.key}"
    outcome.left = left
    return outcome


def _merge(engine: Engine, step: Step, act: Act) -> ActOutcome:
    change = entity_changes.merge(
        engine,
        act.entities,
        act.into,
        actor=step.actor,
        reason=step.reason,
        name=act.name,
        at=step.at,
        workflow=act.workflow,
        basis=step.basis,
    )
    return ActOutcome(Counter({"merged": len(change.ended)}), [*change.ended, act.into])


def _cease(engine: Engine, step: Step, act: Act) -> ActOutcome:
    change = entity_changes.cease(
        engine,
        act.target,
        actor=step.actor,
        reason=step.reason,
        at=step.at,
        workflow=act.workflow,
        basis=step.basis,
    )
    return ActOutcome(Counter({"ceased": len(change.ended)}), list(change.ended))


def _change(engine: Engine, step: Step, act: Act) -> ActOutcome:
    change = change_entity(
        engine,
        act.target,
        act.data,
        actor=step.actor,
        reason=step.reason,
        valid_from=act.valid_from or step.at,
        at=step.at,
        basis=step.basis,
    )
    return ActOutcome(Counter({"changed": 1}), [change.entity.id])


def _regions(engine: Engine, step: Step, act: Act) -> ActOutcome:
    renames = read_region_map(act.target)
    changes = apply_region_map(engine, renames, actor=step.actor, reason=step.reason, basis=step.basis, at=step.at)
    return ActOutcome(Counter({"region changed": len(changes)}), [c.entity.id for c in changes])


_RUNNERS = {
    "import": _import,
    "apply": _apply,
    "decide": _decide,
    "move": _move,
    "migrate": _migrate,
    "merge": _merge,
    "cease": _cease,
    "change": _change,
    "regions": _regions,
}
