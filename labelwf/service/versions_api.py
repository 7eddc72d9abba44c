"""An entity's dated versions over the API: ``GET`` lists them, ``POST`` records a new one (a pole
renamed, its region merged, a new president) from a date, never overwriting an earlier one.

Recording a version is an operator's act on the reference data (operators, supervisors, admins;
never a stakeholder's account, which would rewrite its own reference data). The acting user is the
authenticated account: the event records it as its principal; ``on_behalf_of`` is recorded as the
actor beside it. Written by ``labelwf.operations.entity_versions.change_entity``: one chain event
on the entity's newest instance and one version row, one transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import InvalidData
from ..operations.contact_changes import contact_changes
from ..operations.entity_versions import change_entity, entity_versions, version_json
from ..store.basis import Basis
from . import limits
from .api import Instant, Who, in_utc, plain_parameters, require_visible, runtime_of
from .auth import Caller, Refused, require
from .batches_api import Actor, Reason, _plain
from .problems import problem_responses

router = APIRouter(prefix="/api/v1", dependencies=[Depends(plain_parameters)], responses=problem_responses(401, 503))
EntityId = Annotated[str, Path(min_length=1, max_length=100, description="The entity's id.")]
Value = Annotated[str, Field(max_length=2000), AfterValidator(_plain)]
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,99}$", description="name, region, address, or an attribute")]
Text = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_plain)]


class Contact(BaseModel):
    """A contact of the new version; it replaces the contact of the same role (the others are kept)."""

    model_config = ConfigDict(extra="forbid")

    role: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
    name: Text
    address: Value | None = None
    email: Text | None = None
    civility: Text | None = None


class VersionChange(BaseModel):
    """What changes, from when, why, and where it comes from."""

    model_config = ConfigDict(extra="forbid")

    set: dict[Key, Value | None] = Field(
        default_factory=dict,
        max_length=50,
        description="New values: name, region, address or any attribute (null removes an attribute).",
    )
    contacts: list[Contact] = Field(default_factory=list, max_length=50)
    valid_from: Instant = Field(description="In force from (RFC 3339 with its offset).")
    reason: Reason
    on_behalf_of: Actor | None = None
    source: str | None = Field(default=None, description="The public record's source keys the change rests on.")
    assumed: str | None = Field(default=None, description="What the change assumes where the record is silent.")

    @property
    def basis(self) -> Basis | None:
        """The change's basis (sealed with its event): an assumption, the record's keys, or none."""
        return Basis.said(self.source, self.assumed)

    @model_validator(mode="after")
    def _checked(self) -> VersionChange:
        self.basis  # noqa: B018 -- raises ValueError (a 422 naming the problem) on a malformed source or text
        if not self.set and not self.contacts:
            raise ValueError("say what changes: set (name, region…) or contacts")
        if "contacts" in self.set:
            raise ValueError("contacts are given under contacts, not under set")
        return self

    @field_validator("valid_from")
    @classmethod
    def _representable(cls, value: Any) -> Any:
        return in_utc(value)


def _editor(who: Caller) -> None:
    """Operators record versions; a stakeholder's account never rewrites its own reference data."""
    require(who, "operator")
    if who.account.entity is not None:
        raise Refused(403, "forbidden", "a stakeholder account does not change reference data")


@router.get(
    "/entities/{entity}/versions",
    summary="An entity's dated versions (name, attributes, contacts), oldest first",
    responses=problem_responses(404, 422),
)
def versions(request: Request, who: Who, entity: EntityId) -> dict[str, Any]:
    """Each version with the date it is in force from, the event that recorded it and its basis."""
    require_visible(who, entity)
    found = entity_versions(runtime_of(request).engine, entity)
    return {"entity": entity, "versions": [version_json(v) for v in found]}


@router.post(
    "/entities/{entity}/versions",
    status_code=201,
    summary="Record a new version of an entity from a date (a rename, a new region, new contacts)",
    responses=problem_responses(400, 403, 404, 409, 411, 413, 422, 429),
)
def record_version(
    request: Request, who: Who, entity: EntityId, body: Annotated[VersionChange, Body()]
) -> JSONResponse:
    """A chain event on the entity's newest instance and a version row (operators); letters dated
    from ``valid_from`` on use it. Refused (422): a change that changes nothing, a ``valid_from`` in
    the future or not after the newest version's."""
    _editor(who)
    limits.take(request, who, "fires")
    engine = runtime_of(request).engine
    changes: dict[str, Any] = dict(body.set)
    if body.contacts:
        current = entity_versions(engine, entity)[-1].entity
        given = [c.model_dump(exclude_none=True) for c in body.contacts]
        try:
            changes["contacts"] = contact_changes(current.contacts, given)
        except ValueError as exc:
            raise InvalidData(entity, "(entity changed)", "contacts", str(exc)) from None
    done = change_entity(
        engine,
        entity,
        changes,
        actor=body.on_behalf_of or who.account.name,
        reason=body.reason,
        valid_from=body.valid_from,
        basis=body.basis,
        principal=who.principal,
    )
    shown = {
        "entity": entity,
        "name": done.entity.name,
        "attributes": dict(done.entity.attributes),
        "contacts": [dict(c) for c in done.entity.contacts],
        "valid_from": done.valid_from.isoformat(),
        "workflow": done.workflow,
        "seq": done.seq,
        "basis": None if body.basis is None else body.basis.as_json(),
    }
    headers = {"Location": f"/api/v1/entities/{entity}/versions"}
    return JSONResponse(jsonable_encoder(shown), status_code=201, headers=headers)
