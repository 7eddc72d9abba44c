"""Plans over the API: a bulk decision, deadline moves or a migration, previewed then executed once;
one timer moved.

* ``POST /batches`` freezes a plan and answers its preview (nothing is fired): each entity's
  item says what would happen, or why it cannot. ``POST /batches/{id}/execution`` runs it in the
  request; running it again does only what is left (nothing, once it is done). A migration is
  named, not sent: the file of that name in the configured ``migrations`` folder (reviewed with
  the workflows), validated as the CLI validates it.
  ``POST /batches/{id}/cancellation`` stops it. Plans are the supervisors' (and admins').
* ``PATCH /timers/{id}`` moves one pending deadline, as an operator's audited action; like a
  fire it needs ``If-Match`` with the instance's ETag.
* The acting user is the authenticated account (the principal of every event); ``on_behalf_of``
  is recorded as the actor beside it, never instead of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ..engine.decision import MAX_ACTOR, MAX_REASON
from ..engine.representations import batch_item_json, batch_json
from ..errors import ActionRefused, ConcurrentUpdate, DatabaseError, NotFound, PlanRejected, Problem
from ..operations import bulk, migration, plan_items, plans, timer_moves
from ..store import accounts as asql
from ..store import batches as bsql
from ..store import fires, reads
from ..store.records import Batch, BatchItem, ItemStatus, Timer, TimerStatus
from . import idempotency, limits
from .api import Instant, Who, expected_version, in_utc, plain_parameters, runtime_of
from .auth import Caller, Refused, require
from .problems import problem, problem_responses

router = APIRouter(prefix="/api/v1", dependencies=[Depends(plain_parameters)], responses=problem_responses(401, 503))
MAX_IDS = 10_000  # ids (or outcomes) in one request; a 64 KiB body holds fewer anyway: filter by state for more
PREVIEW_SHOWN = 1000  # items a plan's creation answers; the rest are paged from GET /batches/{id}
MAX_SEQ = 10_000_000
PlanId = Annotated[int, Path(description="The plan's id.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]


def _plain(value: str) -> str:
    """``value`` if a database can store it: no U+0000 (PostgreSQL refuses it), no lone surrogate."""
    if "\x00" in value:
        raise ValueError("U+0000 is not allowed in a text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a lone surrogate (\\ud800 …) is not text: send UTF-8") from None
    return value


def _storable(data: dict[str, Any]) -> dict[str, Any]:
    """Fields a database can store: plain texts, finite numbers (the problem then shows no value: the
    ``Infinity`` a client sent cannot be written back in JSON)."""
    for name, value in data.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{name}: a number must be finite")
        if isinstance(value, str):
            try:
                _plain(value)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
    return data


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_plain)]
Fields = Annotated[
    dict[Name, str | int | float | bool],
    Field(max_length=50, description="Fields of the transition."),
    AfterValidator(_storable),
]
Offset = Annotated[
    str, Field(min_length=1, max_length=40, description="An offset: +1 year, -2 months …"), AfterValidator(_plain)
]
Reason = Annotated[str, Field(min_length=1, max_length=MAX_REASON), AfterValidator(_plain)]
Actor = Annotated[str, Field(min_length=1, max_length=MAX_ACTOR), AfterValidator(_plain)]


class SelectionBody(BaseModel):
    """Which instances: named ids, and/or every one matching a filter; ``except`` ids left out."""

    model_config = ConfigDict(extra="forbid")

    entities: list[Name] = Field(default_factory=list, max_length=MAX_IDS)
    states: list[Name] = Field(default_factory=list, max_length=100)
    where: dict[Name, list[Name]] = Field(
        default_factory=dict, max_length=20, description="Entity attribute → the values it may have."
    )
    excluded: list[Name] = Field(default_factory=list, max_length=MAX_IDS, alias="except")
    everything: bool = Field(default=False, alias="all", description="Every instance of the workflow.")

    def selection(self) -> bulk.Selection:
        return bulk.Selection(
            entities=tuple(self.entities),
            states=tuple(self.states),
            where={k: tuple(v) for k, v in self.where.items()},
            excluded=tuple(self.excluded),
            everything=self.everything,
        )


class OutcomeBody(BaseModel):
    """One entity's part of a decision: its trigger (else the plan's) and fields (over the plan's)."""

    model_config = ConfigDict(extra="forbid")

    entity: Name
    trigger: Name | None = None
    data: Fields = Field(default_factory=dict)


class _Act(BaseModel):
    """What every plan names: the act, why, and for whom."""

    model_config = ConfigDict(extra="forbid")

    reference: Annotated[str, AfterValidator(_plain)] = Field(
        min_length=1, max_length=bulk.MAX_REFERENCE, description="The act, e.g. CIADT du …"
    )
    reason: Reason
    on_behalf_of: Actor | None = None
    workflow: Name | None = None


class DecisionPlan(_Act):
    """A bulk decision: one trigger and its fields for a selection, or each entity's own outcome."""

    kind: Literal["decision"]
    trigger: Name | None = None
    data: Fields = Field(default_factory=dict)
    selection: SelectionBody | None = None
    outcomes: list[OutcomeBody] | None = Field(default=None, min_length=1, max_length=MAX_IDS)
    at: Instant | None = Field(default=None, description="The decision's business time (RFC 3339 with its offset).")

    @field_validator("at")
    @classmethod
    def _representable(cls, value: Any) -> Any:
        return in_utc(value)


class TimerMovePlan(_Act):
    """Deadline moves: timer ``timer`` of every instance of the selection, ``to`` an instant or ``by`` an offset."""

    kind: Literal["timer_move"]
    timer: Name
    to: Instant | None = None
    by: Offset | None = None
    selection: SelectionBody

    @field_validator("to")
    @classmethod
    def _representable(cls, value: Any) -> Any:
        return in_utc(value)


class MigrationPlan(BaseModel):
    """The migration of live instances described by a migration file of the configured folder, by name."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["migration"]
    migration: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$", description="The file's name, no suffix.")]
    reason: Reason
    on_behalf_of: Actor | None = None
    at: Instant | None = Field(default=None, description="The migration's business time (RFC 3339 with its offset).")

    @field_validator("at")
    @classmethod
    def _representable(cls, value: Any) -> Any:
        return in_utc(value)


PlanBody = Annotated[DecisionPlan | TimerMovePlan | MigrationPlan, Field(discriminator="kind")]


class TimerMove(BaseModel):
    """Where one pending timer goes (``to`` an instant or ``by`` an offset), and why."""

    model_config = ConfigDict(extra="forbid")

    to: Instant | None = None
    by: Offset | None = None
    reason: Reason
    on_behalf_of: Actor | None = None

    @field_validator("to")
    @classmethod
    def _representable(cls, value: Any) -> Any:
        return in_utc(value)


def _invalid(loc: Sequence[str | int], message: str, value: Any = None) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body", *loc), "msg": message, "input": value}])


def _shift(body: TimerMovePlan | TimerMove) -> timer_moves.Shift:
    if (body.to is None) == (body.by is None):
        raise _invalid(("to",), "give exactly one of to (an instant) or by (an offset such as +1 year)")
    return timer_moves.Shift(to=body.to, by=body.by)


def _outcomes(body: DecisionPlan) -> list[bulk.Outcome] | None:
    if body.outcomes is None:
        return None
    found = []
    for n, outcome in enumerate(body.outcomes):
        trigger = outcome.trigger or body.trigger
        if trigger is None:
            raise _invalid(("outcomes", n, "trigger"), "no trigger for this entity, and none for the plan")
        found.append(bulk.Outcome(outcome.entity, trigger, {**body.data, **outcome.data}))
    return found


def _planner(who: Caller) -> None:
    """Plans are the supervisors' (and admins'), never an entity's account: they span the portfolio."""
    require(who, "supervisor")
    if who.account.entity is not None:
        raise Refused(403, "forbidden", "a stakeholder account acts on its own entity only, not on plans")


