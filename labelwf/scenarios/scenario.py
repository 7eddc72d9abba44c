"""Scenarios: dated operator decisions to replay, loaded from ``scenarios/*.yaml`` and validated whole.

A scenario names its workflow and entity file, a start and an end, and steps. A step is either a
``note`` (a dated fact with no transition) or a decision: a ``trigger`` fired at ``at`` on the
entities it selects (``entities: [ids]`` and/or ``where: {attribute: value or [values]}``, minus
``except: [ids]``), with ``set`` data, a ``reason`` and an ``actor`` (default: the scenario's).
A step whose date is not in the public record says so in ``assumed``. A step may instead hold a
programme operation (``scenario_acts``: a version published, entities imported or applying to a
round, a bulk decision, deadlines moved, a migration, a merger, a cessation); a trigger step may name
the ``workflow`` it fires in when the scenario spans several.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ImportRejected, Problem, ScenarioError
from ..operations.importer import EntityRow, read_entities
from ..store.basis import MAX_BASIS_SOURCE, MAX_BASIS_TEXT, Basis
from ..text import text_problem
from ..workflow.definition import NAME_RE, Workflow
from ..workflow.timers import localize, parse_local
from ..workflow.yamlfile import LineDict, load_yaml
from . import scenario_acts
from .scenario_acts import Act

_TOP = {"scenario", "title", "workflow", "entities", "start", "until", "actor", "steps", "source", "assumed"}
_STEP = {
    "at",
    "note",
    "trigger",
    "entities",
    "where",
    "except",
    "set",
    "reason",
    "actor",
    "assumed",
    "source",
    *scenario_acts.KINDS,
    *scenario_acts.KEYS,
}


@dataclass(frozen=True)
class Step:
    """One dated step of a scenario: a decision on some entities, or a note."""

    line: int
    at: datetime
    trigger: str | None = None
    note: str | None = None
    entities: tuple[str, ...] = ()
    where: Mapping[str, tuple[str, ...]] | None = None
    excluded: tuple[str, ...] = ()
    data: Mapping[str, Any] | None = None
    reason: str = ""
    actor: str = ""
    assumed: str | None = None
    act: Act | None = None
    workflow: str | None = None  # the workflow a trigger fires in (default: the scenario's)
    source: str | None = None  # the public record's source keys of the step ("VIP-23, WTM-1213")

    @property
    def basis(self) -> Basis | None:
        """Its events' basis: ``assumed`` (with its source, if named) when it says what it assumes,
        else the ``record`` under its ``source``, else None (no basis said)."""
        return Basis.said(self.source, self.assumed)

    @property
    def names_entities(self) -> bool:
        """True when the step names real entities by id (it cannot apply to a synthetic cohort)."""
        return bool(self.entities)

    def select(self, rows: Sequence[EntityRow]) -> list[str]:
        """Return the ids of the entities this step applies to, in file order (then named ids the file
        does not hold: entities that joined the programme later)."""
        chosen = []
        known = {row.id for row in rows}
        for row in rows:
            named = row.id in self.entities
            matched = self.where is not None and all(
                row.attributes.get(key, "") in values for key, values in self.where.items()
            )
            if (named or matched) and row.id not in self.excluded:
                chosen.append(row.id)
        return chosen + [e for e in self.entities if e not in known and e not in self.excluded]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario."""

    name: str
    title: str
    workflow: str
    version: int
    entities_file: Path
    start: datetime
    until: datetime
    steps: tuple[Step, ...]
    source: Path
    rows: tuple[EntityRow, ...]
    basis: Basis | None = None  # where its entity file comes from (top-level ``source:`` / ``assumed:``)


