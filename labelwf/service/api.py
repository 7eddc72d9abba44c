"""The REST API, ``/api/v1``: instances, their history and transitions, timers, workflows, audit.

* Reads page by keyset cursor (``after``, ``limit``; ``{"items", "next", "more", "more_is_at_least"}``).
* An instance's ``ETag`` is its version; a transition needs ``If-Match`` with it (428 without,
  412 when someone changed the instance since), and may carry an ``Idempotency-Key``: a retry
  with the same key and body returns the first answer and does the work once (for a day: then the
  key is forgotten).
* The acting user is the authenticated account: the event records it as its principal (with the
  request's id); ``on_behalf_of`` is recorded as the actor beside it, never instead of it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from .. import audit, queries
from ..decision import MAX_ACTOR, MAX_REASON
from ..decision import Request as FireRequest
from ..errors import ConcurrentUpdate, LabelwfError, NotFound
from ..representations import event_json, fired_json, instance_json, timer_json, verify_json, view_json
from ..runtime import Runtime
from ..store import accounts as sql
from ..store.records import Page
from . import bodies, idempotency, limits
from .auth import Caller, Refused, caller, require
from .problems import error_problem, problem, problem_responses

Who = Annotated[Caller, Depends(caller)]


async def plain_parameters(request: Request, who: Who) -> None:
    """Refuse (422) a path or query parameter holding U+0000, once the caller is known: no stored text holds
    one, and PostgreSQL would answer an error for it where there is nothing to find."""
    found = [
        {"type": "value_error", "loc": (where, name), "msg": "U+0000 is not allowed in a text", "input": value}
        for where, items in (("path", request.path_params.items()), ("query", request.query_params.multi_items()))
        for name, value in items
        if isinstance(value, str) and "\x00" in value
    ]
    if found:
        raise RequestValidationError(found)


# Every route may answer these; each documents its own others too (all RFC 9457 problems).
router = APIRouter(prefix="/api/v1", dependencies=[Depends(plain_parameters)], responses=problem_responses(401, 503))
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
After = Annotated[str | None, Query(max_length=2000, description="The `next` cursor of the previous page.")]
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _rfc3339_text(value: Any) -> Any:
    """``value`` if it is written as a date and time; pydantic alone also takes ``0.5`` (seconds since 1970)."""
    if not (isinstance(value, str) and _RFC3339.match(value)):
        raise ValueError("an RFC 3339 date-time with its offset, such as 2008-07-01T09:00:00+02:00")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def page_json(page: Page[Any], item: Any) -> dict[str, Any]:
    return {
        "items": [item(i) for i in page.items],
        "next": page.next,
        "more": page.more,
        "more_is_at_least": page.more_capped_at is not None,
    }


def _visible(who: Caller, entity: str) -> None:
    if not who.sees(entity):  # as if it did not exist: a stakeholder learns nothing of other entities
        raise NotFound("instance", entity, "")


@router.get("/instances", summary="List instances, a page at a time", responses=problem_responses(400, 404, 422))
def list_instances(
    request: Request,
    who: Who,
    workflow: Annotated[str | None, Query(max_length=100)] = None,
    state: Annotated[str | None, Query(max_length=100)] = None,
    after: After = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Instances by entity id; a stakeholder sees only its entity's."""
    runtime = runtime_of(request)
    if who.account.entity is not None:
        try:
            found = [queries.find(runtime.engine, who.account.entity, workflow)]
        except NotFound:
            found = []
        items = [i for i in found if state in (None, i.state)]
        return {"items": [instance_json(i) for i in items], "next": None, "more": 0, "more_is_at_least": False}
    page = queries.list_instances(runtime.engine, workflow=workflow, state=state, after=after, limit=limit)
    return page_json(page, instance_json)