def _rejected(error: PlanRejected) -> JSONResponse:
    """A plan that cannot be made from this request (nothing was stored), with every problem found."""
    found = [{"where": p.file, "line": p.line, "problem": p.message} for p in error.problems[:50]]
    detail = "no plan made: " + "; ".join(p.message for p in error.problems[:5])
    return problem(422, "plan-rejected", "PlanRejected", detail, {"problems": found, "count": len(error.problems)})


def _with_items(plan: Batch, items: Sequence[BatchItem], limit: int) -> dict[str, Any]:
    """A plan with a page of its items (``items`` holds one more when there are more: ``next`` is then set)."""
    shown = items[:limit]
    more = len(items) > limit
    return batch_json(plan) | {
        "items": [batch_item_json(i) for i in shown],
        "next": shown[-1].seq if more else None,
    }


@router.post(
    "/batches",
    status_code=201,
    summary="Plan a bulk decision, deadline moves or a migration: stored and previewed, nothing fired",
    responses=problem_responses(400, 403, 404, 409, 411, 413, 422, 429),
)
def create_batch(
    request: Request,
    who: Who,
    body: Annotated[PlanBody, Body()],
    idempotency_key: Annotated[str | None, Header(max_length=idempotency.MAX_KEY)] = None,
) -> JSONResponse:
    """Freeze the plan and preview it entity by entity (supervisors); ``Location`` names it. With an
    ``Idempotency-Key``, a retry answers the plan the first request made (as it stands now)."""
    _planner(who)
    limits.take(request, who, "fires")
    bad_key = idempotency.invalid_key(idempotency_key)
    if bad_key is not None:
        return bad_key
    engine = runtime_of(request).engine
    print_ = idempotency.fingerprint("batches", body.model_dump(mode="json"))
    if idempotency_key is not None:
        again = _kept_plan(request, who, idempotency_key, print_)
        if again is not None:
            return again
    actor = body.on_behalf_of or who.account.name
    try:
        if isinstance(body, DecisionPlan):
            report = bulk.plan_decision(
                engine,
                reference=body.reference,
                actor=actor,
                reason=body.reason,
                selection=body.selection.selection() if body.selection is not None else None,
                trigger=body.trigger,
                data=body.data,
                outcomes=_outcomes(body),
                at=body.at,
                workflow=body.workflow,
                principal=who.principal,
            )
        elif isinstance(body, MigrationPlan):
            report = _plan_migration(request, body, actor, who)
        else:
            report = timer_moves.plan_moves(
                engine,
                body.timer,
                _shift(body),
                body.selection.selection(),
                reference=body.reference,
                actor=actor,
                reason=body.reason,
                workflow=body.workflow,
                principal=who.principal,
            )
    except PlanRejected as exc:
        return _rejected(exc)
    headers = {"Location": f"/api/v1/batches/{report.batch.id}"}
    if idempotency_key is not None and not _keep_plan(request, who, idempotency_key, print_, report.batch.id):
        plans.cancel(engine, report.batch.id)  # the same request, raced: the first one's plan stands
        again = _kept_plan(request, who, idempotency_key, print_)
        if again is not None:
            return again
    answer = _with_items(report.batch, report.items, PREVIEW_SHOWN)
    return JSONResponse(jsonable_encoder(answer), status_code=201, headers=headers)


