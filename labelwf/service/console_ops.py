"""The console's operations screens: failures (with a letter's audited retry or resolution), the
audit trail (verification and export), and the accounts and tokens of the service (admins).

Every form posts the session's CSRF token and a role is checked on every request, whatever the
page offered: a viewer who posts a retry is refused. A letter's retry or resolution is a chain
event with the reason typed in and the signed-in principal (``labelwf.engine.actions``).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.datastructures import FormData

from .. import accounts
from ..audit.export import export_lines
from ..audit.trail import verify_trail
from ..engine import actions
from ..engine.signing_post import check_signatory_post
from ..engine.wording import ROLES, said
from ..errors import LabelwfError, NotFound
from ..i18n import render
from ..letters.directory import DEFAULT_POST, Directory
from . import console_flash, console_kept
from .api import runtime_of
from .auth import Caller
from .console_confirm import CONFIRMED, confirmation_url, lockout
from .console_errors import in_french
from .console_refusals import refused
from .operations_api import failures
from .pages import csrf_ok, off_loop, page, session, to_login

router = APIRouter(prefix="/console", include_in_schema=False)
_log = logging.getLogger("labelwf.service")


def _signed_in(request: Request, role: str) -> tuple[Caller, str] | Response:
    found = session(request)
    if found is None:
        return to_login()
    if not found[0].account.may(role) or found[0].account.entity is not None:
        return page(request, "base.html", 403, who=found[0], csrf=found[1], denied=role)
    return found


def _failures_page(
    request: Request, who: Caller, csrf: str, message: str = "", kind: str = "", status: int = 200
) -> Response:
    listed = failures(request)
    return page(request, "failures.html", status, who=who, csrf=csrf, f=listed, message=message, message_kind=kind)


@router.get("/failures")
def failures_page(request: Request) -> Response:
    found = _signed_in(request, "operator")
    return found if isinstance(found, Response) else _failures_page(request, *found)


@router.post("/letters/{letter_id}/{action}")
async def letter_action(request: Request, letter_id: int, action: str) -> Response:
    """Retry a letter, or record it as delivered, with a reason (off the event loop)."""
    return await off_loop(request, _letter_action, request, letter_id, action, await request.form())


def _letter_action(request: Request, letter_id: int, action: str, form: FormData) -> Response:
    found = _signed_in(request, "operator")
    if isinstance(found, Response):
        return found
    who, csrf = found
    if action not in ("retry", "resolve"):
        raise NotFound("action", action, "retry or resolve")
    typed = {"reason": str(form.get("reason", ""))}

    def again(message: str, status: int) -> Response:
        return refused(
            request,
            csrf,
            "/console/failures",
            message,
            lambda: _failures_page(request, who, csrf, message, "error", status),
            form=f"{action}:{letter_id}",
            typed=typed,
        )

    if not csrf_ok(csrf, form):
        return again("Formulaire expiré : rechargez la page.", 403)
    run = actions.retry_letter if action == "retry" else actions.resolve_letter
    try:
        run(
            runtime_of(request).engine,
            letter_id,
            actor=who.account.name,
            reason=str(form.get("reason", "")),
            principal=who.principal,
        )
    except LabelwfError as exc:
        return again(f"Refusé : {in_french(exc)}", 422)
    done = "remise en file d'envoi" if action == "retry" else "enregistrée comme remise"
    return console_flash.redirect("/console/failures", csrf, f"Lettre {letter_id} {done}.")


@router.get("/audit")
def audit_page(request: Request) -> Response:
    found = _signed_in(request, "supervisor")
    return (
        found if isinstance(found, Response) else page(request, "audit.html", who=found[0], csrf=found[1], report=None)
    )


@router.post("/audit/verify")
def audit_verify_posted(request: Request) -> Response:
    """Verifying writes nothing: a form posted by an older page is sent to the verification's page (303)."""
    return RedirectResponse("/console/audit/verification", status_code=303)


@router.get("/audit/verification")
async def audit_verify(request: Request) -> Response:
    """Verify every chain (a read of the whole trail, which writes nothing: a GET, reloaded at will)."""
    return await off_loop(request, _audit_verify, request)


def _audit_verify(request: Request) -> Response:
    found = _signed_in(request, "supervisor")
    if isinstance(found, Response):
        return found
    who, csrf = found
    runtime = runtime_of(request)
    trail = verify_trail(runtime.db, key=runtime.audit_key, folder=runtime.checkpoint_folder)
    note = "" if trail.note is None else render(trail.note, "fr")  # what it could not see, in French
    report = trail.as_json()
    checked_at = runtime.engine.clock.now()
    return page(request, "audit.html", who=who, csrf=csrf, report=report, note=note, checked_at=checked_at)


@router.get("/audit/export")
def audit_export(request: Request) -> Response:
    found = _signed_in(request, "supervisor")
    if isinstance(found, Response):
        return found
    db = runtime_of(request).db
    name = f"labelwf-audit-{runtime_of(request).engine.clock.now():%Y%m%dT%H%M%SZ}.jsonl"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(export_lines(db), media_type="application/jsonl", headers=headers)


def _admin_page(request: Request, who: Caller, csrf: str, status: int = 200, **shown: Any) -> Response:
    db = runtime_of(request).db
    context = {"message": "", "message_kind": "", "new_token": ""} | shown
    posts = signing_posts(runtime_of(request).directory)
    return page(
        request,
        "admin.html",
        status,
        who=who,
        csrf=csrf,
        accounts=accounts.accounts(db),
        tokens=accounts.tokens(db),
        roles=[(r, said(ROLES, r)) for r in accounts.ROLES],  # offered by their French words, ids as values
        role_words=ROLES,
        posts=posts,
        post_words=dict(posts),
        **context,
    )


