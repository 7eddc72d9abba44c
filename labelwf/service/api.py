"""The REST API, ``/api/v1``: instances, their history and transitions, timers, workflows, audit.

* Reads page by keyset cursor (``after``, ``limit``; ``{"items", "next", "more", "more_is_at_least"}``).
* An instance's ``ETag`` is its version; a transition needs ``If-Match`` with it (428 without,
  412 when someone changed the instance since), and may carry an ``Idempotency-Key``: a retry
  with the same key and body returns the first answer and does the work once (for a day: then the
  key is forgotten).
* The acting user is the authenticated account: the event records it as its principal (with the
  request's id); ``on_behalf_of`` is recorded as the actor beside it, never instead of it.

The transition route itself, the one most called, is ``fire_api``'s; this module keeps the reads
and what the API's routes share (the caller's checks, ``If-Match``, instants).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BeforeValidator

from ..audit.export import event_json
from ..audit.trail import verify_trail
from ..engine import queries
from ..engine.representations import instance_json, timer_json, view_json
from ..errors import LabelwfError, NotFound
from ..operations.entity_versions import entity_as_of
from ..runtime import Runtime
from ..store.records import Page
from .auth import Caller, Refused, caller, require
from .problems import error_problem, problem, problem_responses, request_locale

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


def require_visible(who: Caller, entity: str) -> None:
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
    request: Request,
    who: Who,
    entity: str,
    workflow: Annotated[str | None, Query(max_length=100)] = None,
    as_of: Annotated[AwareDatetime | None, Query(description="The entity as it was then (name, region…)")] = None,
) -> JSONResponse:
    """The instance with the transitions this caller may fire; its ``ETag`` is its version. With
    ``as_of``, the entity's name and attributes are the version in force at that instant."""
    require_visible(who, entity)
    engine = runtime_of(request).engine
    view = queries.describe(engine, entity, workflow)
    if as_of is not None:
        view = replace(view, instance=replace(view.instance, entity=entity_as_of(engine, entity, as_of)))
    body = view_json(view) | ({"as_of": as_of.isoformat()} if as_of is not None else {})
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
    require_visible(who, entity)
    engine = runtime_of(request).engine
    page = page_json(queries.history(engine, entity, workflow, after=after, limit=limit), event_json)
    if who.account.entity is not None:  # a stakeholder sees decisions, not the staff's accounts and machines
        for item in page["items"]:
            item["principal"] = None
    return page


def in_utc(value: datetime | None) -> datetime | None:
    """``value`` if it has a UTC instant (``9999-12-31T23:59-23:59`` has none)."""
    if value is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("an instant between years 1 and 9999 in UTC") from None
    return value


def expected_version(if_match: str | None) -> int | JSONResponse:
    """The instance version an ``If-Match`` header names, or the problem that refuses it: 428 without
    one (or with ``*``, which names none), 412 for what is no ETag of an instance."""

    def refused(status: int, kind: str, detail: str) -> JSONResponse:
        return problem(status, kind, "Precondition", detail, {"if_match": if_match})

    if if_match is None:
        return refused(428, "precondition-required", "send If-Match with the instance's ETag (its version)")
    if if_match.strip() == "*":
        return refused(428, "precondition-required", "If-Match: * does not say which version you saw")
    text = if_match.strip().strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 12:  # W/"7" is refused: RFC 9110 compares strongly
        return refused(
            412,
            "precondition-failed",
            f"If-Match {if_match!r} is not an ETag of an instance: its version in quotes, as in its ETag header",
        )
    return int(text)


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
        in_utc(due_before)
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
    report = verify_trail(runtime.db, key=runtime.audit_key, folder=runtime.checkpoint_folder, entity=entity)
    return report.as_json() | {"checked_at": runtime.engine.clock.now()}


def labelwf_errors(request: Request, exc: Exception) -> JSONResponse:
    """Every ``LabelwfError`` a route raises, as its problem."""
    assert isinstance(exc, LabelwfError)
    return error_problem(exc, request_locale(request))