def _kept_plan(request: Request, who: Caller, key: str, print_: str) -> JSONResponse | None:
    """The answer to a retried creation: the plan the key made, as it stands now (or the key's refusal)."""
    runtime = runtime_of(request)
    since = runtime.engine.clock.now() - idempotency.ANSWERS_KEPT
    with runtime.db.read() as conn:
        kept = asql.get_answer(conn, who.account.name, key, since)
        if kept is None:
            return None
        refused = idempotency.reused(kept, print_)
        if refused is not None:
            return refused
        plan = bsql.get_batch(conn, int(kept["body"]["id"]))
        if plan is None:  # pragma: no cover - plans are never deleted
            return None
        items = bsql.items(conn, plan.id, after=-1, limit=PREVIEW_SHOWN + 1, status=None)
    answer = jsonable_encoder(_with_items(plan, items, PREVIEW_SHOWN))
    headers = {**kept["headers"], "Idempotent-Replayed": "true"}
    return JSONResponse(answer, status_code=201, headers=headers)


def _keep_plan(request: Request, who: Caller, key: str, print_: str, batch_id: int) -> bool:
    """Keep the key's answer (the plan's id); False if a concurrent request with the key kept it first."""
    runtime = runtime_of(request)
    now = runtime.engine.clock.now()
    values = {
        "account": who.account.name,
        "key": key,
        "fingerprint": print_,
        "status": 201,
        "headers": {"Location": f"/api/v1/batches/{batch_id}"},
        "body": {"id": batch_id},
        "created_at": now,
    }
    try:
        with runtime.db.write() as conn:
            asql.keep_answer(conn, values, now - idempotency.ANSWERS_KEPT)
    except DatabaseError:
        return False
    return True


def _plan_migration(request: Request, body: MigrationPlan, actor: str, who: Caller) -> plan_items.PlanReport:
    """Plan the migration file ``body.migration`` of the configured folder (never a path the caller gives)."""
    runtime = runtime_of(request)
    folder = runtime.settings.migrations
    found = [folder / f"{body.migration}{suffix}" for suffix in (".yaml", ".yml")]
    path = next((f for f in found if f.is_file()), None)
    if path is None:
        known = sorted(f.stem for f in folder.glob("*.y*ml")) if folder.is_dir() else []
        raise NotFound("migration", body.migration, f"known: {', '.join(known) or 'none'} (in the migrations folder)")
    try:
        loaded = migration.load_migration(path, runtime.engine)
        return migration.plan_migration(
            runtime.engine, loaded, actor=actor, reason=body.reason, at=body.at, principal=who.principal
        )
    except PlanRejected as exc:  # the problems name the file by its name, not the server's path
        raise PlanRejected([Problem(path.name, p.line, p.message) for p in exc.problems]) from None