def signing_posts(directory: Directory | None) -> list[tuple[str, str]]:
    """The posts a signatory may be bound to, each with the words that say it: the directory's posts by
    the title their latest row signs with, then the default post; the keys are the form's values."""
    titles: dict[str, str] = {}
    for row in directory.rows if directory is not None else ():
        titles[row.post_key] = row.signatory  # the rows run in date order: the latest title wins
    said = [(post, title[:1].upper() + title[1:]) for post, title in titles.items()]
    return [*said, (DEFAULT_POST, "Le service (quand l'annuaire ne nomme aucun poste)")]


@router.get("/admin")
def admin_page(request: Request) -> Response:
    found = _signed_in(request, "admin")
    return found if isinstance(found, Response) else _admin_page(request, *found)


@router.post("/admin/{what}")
async def admin_action(request: Request, what: str) -> Response:
    """An account or token act of an admin, off the event loop (a new account's password is hashed
    there: an admin's form, checked for its session and CSRF token first, not an anonymous one)."""
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items()}
    if "roles" in raw:  # the roles' checkboxes, a value each (or one typed list, as the API's clients send)
        form["roles"] = " ".join(str(v) for v in raw.getlist("roles"))
    return await off_loop(request, _admin_action, request, what, form)


def _admin_action(request: Request, what: str, form: dict[str, str]) -> Response:
    found = _signed_in(request, "admin")
    if isinstance(found, Response):
        return found
    who, csrf = found

    def again(message: str, status: int) -> Response:  # the add form refilled, its password never
        shown = {"message": message, "message_kind": "error"}
        return refused(
            request,
            csrf,
            "/console/admin",
            message,
            lambda: _admin_page(request, who, csrf, status, **shown),
            form=what,
            typed=form if what == "add" else None,
        )

    if not csrf_ok(csrf, form):
        return again("Formulaire expiré : rechargez la page.", 403)
    if what in CONFIRMED and form.get("confirm") != "oui":  # a destructive act is confirmed on its own page first
        return RedirectResponse(confirmation_url(what, form), status_code=303)
    runtime = runtime_of(request)
    # Each act is recorded in the admin chain with the signed-in admin as its author.
    acting: dict[str, Any] = {"now": runtime.engine.clock.now(), "author": who.principal, "key": runtime.audit_key}
    reason = form.get("reason", "").strip() or None
    try:
        if what == "add":
            roles = [r for r in form.get("roles", "").replace(",", " ").split() if r]
            post = form.get("post", "").strip() or None
            check_signatory_post(post, runtime.directory)  # the form offers these only; a forged one is refused
            added = accounts.add_account(
                runtime.db,
                form.get("name", "").strip(),
                roles,
                display_name=form.get("display_name", "").strip(),
                email=form.get("email", "").strip() or None,
                telephone=form.get("telephone", "").strip() or None,
                entity=form.get("entity", "").strip() or None,
                post=post,  # refused by the library unless a signatory's
                password=form.get("password") or None,
                reason=reason,
                **acting,
            )
            done, token = f"Compte {added.name} créé.", ""
        elif what in ("disable", "enable"):
            name = form.get("name", "")  # the signed-in admin never disables itself (it would be locked out)
            everyone = accounts.accounts(runtime.db) if what == "disable" else []
            target = next((a for a in everyone if a.name == name), None)
            if target is not None and (locked := lockout(who, target, everyone)):
                return again(locked, 409)
            accounts.set_disabled(runtime.db, name, what == "disable", reason=reason, by=who.account.name, **acting)
            done = (
                f"Compte {form.get('name')} désactivé : ses sessions sont fermées et ses jetons révoqués."
                if what == "disable"
                else f"Compte {form.get('name')} réactivé (ses anciens jetons restent révoqués)."
            )
            token = ""
        elif what == "roles":
            roles = [r for r in form.get("roles", "").replace(",", " ").split() if r]
            changed = accounts.set_roles(runtime.db, form.get("name", ""), roles, reason=reason, **acting)
            done = (
                f"Rôles de {changed.name} : {', '.join(said(ROLES, r) for r in changed.roles)} ; "
                "ses sessions sont fermées et ses jetons révoqués."
            )
            token = ""
        elif what == "token":
            name, label = form.get("name", ""), form.get("label", "console")
            _, token = accounts.create_token(runtime.db, name, label, reason=reason, **acting)
            done = (
                f"Jeton créé pour {form.get('name')} : copiez-le maintenant, il ne sera plus affiché "
                "(s'il n'apparaît pas ci-dessous, révoquez-le et créez-en un autre)."
            )
        elif what == "revoke":
            token_id = form.get("token_id", "")
            number = int(token_id) if token_id.isdigit() and len(token_id) < 12 else -1
            accounts.revoke_token(runtime.db, number, reason=reason, **acting)
            done, token = f"Jeton {token_id} révoqué.", ""
        else:
            raise NotFound("admin action", what, "add, disable, enable, roles, token or revoke")
    except LabelwfError as exc:
        return again(f"Refusé : {in_french(exc)}", 422)
    if what in ("disable", "enable", "roles", "revoke"):  # tokens revoked: the API's next request reads the database
        request.app.state.tokens.forget()
    _log.info("admin %s by %s: %s", what, who.principal, form.get("name") or form.get("token_id"))
    if token:  # shown once by the next page, kept on the server: never in a cookie
        console_kept.keep(request, csrf, "token", token=token)
    return console_flash.redirect("/console/admin", csrf, done)
