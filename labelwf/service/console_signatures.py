"""The signatory's console page: the letters waiting for their post, one reviewed, a batch signed, one sent back.

``/console/signatures`` lists the letters waiting for the signatory's post, each with a box to
tick; « Signer la sélection » (or « Tout signer ») leads to a confirmation page that names how
many letters, of which post, signed as whom (one confirmation for the whole batch), whose
« Confirmer » posts the batch. It keeps only the letters chosen that wait for the signatory's post,
saying why each other one is left out (it does not exist, is signed or sent back, waits for
another post), and refuses when none remains. The answer is a redirect to the list, which says
once what was signed and each letter refused with its reason (Post/Redirect/Get). The pages name
the post by the title its signatory signs with, and send to « À signer », never to a command.
``/console/signatures/{id}`` shows one letter as it will be signed (its frozen text and HTML, dated
the day it is signed) and a form to send it back with a reason. Only an account of the role
``signatory`` bound to a post sees these pages.

Both the review and the confirmation say, before anything is signed, what the post's certificate
will make of the letters: signed with a demonstration certificate, they will say they have no legal
value (``letters.demonstration``); a certificate that cannot be opened (no folder, no file, no
passphrase, expired) is said with its reason, and nothing is offered to sign until it is fixed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ..engine.signature import Signatory, SignatureDesk
from ..errors import CertificateError, LabelwfError, NotFound
from ..letters.dating import UNSIGNED_DATE
from ..letters.demonstration import MENTION
from . import console_flash, console_kept
from .api import runtime_of
from .auth import Caller
from .console_errors import in_french, labelwf_error_status
from .console_ops import signing_posts
from .pages import csrf_ok, off_loop, page, session, to_login

router = APIRouter(prefix="/console", include_in_schema=False)
LISTED = 200  # letters listed at once (the page says how many more wait)
SAID_AT_MOST = 20  # letters of a batch left out or refused said one by one, with why (the others counted)
HOME = "/console/signatures"


def _signatory(request: Request) -> tuple[Caller, str, Signatory] | Response:
    found = session(request)
    if found is None:
        return to_login()
    who, csrf = found
    account = who.account
    if "signatory" not in account.roles or account.post is None:
        return page(request, "base.html", 403, who=who, csrf=csrf, denied="signataire (lié à un poste)")
    signatory = Signatory(account=account.name, name=account.display_name, post=account.post, principal=who.principal)
    return who, csrf, signatory


def _certificate(request: Request, post: str, letters: int) -> tuple[str, CertificateError | None]:
    """What the pages say of ``post``'s certificate before ``letters`` letters are signed with it: a notice
    when it is a demonstration certificate, and the error when the post cannot sign yet."""
    try:
        signer = runtime_of(request).signature_desk.signer(post)
    except CertificateError as exc:
        return f"Le poste {post} ne peut pas encore signer. {in_french(exc)}", exc
    if not signer.demonstration:
        return "", None
    which = "Cette lettre sera signée" if letters == 1 else f"Ces {letters} lettres seront signées"
    mention = "elle portera" if letters == 1 else "chacune portera"
    notice = (
        f"{which} avec un certificat de démonstration, qui n'a aucune valeur juridique : {mention} la mention "
        f"« {MENTION} ». Avant tout envoi réel, le certificat du poste {post} est remplacé par celui que "
        "délivre son autorité de certification."
    )
    return notice, None


@router.get("/signatures")
def signatures(request: Request) -> Response:
    """The letters waiting for the signatory's post, oldest first."""
    found = _signatory(request)
    if isinstance(found, Response):
        return found
    who, csrf, signatory = found
    refusals: tuple[str, ...] = ()
    if console_flash.pending(request):  # back from a batch: each letter refused, with why
        kept = console_kept.take(request, csrf)
        refusals = kept.problems if kept is not None and kept.form == "sign" else ()
    runtime = runtime_of(request)
    desk = runtime.signature_desk
    letters = desk.queue(signatory.post, limit=LISTED)
    waiting = desk.count(signatory.post)
    post_title = dict(signing_posts(runtime.directory)).get(signatory.post, f"poste {signatory.post}")
    return page(
        request,
        "signatures.html",
        who=who,
        csrf=csrf,
        signatory=signatory,
        post_title=post_title,
        letters=letters,
        waiting=waiting,
        refusals=list(refusals),
    )