@router.get("/batches", summary="Plans, the latest first", responses=problem_responses(403, 422))
def list_batches(
    request: Request,
    who: Who,
    kind: Annotated[Literal["decision", "timer_move", "migration"] | None, Query()] = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """The latest plans with their items' counts by status (supervisors)."""
    _planner(who)
    found = plans.listing(runtime_of(request).engine, kind=kind, limit=limit)
    return {"items": [batch_json(b) for b in found]}


@router.get(
    "/batches/{batch_id}",
    summary="A plan, its counts and a page of its items",
    responses=problem_responses(403, 404, 422),
)
def show_batch(
    request: Request,
    who: Who,
    batch_id: PlanId,
    after: Annotated[int | None, Query(ge=0, le=MAX_SEQ, description="The `next` of the previous page.")] = None,
    limit: Limit = 100,
    status: Annotated[ItemStatus | None, Query(description="Only the items of this status.")] = None,
) -> dict[str, Any]:
    """The plan and its items in order (after item ``after``), each with its preview and outcome."""
    _planner(who)
    if not 0 < batch_id < 2**63:
        raise NotFound("plan", batch_id, "GET /api/v1/batches lists the plans")
    with runtime_of(request).engine.db.read() as conn:
        plan = bsql.get_batch(conn, batch_id)
        if plan is None:
            raise NotFound("plan", batch_id, "GET /api/v1/batches lists the plans")
        page = bsql.items(conn, batch_id, after=-1 if after is None else after, limit=limit + 1, status=status)
    return _with_items(plan, page, limit)


@router.post(
    "/batches/{batch_id}/execution",
    summary="Run a plan's pending items (once each)",
    responses=problem_responses(403, 404, 409, 422, 429),
)
def execute_batch(request: Request, who: Who, batch_id: PlanId) -> dict[str, Any]:
    """Execute what is pending, in the request; items whose instance changed since are reported, not fired."""
    _planner(who)
    limits.take(request, who, "fires")
    report = plans.run(runtime_of(request).engine, batch_id, executed_by=who.principal)
    run = {"done": report.done, "changed": report.changed, "failed": report.failed, "remaining": report.remaining}
    return batch_json(report.batch) | {"run": run | {"stopped": report.stopped}}


@router.post(
    "/batches/{batch_id}/cancellation",
    summary="Cancel a plan not finished",
    responses=problem_responses(403, 404, 409, 422),
)
def cancel_batch(request: Request, who: Who, batch_id: PlanId) -> dict[str, Any]:
    """Its items not run yet are cancelled; those done stay done (409 once it is done or cancelled)."""
    _planner(who)
    return batch_json(plans.cancel(runtime_of(request).engine, batch_id))


def _pending_timer(request: Request, who: Caller, timer_id: int, version: int) -> Timer:
    """The timer, if it is pending on an instance ``who`` sees at ``version``; else why not."""
    if not 0 < timer_id < 2**63:
        raise NotFound("timer", timer_id, "")
    with runtime_of(request).engine.db.read() as conn:
        timer = reads.get_timer(conn, timer_id)
        if timer is None or not who.sees(timer.entity):
            raise NotFound("timer", timer_id, "GET /api/v1/timers lists the pending ones")
        current = fires.load_instance(conn, timer.entity, timer.workflow)
    if timer.status is not TimerStatus.PENDING:
        raise ActionRefused("move", f"timer {timer_id} ({timer.entity}/{timer.name})", timer.status.value, "pending")
    if current is None or current.version != version:  # then its version cannot come back: the timer is this one
        raise ConcurrentUpdate(timer.entity, version, None if current is None else current.version)
    return timer


@router.patch(
    "/timers/{timer_id}",
    summary="Move a pending deadline",
    responses=problem_responses(400, 403, 404, 409, 411, 412, 413, 422, 428, 429),
)
def move_timer(
    request: Request,
    who: Who,
    timer_id: int,
    body: TimerMove,
    if_match: Annotated[str | None, Header(description="The instance's ETag: its version.")] = None,
) -> JSONResponse:
    """Move the timer to an instant or by an offset, recorded as an event of its instance (operators)."""
    require(who, "operator")
    limits.take(request, who, "fires")
    version = expected_version(if_match)
    if isinstance(version, JSONResponse):
        return version
    shift = _shift(body)
    timer = _pending_timer(request, who, timer_id, version)
    moved = timer_moves.move_timer(
        runtime_of(request).engine,
        timer.entity,
        timer.name,
        shift,
        actor=body.on_behalf_of or who.account.name,
        reason=body.reason,
        workflow=timer.workflow,
        principal=who.principal,
        expected_version=version,
    )
    answer = {
        "entity": moved.entity,
        "timer": moved.timer,
        "from": moved.old_due,
        "to": moved.new_due,
        "overdue": moved.overdue,
        "version": moved.seq,
    }
    return JSONResponse(jsonable_encoder(answer), headers={"ETag": f'"{moved.seq}"'})
