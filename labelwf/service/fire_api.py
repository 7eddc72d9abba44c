"""``POST /api/v1/instances/{entity}/transitions``: a transition fired through the API.

The route most called under load, and the one whose cost is measured against ``Engine.fire`` in
the same process (``benchmarks/bench_api.py``). It is a plain FastAPI route (a ``Transition``
body, two ``Header`` parameters, the ``caller`` dependency, refusals answered by the
application's exception handlers), with one choice that makes it cheaper, measured there:

* On SQLite, when no writer holds the lock at that instant (``Database.write_now``), the fire runs
  on the event loop: the hand-over to a worker thread and back cost more than the fire. Its work
  (decision, event, timers, letters) is CPU, which holds the interpreter wherever it runs; its
  commit waits for the WAL's fsync, on the loop, and copies nothing back into the database file
  (a thread checkpoints the WAL: ``store.prompt``). When anyone else writes (another request, the
  daemon, the CLI), the fire goes to a worker thread, which waits for the lock as every write
  does: the loop never waits for a lock.

A route class that read its caller, headers and body itself, bypassing FastAPI's resolution of
dependencies and parameters, saved 8 to 11% of the server's CPU per fire and no fires/s, too
little to pay for re-implementing the framework (at least 20% would have been):
``benchmarks/ab_fire_route.py``, figures in ``docs/performance.md``.

One difference from that route, as for every route of the API with a body: FastAPI reads the
body before it resolves dependencies, so a body that is no JSON is refused (422) before the token
is looked at (401).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool

from ..engine.decision import MAX_ACTOR, MAX_REASON
from ..engine.decision import Request as FireRequest
from ..engine.representations import fired_json
from ..errors import ConcurrentUpdate, LabelwfError
from ..runtime import Runtime
from ..store import WriteWouldWait
from ..store import accounts as sql
from ..store.basis import Basis
from . import idempotency, limits
from .api import Instant, Who, expected_version, in_utc, plain_parameters, require_visible, runtime_of
from .auth import Caller, require
from .problems import error_problem, problem_responses, request_locale


class Transition(BaseModel):
    """A transition to fire: the trigger, its declared fields, and why."""

    model_config = ConfigDict(extra="forbid")

    trigger: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=MAX_REASON)
    fields: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=50)
    at: Instant | None = Field(default=None, description="Business time (RFC 3339 with its offset).")
    on_behalf_of: str | None = Field(default=None, min_length=1, max_length=MAX_ACTOR)
    workflow: str | None = Field(default=None, max_length=100)
    source: str | None = Field(default=None, description="The public record's source keys the decision rests on.")
    assumed: str | None = Field(default=None, description="What the decision assumes where the record is silent.")

    @property
    def basis(self) -> Basis | None:
        """The decision's basis (sealed with its event): an assumption, the record's keys, or none."""
        return Basis.said(self.source, self.assumed)

    @model_validator(mode="after")
    def _basis_is_valid(self) -> Transition:
        self.basis  # noqa: B018 -- raises ValueError (a 422 naming the problem) on a malformed source or text
        return self

    @model_validator(mode="before")
    @classmethod
    def _read_as_json(cls, value: Any) -> Any:
        # FastAPI hands over the raw bytes of a body sent without a Content-Type (it reads only a
        # body declared JSON as JSON); a body of another declared type is answered 415 by the
        # application's handler, whatever this says.
        if isinstance(value, bytes):
            raise PydanticCustomError("content_type", "send Content-Type: application/json")
        return value

    @field_validator("at")
    @classmethod
    def _representable(cls, value: datetime | None) -> datetime | None:
        return in_utc(value)


router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 503))
IfMatch = Annotated[str | None, Header(description="The instance's ETag: its version.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=idempotency.MAX_KEY,
        description="A key of your own for this request: a retry with it gets the first answer.",
    ),
]


@router.post(
    "/instances/{entity}/transitions",
    status_code=201,
    summary="Fire a transition",
    responses=problem_responses(400, 403, 404, 409, 411, 412, 413, 415, 422, 428, 429),
    dependencies=[Depends(plain_parameters)],
)
async def fire(
    request: Request,
    who: Who,
    entity: str,
    body: Transition,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Fire ``trigger`` on ``entity``'s instance as the authenticated account, in one transaction."""
    prepared = _prepare(request, who, entity, body, if_match, idempotency_key)
    if isinstance(prepared, Response):
        return prepared
    runtime = runtime_of(request)
    fires = request.app.state.metrics.fires
    try:
        answer, fired = await _committed(request, prepared)
    except LabelwfError as exc:
        fires.labels(_declared(runtime, prepared.request.trigger), type(exc).__name__).inc()
        if not isinstance(exc, ConcurrentUpdate):
            raise
        if prepared.idempotency_key is not None:  # the same request, raced: its first answer, if it is kept now
            kept = await run_in_threadpool(_kept_answer, runtime, prepared)
            if kept is not None:
                return kept
        return error_problem(exc, request_locale(request))
    if fired:
        fires.labels(prepared.request.trigger, "fired").inc()
    return answer


