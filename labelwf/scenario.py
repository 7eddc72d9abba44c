"""Scenarios: dated operator decisions to replay, loaded from ``scenarios/*.yaml`` and validated whole.

A scenario names its workflow and entity file, a start and an end, and steps. A step is either a
``note`` (a dated fact with no transition) or a decision: a ``trigger`` fired at ``at`` on the
entities it selects (``entities: [ids]`` and/or ``where: {attribute: value or [values]}``, minus
``except: [ids]``), with ``set`` data, a ``reason`` and an ``actor`` (default: the scenario's).
A step whose date is not in the public record says so in ``assumed``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .definition import NAME_RE, Workflow
from .errors import ImportRejected, Problem, ScenarioError
from .importer import EntityRow, read_entities
from .timers import localize, parse_local
from .yamlfile import LineDict, load_yaml

_TOP = {"scenario", "title", "workflow", "entities", "start", "until", "actor", "steps"}
_STEP = {"at", "note", "trigger", "entities", "where", "except", "set", "reason", "actor", "assumed"}


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

    @property
    def names_entities(self) -> bool:
        """True when the step names real entities by id (it cannot apply to a synthetic cohort)."""
        return bool(self.entities)

    def select(self, rows: Sequence[EntityRow]) -> list[str]:
        """Return the ids of the entities this step applies to, in file order."""
        chosen = []
        for row in rows:
            named = row.id in self.entities
            matched = self.where is not None and all(
                row.attributes.get(key, "") in values for key, values in self.where.items()
            )
            if (named or matched) and row.id not in self.excluded:
                chosen.append(row.id)
        return chosen


@dataclass(frozen=True)
class Scenario:
    """A validated scenario."""

    name: str
    title: str
    workflow: str
    entities_file: Path
    start: datetime
    until: datetime
    steps: tuple[Step, ...]
    source: Path
    rows: tuple[EntityRow, ...]


def load_scenario(path: str | Path, workflow: Workflow) -> Scenario:
    """Load and validate a scenario against ``workflow`` and its entity file; raise ``ScenarioError``."""
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
    if document.get("workflow") != workflow.name:
        problem(
            document.line_of("workflow"),
            f"scenario is for workflow {document.get('workflow')!r}, but {workflow.name!r} is loaded",
        )

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
    steps = [
        _step(item, line, workflow, ids, rows, actor, when, problem)
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
        entities_file=entities_file,
        start=start,
        until=until,
        steps=tuple(valid),
        source=path,
        rows=tuple(rows),
    )


def _step(
    item: Any, line: int, workflow: Workflow, ids: set[str], rows: list[EntityRow], actor: str, when: Any, problem: Any
) -> Step | None:
    if not isinstance(item, LineDict):
        problem(line, "each step must be a mapping with at and a trigger or a note")
        return None
    for key in item:
        if key not in _STEP:
            problem(item.line_of(key), f"unknown key {key!r} in step; allowed: {', '.join(sorted(_STEP))}")
    at = when(item, "at")
    if "note" in item:
        if "trigger" in item:
            problem(line, "a step is either a note or a trigger, not both")
        return Step(line=line, at=at, note=str(item["note"])) if at else None
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
        assumed=str(item["assumed"]).strip() if item.get("assumed") else None,
    )
    if rows and not step.select(rows):
        problem(line, "this step selects no entity")
    return step
