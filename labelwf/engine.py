"""The engine: the only code that changes an instance's state.

``Engine.fire`` applies one transition in one database transaction: the instance's new state and
version (``UPDATE … WHERE version = :seen``), one hash-chained audit event, the timers of the state
left cancelled and those of the state entered armed, and the letters rendered into the outbox.
Any refusal or failure raises before commit and leaves no trace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from . import store
from .audit import GENESIS, event_hash
from .clock import Clock, SystemClock, require_aware
from .definition import SYSTEM, TransitionDef, Workflow
from .errors import (
    ConcurrentUpdate,
    InvalidData,
    InvalidTransition,
    LabelwfError,
    MissingData,
    MissingJustification,
    NotFound,
    RoleNotAllowed,
)
from .hotpath import Prepared, Statements
from .letters import LetterRenderer, RenderedLetter, date_fr, date_fr_text
from .machine import machine_for
from .store import Database
from .timers import MissingAnchor, due_at

_i, _e, _t, _l = store.instance, store.event, store.timer, store.letter

_SELECT_INSTANCE = (
    sa.select(
        _i.c.id,
        _i.c.state,
        _i.c.version,
        _i.c.data,
        _i.c.last_hash,
        _i.c.workflow_version,
        store.entity.c.name,
        store.entity.c.attributes,
        store.entity.c.contacts,
    )
    .join(store.entity, store.entity.c.id == _i.c.entity_id)
    .where(_i.c.entity_id == sa.bindparam("entity"), _i.c.workflow == sa.bindparam("workflow"))
)
_UPDATE_INSTANCE = (
    _i.update()
    .where(_i.c.id == sa.bindparam("iid"), _i.c.version == sa.bindparam("seen"))
    .values(
        state=sa.bindparam("state"),
        version=sa.bindparam("new_version"),
        data=sa.bindparam("data", type_=store.JSONType),
        last_hash=sa.bindparam("hash"),
        entered_at=sa.bindparam("entered_at", type_=store.UTCDateTime),
        updated_at=sa.bindparam("now", type_=store.UTCDateTime),
    )
)
# A timer fires: it is marked fired and the state's other timers cancelled, in one statement.
_CLOSE_TIMERS = (
    _t.update()
    .where(_t.c.instance_id == sa.bindparam("iid"), _t.c.status == store.PENDING)
    .values(
        status=sa.case((_t.c.id == sa.bindparam("tid"), store.FIRED), else_=store.CANCELLED),
        closed_by_event=sa.bindparam("eid"),
        closed_at=sa.bindparam("now", type_=store.UTCDateTime),
    )
)
_CANCEL_TIMERS = (
    _t.update()
    .where(_t.c.instance_id == sa.bindparam("iid"), _t.c.status == store.PENDING)
    .values(
        status=store.CANCELLED,
        closed_by_event=sa.bindparam("eid"),
        closed_at=sa.bindparam("now", type_=store.UTCDateTime),
    )
)

_EVENT_COLUMNS = (
    "seq",
    "trigger",
    "source",
    "dest",
    "actor",
    "role",
    "reason",
    "data",
    "occurred_at",
    "recorded_at",
    "late_by_s",
    "prev_hash",
)
_INSTANCE_COLUMNS = (
    "entity_id",
    "workflow",
    "workflow_version",
    "state",
    "data",
    "version",
    "last_hash",
    "entered_at",
    "created_at",
    "updated_at",
)
_TIMER_COLUMNS = ("instance_id", "name", "trigger", "due_at", "catch_up", "status", "armed_by_event")
_LETTER_COLUMNS = (
    "instance_id",
    "event_id",
    "template",
    "recipient",
    "subject",
    "body",
    "body_html",
    "recipient_label",
    "recipient_name",
    "recipient_address",
    "recipient_email",
    "checksum",
    "status",
    "attempts",
    "created_at",
)


def _prepare(dialect: Dialect) -> dict[str, Prepared]:
    def insert(table: sa.Table, columns: tuple[str, ...]) -> Prepared:
        statement = table.insert()
        if dialect.name != "sqlite":  # SQLite tells the new id through lastrowid, others through RETURNING
            statement = statement.returning(table.c.id)
        return Prepared(statement, dialect, columns)

    return {
        "select": Prepared(_SELECT_INSTANCE, dialect),
        "update": Prepared(_UPDATE_INSTANCE, dialect),
        "close_timers": Prepared(_CLOSE_TIMERS, dialect),
        "cancel_timers": Prepared(_CANCEL_TIMERS, dialect),
        "insert_instance": insert(_i, _INSTANCE_COLUMNS),
        "insert_event": insert(_e, (*_EVENT_COLUMNS, "instance_id", "hash")),
        "insert_timers": Prepared(_t.insert(), dialect, _TIMER_COLUMNS),
        "insert_letters": Prepared(_l.insert(), dialect, _LETTER_COLUMNS),
    }


_STATEMENTS = Statements(_prepare)


def _insert(prepared: Prepared, conn: Connection, values: Mapping[str, Any]) -> int:
    cursor = prepared.execute(conn, values)
    return int(cursor.lastrowid if conn.dialect.name == "sqlite" else cursor.fetchone()[0])


class _Current(NamedTuple):
    """The instance as read at the start of a fire (the columns of the select statement)."""

    id: int
    state: str
    version: int
    data: dict[str, Any]
    last_hash: str
    workflow_version: int
    name: str
    attributes: dict[str, Any]
    contacts: list[dict[str, Any]]


@dataclass(frozen=True)
class Fired:
    """What a fire changed: the step, the new version, the audit hash, timers armed and letters queued."""

    entity: str
    workflow: str
    trigger: str
    source: str
    dest: str
    version: int
    event_id: int
    hash: str
    occurred_at: datetime
    timers_armed: tuple[tuple[str, datetime], ...]
    letters: int
    late_by_s: float | None = None


class Engine:
    """Applies transitions to persisted instances of the workflows it is given."""

    def __init__(self, db: Database, workflows: Workflow | Iterable[Workflow], *, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()
        loaded = [workflows] if isinstance(workflows, Workflow) else list(workflows)
        if not loaded:
            raise ValueError("an Engine needs at least one workflow")
        self._versions = {(w.name, w.version): w for w in loaded}
        self._latest: dict[str, Workflow] = {}
        for w in loaded:
            if w.name not in self._latest or w.version > self._latest[w.name].version:
                self._latest[w.name] = w
        self._renderers = {w.key: LetterRenderer(w.templates) for w in loaded}

    # -- workflows -------------------------------------------------------------------------------

    def workflow(self, name: str | None = None, version: int | None = None) -> Workflow:
        """Return a loaded workflow: by name (latest version) or the only one loaded."""
        if name is None:
            if len(self._latest) != 1:
                raise NotFound("default workflow", None, f"several are loaded; name one of {', '.join(self._latest)}")
            name = next(iter(self._latest))
        found = self._latest.get(name) if version is None else self._versions.get((name, version))
        if found is None:
            loaded = ", ".join(f"{n}@{v}" for n, v in self._versions)
            raise NotFound("workflow", f"{name}@{version}" if version else name, f"loaded: {loaded}")
        return found

    # -- creating instances ----------------------------------------------------------------------

    def create(
        self,
        conn: Connection,
        entity: str,
        *,
        actor: str,
        reason: str,
        workflow: str | None = None,
        at: datetime | None = None,
    ) -> Fired:
        """Start an instance of ``workflow`` for ``entity`` in its initial state, inside ``conn``'s transaction.

        Creation is the first link of the audit chain (seq 0) and arms the initial state's timers.
        """
        wf = self.workflow(workflow)
        now = self.clock.now()
        occurred = require_aware(at, "at") if at is not None else now
        _require_justification(entity, "(create)", actor, reason)
        record = _record(entity, wf, 0, None, None, wf.initial, actor, SYSTEM, reason, {}, occurred, now, None, GENESIS)
        digest = event_hash(record)
        sql = _STATEMENTS.for_connection(conn)
        iid = _insert(
            sql["insert_instance"],
            conn,
            {
                "entity_id": entity,
                "workflow": wf.name,
                "workflow_version": wf.version,
                "state": wf.initial,
                "data": {},
                "version": 0,
                "last_hash": digest,
                "entered_at": occurred,
                "created_at": now,
                "updated_at": now,
            },
        )
        eid = self._insert_event(conn, iid, record, digest)
        armed = self._arm(conn, wf, wf.initial, iid, eid, entity, "(create)", occurred, {})
        return Fired(entity, wf.name, "(create)", "", wf.initial, 0, eid, digest, occurred, armed, 0)

    # -- firing ----------------------------------------------------------------------------------

    def fire(
        self,
        entity: str,
        trigger: str,
        *,
        actor: str,
        reason: str,
        data: Mapping[str, Any] | None = None,
        at: datetime | None = None,
        role: str = "operator",
        expected_version: int | None = None,
        workflow: str | None = None,
    ) -> Fired:
        """Apply ``trigger`` to ``entity``'s instance in its own transaction; raise why if refused.

        ``actor`` and ``reason`` are recorded in the audit event; ``data`` holds the transition's
        fields (``--set`` values, coerced to their declared types); ``at`` is the business time of
        the decision (default: now); ``expected_version`` makes the fire fail with
        ``ConcurrentUpdate`` unless the instance is still at the version the caller saw.
        """
        with self.db.write() as conn:
            return self.fire_in(
                conn,
                entity,
                trigger,
                actor=actor,
                reason=reason,
                data=data,
                at=at,
                role=role,
                expected_version=expected_version,
                workflow=workflow,
            )

    def fire_in(
        self,
        conn: Connection,
        entity: str,
        trigger: str,
        *,
        actor: str,
        reason: str,
        data: Mapping[str, Any] | None = None,
        at: datetime | None = None,
        role: str = "operator",
        expected_version: int | None = None,
        workflow: str | None = None,
        timer_id: int | None = None,
        due: datetime | None = None,
        checks: list[Check] | None = None,
    ) -> Fired:
        """``fire`` inside a transaction the caller owns (the daemon fires a batch in one transaction).

        ``timer_id`` marks that pending timer fired by this very event (the daemon's claim), and
        ``due`` its due instant, from which the event's lateness is computed. With ``checks`` (a
        pipelined batch, where a statement's row count is known only later), the checks of row
        counts are appended to it instead of run; the caller runs them before committing.
        """
        wf_name = self.workflow(workflow).name
        sql = _STATEMENTS.for_connection(conn)
        found = sql["select"].first(conn, {"entity": entity, "workflow": wf_name})
        if found is None:
            raise NotFound("instance", entity, f"no {wf_name} instance for it; `labelwf list` shows the instances")
        row = _Current(*found)
        if expected_version is not None and row.version != expected_version:
            raise ConcurrentUpdate(entity, expected_version, row.version)
        wf = self.workflow(wf_name, row.workflow_version)
        _require_justification(entity, trigger, actor, reason)
        step = self._check_step(wf, entity, row.state, trigger, role, data or {})
        merged = {**row.data, **step}
        chosen = machine_for(wf).decide(entity, row.state, trigger, merged)
        missing = [name for name in chosen.requires if name not in step]
        if missing:
            raise MissingData(entity, trigger, missing)
        if role not in chosen.roles:
            raise RoleNotAllowed(entity, trigger, role, chosen.roles)

        now = self.clock.now()
        occurred = require_aware(at, "at") if at is not None else now
        late_by = round((now - due).total_seconds(), 6) if due is not None else None
        seq = row.version + 1
        record = _record(
            entity,
            wf,
            seq,
            trigger,
            row.state,
            chosen.dest,
            actor,
            role,
            reason,
            step,
            occurred,
            now,
            late_by,
            row.last_hash,
        )
        digest = event_hash(record)
        updated = sql["update"].execute(
            conn,
            {
                "iid": row.id,
                "seen": row.version,
                "state": chosen.dest,
                "new_version": seq,
                "data": merged,
                "hash": digest,
                "entered_at": occurred,
                "now": now,
            },
        )
        lost = ConcurrentUpdate(entity, row.version, None)
        _expect(checks, lambda: updated.rowcount == 1, lost)
        eid = self._insert_event(conn, row.id, record, digest)
        if timer_id is not None:
            # The caller claimed this timer under the write lock, so it is among the pending ones.
            closed = sql["close_timers"].execute(conn, {"iid": row.id, "tid": timer_id, "eid": eid, "now": now})
            _expect(checks, lambda: closed.rowcount >= 1, lost)
        elif wf.states[row.state].timers:
            sql["cancel_timers"].execute(conn, {"iid": row.id, "eid": eid, "now": now})
        armed = self._arm(conn, wf, chosen.dest, row.id, eid, entity, trigger, occurred, merged)
        letters = self._queue_letters(conn, wf, chosen, row, entity, record, eid, merged, now)
        return Fired(
            entity, wf.name, trigger, row.state, chosen.dest, seq, eid, digest, occurred, armed, letters, late_by
        )

    def preview_letter(self, entity: str, letter: str, *, workflow: str | None = None) -> list[RenderedLetter]:
        """Render ``letter`` for ``entity`` as it stands now, for every recipient, without storing anything."""
        wf = self.workflow(workflow)
        spec = wf.letters.get(letter)
        if spec is None:
            raise NotFound("letter template", letter, f"{wf.key} declares: {', '.join(wf.letters) or 'none'}")
        with self.db.read() as conn:
            found = _STATEMENTS.for_connection(conn)["select"].first(conn, {"entity": entity, "workflow": wf.name})
        if found is None:
            raise NotFound("instance", entity, "`labelwf list` shows the instances")
        row = _Current(*found)
        now = self.clock.now()
        record = {
            "trigger": "(preview)",
            "source": row.state,
            "dest": row.state,
            "actor": "(preview)",
            "reason": "",
            "occurred_at": now,
            "data": {},
            "seq": row.version,
        }
        renderer = self._renderers[wf.key]
        context = _letter_context(wf, entity, row, record, row.data)
        context["reference"] = f"{wf.name}/{entity}/preview/{letter}"
        to = {role: wf.recipients[role] for role in spec.to}
        return renderer.render(letter, spec.template.name, spec.subject, to, row.contacts or [], context)

    def _check_step(
        self, wf: Workflow, entity: str, state: str, trigger: str, role: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        candidates = wf.candidates(state, trigger)
        if not candidates:
            raise InvalidTransition(entity, trigger, state, wf.triggers_from(state))
        roles = sorted({r for c in candidates for r in c.roles})
        if role not in roles:
            raise RoleNotAllowed(entity, trigger, role, roles)
        accepts = {name for c in candidates for name in c.accepts}
        step: dict[str, Any] = {}
        for name, value in data.items():
            if name not in accepts:
                expected = ", ".join(sorted(accepts)) or "none"
                raise InvalidData(
                    entity, trigger, name, f"unknown data field {name!r}; this transition takes: {expected}"
                )
            try:
                step[name] = wf.fields[name].coerce(value)
            except ValueError as exc:
                raise InvalidData(entity, trigger, name, str(exc)) from None
        common = set.intersection(*(set(c.requires) for c in candidates))
        missing = sorted(common - set(step))
        if missing:
            raise MissingData(entity, trigger, missing)
        return step

    def _insert_event(self, conn: Connection, iid: int, record: Mapping[str, Any], digest: str) -> int:
        values = {k: record[k] for k in _EVENT_COLUMNS}
        values["instance_id"], values["hash"] = iid, digest
        return _insert(_STATEMENTS.for_connection(conn)["insert_event"], conn, values)

    def _arm(
        self,
        conn: Connection,
        wf: Workflow,
        state: str,
        iid: int,
        eid: int,
        entity: str,
        trigger: str,
        entered: datetime,
        data: Mapping[str, Any],
    ) -> tuple[tuple[str, datetime], ...]:
        specs = wf.states[state].timers
        if not specs:
            return ()
        rows: list[dict[str, Any]] = []
        armed: list[tuple[str, datetime]] = []
        for spec in specs:
            try:
                when = due_at(spec, tz=wf.timezone, entered_at=entered, data=data)
            except MissingAnchor as exc:
                raise MissingData(entity, trigger, [exc.field]) from None
            armed.append((spec.name, when))
            rows.append(
                {
                    "instance_id": iid,
                    "name": spec.name,
                    "trigger": spec.trigger,
                    "due_at": when,
                    "catch_up": spec.catch_up,
                    "status": store.PENDING,
                    "armed_by_event": eid,
                }
            )
        _STATEMENTS.for_connection(conn)["insert_timers"].execute_many(conn, rows)
        return tuple(armed)

    def _queue_letters(
        self,
        conn: Connection,
        wf: Workflow,
        chosen: TransitionDef,
        row: Any,
        entity: str,
        record: Mapping[str, Any],
        eid: int,
        data: Mapping[str, Any],
        now: datetime,
    ) -> int:
        if not chosen.letters:
            return 0
        renderer = self._renderers[wf.key]
        context = _letter_context(wf, entity, row, record, data)
        rows = []
        for name in chosen.letters:
            spec = wf.letters[name]
            context["reference"] = f"{wf.name}/{entity}/{record['seq']:03d}/{name}"
            to = {role: wf.recipients[role] for role in spec.to}
            for letter in renderer.render(name, spec.template.name, spec.subject, to, row.contacts or [], context):
                rows.append(
                    {
                        "instance_id": row.id,
                        "event_id": eid,
                        "template": letter.template,
                        "recipient": letter.recipient.role,
                        "recipient_label": letter.recipient.label,
                        "recipient_name": letter.recipient.name or None,
                        "recipient_address": "\n".join(letter.recipient.address) or None,
                        "recipient_email": letter.recipient.email or None,
                        "subject": letter.subject,
                        "body": letter.text,
                        "body_html": letter.html,
                        "checksum": letter.checksum,
                        "status": "pending",
                        "attempts": 0,
                        "created_at": now,
                    }
                )
        _STATEMENTS.for_connection(conn)["insert_letters"].execute_many(conn, rows)
        return len(rows)


Check = tuple[Callable[[], bool], LabelwfError]  # a condition on a statement's result, and the error if it fails


def _expect(checks: list[Check] | None, holds: Callable[[], bool], error: LabelwfError) -> None:
    """Raise ``error`` unless ``holds()``; or, in a pipelined batch, leave the check for after it."""
    if checks is not None:
        checks.append((holds, error))
    elif not holds():
        raise error


def _letter_context(
    wf: Workflow, entity: str, row: Any, record: Mapping[str, Any], data: Mapping[str, Any]
) -> dict[str, Any]:
    """What letter templates see (see ``letters``): namespaces, not dicts, as Jinja tries getattr first."""
    return {
        "entity": SimpleNamespace(id=entity, name=row.name, attributes=row.attributes),
        "event": SimpleNamespace(
            **{k: record[k] for k in ("trigger", "source", "dest", "actor", "reason", "occurred_at", "data")}
        ),
        "data": data,
        "workflow": SimpleNamespace(name=wf.name, version=wf.version, title=wf.title),
        "date_fr": date_fr(record["occurred_at"], wf.timezone),
        "facts": [
            SimpleNamespace(
                label=wf.fields[k].label or wf.fields[k].description or k, value=_fact(wf.fields[k].type, v)
            )
            for k, v in record["data"].items()
        ],
    }


def _fact(kind: str, value: Any) -> str:
    """A step's data value as a letter shows it: dates the French way."""
    if kind in ("date", "datetime") and isinstance(value, str):
        return date_fr_text(value)
    return str(value)


def _record(
    entity: str,
    wf: Workflow,
    seq: int,
    trigger: str | None,
    source: str | None,
    dest: str,
    actor: str,
    role: str,
    reason: str,
    data: Mapping[str, Any],
    occurred: datetime,
    recorded: datetime,
    late_by: float | None,
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "entity": entity,
        "workflow": wf.name,
        "seq": seq,
        "trigger": trigger,
        "source": source,
        "dest": dest,
        "actor": actor,
        "role": role,
        "reason": reason,
        "data": dict(data),
        "occurred_at": occurred,
        "recorded_at": recorded,
        "late_by_s": late_by,
        "prev_hash": prev_hash,
    }


def _require_justification(entity: str, trigger: str, actor: str, reason: str) -> None:
    missing = [name for name, value in (("actor", actor), ("reason", reason)) if not (value or "").strip()]
    if missing:
        raise MissingJustification(entity, trigger, missing)
