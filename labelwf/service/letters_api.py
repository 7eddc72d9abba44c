"""Letters over the API: the outbox listed, one letter's frozen text and HTML, and its PDF.

A stakeholder reads its own entity's letters addressed to it only (not the copies to the préfet or
the région, roles that do not stand for its entity). A letter is shown only if it is still the one
its event sealed in the audit chain (``seals``): one that was altered since is answered 409
``letter-altered``, never shown as the frozen letter. A PDF is rendered from the frozen HTML, at
most ``PDF_AT_ONCE`` at a time per process (a rendering costs tens of milliseconds of CPU): a
request beyond that is answered 429 with ``Retry-After``.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ..audit.seals import verified_letter
from ..engine import queries
from ..engine.delivery import LETTER_STATUSES, pdf_unavailable, render_pdf
from ..engine.representations import letter_json
from ..engine.signed_letters import signed_bodies
from ..errors import LetterAltered, NotFound
from ..store import signatures
from ..store.records import Letter, LetterStatus
from . import limits
from .api import After, Limit, Who, page_json, plain_parameters, runtime_of
from .auth import Caller
from .console_reading import letters_for, theirs
from .problems import problem, problem_responses

router = APIRouter(prefix="/api/v1", dependencies=[Depends(plain_parameters)], responses=problem_responses(401, 503))
PDF_AT_ONCE = 2
_PDF_SLOTS = threading.BoundedSemaphore(PDF_AT_ONCE)


def readable_letter(request: Request, who: Caller, letter_id: int) -> Letter:
    """The letter, if ``who`` may read it (a stakeholder: its entity's only); else ``NotFound``."""
    if not 0 < letter_id < 2**63:  # no such id in a 64-bit column (and the driver would refuse to send it)
        raise NotFound("letter", letter_id, "")
    letter = queries.get_letter(runtime_of(request).db, letter_id)
    if not who.sees(letter.entity):
        raise NotFound("letter", letter_id, "")
    theirs(request, who, letter_id)  # a stakeholder: only the letters to the roles that stand for its entity
    return letter


def checked_letter(request: Request, who: Caller, letter_id: int) -> tuple[Letter, str | None]:
    """The letter with its bodies if ``who`` may read it, and why it is not the one its event sealed
    (None: it is); ``NotFound`` before anything else, so nobody learns of a letter not theirs."""
    runtime = runtime_of(request)
    letter, problem = verified_letter(runtime.db, letter_id, runtime.audit_key)
    if not who.sees(letter.entity):
        raise NotFound("letter", letter_id, "")
    theirs(request, who, letter_id)  # a stakeholder: only the letters to the roles that stand for its entity
    if problem is None:  # a signed letter reads as it was signed: dated its signature's day, as its PDF is
        letter = signed_bodies(letter, runtime.settings.zone)
    return letter, problem


def shown_letter(request: Request, who: Caller, letter_id: int) -> Letter:
    """The letter as it was frozen, if ``who`` may read it; ``LetterAltered`` if it was changed since."""
    letter, problem = checked_letter(request, who, letter_id)
    if problem is not None:
        raise LetterAltered(letter.id, letter.entity, problem)
    return letter


@router.get("/letters", summary="Letters of the outbox, newest first", responses=problem_responses(400, 404, 422))
def list_letters(
    request: Request,
    who: Who,
    entity: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[LetterStatus | None, Query(description=f"One of {', '.join(LETTER_STATUSES)}.")] = None,
    after: After = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """The outbox (one entity's with ``entity``; a stakeholder always sees its own only, and of those
    the letters to the roles that stand for its entity, not the copies to the préfet or the région)."""
    runtime = runtime_of(request)
    if who.account.entity is not None:
        if entity not in (None, who.account.entity):
            raise NotFound("instance", entity, "")
        entity = who.account.entity
    page = queries.list_letters(runtime.db, entity=entity, status=status, after=after, limit=limit)
    if who.account.entity is not None:
        workflow = queries.describe(runtime.engine, who.account.entity).workflow
        page = replace(page, items=tuple(letters_for(who, workflow, page.items)))
    return page_json(page, letter_json)


@router.get(
    "/letters/{letter_id}",
    summary="One letter with its frozen text and HTML",
    responses=problem_responses(404, 409, 422),
)
def show_letter(request: Request, who: Who, letter_id: int) -> dict[str, Any]:
    """The letter as it was frozen when its step was taken (409 if it was altered since)."""
    return letter_json(shown_letter(request, who, letter_id), bodies=True)


@router.get(
    "/letters/{letter_id}/pdf",
    summary="The letter as a PDF",
    response_class=Response,
    responses=problem_responses(404, 409, 422, 429) | {200: {"content": {"application/pdf": {}}}},
)
def letter_pdf(request: Request, who: Who, letter_id: int) -> Response:
    """The PDF of the letter's frozen HTML (A4), rendered now; it fetches nothing."""
    return pdf_response(request, who, letter_id)


def pdf_response(request: Request, who: Caller, letter_id: int) -> Response:
    """The PDF of a letter ``who`` may read, or the problem that says why not now (an altered letter's none)."""
    letter = shown_letter(request, who, letter_id)
    name = f"{letter.entity}-{letter.template}-{letter.recipient.role}.pdf"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if letter.pdf_sha256 is not None:  # signed: the signed bytes are the letter, never rendered again
        with runtime_of(request).db.read() as conn:
            signed = signatures.signed_pdf(conn, letter.id)
        if signed is not None:
            return Response(signed, media_type="application/pdf", headers=disposition)
    limits.take(request, who, "PDF renderings")
    unavailable = pdf_unavailable()
    if unavailable is not None:
        return problem(503, "pdf-unavailable", "PDF unavailable", unavailable)
    if not _PDF_SLOTS.acquire(blocking=False):
        detail = f"at most {PDF_AT_ONCE} PDFs are rendered at once; retry in a second"
        return problem(429, "too-many-requests", "Too many requests", detail, headers={"Retry-After": "1"})
    try:
        pdf = render_pdf(letter.html or "")
    finally:
        _PDF_SLOTS.release()
    name = f"{letter.entity}-{letter.template}-{letter.recipient.role}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