def _why(error: LabelwfError) -> str:
    """What the console says of a letter refused: a letter that does not exist points to this page, not
    to the command line."""
    if isinstance(error, NotFound) and error.kind == "letter":
        return f"Il n'existe aucune lettre n° {error.key} ; la page « À signer » liste celles de votre poste."
    return in_french(error)


@router.get("/signatures/confirm")
def confirm(request: Request) -> Response:
    """« Signer 12 lettres du poste datar en tant que Jeanne Martin », to confirm or cancel."""
    found = _signatory(request)
    if isinstance(found, Response):
        return found
    who, csrf, signatory = found
    desk = runtime_of(request).signature_desk
    every = request.query_params.get("all") == "oui"
    chosen = [int(v) for v in dict.fromkeys(request.query_params.getlist("letter")) if v.isdigit() and len(v) < 20]
    waiting = desk.waiting_ids(signatory.post)
    title = "Signer des lettres"
    if not every and not chosen:
        refused = "Aucune lettre choisie : cochez les lettres à signer, ou choisissez « Tout signer »."
        return page(request, "confirm.html", 400, who=who, csrf=csrf, title=title, refused=refused, back=HOME)
    ids, left_out, missing = (waiting, [], False) if every else _waiting_among(desk, signatory, chosen, set(waiting))
    if not ids:  # none of the letters chosen waits for this post: nothing to confirm, and why
        which = "Aucune lettre" if every else "Aucune des lettres choisies"
        refused = f"{which} n'attend la signature de votre poste : rien n'est à signer."
        status = 404 if missing else 409
        context = {"title": title, "refused": refused, "left_out": left_out, "back": HOME}
        return page(request, "confirm.html", status, who=who, csrf=csrf, **context)
    notice, cannot = _certificate(request, signatory.post, len(ids))
    if cannot is not None:  # refused here, not after the confirmation: nothing could be signed
        status = labelwf_error_status(cannot)
        return page(request, "confirm.html", status, who=who, csrf=csrf, title=title, refused=notice, back=HOME)
    what = (
        f"Signer {len(ids)} lettre(s) du poste {signatory.post} en tant que {signatory.name} : chacune sera "
        "datée d'aujourd'hui, signée avec le certificat du poste et enregistrée dans la chaîne d'audit, "
        "puis envoyée. Une lettre signée ne peut plus être renvoyée."
    )
    return page(
        request,
        "confirm.html",
        who=who,
        csrf=csrf,
        title=title,
        refused="",
        what=what,
        left_out=left_out,
        notice=notice,
        action="/console/signatures/sign",
        fields=[("letter", i) for i in ids],
        reason=False,
        back=HOME,
    )


def _waiting_among(
    desk: SignatureDesk, signatory: Signatory, chosen: list[int], waiting: set[int]
) -> tuple[list[int], list[str], bool]:
    """The letters of ``chosen`` that wait for ``signatory``'s post; why each other one is left out (the
    first ``SAID_AT_MOST``, the rest counted); and whether none of those said exists."""
    ids = [letter_id for letter_id in chosen if letter_id in waiting]
    others = [letter_id for letter_id in chosen if letter_id not in waiting]
    said: list[str] = []
    missing = bool(others)
    for letter_id in others[:SAID_AT_MOST]:
        try:
            desk.signable(letter_id, signatory)
        except LabelwfError as exc:
            said.append(f"Lettre {letter_id} : {_why(exc)}")
            missing = missing and isinstance(exc, NotFound)
        else:  # queued for this post since the list was read
            ids.append(letter_id)
    if len(others) > SAID_AT_MOST:
        said.append(f"Et {len(others) - SAID_AT_MOST} autre(s) lettre(s) qui n'attendent pas votre signature.")
    return ids, said, missing


