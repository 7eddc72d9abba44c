"""Errors as RFC 9457 problem details (``application/problem+json``), with the error's own fields.

Every ``LabelwfError`` maps to one HTTP status (``STATUS``); its fields (the instance, the
trigger, what is allowed …) travel as members of the problem, so that a client reads the same
facts the CLI prints.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from ..errors import (
    AccountError,
    ActionRefused,
    AmbiguousWorkflow,
    BusinessTimeRefused,
    ConcurrentUpdate,
    DatabaseBusy,
    DatabaseError,
    InvalidCursor,
    InvalidData,
    LabelwfError,
    LetterError,
    MissingData,
    MissingJustification,
    NotFound,
    ReservedIdentity,
    RoleNotAllowed,
    SchemaMismatch,
    TransitionRefused,
)

PROBLEM = "application/problem+json"

STATUS: list[tuple[type[LabelwfError], int]] = [
    (ConcurrentUpdate, 412),
    (NotFound, 404),
    (AmbiguousWorkflow, 400),
    (InvalidCursor, 400),
    (BusinessTimeRefused, 422),
    (MissingData, 422),
    (InvalidData, 422),
    (MissingJustification, 422),
    (LetterError, 422),
    (AccountError, 422),
    (ActionRefused, 409),
    (ReservedIdentity, 403),
    (RoleNotAllowed, 403),
    (TransitionRefused, 409),
    (DatabaseBusy, 503),
    (SchemaMismatch, 503),
    (DatabaseError, 503),
]


def kebab(name: str) -> str:
    """``ConcurrentUpdate`` → ``concurrent-update``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem(
    status: int,
    kind: str,
    title: str,
    detail: str,
    fields: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response: ``type`` names the kind of problem, ``detail`` says it in a sentence."""
    body = {"type": f"/problems/{kind}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in (fields or {}).items() if k not in body})
    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=PROBLEM, headers=dict(headers or {}))


def error_problem(error: LabelwfError) -> JSONResponse:
    """The problem for a labelwf error: its status, its class as the type, its fields as members."""
    status = next((code for kind, code in STATUS if isinstance(error, kind)), 500)
    fields = {k: v for k, v in vars(error).items() if not k.startswith("_")}
    if "instance" in fields:  # RFC 9457 reserves "instance" for a URI of the occurrence: the entity's id is "entity"
        fields["entity"] = fields.pop("instance")
    headers = {"Retry-After": "1"} if isinstance(error, DatabaseBusy) else None
    name = type(error).__name__
    detail = str(error)
    if isinstance(error, DatabaseError | SchemaMismatch):  # where the database is: nobody's business here
        fields = {"timeout_ms": fields["timeout_ms"]} if "timeout_ms" in fields else {}
        detail = _DATABASE_DETAIL.get(name, "the database cannot be used right now")
    return problem(status, kebab(name), name, detail, fields, headers)


_DATABASE_DETAIL = {
    "DatabaseBusy": "the database is busy with other writes; retry in a moment",
    "SchemaMismatch": "the database is not at this version's schema; an administrator runs `labelwf init`",
    "ReadOnlyDatabase": "the database is read-only here: reads answer, changes cannot be made",
}
