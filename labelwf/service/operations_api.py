"""What needs a person, over the API: the failures (letters not delivered, deadlines overdue), a
letter's retry or resolution, and the audit trail's export.

A retry or a resolution is an operator's action, recorded as a chain event on the letter's
instance (``labelwf.engine.actions``) with the authenticated principal; it is refused (409) unless the
letter is still in a status the action applies to, which is what guards two operators acting at
once. The export streams JSON Lines (supervisors and admins).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..audit.export import event_json, export_lines
from ..engine import actions, queries
from ..engine.decision import MAX_ACTOR, MAX_REASON
from ..engine.representations import letter_json, timer_json
from ..store.records import LetterStatus
from .api import Who, plain_parameters, runtime_of
from .auth import Caller, require
from .letters_api import readable_letter
from .problems import problem_responses

router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 503), dependencies=[Depends(plain_parameters)])
FAILED_LETTERS = (LetterStatus.FAILED, LetterStatus.UNCERTAIN, LetterStatus.RETRY)
SHOWN = 200  # failures of each kind listed at most (the counts say how many more)
_JSONL: dict[int | str, dict[str, Any]] = {200: {"content": {"application/jsonl": {}}}}


class LetterAction(BaseModel):
    """Why an operator retries or resolves a letter."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON)
    on_behalf_of: str | None = Field(default=None, min_length=1, max_length=MAX_ACTOR)


def failures(request: Request) -> dict[str, Any]:
    """Letters that were not delivered and pending deadlines already past by the daemon's grace."""
    runtime = runtime_of(request)
    letters = {status.value: queries.list_letters(runtime.db, status=status, limit=SHOWN) for status in FAILED_LETTERS}
    now = runtime.engine.clock.now()
    overdue = queries.pending_timers(
        runtime.db, due_before=now - timedelta(seconds=runtime.settings.daemon_grace_seconds), limit=SHOWN
    )
    return {
        "letters": {k: [letter_json(x) for x in page.items] for k, page in letters.items()},
        "letters_more": {k: page.more for k, page in letters.items()},
        "overdue_timers": [timer_json(t) for t in overdue.items],
        "overdue_more": overdue.more,
        "checked_at": now,
    }


@router.get(
    "/failures",
    summary="What needs a person: letters not delivered, deadlines overdue",
    responses=problem_responses(403),
)
def list_failures(request: Request, who: Who) -> dict[str, Any]:
    """Letters in failed, uncertain or retry, and pending timers overdue by more than the daemon's grace."""
    require(who, "operator")
    return failures(request)


def _act(request: Request, who: Caller, letter_id: int, body: LetterAction, action: str) -> dict[str, Any]:
    require(who, "operator")
    readable_letter(request, who, letter_id)  # 404 for an id out of range or not this caller's
    run = actions.retry_letter if action == "retry" else actions.resolve_letter
    event = run(
        runtime_of(request).engine,
        letter_id,
        actor=body.on_behalf_of or who.account.name,
        reason=body.reason,
        principal=who.principal,
    )
    letter = queries.get_letter(runtime_of(request).db, letter_id)
    return {"letter": letter_json(letter), "event": event_json(event)}


@router.post(
    "/letters/{letter_id}/retry",
    summary="Queue a failed or uncertain letter again",
    responses=problem_responses(400, 403, 404, 409, 411, 413, 422, 429),
)
def retry(request: Request, who: Who, letter_id: int, body: LetterAction) -> dict[str, Any]:
    """Queue the letter for delivery now (operators); recorded as an event on its instance."""
    return _act(request, who, letter_id, body, "retry")


@router.post(
    "/letters/{letter_id}/resolution",
    summary="Record that an uncertain letter did go out",
    responses=problem_responses(400, 403, 404, 409, 411, 413, 422, 429),
)
def resolve(request: Request, who: Who, letter_id: int, body: LetterAction) -> dict[str, Any]:
    """Mark an uncertain letter delivered once a person checked it went out (operators); an event."""
    return _act(request, who, letter_id, body, "resolve")


@router.get(
    "/audit/export",
    summary="The audit trail as JSON Lines",
    response_class=StreamingResponse,
    responses=_JSONL | problem_responses(403, 404, 422),
)
def export(
    request: Request, who: Who, entity: Annotated[str | None, Query(max_length=100)] = None
) -> StreamingResponse:
    """Every event (or one entity's) with its hashes, one JSON object per line (supervisors and admins)."""
    require(who, "supervisor")
    db = runtime_of(request).db
    db.check_schema()
    return StreamingResponse(export_lines(db, entity=entity), media_type="application/jsonl")
