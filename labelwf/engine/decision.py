"""Deciding a fire: which declared transition a request takes, with which data, or why not.

Pure: it reads the workflow and the instance as loaded, writes nothing, and raises the
``TransitionRefused`` that says why a request is refused. The engine persists what it decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..clock import require_aware
from ..errors import (
    BusinessTimeRefused,
    InvalidData,
    InvalidTransition,
    MissingData,
    MissingJustification,
    ReservedIdentity,
    RoleNotAllowed,
    TransitionRefused,
)
from ..letters.agent import Agent
from ..message import N_, Quoted, Term, listed, said
from ..store.records import Basis, Instance, Timer
from ..text import looks_like, text_problem
from ..workflow.definition import DAEMON_ACTOR, OPERATOR, SYSTEM, TransitionDef, Workflow
from ..workflow.machine import machine_for

_NO_FIELD = N_("none")  # marked apart: pybabel extract misses a message marked inside another's call


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What a caller asks of a fire: a trigger on an entity's instance, by whom, why and with what data.

    ``at`` is the business time of the decision (default: now); ``expected_version`` refuses the
    fire unless the instance is still at that version; ``workflow`` names the instance's workflow
    when several are loaded. ``actor`` is who the caller says acts; ``principal`` who it
    authenticated as (both are recorded).
    """

    entity: str
    trigger: str
    actor: str
    reason: str
    data: Mapping[str, Any] = field(default_factory=dict)
    at: datetime | None = None
    role: str = OPERATOR
    expected_version: int | None = None
    workflow: str | None = None
    principal: str | None = None  # who authenticated (an API's user); default: the engine's own principal
    batch: int | None = None  # the plan this fire executes (a bulk decision), recorded in the event
    basis: Basis | None = None  # where the decision comes from (the record, an assumption…), hashed with it
    typed: bool = False  # ``data`` came typed (a JSON body): an integer field then takes numbers only
    agent: Agent | None = None  # the account that decides, named by its letters; None: the service's desk


CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of the engine's clock a decision may be dated


@dataclass(frozen=True, slots=True)
class Decision:
    """The transition a request takes: its definition, the step's own data and the data after it."""

    transition: TransitionDef
    step: dict[str, Any]
    data: dict[str, Any]

    @property
    def dest(self) -> str:
        """The state the instance moves to."""
        return self.transition.dest


MAX_ACTOR, MAX_REASON = 200, 4000


def require_justification(entity: str, trigger: str, actor: str, reason: str, *, letter: int | None = None) -> None:
    """Refuse an action without a non-empty actor and reason (both go into the audit trail), or whose
    actor or reason breaks the text policy (``text``): too long, or holding control characters.
    ``letter``: the act is on that letter, which the refusal names (« la lettre n° 12 »)."""
    missing = [name for name, value in (("actor", actor), ("reason", reason)) if not (value or "").strip()]
    if missing:
        raise MissingJustification(entity, trigger, missing, letter=letter)
    for name, value, longest, multiline in (("actor", actor, MAX_ACTOR, False), ("reason", reason, MAX_REASON, True)):
        problem = text_problem(value, name, max_length=longest, multiline=multiline)
        if problem is not None:
            raise InvalidData(entity, trigger, name, problem)


def decide(workflow: Workflow, current: Instance, request: Request) -> Decision:
    """Return the transition ``request`` takes from ``current``'s state in ``workflow``, or raise why not
    (its states and triggers said by ``workflow``'s labels)."""
    try:
        return _decide(workflow, current, request)
    except TransitionRefused as exc:
        exc.labelled(workflow)
        raise


def _decide(workflow: Workflow, current: Instance, request: Request) -> Decision:
    entity, trigger, role = request.entity, request.trigger, request.role
    require_justification(entity, trigger, request.actor, request.reason)
    step = coerce_step(workflow, entity, current.state, trigger, role, request.data, typed=request.typed)
    merged = {**current.data, **step}
    chosen = machine_for(workflow).decide(entity, current.state, trigger, merged)
    missing = [name for name in chosen.requires if name not in step]
    if missing:
        raise MissingData(entity, trigger, missing)
    if role not in chosen.roles:
        raise RoleNotAllowed(entity, trigger, role, chosen.roles)
    return Decision(chosen, step, merged)


def coerce_step(
    workflow: Workflow,
    entity: str,
    state: str,
    trigger: str,
    role: str,
    data: Mapping[str, Any],
    *,
    typed: bool = False,
) -> dict[str, Any]:
    """Check that ``state`` takes ``trigger`` from ``role``, and coerce ``data`` to the declared field types
    (``typed``: as a JSON body gives them, a number as a number: ``FieldDef.coerce``).

    Raises before any condition is evaluated: an unknown trigger, a role that may not fire it,
    an unknown or malformed field, or a field every candidate transition requires.
    """
    candidates = workflow.candidates(state, trigger)
    if not candidates:
        raise InvalidTransition(entity, trigger, state, workflow.triggers_from(state))
    roles = sorted({r for c in candidates for r in c.roles})
    if role not in roles:
        raise RoleNotAllowed(entity, trigger, role, roles)
    accepts = {name for c in candidates for name in c.accepts}
    step: dict[str, Any] = {}
    for name, value in data.items():
        if name not in accepts:
            expected = listed([Term("field", n, quoted=False) for n in sorted(accepts)], ", ", _NO_FIELD)
            unknown = N_(
                "unknown data field %(name)s; this transition takes: %(expected)s", name=Quoted(name), expected=expected
            )
            raise InvalidData(entity, trigger, name, unknown)
        try:
            step[name] = workflow.fields[name].coerce(value, typed=typed)
        except ValueError as exc:
            raise InvalidData(entity, trigger, name, said(exc)) from None
    common = set.intersection(*(set(c.requires) for c in candidates))
    missing = sorted(common - set(step))
    if missing:
        raise MissingData(entity, trigger, missing)
    return step


def business_time(current: Instance, request: Request, timer: Timer | None, now: datetime) -> datetime:
    """When the decision takes effect: ``at`` (default now), never before the last event nor in the future.

    A timer's event occurs at its due instant, or when its state was entered if that is later
    (a fixed date already past when the instance arrived): a history never runs backwards.
    """
    last = current.entered_at
    if timer is not None:
        return timer.due_at if last is None or timer.due_at >= last else last
    if request.at is None:
        return now if last is None or now >= last else last
    occurred = require_aware(request.at, "at")
    if (last is not None and occurred < last) or occurred > now + CLOCK_SKEW:
        raise BusinessTimeRefused(request.entity, occurred, last, now + CLOCK_SKEW)
    return occurred


def refuse_reserved(request: Request) -> None:
    """A caller acts as an operator: the daemon's role and name are its own."""
    if request.role == SYSTEM:
        raise ReservedIdentity(request.entity, request.trigger, "role", request.role)
    if looks_like(request.actor, DAEMON_ACTOR):  # also in look-alike letters or with invisible characters
        spoof = text_problem(request.actor, "actor", max_length=MAX_ACTOR)  # names the character, if one is
        if spoof is not None:
            raise InvalidData(request.entity, request.trigger, "actor", spoof)
        raise ReservedIdentity(request.entity, request.trigger, "actor", request.actor)
