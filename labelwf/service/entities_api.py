"""Entities that change, over the API: a cessation (the label ends with the entity, no decision
letter) and a merger (the label passes to an absorbing or a new entity). Both are supervisors' acts
on the portfolio, each one chain event per instance ended, written by ``labelwf.operations.entity_changes``.
The acting user is the authenticated account; ``on_behalf_of`` is recorded beside it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..operations import entity_changes
from . import limits
from .api import Instant, Who, in_utc, plain_parameters, runtime_of
from .batches_api import MAX_IDS, Actor, Name, Reason, _planner
from .problems import problem_responses

router = APIRouter(prefix="/api/v1", dependencies=[Depends(plain_parameters)], responses=problem_responses(401, 503))
EntityId = Annotated[str, Path(min_length=1, max_length=100, description="The entity's id.")]


class _Change(BaseModel):
    """Why, when and in which workflow an entity's change is recorded."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    on_behalf_of: Actor | None = None
    at: Instant | None = Field(default=None, description="When it happened (RFC 3339 with its offset).")
    workflow: Name | None = Field(default=None, description="The workflow, when the entity has instances in several.")

    @field_validator("at")
    @classmethod
    def _representable(cls, value: Any) -> Any:
        return in_utc(value)


class Cessation(_Change):
    """An entity that ceased (a liquidation, a dissolution)."""


class Merger(_Change):
    """Entities that merge ``into`` an absorbing live entity, or into a new one named ``name``."""

    merging: list[Name] = Field(min_length=1, max_length=MAX_IDS)
    into: Name
    name: Annotated[str, Field(min_length=1, max_length=300)] | None = None


def _change_json(change: entity_changes.Change) -> dict[str, Any]:
    return {"ended": list(change.ended), "successor": change.successor, "successor_version": change.successor_version}


@router.post(
    "/entities/{entity}/cessation",
    summary="End an entity's label because the entity ceased (no decision, no letter)",
    responses=problem_responses(400, 403, 404, 409, 411, 413, 422, 429),
)
def cease(request: Request, who: Who, entity: EntityId, body: Annotated[Cessation, Body()]) -> JSONResponse:
    """The entity's live instance ends in its workflow's ``ceased`` ending (supervisors)."""
    _planner(who)
    limits.take(request, who, "fires")
    change = entity_changes.cease(
        runtime_of(request).engine,
        entity,
        actor=body.on_behalf_of or who.account.name,
        reason=body.reason,
        at=body.at,
        workflow=body.workflow,
        principal=who.principal,
    )
    return JSONResponse(jsonable_encoder(_change_json(change)))


@router.post(
    "/mergers",
    status_code=201,
    summary="Pass the labels of merging entities to an absorbing or a new entity",
    responses=problem_responses(400, 403, 404, 409, 411, 413, 422, 429),
)
def merge(request: Request, who: Who, body: Annotated[Merger, Body()]) -> JSONResponse:
    """Each merging instance ends with an event naming its successor (supervisors); ``Location``
    names the successor's instance."""
    _planner(who)
    limits.take(request, who, "fires")
    change = entity_changes.merge(
        runtime_of(request).engine,
        body.merging,
        body.into,
        actor=body.on_behalf_of or who.account.name,
        reason=body.reason,
        name=body.name,
        at=body.at,
        workflow=body.workflow,
        principal=who.principal,
    )
    headers = {"Location": f"/api/v1/instances/{body.into}"}
    return JSONResponse(jsonable_encoder(_change_json(change)), status_code=201, headers=headers)