def load_scenario(path: str | Path, workflow: Workflow | Sequence[Workflow]) -> Scenario:
    """Load and validate a scenario against the loaded workflows (one, or every version loaded: the
    scenario's ``workflow: NAME[@VERSION]`` picks its first) and its entity file; raise ``ScenarioError``."""
    path = Path(path)
    document, problems = load_yaml(path)
    if document is None:
        raise ScenarioError(problems)
    file = str(path)

    def problem(line: int | None, message: str) -> None:
        problems.append(Problem(file, line, message))

    if not isinstance(document, LineDict):
        raise ScenarioError([Problem(file, 1, "a scenario must be a mapping with scenario, workflow, steps, ...")])
    for key in document:
        if key not in _TOP:
            problem(document.line_of(key), f"unknown key {key!r}; allowed: {', '.join(sorted(_TOP))}")
    loaded = [workflow] if isinstance(workflow, Workflow) else list(workflow)
    workflows: dict[str, list[Workflow]] = {}
    for w in sorted(loaded, key=lambda w: w.version):
        workflows.setdefault(w.name, []).append(w)
    name, _, version = str(document.get("workflow", "")).partition("@")
    versions = workflows.get(name, [])
    chosen = [w for w in versions if str(w.version) == version] if version else versions[-1:]
    if not chosen:
        keys = ", ".join(w.key for w in loaded)
        problem(document.line_of("workflow"), f"scenario is for workflow {document.get('workflow')!r}; loaded: {keys}")
        raise ScenarioError(problems)
    workflow = chosen[0]

    def when(mapping: LineDict, key: str) -> datetime | None:
        try:
            return localize(parse_local(mapping[key]), workflow.timezone)
        except (KeyError, ValueError) as exc:
            problem(mapping.line_of(key), f"{key}: {exc}" if isinstance(exc, ValueError) else f"{key} is missing")
            return None

    start, until = when(document, "start"), when(document, "until")
    if start and until and until < start:
        problem(document.line_of("until"), f"until ({document['until']}) is before start ({document['start']})")
    entities_file = path.parent / str(document.get("entities", ""))
    rows: list[EntityRow] = []
    try:
        rows = read_entities(entities_file, workflow)
    except ImportRejected as exc:
        problem(document.line_of("entities"), f"entity file {entities_file}: {exc.problems[0]}")
    ids = {r.id for r in rows}
    actor = str(document.get("actor", "") or "")
    context = _Context(workflow, workflows, path.parent, ids, rows, actor, when, problem)
    top_source, top_assumed = _provenance(document, "source", context), _provenance(document, "assumed", context)
    basis = Basis.said(top_source, top_assumed)
    steps = [
        _step(item, line, context)
        for item, line in zip(
            document.get("steps") or [], getattr(document.get("steps"), "item_lines", []), strict=False
        )
    ]
    if not steps:
        problem(document.line_of("steps"), "steps must be a non-empty list")
    valid = [s for s in steps if s is not None]
    for before, after in itertools.pairwise(valid):
        if after.at < before.at:
            problem(after.line, "steps must be in date order; this one is earlier than the step before it")
    if start is not None and valid and valid[0].at < start:
        problem(valid[0].line, "the first step is before the scenario's start")
    if problems or start is None or until is None:
        raise ScenarioError(problems)
    return Scenario(
        name=str(document.get("scenario", path.stem)),
        title=str(document.get("title", "")),
        workflow=workflow.name,
        version=workflow.version,
        entities_file=entities_file,
        start=start,
        until=until,
        steps=tuple(valid),
        source=path,
        rows=tuple(rows),
        basis=basis,
    )


@dataclass(frozen=True)
class _Context:
    """What validating a step needs: the workflows, the scenario's folder, its entities and defaults."""

    workflow: Workflow
    workflows: Mapping[str, list[Workflow]]
    folder: Path
    ids: set[str]
    rows: list[EntityRow]
    actor: str
    when: Any
    problem: Any


