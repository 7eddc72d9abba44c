"""``POST /api/v1/instances/{entity}/transitions``: a transition fired through the API.

The route most called under load, and the one whose cost is measured against ``Engine.fire`` in
the same process (``benchmarks/bench_api.py``). Two choices make it cheaper than a plain FastAPI
route, each measured there:

* It reads its caller, headers and body itself, with the errors FastAPI gave (``Transition``
  validates the body, ``caller`` the token, ``plain_parameters`` the path), and documents them in
  ``_DOCUMENT``: FastAPI's resolution of dependencies and parameters cost a tenth of the request.
  ``_OwnReading`` is the route class that hands FastAPI's routing the endpoint as it is.
* On SQLite, when no writer holds the lock at that instant (``Database.write_now``), the fire runs
  on the event loop: the hand-over to a worker thread and back cost more than the fire. Its work
  (decision, event, timers, letters) is CPU, which holds the interpreter wherever it runs; its
  commit waits for the WAL's fsync, on the loop, and copies nothing back into the database file
  (a thread checkpoints the WAL: ``store.prompt``). When anyone else writes (another request, the
  daemon, the CLI), the fire goes to a worker thread, which waits for the lock as every write
  does: the loop never waits for a lock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool

from ..engine.decision import MAX_ACTOR, MAX_REASON
from ..engine.decision import Request as FireRequest
from ..engine.representations import fired_json
from ..errors import ConcurrentUpdate, LabelwfError
from ..runtime import Runtime
from ..store import WriteWouldWait
from ..store import accounts as sql
from . import bodies, idempotency, limits
from .api import Instant, expected_version, in_utc, plain_parameters, require_visible, runtime_of
from .auth import Caller, caller, require
from .problems import error_problem, problem_responses


class Transition(BaseModel):
    """A transition to fire: the trigger, its declared fields, and why."""

    model_config = ConfigDict(extra="forbid")

    trigger: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=MAX_REASON)
    fields: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=50)
    at: Instant | None = Field(default=None, description="Business time (RFC 3339 with its offset).")
    on_behalf_of: str | None = Field(default=None, min_length=1, max_length=MAX_ACTOR)
    workflow: str | None = Field(default=None, max_length=100)

    @field_validator("at")
    @classmethod
    def _representable(cls, value: datetime | None) -> datetime | None:
        return in_utc(value)


class _OwnReading(APIRoute):
    """A route that FastAPI documents from its declaration (``openapi_extra`` included) and whose
    endpoint, called with the request alone, reads its caller, parameters and body itself: no
    dependency or parameter is resolved for it. The application's exception handlers answer
    what it raises, as for every route."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().__init__(path, endpoint, **options)
        if self.dependencies:  # they would never run: the endpoint must call them itself
            raise TypeError(f"{path}: a route that reads its own request takes no dependencies")

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return endpoint


router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 503))

# What the route reads itself, as FastAPI would have documented it for declared parameters.
_DOCUMENT: dict[str, Any] = {
    "parameters": [
        {"name": "entity", "in": "path", "required": True, "schema": {"type": "string", "title": "Entity"}},
        {
            "name": "if-match",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "title": "If-Match"},
            "description": "The instance's ETag: its version.",
        },
        {
            "name": "idempotency-key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": idempotency.MAX_KEY, "title": "Idempotency-Key"},
            "description": "A key of your own for this request: a retry with it gets the first answer.",
        },
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Transition"}}},
    },
}


def document_schemas(document: dict[str, Any]) -> None:
    """Add to the OpenAPI ``document`` the schemas of bodies that routes read themselves."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Transition", Transition.model_json_schema(ref_template="#/components/schemas/{model}"))


async def fire(request: Request) -> Response:
    """Fire ``trigger`` on ``entity``'s instance as the authenticated account, in one transaction."""
    who = await caller(request)
    await plain_parameters(request, who)
    entity: str = request.path_params["entity"]
    if_match, key = request.headers.get("if-match"), request.headers.get("idempotency-key")
    body = await _transition(request, _header_errors(key))
    prepared = _prepare(request, who, entity, body, if_match, key)
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
        return error_problem(exc)
    if fired:
        fires.labels(prepared.request.trigger, "fired").inc()
    return answer


router.add_api_route(
    "/instances/{entity}/transitions",
    fire,
    methods=["POST"],
    status_code=201,
    summary="Fire a transition",
    responses=problem_responses(400, 403, 404, 409, 411, 412, 413, 415, 422, 428, 429),
    openapi_extra=_DOCUMENT,
    route_class_override=_OwnReading,
)


async def _transition(request: Request, header_errors: list[dict[str, Any]]) -> Transition:
    """The request's body as a ``Transition``, refused as FastAPI refuses a body parameter (422 naming
    each field, ``body`` and the character where JSON breaks; 415 for a body of another type; 422 for
    a body without a type, which the guard of JSON bodies would not have read), with
    ``header_errors`` first. A JSON body that is not UTF-8, nests too deeply or holds a number too
    long to convert never gets here: the application's guard (``bodies``) has refused it."""

    def refused(*errors: dict[str, Any]) -> RequestValidationError:
        return RequestValidationError([*header_errors, *errors])

    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    if content_type and not bodies.is_json(content_type):  # answered 415 by the application's handler
        raise refused({"type": "model_attributes_type", "loc": ("body",), "msg": "not JSON", "input": None})
    if not raw:
        raise refused({"type": "missing", "loc": ("body",), "msg": "Field required", "input": None})
    if not content_type:
        raise refused(
            {"type": "missing", "loc": ("body",), "msg": "send Content-Type: application/json", "input": None}
        )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        at: dict[str, Any] = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error"}
        raise refused({**at, "input": None, "ctx": {"error": exc.msg}}) from None
    except ValueError as exc:  # a number Python will not convert; the guard (``bodies``) refuses it first
        raise refused({"type": "value_error", "loc": ("body",), "msg": str(exc), "input": None}) from None
    try:
        body = Transition.model_validate(value, from_attributes=True)  # its messages as for a body parameter
    except ValidationError as exc:
        raise refused(*({**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False))) from None
    if header_errors:
        raise refused()
    return body


def _header_errors(key: str | None) -> list[dict[str, Any]]:
    """What FastAPI said of an Idempotency-Key header longer than its bound (its other faults are the
    route's to say, in their turn)."""
    if key is None or len(key) <= idempotency.MAX_KEY:
        return []
    return [
        {
            "type": "string_too_long",
            "loc": ("header", "idempotency-key"),
            "msg": f"String should have at most {idempotency.MAX_KEY} characters",
            "input": key,
            "ctx": {"max_length": idempotency.MAX_KEY},
        }
    ]


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
        typed=True,
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
