"""Bulk decisions: one act (a CIADT, a Prime Minister's decision) on many instances, in two steps.

``plan_decision`` freezes the list: for each entity of the selection, the trigger and fields it
gets, and what ``Engine.apply`` would do with them as things stand (the state it would move to and
the letters it would send) or why it would be refused, with the instance's version. Nothing is
fired. ``plans.run`` then executes exactly that list: one event per entity, carrying the plan's id,
at the decision's business date; an instance that changed since the preview is reported, not fired.

A selection is an explicit list of entity ids (or a file of them), a filter (states, entity
attributes), or the rows of an outcomes file (``id,trigger,field,...``: each entity's own trigger
and fields, e.g. the outcome class of each pole).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from ..engine.batch import Checks
from ..engine.decision import Request, refuse_reserved, require_justification
from ..engine.fire import Engine
from ..errors import LabelwfError, PlanRejected, Problem
from ..store import batches as sql
from ..store.basis import Basis, basis_from_json
from ..store.entities import existing_entities
from ..store.records import Batch, BatchItem, ItemStatus
from ..text import shown, text_problem
from ..workflow.definition import Workflow
from . import plan_items
from .importer import delimiter_of
from .plan_items import PlanReport
from .provenance import BASIS_COLUMNS, row_basis, with_act_basis

KIND = "decision"
MAX_ITEMS = 1_000_000  # a plan larger than this is refused (split the act)
MAX_REFERENCE = 300


@dataclass(frozen=True, slots=True)
class Selection:
    """Which instances of a workflow a plan takes: named ids, and/or every one matching a filter.

    ``entities`` alone: those ids. A filter (``states``, ``where`` on entity attributes, or
    ``everything``) alone: every instance matching it. Both: the named ids that match the filter.
    ``excluded`` ids are left out in every case.
    """

    entities: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    where: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    excluded: tuple[str, ...] = ()
    everything: bool = False

    @property
    def filtered(self) -> bool:
        """True when the selection has a filter (not only named ids)."""
        return bool(self.states or self.where or self.everything)

    def describe(self) -> dict[str, Any]:
        """The selection as it is recorded with the plan."""
        return {
            "entities": list(self.entities),
            "states": list(self.states),
            "where": {k: list(v) for k, v in self.where.items()},
            "except": list(self.excluded),
            "all": self.everything,
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """One entity's part of a decision: its trigger and fields (from the command or an outcomes file)."""

    entity: str
    trigger: str
    data: Mapping[str, Any]
    line: int | None = None  # in the outcomes file
    basis: Basis | None = None  # where this entity's outcome comes from (the file's basis column), if said


