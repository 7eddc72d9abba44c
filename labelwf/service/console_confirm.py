"""The confirmation step of the console's destructive acts: disabling an account, revoking a token.

The act's form (or a link) leads first to a page that says exactly what will happen, with
« Confirmer » (a form posting the act again with ``confirm=oui`` and the session's CSRF token)
and « Annuler » (a link back). The act's handler does nothing without ``confirm=oui``: it sends
the browser here instead (``confirmation_url``). An act that would lock the console out — an
admin disabling their own account, or the last active admin — is refused here already, in French,
and by the library whatever the caller (``accounts.set_disabled``).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .. import accounts
from ..accounts import Account
from .api import runtime_of
from .auth import Caller
from .pages import page, session, to_login

router = APIRouter(prefix="/console", include_in_schema=False)
CONFIRMED = ("disable", "revoke")  # the admin acts that ask for a confirmation first


def confirmation_url(what: str, form: Mapping[str, str]) -> str:
    """The confirmation page of the admin act ``what`` posted with ``form`` (without ``confirm``)."""
    key = "name" if what == "disable" else "token_id"
    return f"/console/admin/{what}?{urlencode({key: form.get(key, '')[:100]})}"


def whom(account: Account) -> str:
    """An account as a sentence names it: « Jeanne Martin (jmartin) », or its identifier alone."""
    shown = account.display_name.strip()
    return f"{shown} ({account.name})" if shown and shown != account.name else account.name


def lockout(who: Caller, target: Account, everyone: list[Account]) -> str:
    """Why disabling ``target`` would lock the console out, in French; empty when it would not."""
    if target.name == who.account.name:
        return (
            "Vous ne pouvez pas désactiver votre propre compte : vous ne pourriez plus vous connecter. "
            "Demandez-le à un autre administrateur."
        )
    active_admins = [a.name for a in everyone if "admin" in a.roles and not a.disabled]
    if active_admins == [target.name]:
        return (
            f"Le compte de {whom(target)} est le dernier administrateur actif : le désactiver fermerait "
            "l'administration de la console. Créez d'abord un autre compte administrateur."
        )
    return ""


def _admin(request: Request) -> tuple[Caller, str] | Response:
    found = session(request)
    if found is None:
        return to_login()
    if not found[0].account.may("admin") or found[0].account.entity is not None:
        return page(request, "base.html", 403, who=found[0], csrf=found[1], denied="admin")
    return found


def _confirm(request: Request, who: Caller, csrf: str, status: int = 200, **said: object) -> Response:
    context = {"refused": "", "fields": [], "what": "", "action": "", "reason": True} | said
    return page(request, "confirm.html", status, who=who, csrf=csrf, back="/console/admin", **context)


@router.get("/admin/disable")
def confirm_disable(request: Request, name: str = "") -> Response:
    """« Désactiver le compte de Jeanne Martin (jmartin) … », to confirm or cancel."""
    found = _admin(request)
    if isinstance(found, Response):
        return found
    who, csrf = found
    everyone = accounts.accounts(runtime_of(request).db)
    target = next((a for a in everyone if a.name == name), None)
    title = "Désactiver un compte"
    if target is None:
        refused = f"Aucun compte « {name[:64]} » : choisissez-en un dans la liste des comptes."
        return _confirm(request, who, csrf, 404, title=title, refused=refused)
    if target.disabled:
        return _confirm(
            request, who, csrf, 409, title=title, refused=f"Le compte de {whom(target)} est déjà désactivé."
        )
    refused = lockout(who, target, everyone)
    if refused:
        return _confirm(request, who, csrf, 409, title=title, refused=refused)
    what = (
        f"Désactiver le compte de {whom(target)} : il ne pourra plus se connecter, ses sessions seront "
        "fermées et ses jetons d'API révoqués (un compte réactivé ne les retrouve pas)."
    )
    fields = [("name", target.name)]
    return _confirm(request, who, csrf, title=title, what=what, action="/console/admin/disable", fields=fields)


@router.get("/admin/revoke")
def confirm_revoke(request: Request, token_id: str = "") -> Response:
    """« Révoquer le jeton n° 3 « console » du compte de … », to confirm or cancel."""
    found = _admin(request)
    if isinstance(found, Response):
        return found
    who, csrf = found
    db = runtime_of(request).db
    token = next((t for t in accounts.tokens(db) if str(t["id"]) == token_id), None)
    title = "Révoquer un jeton d'API"
    if token is None:
        refused = f"Aucun jeton n° {token_id[:20]} : choisissez-en un dans la liste des jetons."
        return _confirm(request, who, csrf, 404, title=title, refused=refused)
    if token["revoked_at"] is not None:
        return _confirm(request, who, csrf, 409, title=title, refused=f"Le jeton n° {token['id']} est déjà révoqué.")
    owner = next((a for a in accounts.accounts(db) if a.name == token["account"]), None)
    holder = whom(owner) if owner is not None else str(token["account"])
    what = (
        f"Révoquer le jeton n° {token['id']} « {token['label']} » du compte de {holder} : "
        "les scripts qui l'utilisent seront refusés dès leur prochaine requête. C'est définitif."
    )
    fields = [("token_id", str(token["id"]))]
    return _confirm(request, who, csrf, title=title, what=what, action="/console/admin/revoke", fields=fields)
