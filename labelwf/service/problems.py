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
from starlette.requests import Request

from ..errors import (
    AccountError,
    ActionRefused,
    AmbiguousWorkflow,
    BusinessTimeRefused,
    CertificateError,
    ConcurrentUpdate,
    DatabaseBusy,
    DatabaseError,
    InvalidCursor,
    InvalidData,
    LabelwfError,
    LetterAltered,
    LetterError,
    MissingData,
    MissingJustification,
    NotFound,
    Overloaded,
    PlanRejected,
    RateLimited,
    ReservedIdentity,
    RoleNotAllowed,
    SchemaMismatch,
    SignatureRefused,
    TransitionRefused,
)
from ..i18n import SOURCE_LOCALE, negotiate, render
from ..message import N_, Message

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
    (LetterAltered, 409),
    (AccountError, 422),
    (PlanRejected, 422),
    (ActionRefused, 409),
    (CertificateError, 503),  # the post's certificate is missing or unusable: the service cannot sign now
    (SignatureRefused, 503),
    (RateLimited, 429),
    (Overloaded, 503),
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
    return JSONResponse(
        _encodable(jsonable_encoder(body)), status_code=status, media_type=PROBLEM, headers=dict(headers or {})
    )


def _encodable(value: Any) -> Any:
    """``value`` with texts UTF-8 can carry: a lone surrogate (a JSON body's ``"\\ud800"``, echoed back in
    the problem that refuses it) is written as its escape."""
    if isinstance(value, str):
        return value if value.isascii() else value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    return value


def error_problem(error: LabelwfError, locale: str = SOURCE_LOCALE) -> JSONResponse:
    """The problem for a labelwf error: its status, its class as the type, its fields as members;
    ``detail`` says it in ``locale`` (``labelwf.i18n``)."""
    status = next((code for kind, code in STATUS if isinstance(error, kind)), 500)
    fields = {k: v for k, v in vars(error).items() if not k.startswith("_")}
    if "instance" in fields:  # RFC 9457 reserves "instance" for a URI of the occurrence: the entity's id is "entity"
        fields["entity"] = fields.pop("instance")
    headers = {"Retry-After": "1"} if isinstance(error, DatabaseBusy) else None
    if isinstance(error, RateLimited | Overloaded):
        headers = {"Retry-After": str(error.retry_after_s)}
    name = type(error).__name__
    detail = render(public_message(error), locale, error.labels)
    if isinstance(error, DatabaseError | SchemaMismatch):  # where the database is: nobody's business here
        fields = {"timeout_ms": fields["timeout_ms"]} if "timeout_ms" in fields else {}
    return problem(status, kebab(name), name, detail, fields, headers)


_DATABASE_DETAIL = {
    "DatabaseBusy": N_("the database is busy with other writes; retry in a moment"),
    "SchemaMismatch": N_("the database is not at this version's schema; an administrator runs `labelwf init`"),
    "ReadOnlyDatabase": N_("the database is read-only here: reads answer, changes cannot be made"),
}
_DATABASE_UNUSABLE = N_("the database cannot be used right now")


def public_message(error: LabelwfError) -> Message:
    """What ``error`` says to a client or a person of the console: its message, except that a database's
    failure never names where the database is nor what its driver said."""
    if isinstance(error, DatabaseError | SchemaMismatch):
        return _DATABASE_DETAIL.get(type(error).__name__, _DATABASE_UNUSABLE)
    return error.message


def request_locale(request: Request) -> str:
    """The language of the answers to ``request``: its ``Accept-Language`` among those labelwf speaks,
    else the ``locale`` setting."""
    default = request.app.state.runtime.settings.locale
    return negotiate(request.headers.get("accept-language"), default)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; the error's own fields (entity, allowed …) travel beside these.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "The kind of problem: `/problems/not-found` …"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong, in a sentence."},
    },
    "additionalProperties": True,
}
_WHY = {
    400: "A malformed request: a body that cannot be read, a cursor this server did not write, a workflow to name",
    401: "No live token of an enabled account",
    403: "The account's roles do not allow this",
    404: "No such instance, letter, workflow or state (or not this caller's to see)",
    408: "The body did not arrive within the server's bound (body_timeout_seconds); the connection is closed",
    409: "Not allowed in the current state (of the instance, or of the letter)",
    411: "A body without Content-Length",
    412: "If-Match is not the instance's ETag: the instance changed since it was read, or it is no ETag",
    413: "The body is too large",
    415: "The body is not JSON (send Content-Type: application/json; charset, if named, utf-8)",
    422: "The request, a value or a field is invalid",
    428: "If-Match is missing (or *)",
    429: "Too many at once; retry after Retry-After",
    503: "The database is busy or cannot be used (or, for a PDF, no renderer here); retry later",
}


_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Bearer realm="labelwf"'}},
    429: {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait"}},
    503: {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait (when it is worth a retry)"}},
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route for the problems it may answer, each as problem+json."""
    return {
        status: {"description": _WHY[status], "content": {PROBLEM: {"schema": PROBLEM_SCHEMA}}}
        | ({"headers": _HEADERS[status]} if status in _HEADERS else {})
        for status in statuses
    }


def guarded_statuses(document: dict[str, Any]) -> None:
    """Add to each operation of the OpenAPI ``document`` the problems the application answers before
    its route runs, which FastAPI cannot see in the route: a body refused by the guard (408 too slow,
    411 without a length, 413 too large), a JSON body refused (415 not JSON or not UTF-8, 422), a
    cursor this server did not write (400), an If-Match missing or stale (428, 412)."""
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            statuses: set[int] = set()
            if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                statuses |= {408, 411, 413}
            if "requestBody" in operation:
                statuses |= {415, 422}
            names = {str(p.get("name", "")).lower() for p in operation.get("parameters", []) if isinstance(p, dict)}
            if "after" in names:
                statuses.add(400)
            if "if-match" in names:
                statuses |= {412, 428}
            responses = operation.setdefault("responses", {})
            for status, response in problem_responses(*sorted(statuses)).items():
                responses.setdefault(str(status), response)
