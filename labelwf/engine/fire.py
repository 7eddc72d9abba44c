"""The engine: the only code that changes an instance's state.

``Engine.fire`` applies one transition in one database transaction, in four named steps:

1. **decide** (``decision.decide``): which declared transition the request takes, or why not;
2. **write the event**: the instance's new state, data and version (``UPDATE … WHERE version =
   :seen``) and one sealed, hash-chained audit ``Event``;
3. **close and arm timers**: the pending timers of the state left are cancelled (or, for a
   timer's own fire, marked fired), those of the state entered armed;
4. **queue letters**: the step's letters, rendered before the event is sealed (their checksums
   are part of its hashed record), stored in the outbox.

Any refusal or failure raises before commit and leaves no trace. A timer the sweep closes without
firing it (obsolete, skipped) is a chain event too (``close_timer``): every change of recorded
state is in the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from ..audit.hashing import BATCH_FORMATS, GENESIS, HASH_FORMAT, KEYED_FORMAT, format_for
from ..audit.sealing import letter_row, seal
from ..clock import Clock, SystemClock, require_aware
from ..errors import AmbiguousWorkflow, BusinessTimeRefused, ConcurrentUpdate, NotFound
from ..letters.render import LetterRenderer, RenderedLetter, Signers
from ..message import N_
from ..store import Database
from ..store import fires as sql
from ..store.entity_versions import dated
from ..store.reads import find_instances
from ..store.records import SEAL_POST, Basis, Event, Instance, Timer, TimerStatus
from ..workflow.definition import SYSTEM, Workflow
from . import timer_steps
from .batch import IMMEDIATE, Checks
from .chain import write_link
from .decision import CLOCK_SKEW, Decision, Request, business_time, decide, refuse_reserved, require_justification
from .fired import Draft, Fired
from .letter_context import step_letters
from .previews import preview

CREATE = "(create)"  # the trigger named in messages about an instance's creation


class Engine:
    """Applies transitions to persisted instances of the workflows it is given (any versions of them)."""

    def __init__(
        self,
        db: Database,
        workflows: Workflow | Iterable[Workflow],
        *,
        clock: Clock | None = None,
        audit_key: bytes | None = None,
        principal: str | None = None,
        signers: Signers | None = None,
    ) -> None:
        """``audit_key``: the secret with which events are hashed (HMAC, ``audit``); without it, plain sha256.

        ``principal``: who this process authenticated as (the OS user of the CLI and the daemon),
        recorded in every event beside the actor it claims, unless a ``Request`` names its own.
        ``signers``: who the letters name (the agent following the files, the signatory).
        """
        self.db = db
        self._key = audit_key
        self.principal = principal
        self._format = KEYED_FORMAT if audit_key is not None else HASH_FORMAT
        self.clock: Clock = clock or SystemClock()
        self.audit_key, self.hash_format = audit_key, self._format  # for chain events written beside fires
        loaded = [workflows] if isinstance(workflows, Workflow) else list(workflows)
        if not loaded:
            raise ValueError("an Engine needs at least one workflow")
        self._versions = {(w.name, w.version): w for w in loaded}
        self._latest: dict[str, Workflow] = {}
        for w in loaded:
            if w.name not in self._latest or w.version > self._latest[w.name].version:
                self._latest[w.name] = w
        self._signers = signers
        self._renderers = {w.key: LetterRenderer(w.templates, w, signers) for w in loaded}

    @property
    def batch_format(self) -> int:
        """The hash format of an event a plan executes (it records the plan's id)."""
        return BATCH_FORMATS[self._format]

    def step_letters(self, wf: Workflow, current: Instance, decision: Decision, event: Event) -> list[RenderedLetter]:
        """The letters of ``decision``'s step, rendered by ``wf``'s renderer (before ``event`` is sealed)."""
        return step_letters(self._renderers[wf.key], wf, current, decision, event)

    def with_clock(self, clock: Clock, workflows: Iterable[Workflow] | None = None, *, history: bool = False) -> Engine:
        """This engine (same database, audit key and signers) reading another clock (a replay's simulated one).

        ``history``: it writes the past (a replay), whose letters were signed when they were sent:
        they never wait for a signature, whatever the service requires of today's decisions."""
        chosen = list(workflows) if workflows is not None else list(self.workflows)
        signers = self._signers
        if history and signers is not None and signers.signature:
            signers = replace(signers, signature=False)
        return Engine(self.db, chosen, clock=clock, audit_key=self._key, principal=self.principal, signers=signers)

    # -- workflows -------------------------------------------------------------------------------

    @property
    def workflows(self) -> tuple[Workflow, ...]:
        """Every loaded workflow version, by name then version."""
        return tuple(self._versions[key] for key in sorted(self._versions))

    @property
    def workflow_names(self) -> tuple[str, ...]:
        """The names of the loaded workflows, sorted."""
        return tuple(sorted(self._latest))

    def workflow(self, name: str | None = None, version: int | None = None) -> Workflow:
        """Return a loaded workflow: by name (latest version, or ``version``) or the only one loaded."""
        if name is None:
            if len(self._latest) != 1:
                raise NotFound(
                    "default workflow",
                    None,
                    N_("several are loaded; name one of %(names)s", names=", ".join(self._latest)),
                )
            name = next(iter(self._latest))
        found = self._latest.get(name) if version is None else self._versions.get((name, version))
        if found is None:
            if version is None:  # a name is asked for: the names loaded, not their versions
                raise NotFound(
                    "workflow",
                    name,
                    N_("a workflow name without @version; loaded: %(names)s", names=", ".join(self._latest)),
                )
            loaded = ", ".join(f"{n}@{v}" for n, v in self._versions)
            raise NotFound("workflow", f"{name}@{version}", N_("loaded: %(names)s", names=loaded))
        return found

    def workflow_of(self, instance: Instance) -> Workflow:
        """The workflow version ``instance`` runs on (``NotFound`` if that version is not loaded)."""
        return self.workflow(instance.workflow, instance.workflow_version)

    def workflow_for(self, conn: Connection, entity: str, workflow: str | None) -> str:
        """The name of the workflow to act in for ``entity``: ``workflow``, the only one loaded, or the
        only one the entity has an instance in (``AmbiguousWorkflow`` when it has several)."""
        if workflow is not None:
            return self.workflow(workflow).name
        if len(self._latest) == 1:
            return next(iter(self._latest))
        names = [i.workflow for i in find_instances(conn, entity) if i.workflow in self._latest]
        if len(names) > 1:
            raise AmbiguousWorkflow(entity, names)
        if not names:
            raise NotFound(
                "instance", entity, N_("in none of the loaded workflows (%(names)s)", names=", ".join(self._latest))
            )
        return names[0]

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
        basis: Basis | None = None,
    ) -> Fired:
        """Start an instance of ``workflow`` for ``entity`` in its initial state, inside ``conn``'s transaction.

        Creation is the first link of the audit chain (seq 0) and arms the initial state's timers.
        ``basis``: where the entity's entry comes from (the record, an assumption…), hashed with it.
        """
        wf = self.workflow(workflow)
        now = self.clock.now()
        occurred = require_aware(at, "at") if at is not None else now
        if occurred > now + CLOCK_SKEW:
            raise BusinessTimeRefused(entity, occurred, None, now + CLOCK_SKEW)
        require_justification(entity, CREATE, actor, reason)
        event = seal(
            Event(
                entity=entity,
                workflow=wf.name,
                seq=0,
                trigger=None,
                source=None,
                dest=wf.initial,
                actor=actor,
                role=SYSTEM,
                reason=reason,
                data={},
                occurred_at=occurred,
                recorded_at=now,
                late_by_s=None,
                prev_hash=GENESIS,
                hash_format=format_for(self._format, basis=basis),
                principal=self.principal,
                basis=basis,
            ),
            self._key,
        )
        iid = sql.insert_instance(
            conn,
            entity_id=entity,
            workflow=wf.name,
            workflow_version=wf.version,
            state=wf.initial,
            last_hash=event.hash,
            entered_at=occurred,
            now=now,
        )
        eid = sql.insert_event(conn, iid, event)
        armed = timer_steps.arm(conn, wf, wf.initial, iid, eid, entity, CREATE, occurred, {})
        return Fired(entity, wf.name, CREATE, "", wf.initial, 0, eid, event.hash, occurred, armed, 0)

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
        expected_version: int | None = None,
        workflow: str | None = None,
        basis: Basis | None = None,
    ) -> Fired:
        """Apply ``trigger`` to ``entity``'s instance in its own transaction; raise why if refused.

        ``actor`` and ``reason`` are recorded in the audit event; ``data`` holds the transition's
        fields (``--set`` values, coerced to their declared types); ``at`` is the business time of
        the decision (default: now); ``expected_version`` makes the fire fail with
        ``ConcurrentUpdate`` unless the instance is still at the version the caller saw; ``basis``
        is where the decision comes from (the record, an assumption…), hashed with the event.
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
                expected_version=expected_version,
                workflow=workflow,
                basis=basis,
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
        expected_version: int | None = None,
        workflow: str | None = None,
        basis: Basis | None = None,
    ) -> Fired:
        """``fire`` inside a transaction the caller owns (several fires committed together)."""
        request = Request(
            entity=entity,
            trigger=trigger,
            actor=actor,
            reason=reason,
            data=data or {},
            at=at,
            expected_version=expected_version,
            workflow=workflow,
            basis=basis,
        )
        return self.apply(conn, request)

    def fire_timer(self, conn: Connection, timer: Timer, *, actor: str, checks: Checks = IMMEDIATE) -> Fired:
        """Fire a pending timer claimed by the deadline sweep, inside the sweep's transaction.

        The event occurs at the timer's due instant and records how late it was processed; the
        same transaction marks the timer fired. ``checks`` defers row-count checks in a pipeline.
        """
        request = Request(
            entity=timer.entity,
            trigger=timer.trigger,
            actor=actor,
            reason=f"timer {timer.name} due {timer.due_at.isoformat()}",
            at=timer.due_at,
            role=SYSTEM,
            workflow=timer.workflow,
        )
        return self.apply(conn, request, timer=timer, checks=checks)

    def apply(
        self,
        conn: Connection,
        request: Request,
        *,
        timer: Timer | None = None,
        checks: Checks = IMMEDIATE,
    ) -> Fired:
        """Apply a ``Request`` in ``conn``'s transaction: decide, write the event, move timers, queue letters.

        A caller's request acts as an operator: the ``system`` role and the daemon's name are
        refused unless the request is a due timer's (``fire_timer``).
        """
        d = self._draft(conn, request, timer)
        current = d.current
        wf, decision, event, rendered, now, occurred, late_by = (
            d.workflow,
            d.decision,
            d.event,
            d.rendered,
            d.now,
            d.occurred,
            d.late_by,
        )
        event = seal(event, self._key, tuple(letter.checksum for letter in rendered))
        eid = self._write_event(conn, current, decision, event, now, checks)
        timer_steps.close_pending(conn, current, eid, now, timer, wf, checks)
        armed = timer_steps.arm(
            conn, wf, decision.dest, current.id, eid, request.entity, request.trigger, occurred, decision.data
        )
        if rendered:
            sql.insert_letters(conn, [letter_row(letter, current.id, eid, now) for letter in rendered])
        letters = len(rendered)
        to_sign = sum(1 for letter in rendered if letter.post not in (None, SEAL_POST))
        return Fired(
            request.entity,
            wf.name,
            request.trigger,
            current.state,
            decision.dest,
            event.seq,
            eid,
            event.hash,
            occurred,
            armed,
            letters,
            late_by,
            to_sign,
        )

    def check(self, conn: Connection, request: Request) -> tuple[Instance, Decision, datetime]:
        """What ``apply`` would decide for ``request`` as ``conn``'s transaction sees the instance: the
        instance, the decision and its business time, or the refusal ``apply`` would raise. Nothing is
        written and no letter rendered (a plan's preview)."""
        current = self._current(conn, request, None)
        decision = decide(self.workflow_of(current), current, request)
        return current, decision, business_time(current, request, None, self.clock.now())

    # -- the steps of a fire ------------------------------------------------------------------

    def _current(self, conn: Connection, request: Request, timer: Timer | None) -> Instance:
        """Step 0: the instance as the transaction sees it, at the version the request expects."""
        if timer is None:
            refuse_reserved(request)
        wf_name = self.workflow_for(conn, request.entity, request.workflow)
        current = sql.load_instance(conn, request.entity, wf_name)
        if current is None:
            raise NotFound(
                "instance",
                request.entity,
                N_("no %(workflow)s instance for it; `labelwf list` shows the instances", workflow=wf_name),
            )
        if request.expected_version is not None and current.version != request.expected_version:
            raise ConcurrentUpdate(request.entity, request.expected_version, current.version)
        return current

    def _draft(self, conn: Connection, request: Request, timer: Timer | None) -> Draft:
        """Steps 1-4a: decide, date and draft the event, render the letters (nothing written yet)."""
        current = self._current(conn, request, timer)
        wf = self.workflow_of(current)
        decision = decide(wf, current, request)
        now = self.clock.now()
        occurred = business_time(current, request, timer, now)
        late_by = round((now - timer.due_at).total_seconds(), 6) if timer is not None else None
        event = Event(
            entity=request.entity,
            workflow=wf.name,
            seq=current.version + 1,
            trigger=request.trigger,
            source=current.state,
            dest=decision.dest,
            actor=request.actor,
            role=request.role,
            reason=request.reason,
            data=decision.step,
            occurred_at=occurred,
            recorded_at=now,
            late_by_s=late_by,
            prev_hash=current.last_hash,
            hash_format=format_for(self._format, batch=request.batch, basis=request.basis),
            principal=request.principal or self.principal,
            batch=request.batch,
            basis=request.basis,
        )
        dated_current = dated(conn, current, occurred, now)  # a letter names the entity as it was then
        rendered = step_letters(self._renderers[wf.key], wf, dated_current, decision, event, agent=request.agent)
        return Draft(current, wf, decision, event, tuple(rendered), now, occurred, late_by)

    def _write_event(
        self, conn: Connection, current: Instance, decision: Decision, event: Event, now: datetime, checks: Checks
    ) -> int:
        """Step 2: the instance's new state and version, guarded by the version seen; the event stored."""
        return write_link(conn, current, event, decision.dest, decision.data, event.occurred_at, now, checks)

    # -- timers closed without firing ------------------------------------------------------------

    def close_timer(
        self, conn: Connection, timer: Timer, status: TimerStatus, note: str, *, checks: Checks = IMMEDIATE
    ) -> Event:
        """Close a timer the sweep claimed without firing it (``obsolete``, ``skipped``), as a chain
        event (``timer_steps.close_without_firing``)."""
        return timer_steps.close_without_firing(self, conn, timer, status, note, checks)

    # -- letters without a fire ---------------------------------------------------------------

    def preview_letter(
        self,
        entity: str,
        letter: str,
        *,
        workflow: str | None = None,
        data: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> list[RenderedLetter]:
        """Render ``letter`` for ``entity`` as it stands now (with the step's ``data``), storing nothing;
        dated ``at`` (default now), it names the entity as it was then (its version then in force)."""
        now = self.clock.now()
        when = now if at is None else require_aware(at, "at")
        with self.db.read() as conn:
            wf_name = self.workflow_for(conn, entity, workflow)
            current = sql.load_instance(conn, entity, wf_name)
            if current is not None:
                current = dated(conn, current, when, now)
        if current is None:
            raise NotFound("instance", entity, N_("`labelwf list` shows the instances"))
        wf = self.workflow_of(current)
        return preview(wf, self._renderers[wf.key], current, letter, when, data)
