"""Programme operations as scenario steps: what a label programme does beyond one trigger at a time.

A step holds at most one act, each run by the replay through the library's own operation for it:

``publish: NAME@VERSION``   a workflow version comes into force: instances created from then on take it
``import: FILE``            entities join the running programme (``workflow:`` the one they start in)
``apply: FILE``             entities already known apply to a round: each gets an instance of
                            ``workflow:`` (FILE: a CSV with an ``id`` column; or ``apply: [ids]``)
``decide: FILE``            a bulk decision from an outcomes CSV (``id[,trigger][,fields]``; ``ignore:``
                            other columns; ``trigger:`` and ``set:`` for every row), planned then run
``move: TIMER``             the timer of every selected instance moved ``to:`` an instant or ``by:`` an
                            offset, planned then run (selection: ``entities``, ``where``, ``states``,
                            ``except``, ``all: true``)
``migrate: FILE``           a migration file, planned then run
``merge: [ids]``            entities merge ``into:`` an absorbing entity, or a new one (with ``name:``)
``cease: ID``               an entity disappears and its label ends with it
``change: ID``              an entity's reference data changes (``set: {name: …, region: …}``) from
                            ``from:`` (default: the step's ``at``): a new dated version of it
``regions: FILE``           a region map (``former_region,region,valid_from,source[,note]``) applied
                            to every entity whose region it renames

``decide``, ``move`` and ``migrate`` are plans: they need the act's ``reference`` (e.g. "CIADT du
11 mai 2010"), and every event they write carries the plan's id.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..operations.bulk import Selection
from ..workflow.definition import Workflow
from ..workflow.yamlfile import LineDict

KINDS = ("publish", "import", "apply", "decide", "move", "migrate", "merge", "cease", "change", "regions")
PLANS = ("decide", "move", "migrate")
KEYS = {
    "workflow",
    "reference",
    "ignore",
    "into",
    "name",
    "to",
    "by",
    "states",
    "all",
    "entities",
    "where",
    "except",
    "set",
    "trigger",
    "from",
}
_FILES = ("import", "apply", "decide", "migrate", "regions")

Problem = Callable[[int | None, str], None]


@dataclass(frozen=True)
class Act:
    """A programme operation of a scenario step (see the module's documentation)."""

    kind: str
    target: str  # publish: NAME@VERSION; import/apply/decide/migrate: a file; move: a timer; cease: an id
    workflow: str | None = None
    reference: str = ""
    selection: Selection = field(default_factory=Selection)
    entities: tuple[str, ...] = ()  # apply: the ids named; merge: the merging ids
    into: str = ""
    name: str | None = None
    to: datetime | None = None
    to_text: str = ""  # the instant as the scenario wrote it (local time)
    by: str | None = None
    trigger: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    valid_from: datetime | None = None  # change: the date the new values take effect (default: the step's)

    def describe(self) -> str:
        """One line for the timeline."""
        if self.kind == "merge":
            joined = " + ".join(self.entities)
            return f"merge {joined} → {self.into}" + (f" ({self.name})" if self.name else "")
        if self.kind == "move":
            where = f"to {self.to_text}" if self.to else f"by {self.by}"
            return f"move {self.target} {where}"
        shown = Path(self.target).name if self.kind in _FILES and self.target else self.target
        if self.kind == "apply" and not self.target:
            shown = ", ".join(self.entities)
        return f"{self.kind} {shown}" + (f" ({self.workflow})" if self.workflow and self.kind != "publish" else "")


def kind_of(item: LineDict) -> str | None:
    """The act a step's mapping holds, if any."""
    found = [k for k in KINDS if k in item]
    return found[0] if found else None


def parse_act(
    item: LineDict,
    folder: Path,
    workflows: Mapping[str, list[Workflow]],
    when: Callable[[LineDict, str], datetime | None],
    problem: Problem,
) -> Act | None:
    """Validate the act of ``item`` (file paths relative to ``folder``); report problems at their lines."""
    found = [k for k in KINDS if k in item]
    if len(found) != 1:
        problem(item.line, f"a step holds one act, got {', '.join(found)}")
        return None
    kind = found[0]
    value = item[kind]
    workflow = str(item["workflow"]) if item.get("workflow") is not None else None
    if workflow is not None and workflow not in workflows:
        problem(item.line_of("workflow"), f"unknown workflow {workflow!r}; loaded: {', '.join(workflows)}")
    listed = kind == "apply" and isinstance(value, list)  # apply: [ids] names the applicants
    target = "" if value is None or listed else str(value)
    if kind in _FILES and not listed:
        path = folder / target
        if not target or not path.is_file():
            problem(item.line_of(kind), f"{kind}: no such file {path}")
        target = str(path)
    if kind == "publish":
        name, _, version = target.partition("@")
        versions = {w.version for w in workflows.get(name, [])}
        if not version.isdigit() or int(version) not in versions:
            loaded = ", ".join(f"{w.key}" for ws in workflows.values() for w in ws)
            problem(item.line_of(kind), f"publish: {target!r} is not a loaded NAME@VERSION; loaded: {loaded}")
    reference = " ".join(str(item.get("reference", "") or "").split())
    if kind in PLANS and not reference:
        problem(item.line, f"a {kind} step needs a reference (the act's name, e.g. CIADT du 11 mai 2010)")
    if kind == "apply" and workflow is None:
        problem(item.line, "an apply step needs the workflow of the round applied to (workflow: NAME)")
    entities = tuple(str(x) for x in _list(item, "entities", problem))
    if listed:
        entities = tuple(str(x) for x in value)
    if kind == "merge":
        entities = tuple(str(x) for x in _list(item, "merge", problem))
        if not entities or not item.get("into"):
            problem(item.line, "a merge step needs merge: [ids] and into: ID (with name: for a new entity)")
    if kind == "change" and (not target or not isinstance(item.get("set"), dict) or not item.get("set")):
        problem(item.line, "a change step needs change: ID and set: {name: …, region: …} (what changes)")
    to = when(item, "to") if "to" in item else None
    by = str(item["by"]) if item.get("by") is not None else None
    if kind == "move" and (to is None) == (by is None):
        problem(item.line, "a move step needs exactly one of to: DATE or by: '+1 year'")
    where = item.get("where") or {}
    if not isinstance(where, dict):
        problem(item.line_of("where"), "where must map attribute names to a value or a list of values")
        where = {}
    selection = Selection(
        entities=entities,
        states=tuple(str(x) for x in _list(item, "states", problem)),
        where={str(k): tuple(str(v) for v in (vs if isinstance(vs, list) else [vs])) for k, vs in where.items()},
        excluded=tuple(str(x) for x in _list(item, "except", problem)),
        everything=item.get("all") is True,
    )
    if kind == "move" and not (selection.entities or selection.filtered):
        problem(item.line, "a move step needs a selection: entities, where, states or all: true")
    data = item.get("set") or {}
    if not isinstance(data, dict):
        problem(item.line_of("set"), "set must map field names to values")
        data = {}
    return Act(
        kind=kind,
        target=target,
        workflow=workflow,
        reference=reference,
        selection=selection,
        entities=entities,
        into=str(item.get("into") or ""),
        name=str(item["name"]) if item.get("name") else None,
        to=to,
        to_text=str(item.get("to", "")),
        by=by,
        trigger=str(item["trigger"]) if item.get("trigger") else None,
        data=dict(data),
        ignore=tuple(str(x) for x in _list(item, "ignore", problem)),
        valid_from=when(item, "from") if "from" in item else None,
    )


def _list(item: LineDict, key: str, problem: Problem) -> list[Any]:
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problem(item.line_of(key), f"{key} must be a list, got {value!r}")
        return []
    return value


def ids_of(path: str | Path) -> list[str]:
    """The ``id`` column of a CSV file, in file order (an apply step's applicants)."""
    text = Path(path).read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or "id" not in reader.fieldnames:
        raise ValueError(f"{path}: the header must have an id column")
    return [row["id"].strip() for row in reader if (row.get("id") or "").strip()]