@router.post("/signatures/sign")
async def sign(request: Request) -> Response:
    """Sign the confirmed batch (off the event loop), then back to the list, which says what was done."""
    return await off_loop(request, _sign, request, await request.form())


def _sign(request: Request, form: FormData) -> Response:
    found = _signatory(request)
    if isinstance(found, Response):
        return found
    _, csrf, signatory = found
    if not csrf_ok(csrf, form):
        return console_flash.redirect(HOME, csrf, "Formulaire expiré : rien n'a été signé ; recommencez.", "error")
    typed = [str(v) for v in form.getlist("letter")]
    ids = [int(v) for v in typed if v.isdigit() and 0 < int(v) < 2**63]
    if form.get("confirm") != "oui":  # a batch is signed only once confirmed
        query = "&".join(f"letter={i}" for i in ids)
        return console_flash.redirect(f"{HOME}/confirm?{query}", csrf, "Confirmez la signature du lot.", "info")
    try:
        report = runtime_of(request).signature_desk.sign(ids, signatory)
    except LabelwfError as exc:
        return console_flash.redirect(HOME, csrf, f"Rien n'a été signé : {in_french(exc)}", "error")
    said = f"{len(report.signed)} lettre(s) signée(s)."
    if report.errors:  # the sentence names them; the list page says each one's reason
        refused = [letter_id for letter_id, _ in report.errors]
        shown = ", ".join(str(i) for i in refused[:SAID_AT_MOST]) + (" …" if len(refused) > SAID_AT_MOST else "")
        said += f" {len(refused)} refusée(s) : n° {shown}."
        reasons = [f"Lettre {letter_id} : {_why(error)}" for letter_id, error in report.errors[:SAID_AT_MOST]]
        if len(refused) > SAID_AT_MOST:
            reasons.append(f"Et {len(refused) - SAID_AT_MOST} autre(s) lettre(s) refusée(s).")
        console_kept.keep(request, csrf, "sign", problems=reasons)
    return console_flash.redirect(HOME, csrf, said, "error" if report.errors else "success")


@router.get("/signatures/{letter_id}")
def review(request: Request, letter_id: int) -> Response:
    """One letter as it will be signed, and the form that sends it back."""
    found = _signatory(request)
    if isinstance(found, Response):
        return found
    who, csrf, signatory = found
    try:
        letter = runtime_of(request).signature_desk.review(letter_id, signatory)
    except LabelwfError as exc:
        return console_flash.redirect(HOME, csrf, f"Lettre {letter_id} : {_why(exc)}", "error")
    notice, cannot = _certificate(request, signatory.post, 1)
    return page(
        request,
        "signatures.html",
        who=who,
        csrf=csrf,
        signatory=signatory,
        letter=letter,
        unsigned_date=UNSIGNED_DATE,
        certificate_notice=notice,
        may_sign=cannot is None,
    )


@router.post("/signatures/{letter_id}/return")
async def send_back(request: Request, letter_id: int) -> Response:
    """Send a letter back with a reason (off the event loop), then back to the list."""
    return await off_loop(request, _send_back, request, letter_id, await request.form())


def _send_back(request: Request, letter_id: int, form: FormData) -> Response:
    found = _signatory(request)
    if isinstance(found, Response):
        return found
    _, csrf, signatory = found
    here = f"{HOME}/{letter_id}"
    if not csrf_ok(csrf, form):
        return console_flash.redirect(here, csrf, "Formulaire expiré : rechargez la page.", "error")
    try:
        runtime_of(request).signature_desk.send_back(letter_id, signatory, reason=str(form.get("reason", "")))
    except LabelwfError as exc:
        return console_flash.redirect(here, csrf, f"Refusé : {_why(exc)}", "error")
    return console_flash.redirect(HOME, csrf, f"Lettre {letter_id} renvoyée : elle ne partira pas.")
