"""The signature step over the API: a signatory's queue, signing a list of letters, sending one back.

Only an account of the role ``signatory`` bound to a post may use it (403 otherwise), and only on
the letters waiting for its post (409 ``action-refused`` for another post's, naming it). Signing
is one request for the whole list (the caller confirmed it once); each letter is signed in its
own transaction, and the answer lists the letters signed and those refused with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ..audit.export import event_json
from ..engine.decision import MAX_REASON
from ..engine.representations import letter_json
from ..engine.signature import Signatory
from ..i18n import render
from ..message import N_, Quoted, Word, listed
from .api import Who, plain_parameters, runtime_of
from .auth import Caller, Refused
from .problems import problem_responses, request_locale

router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 503), dependencies=[Depends(plain_parameters)])
MAX_BATCH = 500  # letters signed by one request
_NO_ROLE = N_("none")  # marked apart: pybabel extract misses a message marked inside another's call


class SignLetters(BaseModel):
    """The letters to sign at once, by id."""

    model_config = ConfigDict(extra="forbid")

    letters: list[Annotated[int, Field(gt=0, lt=2**63)]] = Field(min_length=1, max_length=MAX_BATCH)


class ReturnLetter(BaseModel):
    """Why a signatory sends a letter back."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON)


def signatory_of(request: Request, who: Caller) -> Signatory:
    """The signatory ``who`` is, or 403 (said in the request's language): an account of the role
    ``signatory`` bound to a post."""
    account = who.account
    if "signatory" not in account.roles or account.post is None:
        detail = N_(
            "this needs a signatory account bound to a post; account %(account)s holds: %(roles)s",
            account=Quoted(account.name),
            roles=listed([Word(r) for r in account.roles], empty=_NO_ROLE),
        )
        raise Refused(403, "forbidden", render(detail, request_locale(request)))
    return Signatory(account=account.name, name=account.display_name, post=account.post, principal=who.principal)


@router.get(
    "/signatures", summary="The letters waiting for the caller's signature", responses=problem_responses(403, 422)
)
def queue(
    request: Request,
    who: Who,
    limit: Annotated[int, Query(ge=1, le=MAX_BATCH)] = 100,
    after: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
) -> dict[str, Any]:
    """The letters of the signatory's post waiting « à signer », oldest first, and how many wait in all."""
    signatory = signatory_of(request, who)
    desk = runtime_of(request).signature_desk
    letters = desk.queue(signatory.post, limit=limit, after=after)
    return {"post": signatory.post, "waiting": desk.count(signatory.post), "items": [letter_json(m) for m in letters]}


@router.post(
    "/signatures",
    summary="Sign letters of the caller's post",
    responses=problem_responses(400, 403, 409, 411, 413, 422, 429),
)
def sign(request: Request, who: Who, body: SignLetters) -> dict[str, Any]:
    """Sign each letter of the list (PAdES, the post's certificate); the letters refused say why (in the
    request's language, as a problem's ``detail``)."""
    signatory = signatory_of(request, who)
    report = runtime_of(request).signature_desk.sign(body.letters, signatory)
    return {
        "signed": [
            {"letter": s.letter, "pdf_sha256": s.sha256, "signed_at": s.signed_at, "seq": s.seq} for s in report.signed
        ],
        "refused": [{"letter": letter, "reason": why} for letter, why in report.reasons(request_locale(request))],
    }


@router.post(
    "/letters/{letter_id}/return",
    summary="Send a letter back to its authors, with a reason",
    responses=problem_responses(400, 403, 404, 409, 411, 413, 422, 429),
)
def send_back(request: Request, who: Who, letter_id: int, body: ReturnLetter) -> dict[str, Any]:
    """The letter is not signed and never delivered; the reason is recorded in its instance's chain."""
    signatory = signatory_of(request, who)
    event = runtime_of(request).signature_desk.send_back(letter_id, signatory, reason=body.reason)
    return {"letter": letter_id, "event": event_json(event)}