@router.get(
    "/instances/{entity}",
    summary="An instance: state, allowed transitions, timers, letters",
    responses=problem_responses(400, 404, 422),
)
def show_instance(
    request: Request, who: Who, entity: str, workflow: Annotated[str | None, Query(max_length=100)] = None
) -> JSONResponse:
    """The instance with the transitions this caller may fire; its ``ETag`` is its version."""
    _visible(who, entity)
    view = queries.describe(runtime_of(request).engine, entity, workflow)
    body = view_json(view)
    may_fire = who.account.may("operator")  # what this caller may fire: the operators' transitions, or nothing
    body["allowed"] = [a for a in body["allowed"] if may_fire and "operator" in a["roles"]]
    return JSONResponse(jsonable_encoder(body), headers={"ETag": f'"{view.instance.version}"'})


@router.get(
    "/instances/{entity}/history",
    summary="The audit trail of an instance, oldest first",
    responses=problem_responses(400, 404, 422),
)
def history(
    request: Request,
    who: Who,
    entity: str,
    workflow: Annotated[str | None, Query(max_length=100)] = None,
    after: After = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Every event: who decided what, when, why; each with its principal and hash."""
    _visible(who, entity)
    engine = runtime_of(request).engine
    page = page_json(queries.history(engine, entity, workflow, after=after, limit=limit), event_json)
    if who.account.entity is not None:  # a stakeholder sees decisions, not the staff's accounts and machines
        for item in page["items"]:
            item["principal"] = None
    return page


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
        return _in_utc(value)


def _in_utc(value: datetime | None) -> datetime | None:
    """``value`` if it has a UTC instant (``9999-12-31T23:59-23:59`` has none)."""
    if value is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("an instant between years 1 and 9999 in UTC") from None
    return value


def _version(if_match: str | None) -> int:
    if if_match is None:
        raise _Precondition(428, "precondition-required", "send If-Match with the instance's ETag (its version)")
    if if_match.strip() == "*":
        raise _Precondition(428, "precondition-required", "If-Match: * does not say which version you saw")
    text = if_match.strip().strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 12:  # W/"7" is refused: RFC 9110 compares strongly
        raise _Precondition(
            412,
            "precondition-failed",
            f"If-Match {if_match!r} is not an ETag of an instance: its version in quotes, as in its ETag header",
        )
    return int(text)


class _Precondition(Exception):
    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


# The fire route reads its headers and body itself (what FastAPI would read for declared parameters,
# with the same errors), and documents them here: FastAPI's resolution of a body and two header
# parameters cost each fire 0.35 ms of the server's CPU, a tenth of all it spends on the request.
_FIRE_DOCUMENT: dict[str, Any] = {
    "parameters": [
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


async def _transition(request: Request, header_errors: list[dict[str, Any]]) -> Transition:
    """The request's body as a ``Transition``, refused as FastAPI refuses a body parameter (422 naming
    each field, ``body`` and the character where JSON breaks; 415 for a body of another type; 422 for
    a body without a type, which the guard of JSON bodies would not have read), with
    ``header_errors`` first. A JSON body that is not UTF-8 or nests too deeply never gets here: the
    application's guard (``bodies``) has refused it."""

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


@router.post(
    "/instances/{entity}/transitions",
    status_code=201,
    summary="Fire a transition",
    responses=problem_responses(400, 403, 404, 409, 411, 412, 413, 415, 422, 428, 429),
    openapi_extra=_FIRE_DOCUMENT,
)
async def fire(request: Request, who: Who, entity: str) -> Response:
    """Fire ``trigger`` on ``entity``'s instance as the authenticated account, in one transaction."""
    if_match, key = request.headers.get("if-match"), request.headers.get("idempotency-key")
    body = await _transition(request, _header_errors(key))
    return await run_in_threadpool(_fire, request, who, entity, body, if_match, key)


