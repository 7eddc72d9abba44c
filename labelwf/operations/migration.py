"""Migrations: live instances of a workflow version carried to the next, as a plan (``plans``).

A migration file (YAML, validated whole, each problem with its file:line) names the workflow, the
versions ``from`` and ``to``, and:

* ``states``: each state of version ``from`` mapped to a state of version ``to``, or to ``null``
  (its instances stay on version ``from``: a delabelled pole is not carried over). An instance in
  a state the file does not map is refused, in the plan, with that reason;
* ``data`` (optional): ``drop: [field]``, ``rename: {old: new}``, ``set: {field: value}`` applied in
  that order; every field left must be one of version ``to``;
* ``timers`` (optional): for each timer of version ``to``, ``keep`` (the instance's pending timer
  of that name keeps its due instant) or ``recompute`` (due by version ``to``'s rules). Unnamed
  timers are kept; a kept timer with no pending one of its name is armed by the new rules;
* ``letters`` (optional): letters of version ``to`` sent to each migrated instance.

``plan_migration`` previews every instance of version ``from`` — its new state, its data, each timer
kept or recomputed with its old and new due instants, its letters, or why it is refused — and
freezes exactly that in the plan's items; ``plans.run`` writes it, one ``(migrated)`` chain event
per instance, at the version the preview saw.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from ..audit.hashing import format_for
from ..audit.sealing import letter_row, seal
from ..engine.batch import Checks
from ..engine.chain import write_link
from ..engine.decision import Decision
from ..engine.fire import Engine
from ..errors import BusinessTimeRefused, NotFound, PlanRejected, Problem
from ..store import batches as bsql
from ..store import fires as sql
from ..store.basis import Basis, basis_from_json
from ..store.records import Batch, BatchItem, Event, Instance, ItemStatus, Timer
from ..workflow.definition import OPERATOR, TransitionDef, Workflow
from ..workflow.timers import MissingAnchor, due_at
from ..workflow.yamlfile import LineDict, load_yaml
from . import plan_items
from .bulk import check_act, recorded_reason
from .plan_items import PlanReport

KIND = "migration"
MIGRATED = "(migrated)"
_TOP = {"migration", "workflow", "from", "to", "states", "data", "timers", "letters", "description"}
_POLICIES = ("keep", "recompute")


@dataclass(frozen=True)
class Migration:
    """A validated migration from ``source`` to ``target`` (two versions of one workflow)."""

    name: str
    source: Workflow
    target: Workflow
    states: Mapping[str, str | None]
    drop: tuple[str, ...] = ()
    rename: Mapping[str, str] = field(default_factory=dict)
    set: Mapping[str, Any] = field(default_factory=dict)
    timers: Mapping[str, str] = field(default_factory=dict)
    letters: tuple[str, ...] = ()
    file: str = ""
    lines: Mapping[str, int] = field(default_factory=dict)

    def spec(self) -> dict[str, Any]:
        """The migration as its plan records it."""
        return {
            "migration": self.name,
            "file": self.file,
            "from": self.source.version,
            "to": self.target.version,
            "states": dict(self.states),
            "data": {"drop": list(self.drop), "rename": dict(self.rename), "set": dict(self.set)},
            "timers": dict(self.timers),
            "letters": list(self.letters),
        }


def load_migration(path: str | Path, engine: Engine) -> Migration:
    """Load and validate a migration file against the workflow versions ``engine`` has loaded."""
    file = str(path)
    document, problems = load_yaml(Path(path))
    if document is None:
        raise PlanRejected(problems)
    if not isinstance(document, LineDict):
        raise PlanRejected([Problem(file, 1, "a migration is a mapping: migration, workflow, from, to, states, ...")])

    def problem(line: int | None, message: str) -> None:
        problems.append(Problem(file, line, message))

    for key in document:
        if key not in _TOP:
            problem(document.line_of(key), f"unknown key {key!r}; allowed: {', '.join(sorted(_TOP))}")
    versions: list[Workflow] = []
    for key in ("from", "to"):
        value = document.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            problem(document.line_of(key) if key in document else 1, f"{key} must be a version number")
            continue
        try:
            versions.append(engine.workflow(str(document.get("workflow", "")), value))
        except NotFound as exc:
            problem(document.line_of(key), str(exc))
    if len(versions) != 2:
        raise PlanRejected(problems)
    source, target = versions
    if target.version <= source.version:
        problem(document.line_of("to"), f"to ({target.version}) must be after from ({source.version})")
    states = _mapping(document, "states", problem)
    mapped: dict[str, str | None] = {}
    for old, new in states.items():
        line = states.line_of(old)
        if old not in source.states:
            problem(line, f"{old!r} is not a state of {source.key}; its states: {', '.join(source.states)}")
        elif new is not None and new not in target.states:
            problem(line, f"{new!r} is not a state of {target.key}; its states: {', '.join(target.states)}")
        else:
            mapped[old] = None if new is None else str(new)
    data = _mapping(document, "data", problem, required=False)
    for key in data:
        if key not in ("drop", "rename", "set"):
            problem(data.line_of(key), f"unknown data transform {key!r}; allowed: drop, rename, set")
    drop = tuple(str(x) for x in (data.get("drop") or []))
    rename = {str(k): str(v) for k, v in (data.get("rename") or {}).items()}
    values: dict[str, Any] = {}
    for name, value in (data.get("set") or {}).items():
        target_field = target.fields.get(name)
        if target_field is None:
            problem(data.line_of("set"), f"set: {name!r} is not a field of {target.key}")
            continue
        try:
            values[name] = target_field.coerce(value)
        except ValueError as exc:
            problem(data.line_of("set"), f"set: {exc}")
    for new in rename.values():
        if new not in target.fields:
            problem(data.line_of("rename"), f"rename: {new!r} is not a field of {target.key}")
    declared = {spec.name for state in target.states.values() for spec in state.timers}
    timers = _mapping(document, "timers", problem, required=False)
    for name, policy in timers.items():
        if name not in declared:
            problem(timers.line_of(name), f"{name!r} is not a timer of {target.key}; its timers: {sorted(declared)}")
        if policy not in _POLICIES:
            problem(timers.line_of(name), f"timer policy {policy!r}: expected keep or recompute")
    letters = tuple(str(x) for x in (document.get("letters") or []))
    for name in letters:
        if name not in target.letters:
            problem(document.line_of("letters"), f"{name!r} is not a letter of {target.key}")
    if problems:
        raise PlanRejected(problems)
    return Migration(
        name=str(document.get("migration") or Path(path).stem),
        source=source,
        target=target,
        states=mapped,
        drop=drop,
        rename=rename,
        set=values,
        timers={str(k): str(v) for k, v in timers.items()},
        letters=letters,
        file=file,
        lines={"states": document.line_of("states")},
    )


def _mapping(document: LineDict, key: str, problem: Any, *, required: bool = True) -> LineDict:
    value = document.get(key)
    if value is None and not required:
        return LineDict()
    if not isinstance(value, LineDict):
        problem(document.line_of(key) if key in document else 1, f"{key} must be a mapping")
        return LineDict()
    return value


@dataclass(frozen=True, slots=True)
class _Outcome:
    state: str
    data: dict[str, Any]
    timers: list[dict[str, Any]]


def _carry(migration: Migration, current: Instance, pending: list[Timer], at: datetime) -> _Outcome:
    """What migrating ``current`` does (``PlanRejected``-free: raises ValueError saying why not)."""
    new_state = migration.states[current.state]
    assert new_state is not None
    data = {k: v for k, v in current.data.items() if k not in migration.drop}
    for before, after in migration.rename.items():
        if before in data:
            data[after] = data.pop(before)
    data.update(migration.set)
    unknown = sorted(k for k in data if k not in migration.target.fields)
    if unknown:
        raise ValueError(
            f"data field(s) {', '.join(unknown)} unknown to {migration.target.key}: "
            "drop or rename them in the migration"
        )
    moved_on = new_state != current.state
    entered = at if moved_on else (current.entered_at or at)
    by_name = {t.name: t for t in pending}
    timers = []
    for spec in migration.target.states[new_state].timers:
        old = by_name.get(spec.name)
        policy = migration.timers.get(spec.name, "keep")
        if policy == "keep" and old is not None:
            due, how = old.due_at, "kept"
        else:
            try:
                due = due_at(spec, tz=migration.target.timezone, entered_at=entered, data=data)
            except MissingAnchor as exc:
                raise ValueError(f"{exc}; set it in the migration's data") from None
            how = "recomputed" if old is not None else "armed"
        timers.append(
            {
                "name": spec.name,
                "trigger": spec.trigger,
                "catch_up": spec.catch_up,
                "due": due.isoformat(),
                "was": old.due_at.isoformat() if old is not None else None,
                "how": how,
            }
        )
    kept = {t["name"] for t in timers}
    timers.extend(
        {"name": t.name, "due": None, "was": t.due_at.isoformat(), "how": "cancelled"}
        for t in pending
        if t.name not in kept
    )
    return _Outcome(new_state, data, timers)


def plan_migration(
    engine: Engine,
    migration: Migration,
    *,
    actor: str,
    reason: str,
    at: datetime | None = None,
    principal: str | None = None,
    basis: Basis | None = None,
) -> PlanReport:
    """Preview the migration of every instance of ``migration.source`` and freeze it in a plan
    (``basis``: where the act comes from, the record's keys or an assumption, hashed with each event)."""
    check_act(migration.source, migration.name, actor, reason)
    when = at or engine.clock.now()
    rows: list[dict[str, Any]] = []
    left: Counter[str] = Counter()
    with engine.db.read() as conn:
        wf = migration.source
        found = bsql.workflow_instances(conn, wf.name, version=wf.version)
        pending = bsql.pending_timers_by_instance(conn, wf.name, wf.version)
        for current in found:
            if migration.states.get(current.state, "") is None:
                left[current.state] += 1
                continue
            row: dict[str, Any] = {
                "seq": len(rows),
                "entity_id": current.entity.id,
                "instance_id": current.id,
                "seen_version": current.version,
            }
            try:
                if current.state not in migration.states:
                    raise ValueError(
                        f"state {current.state!r} of {wf.key} is not mapped by the migration "
                        f"({migration.file}:{migration.lines.get('states', 1)}: map it, or to null to leave it)"
                    )
                if current.entered_at is not None and when < current.entered_at:
                    raise BusinessTimeRefused(current.entity.id, when, current.entered_at, engine.clock.now())
                outcome = _carry(migration, current, pending.get(current.id, []), when)
            except (ValueError, BusinessTimeRefused) as exc:
                row["action"], row["preview"] = {}, {"refused": str(exc)}
                row["status"] = ItemStatus.REFUSED.value
            else:
                row["action"] = {
                    "to_version": migration.target.version,
                    "state": outcome.state,
                    "data": outcome.data,
                    "timers": outcome.timers,
                    "letters": list(migration.letters),
                }
                row["preview"] = {
                    "from": current.state,
                    "dest": outcome.state,
                    "timers": outcome.timers,
                    "letters": list(migration.letters),
                }
                row["status"] = ItemStatus.PENDING.value
            rows.append(row)
    if not rows and not left:
        raise PlanRejected([Problem(migration.file, None, f"no instance of {migration.source.key} to migrate")])
    return plan_items.store(
        engine,
        kind=KIND,
        workflow=migration.source.name,
        reference=migration.name,
        actor=actor,
        reason=reason,
        principal=principal,
        occurred_at=when,
        spec=migration.spec() | {"left": dict(left)} | ({} if basis is None else {"basis": basis.as_json()}),
        rows=rows,
    )


def execute(
    engine: Engine, conn: Connection, plan: Batch, item: BatchItem, checks: Checks
) -> tuple[dict[str, Any], int]:
    """Migrate one instance exactly as its preview said (``plan_items.Executor``)."""
    current = plan_items.seen_instance(conn, plan, item)
    action = item.action
    target = engine.workflow(plan.workflow, int(action["to_version"]))
    now = engine.clock.now()
    occurred = plan.occurred_at or now
    state, data = str(action["state"]), dict(action["data"])
    timers = list(action["timers"])
    basis = basis_from_json(plan.spec.get("basis"))
    event = Event(
        entity=item.entity,
        workflow=plan.workflow,
        seq=current.version + 1,
        trigger=MIGRATED,
        source=current.state,
        dest=state,
        actor=plan.actor,
        role=OPERATOR,
        reason=recorded_reason(plan.reference, plan.reason),
        data={
            "migration": plan.reference,
            "from_version": current.workflow_version,
            "to_version": target.version,
            "timers": {t["name"]: {"how": t["how"], "was": t["was"], "due": t["due"]} for t in timers},
        },
        occurred_at=occurred,
        recorded_at=now,
        late_by_s=None,
        prev_hash=current.last_hash,
        hash_format=format_for(engine.hash_format, batch=plan.id, basis=basis),
        principal=plan.executed_by or plan.principal or engine.principal,
        batch=plan.id,
        basis=basis,
    )
    transition = TransitionDef(MIGRATED, (current.state,), state, letters=tuple(action.get("letters") or ()))
    rendered = engine.step_letters(target, current, Decision(transition, {}, data), event)
    event = seal(event, engine.audit_key, tuple(letter.checksum for letter in rendered))
    entered = occurred if state != current.state else (current.entered_at or occurred)
    eid = write_link(conn, current, event, state, data, entered, now, checks)
    sql.set_workflow_version(conn, current.id, target.version)
    sql.close_pending_timers(conn, current.id, eid, now)
    armed = [
        (t["name"], t["trigger"], datetime.fromisoformat(t["due"]), t["catch_up"])
        for t in timers
        if t["due"] is not None
    ]
    if armed:
        sql.insert_timers(conn, current.id, eid, armed)
    if rendered:
        sql.insert_letters(conn, [letter_row(letter, current.id, eid, now) for letter in rendered])
    return {"seq": event.seq, "dest": state, "to_version": target.version, "letters": len(rendered)}, eid