def _step(item: Any, line: int, context: _Context) -> Step | None:
    problem, when, rows, actor = context.problem, context.when, context.rows, context.actor
    if not isinstance(item, LineDict):
        problem(line, "each step must be a mapping with at and a trigger, an act or a note")
        return None
    for key in item:
        if key not in _STEP:
            problem(item.line_of(key), f"unknown key {key!r} in step; allowed: {', '.join(sorted(_STEP))}")
    at = when(item, "at")
    if "note" in item:
        if "trigger" in item or scenario_acts.kind_of(item):
            problem(line, "a step is either a note, a trigger or an act, not two of them")
        return Step(line=line, at=at, note=str(item["note"])) if at else None
    if scenario_acts.kind_of(item) is not None:
        return _act_step(item, line, at, context)
    workflow = context.workflow
    named_workflow = item.get("workflow")
    if named_workflow is not None:
        versions = context.workflows.get(str(named_workflow))
        if not versions:
            loaded = ", ".join(context.workflows)
            problem(item.line_of("workflow"), f"unknown workflow {named_workflow!r}; loaded: {loaded}")
            return None
        workflow = versions[-1]
    ids = context.ids if named_workflow is None and len(context.workflows) == 1 else set()
    trigger = item.get("trigger")
    if trigger not in workflow.all_triggers:
        problem(
            item.line_of("trigger"),
            f"unknown trigger {trigger!r}; {workflow.key} has: {', '.join(workflow.all_triggers)}",
        )
    named = tuple(str(x) for x in item.get("entities", []) or [])
    excluded = tuple(str(x) for x in item.get("except", []) or [])
    for entity in (*named, *excluded):
        if ids and entity not in ids:
            problem(item.line_of("entities" if entity in named else "except"), f"unknown entity {entity!r}")
    where = None
    if "where" in item:
        raw = item["where"]
        if not isinstance(raw, dict) or not raw:
            problem(item.line_of("where"), "where must map attribute names to a value or a list of values")
        else:
            where = {str(k): tuple(str(v) for v in (vs if isinstance(vs, list) else [vs])) for k, vs in raw.items()}
            for key in where:
                if key not in workflow.attributes:
                    known = ", ".join(workflow.attributes)
                    problem(item.line_of("where"), f"where uses unknown attribute {key!r}; attributes: {known}")
    if not named and where is None:
        problem(line, "a trigger step needs entities: [ids] or where: {attribute: value}")
    data = item.get("set", {}) or {}
    for key, value in data.items():
        field = workflow.fields.get(key)
        if field is None:
            problem(item.line_of("set"), f"unknown data field {key!r}; fields: {', '.join(workflow.fields)}")
            continue
        try:
            field.coerce(value)
        except ValueError as exc:
            problem(item.line_of("set"), str(exc))
    reason = str(item.get("reason", "") or "").strip()
    if not reason:
        problem(line, "a trigger step needs a reason (it goes into the audit trail)")
    who = str(item.get("actor", actor) or "").strip()
    if not who:
        problem(line, "a trigger step needs an actor (set actor: at the top or on the step)")
    if at is None or trigger is None or not NAME_RE.match(str(trigger)):
        return None
    step = Step(
        line=line,
        at=at,
        trigger=str(trigger),
        entities=named,
        where=where,
        excluded=excluded,
        data=dict(data),
        reason=reason,
        actor=who,
        assumed=_provenance(item, "assumed", context),
        workflow=str(named_workflow) if named_workflow is not None else None,
        source=_provenance(item, "source", context),
    )
    if rows and not step.select(rows):
        problem(line, "this step selects no entity")
    return step


def _act_step(item: LineDict, line: int, at: datetime | None, context: _Context) -> Step | None:
    act = scenario_acts.parse_act(item, context.folder, context.workflows, context.when, context.problem)
    reason = str(item.get("reason", "") or "").strip()
    who = str(item.get("actor", context.actor) or "").strip()
    if act is not None and act.kind != "publish":
        if not reason:
            context.problem(line, f"a {act.kind} step needs a reason (it goes into the audit trail)")
        if not who:
            context.problem(line, f"a {act.kind} step needs an actor (set actor: at the top or on the step)")
    if at is None or act is None:
        return None
    return Step(
        line=line,
        at=at,
        act=act,
        reason=reason,
        actor=who,
        assumed=_provenance(item, "assumed", context),
        source=_provenance(item, "source", context),
    )


def _provenance(item: LineDict, key: str, context: _Context) -> str | None:
    """A step's ``source`` (the record's keys: one line, at most 200 characters) or ``assumed`` text
    (what is assumed: at most 2,000), checked as a basis takes it; None when absent."""
    if key not in item:
        return None
    value = item[key]
    text = str(value).strip() if isinstance(value, str | int | float) else ""
    longest = MAX_BASIS_SOURCE if key == "source" else MAX_BASIS_TEXT
    expected = (
        "one line of the record's source keys, e.g. 'VIP-23, WTM-1213'"
        if key == "source"
        else "a text saying what is assumed"
    )
    why = "it is empty" if not text else text_problem(text, "it", max_length=longest, multiline=key == "assumed")
    if why is not None:
        shown_value = str(value)[:80]
        context.problem(item.line_of(key), f"{key}: {shown_value!r} is refused ({why}); expected {expected}")
        return None
    return text