def _fire(
    request: Request, who: Caller, entity: str, body: Transition, if_match: str | None, idempotency_key: str | None
) -> Response:
    """The fire of a validated request, on a worker thread."""
    _visible(who, entity)
    require(who, "operator")
    limits.take(request, who, "fires")
    try:
        version = _version(if_match)
    except _Precondition as exc:
        return problem(exc.status, exc.kind, "Precondition", exc.detail, {"if_match": if_match})
    bad_key = idempotency.invalid_key(idempotency_key)
    if bad_key is not None:
        return bad_key
    runtime = runtime_of(request)
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
    )
    kept_since = runtime.engine.clock.now() - idempotency.ANSWERS_KEPT
    try:
        with runtime.db.write() as conn:
            if idempotency_key is not None:
                kept = sql.get_answer(conn, who.account.name, idempotency_key, kept_since)
                if kept is not None:
                    return _replayed(kept, fingerprint)
            fired = runtime.engine.apply(conn, fire_request)
            encoded = fired_json(fired)
            headers = {"ETag": f'"{fired.version}"', "Location": f"/api/v1/instances/{entity}"}
            if idempotency_key is not None:
                sql.keep_answer(
                    conn,
                    {
                        "account": who.account.name,
                        "key": idempotency_key,
                        "fingerprint": fingerprint,
                        "status": 201,
                        "headers": headers,
                        "body": encoded,
                        "created_at": runtime.engine.clock.now(),
                    },
                    kept_since,
                )
    except LabelwfError as exc:
        request.app.state.metrics.fires.labels(_declared(runtime, body.trigger), type(exc).__name__).inc()
        if not isinstance(exc, ConcurrentUpdate):
            raise
        if idempotency_key is not None:  # the same request, raced: its first answer, if it is kept now
            with runtime.db.read() as conn:
                kept = sql.get_answer(conn, who.account.name, idempotency_key, kept_since)
            if kept is not None:
                return _replayed(kept, fingerprint)
        return error_problem(exc)
    request.app.state.metrics.fires.labels(body.trigger, "fired").inc()
    return JSONResponse(encoded, status_code=201, headers=headers)


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


@router.get(
    "/timers",
    summary="Pending deadlines across the portfolio, soonest first",
    response_model=None,
    responses=problem_responses(400, 403, 422),
)
def timers(
    request: Request,
    who: Who,
    due_before: Annotated[Instant | None, Query()] = None,
    after: After = None,
    limit: Limit = 100,
) -> dict[str, Any] | JSONResponse:
    """Every pending timer (not for stakeholders, who see their entity's on the instance)."""
    require(who, "viewer")
    if who.account.entity is not None:
        raise Refused(403, "forbidden", "a stakeholder account sees its own entity's timers on the instance")
    try:
        _in_utc(due_before)
    except ValueError as exc:
        return problem(422, "invalid-request", "Invalid request", f"due_before: {exc}", {"value": str(due_before)})
    page = queries.pending_timers(runtime_of(request).db, due_before=due_before, after=after, limit=limit)
    return page_json(page, timer_json)


@router.get("/workflows", summary="The loaded workflow versions")
def workflows(request: Request, who: Who) -> dict[str, Any]:
    """Name, version, title, states and triggers of every loaded workflow version."""
    return {
        "items": [
            {
                "workflow": w.name,
                "version": w.version,
                "title": w.title,
                "initial": w.initial,
                "states": list(w.states),
                "triggers": list(w.all_triggers),
            }
            for w in runtime_of(request).engine.workflows
        ]
    }


@router.get("/audit/verify", summary="Recompute every hash chain", responses=problem_responses(403, 404, 422))
def verify(request: Request, who: Who, entity: Annotated[str | None, Query(max_length=100)] = None) -> dict[str, Any]:
    """The audit trail verified (with the audit key when the server has it); supervisors and admins."""
    require(who, "supervisor")
    runtime = runtime_of(request)
    report = audit.verify(runtime.db, entity=entity, key=runtime.audit_key)
    return verify_json(report) | {"checked_at": runtime.engine.clock.now()}


def labelwf_errors(request: Request, exc: Exception) -> JSONResponse:
    """Every ``LabelwfError`` a route raises, as its problem."""
    assert isinstance(exc, LabelwfError)
    return error_problem(exc)