@dataclass(frozen=True)
class _Prepared:
    """A fire that passed every check that needs no database: what to fire, and what to keep of it."""

    request: FireRequest
    account: str
    idempotency_key: str | None
    fingerprint: str


def _prepare(
    request: Request, who: Caller, entity: str, body: Transition, if_match: str | None, idempotency_key: str | None
) -> _Prepared | Response:
    """The checks of a fire before the database (who may fire, how often, which version, which
    key), in that order: the fire to commit, or the answer that refuses it."""
    require_visible(who, entity)
    require(who, "operator")
    limits.take(request, who, "fires")
    version = expected_version(if_match)
    if isinstance(version, JSONResponse):
        return version
    bad_key = idempotency.invalid_key(idempotency_key)
    if bad_key is not None:
        return bad_key
    fingerprint = (
        "" if idempotency_key is None else idempotency.fingerprint(entity, version, body.model_dump(mode="json"))
    )
    fire_request = FireRequest(
        entity=entity,
        trigger=body.trigger,
        actor=body.on_behalf_of or who.account.name,
        reason=body.reason,
        data=body.fields,
        at=body.at,
        expected_version=version,
        workflow=body.workflow,
        principal=who.principal,
        agent=who.agent,  # its letters name the account's person (« Affaire suivie par »), not on_behalf_of
        typed=True,
        basis=body.basis,
    )
    return _Prepared(fire_request, who.account.name, idempotency_key, fingerprint)


async def _committed(request: Request, prepared: _Prepared) -> tuple[Response, bool]:
    """Fire ``prepared`` and commit it: its answer, and whether it fired (not a kept answer replayed).

    On SQLite, when no writer holds the lock, here on the event loop; otherwise on a worker thread,
    which waits for the lock as every write does."""
    db = runtime_of(request).db
    if db.is_sqlite:
        try:
            prompt = db.write_now()
        except WriteWouldWait:
            pass
        else:
            with prompt as conn:
                return _fire_in(request, prepared, conn)
    return await run_in_threadpool(_in_transaction, request, prepared)


def _in_transaction(request: Request, prepared: _Prepared) -> tuple[Response, bool]:
    with runtime_of(request).db.write() as conn:
        return _fire_in(request, prepared, conn)


def _fire_in(request: Request, prepared: _Prepared, conn: Connection) -> tuple[Response, bool]:
    """Fire ``prepared`` in ``conn``'s transaction and keep its answer for its Idempotency-Key, or
    find the first answer of that key: the answer, and whether it fired."""
    runtime = runtime_of(request)
    fire_request, key = prepared.request, prepared.idempotency_key
    kept_since = runtime.engine.clock.now() - idempotency.ANSWERS_KEPT
    if key is not None:
        kept = sql.get_answer(conn, prepared.account, key, kept_since)
        if kept is not None:
            return _replayed(kept, prepared.fingerprint), False
    fired = runtime.engine.apply(conn, fire_request)
    encoded = fired_json(fired)
    headers = {"ETag": f'"{fired.version}"', "Location": f"/api/v1/instances/{fire_request.entity}"}
    if key is not None:
        answer = {"status": 201, "headers": headers, "body": encoded, "created_at": runtime.engine.clock.now()}
        sql.keep_answer(
            conn, {"account": prepared.account, "key": key, "fingerprint": prepared.fingerprint, **answer}, kept_since
        )
    return JSONResponse(encoded, status_code=201, headers=headers), True


def _kept_answer(runtime: Runtime, prepared: _Prepared) -> Response | None:
    """The answer kept for ``prepared``'s Idempotency-Key (or its refusal if the key served another
    request), or None."""
    assert prepared.idempotency_key is not None
    kept_since = runtime.engine.clock.now() - idempotency.ANSWERS_KEPT
    with runtime.db.read() as conn:
        kept = sql.get_answer(conn, prepared.account, prepared.idempotency_key, kept_since)
    return None if kept is None else _replayed(kept, prepared.fingerprint)


def _declared(runtime: Runtime, trigger: str) -> str:
    """``trigger`` if a loaded workflow declares it, else ``(undeclared)``: a metric's labels stay few."""
    known = {t for w in runtime.engine.workflows for t in w.all_triggers}
    return trigger if trigger in known else "(undeclared)"


def _replayed(kept: Any, fingerprint: str) -> JSONResponse:
    refused = idempotency.reused(kept, fingerprint)
    if refused is not None:
        return refused
    headers = {**kept["headers"], "Idempotent-Replayed": "true"}
    return JSONResponse(kept["body"], status_code=kept["status"], headers=headers)