def read_outcomes(
    path: str | Path, workflow: Workflow, *, trigger: str | None, ignore: Sequence[str] = ()
) -> list[Outcome]:
    """Read an outcomes file: a CSV with ``id``, optionally ``trigger`` (else ``trigger`` applies to
    every row), and data fields of the workflow (a blank cell: not given); ``ignore`` names other
    columns to leave aside. A ``basis`` column (``record``, ``inferred`` or ``synthetic``, then
    ``: detail``) gives each row's provenance (``provenance.row_basis``). Raise ``PlanRejected``
    listing every problem."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
        text = raw.decode("utf-8-sig")
    except FileNotFoundError:
        raise PlanRejected([Problem(name, None, "file not found")]) from None
    except OSError as exc:
        raise PlanRejected([Problem(name, None, f"cannot be read: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PlanRejected([Problem(name, line, "not UTF-8 text; save the file as UTF-8")]) from None
    problems: list[Problem] = []
    outcomes: list[Outcome] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter_of(text))
    try:
        header = [h.strip() for h in next(reader, [])]
        if "id" not in header:
            raise PlanRejected([Problem(name, 1, "the header must have an id column (then trigger and fields)")])
        allowed = {"id", "trigger", *workflow.fields, *ignore, *BASIS_COLUMNS}
        unknown = [h for h in header if h not in allowed]
        if unknown:
            fields = ", ".join(workflow.fields)
            problems.append(
                Problem(
                    name,
                    1,
                    f"unknown column(s) {', '.join(map(repr, unknown))}: expected id, trigger or a field of "
                    f"{workflow.key} ({fields}); leave other columns aside with --ignore",
                )
            )
        if "trigger" not in header and trigger is None:
            problems.append(Problem(name, 1, "no trigger column: give --trigger for every row, or add the column"))
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                problems.append(Problem(name, line, f"{len(row)} cells for {len(header)} columns"))
                continue
            record = {h: cell.strip() for h, cell in zip(header, row, strict=True)}
            chosen = record.get("trigger") or trigger
            if not record["id"]:
                problems.append(Problem(name, line, "id is blank"))
                continue
            if not chosen:
                problems.append(Problem(name, line, f"{record['id']}: no trigger (blank cell and no --trigger)"))
                continue
            data = {k: v for k, v in record.items() if k in workflow.fields and v != ""}
            try:
                basis = row_basis(record, name, line)
            except ValueError as exc:
                problems.append(Problem(name, line, f"{record['id']}: {exc}"))
                continue
            outcomes.append(Outcome(record["id"], chosen, data, line, basis))
            if len(outcomes) > MAX_ITEMS:
                raise PlanRejected([Problem(name, line, f"more than {MAX_ITEMS:,} rows: split the decision")])
    except csv.Error as exc:
        problems.append(Problem(name, reader.line_num, f"malformed CSV: {exc}"))
    if problems:
        raise PlanRejected(problems)
    if not outcomes:
        raise PlanRejected([Problem(name, None, "no data rows after the header")])
    return outcomes


def read_ids(path: str | Path) -> list[str]:
    """A file of entity ids, one per line (blank lines and ``#`` comments skipped)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PlanRejected([Problem(name, None, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanRejected([Problem(name, None, f"cannot be read as UTF-8 text: {exc}")]) from None
    ids = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    found = [i for i in ids if i]
    if not found:
        raise PlanRejected([Problem(name, None, "no entity id in the file (one per line)")])
    return found


def plan_decision(
    engine: Engine,
    *,
    reference: str,
    actor: str,
    reason: str,
    selection: Selection | None = None,
    trigger: str | None = None,
    data: Mapping[str, Any] | None = None,
    outcomes: Sequence[Outcome] | None = None,
    at: datetime | None = None,
    workflow: str | None = None,
    principal: str | None = None,
    basis: Basis | None = None,
) -> PlanReport:
    """Freeze a bulk decision and preview it entity by entity; store the plan (nothing is fired).

    Either ``selection`` with one ``trigger`` and its ``data`` for all, or ``outcomes`` (each
    entity's trigger and fields; a ``selection`` then filters them). ``at``: the decision's business
    date (default: when each item runs). Refusals are per entity, in the report; an input that
    cannot make a plan at all (no reference, a trigger the workflow lacks) raises ``PlanRejected``.
    ``basis``: where the decision comes from (the record's keys…), each event's unless its outcome
    row says otherwise (an inferred or synthetic row).
    """
    wf = engine.workflow(workflow)
    check_act(wf, reference, actor, reason)
    if outcomes is None:
        if selection is None or trigger is None:
            raise PlanRejected([Problem("(plan)", None, "give a selection and a trigger, or an outcomes file")])
        chosen: list[Outcome] | None = None
    else:
        chosen = list(outcomes)
    triggers = {str(trigger)} if chosen is None else {o.trigger for o in chosen}
    unknown = sorted(t for t in triggers if t not in wf.all_triggers)
    if unknown:
        message = f"unknown trigger(s) {', '.join(unknown)}; {wf.key} has: {', '.join(wf.all_triggers)}"
        raise PlanRejected([Problem("(plan)", None, message)])
    with engine.db.read() as conn:  # the preview reads; each item keeps the version it saw
        if chosen is None:
            assert selection is not None and trigger is not None
            targets = [Outcome(e, trigger, dict(data or {})) for e in select_entities(conn, wf, selection)]
        else:
            targets = _filter(conn, wf, chosen, selection)
        targets = [replace(o, basis=with_act_basis(o.basis, basis)) for o in targets]
        if not targets:
            raise PlanRejected([Problem("(plan)", None, "the selection holds no instance")])
        if len(targets) > MAX_ITEMS:
            raise PlanRejected([Problem("(plan)", None, f"{len(targets):,} items: at most {MAX_ITEMS:,}")])
        rows = _preview(engine, conn, wf, targets, actor, recorded_reason(reference, reason), at, principal)
    spec = {
        "trigger": trigger,
        "data": dict(data or {}),
        "selection": selection.describe() if selection is not None else None,
        "outcomes": len(chosen) if chosen is not None else None,
    }
    return plan_items.store(
        engine,
        kind=KIND,
        workflow=wf.name,
        reference=reference,
        actor=actor,
        reason=reason,
        principal=principal,
        occurred_at=at,
        spec=spec,
        rows=rows,
    )


def recorded_reason(reference: str, reason: str) -> str:
    """The reason each event of a plan records: the act's reference, then the operator's reason."""
    return f"{reference.strip()} : {reason.strip()}"


def check_act(wf: Workflow, reference: str, actor: str, reason: str) -> None:
    """Refuse a plan without an actor, a reason and a one-line reference, or in the daemon's name."""
    require_justification(f"plan on {wf.name}", "(plan)", actor, reason)
    refuse_reserved(Request(entity="(plan)", trigger="(plan)", actor=actor, reason=reason))
    ref = (reference or "").strip()
    why = text_problem(ref, "it", max_length=MAX_REFERENCE) if ref else "it is empty"
    if why is not None:
        raise PlanRejected(
            [
                Problem(
                    "(plan)",
                    None,
                    f"the decision's reference {shown(reference)!r} is refused ({why}): expected one line of at "
                    f"most {MAX_REFERENCE} characters naming the act (e.g. 'CIADT du 11 mai 2010')",
                )
            ]
        )


def select_entities(conn: Connection, wf: Workflow, selection: Selection) -> list[str]:
    """The entity ids ``selection`` names in ``wf`` (a repeated id stays, for the preview to refuse)."""
    problems = [
        Problem("(selection)", None, f"unknown state {s!r}; {wf.key} has: {', '.join(wf.states)}")
        for s in selection.states
        if s not in wf.states
    ] + [
        Problem("(selection)", None, f"unknown attribute {a!r}; attributes: {', '.join(wf.attributes) or 'none'}")
        for a in selection.where
        if a not in wf.attributes
    ]
    if problems:
        raise PlanRejected(problems)
    if not selection.filtered and not selection.entities:
        raise PlanRejected([Problem("(selection)", None, "name entities, a state, an attribute filter, or all")])
    excluded = set(selection.excluded)
    if not selection.filtered:
        return [e for e in selection.entities if e not in excluded]  # a repeated id is refused in the preview
    ids = list(selection.entities) or None
    found = sql.workflow_instances(conn, wf.name, entity_ids=ids, states=selection.states)
    chosen = [
        i.entity.id
        for i in found
        if i.entity.id not in excluded
        and all(str(i.entity.attributes.get(k, "")) in values for k, values in selection.where.items())
    ]
    if ids is not None:  # named ids keep their order and are previewed even when they do not match
        matched = set(chosen)
        return [e for e in ids if e in matched]
    return chosen


def _filter(conn: Connection, wf: Workflow, chosen: list[Outcome], selection: Selection | None) -> list[Outcome]:
    """The outcomes of the entities ``selection`` keeps (its named ids, its filter, minus its exceptions)."""
    if selection is None:
        return chosen
    named = set(selection.entities)
    kept = [o for o in chosen if (not named or o.entity in named) and o.entity not in set(selection.excluded)]
    if not selection.filtered:
        return kept
    narrowed = Selection(tuple(o.entity for o in kept), selection.states, selection.where, (), selection.everything)
    keep = set(select_entities(conn, wf, narrowed))
    return [o for o in kept if o.entity in keep]


def _preview(
    engine: Engine,
    conn: Connection,
    wf: Workflow,
    targets: list[Outcome],
    actor: str,
    reason: str,
    at: datetime | None,
    principal: str | None,
) -> list[dict[str, Any]]:
    known = existing_entities(conn, list(dict.fromkeys(o.entity for o in targets)))
    seen: dict[str, int] = {}
    rows = []
    for seq, outcome in enumerate(targets):
        action = {"trigger": outcome.trigger, "data": dict(outcome.data)}
        if outcome.basis is not None:
            action["basis"] = outcome.basis.as_json()
        row: dict[str, Any] = {
            "seq": seq,
            "entity_id": outcome.entity,
            "instance_id": None,
            "seen_version": None,
            "action": action,
        }
        where = f" (line {outcome.line})" if outcome.line else ""
        if outcome.entity in seen:
            refusal = f"listed twice: first as item {seen[outcome.entity]}{where}"
        elif outcome.entity not in known:
            refusal = f"no such entity{where}; `labelwf list` shows the instances"
        else:
            refusal = None
        seen.setdefault(outcome.entity, seq)
        if refusal is None:
            request = Request(
                entity=outcome.entity,
                trigger=outcome.trigger,
                actor=actor,
                reason=reason,
                data=outcome.data,
                at=at,
                workflow=wf.name,
                principal=principal,
            )
            try:
                current, decision, _ = engine.check(conn, request)
            except LabelwfError as exc:
                refusal = f"{exc}{where}"
            else:
                row["instance_id"], row["seen_version"] = current.id, current.version
                row["preview"] = {
                    "from": current.state,
                    "dest": decision.dest,
                    "letters": list(decision.transition.letters),
                    "version": current.version,
                }
                row["status"] = ItemStatus.PENDING.value
        if refusal is not None:
            row["preview"] = {"refused": refusal}
            row["status"] = ItemStatus.REFUSED.value
        rows.append(row)
    return rows


def execute(
    engine: Engine, conn: Connection, plan: Batch, item: BatchItem, checks: Checks
) -> tuple[dict[str, Any], int]:
    """Fire one item of a decision plan at the version the preview saw (``plan_items.Executor``)."""
    request = Request(
        entity=item.entity,
        trigger=str(item.action["trigger"]),
        actor=plan.actor,
        reason=recorded_reason(plan.reference, plan.reason),
        data=dict(item.action.get("data") or {}),
        at=plan.occurred_at,
        expected_version=item.seen_version,
        workflow=plan.workflow,
        principal=plan.executed_by or plan.principal,
        batch=plan.id,
        basis=basis_from_json(item.action.get("basis")),
    )
    fired = engine.apply(conn, request, checks=checks)
    return {"seq": fired.version, "dest": fired.dest, "letters": fired.letters}, fired.event_id
