"""Recording an entity's new version from the console's instance page, as the signed-in operator:
what changes (name, region, a contact), from which day, why, and where it comes from (the record's
source keys or an assumption). Posted with the session's CSRF token; refusals shown on the page.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ..errors import LabelwfError, RateLimited
from ..operations.contact_changes import contact_changes
from ..operations.entity_versions import change_entity, entity_versions
from ..store.basis import Basis
from ..text import shown as escaped
from . import limits
from .api import runtime_of
from .console import _instance_page, _refused, settled
from .console_dated import day_of
from .pages import csrf_ok, off_loop, session, to_login

router = APIRouter(prefix="/console", include_in_schema=False)


@router.post("/instances/{entity}/versions")
async def record_version(request: Request, entity: str) -> Response:
    """Record a new version of the entity from a day, as the signed-in operator (off the event loop)."""
    return await off_loop(request, _record_version, request, entity, await request.form())


def _changes(form: FormData) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key in ("name", "region", "address"):
        value = str(form.get(key, "")).strip()
        if value:
            changes[key] = value[:2000]
    return changes


def _basis(form: FormData) -> Basis | None:
    source = str(form.get("source", "")).strip() or None
    assumed = str(form.get("assumed", "")).strip() or None
    return Basis.said(source, assumed)


def _record_version(request: Request, entity: str, form: FormData) -> Response:
    found = session(request)
    if found is None:
        return to_login()
    who, csrf = found

    if not who.account.may("operator") or who.account.entity is not None:  # no form offered it: its status
        message = "Vous ne pouvez pas modifier le référentiel de ce dossier."
        return _instance_page(request, who, csrf, entity, message=message, kind="error", status=403)
    kept = {str(k): str(v) for k, v in form.items()}

    def again(message: str, status: int) -> Response:
        return _refused(request, who, csrf, entity, message, status, "version", kept)

    if not csrf_ok(csrf, form):
        return again("Formulaire expiré : rechargez la page.", 403)
    try:
        limits.take(request, who, "fires")
    except RateLimited as exc:
        return again(f"Trop de décisions en une minute : réessayez dans {exc.retry_after_s} s.", 429)
    runtime = runtime_of(request)
    typed = str(form.get("valid_from", ""))
    start, error = day_of(typed, runtime.settings.zone, time(0, 0))  # in force from the start of that day
    if start is None:
        return again(f"Changement non enregistré : la date d'effet {error}", 422)
    changes = _changes(form)
    try:
        basis = _basis(form)
        role, name = str(form.get("contact_role", "")).strip(), str(form.get("contact_name", "")).strip()
        if role or name:
            current = entity_versions(runtime.engine, entity)[-1].entity
            changes["contacts"] = contact_changes(current.contacts, [{"role": role, "name": name}])
    except ValueError as exc:
        return again(f"Changement non enregistré : {escaped(str(exc))}", 422)
    if not changes:
        return again("Changement non enregistré : dites ce qui change (nom, région, adresse ou contact).", 422)
    try:
        done = change_entity(
            runtime.engine,
            entity,
            changes,
            actor=who.account.name,
            reason=str(form.get("reason", "")),
            valid_from=start,
            basis=basis,
            principal=who.principal,
        )
    except LabelwfError as exc:
        return again(f"Changement non enregistré : {exc}", 422)
    since = done.valid_from.astimezone(runtime.settings.zone).strftime("%d/%m/%Y")
    return settled(
        request, who, csrf, entity, f"Nouvelle version enregistrée : {done.entity.name}, en vigueur depuis le {since}."
    )
