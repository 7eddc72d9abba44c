"""The operators' console, ``/console``: French, server-rendered, usable without JavaScript for reading.

Every page needs a session (``signin``). A fire posts the form with the session's CSRF token;
with htmx the instance's section is swapped in place (new state, history, the conflict message of
a stale page), without it the page is rendered again. A pending deadline is moved the same way
(``timer_moves.move_timer``, as the signed-in operator), to a local date-time of its workflow's zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from ..engine import portfolio as folio
from ..engine import queries
from ..engine.decision import Request as FireRequest
from ..engine.representations import instance_json
from ..errors import ConcurrentUpdate, LabelwfError, NotFound, RateLimited
from ..operations import timer_moves
from ..text import shown as escaped
from ..workflow.diagram import diagram_svg
from . import console_flash, limits
from .api import runtime_of
from .auth import Caller
from .console_dated import dated_context
from .console_dates import parse_when
from .console_errors import error_page, in_french
from .console_fields import engine_values
from .console_reading import reading_context, theirs
from .console_refusals import refused
from .letters_api import checked_letter, pdf_response, shown_letter
from .pages import csrf_ok, off_loop, page, session, to_login

router = APIRouter(prefix="/console", include_in_schema=False)
LEGEND = ("décision d'un agent", "échéance (démon)")
LETTER_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"


def _instance_page(
    request: Request,
    who: Caller,
    csrf: str,
    entity: str,
    *,
    message: str = "",
    kind: str = "",
    status: int = 200,
    as_of: str = "",
) -> Response:
    runtime = runtime_of(request)
    if not who.sees(entity):
        raise NotFound("instance", entity, "")
    view = queries.describe(runtime.engine, entity)
    history = queries.history(runtime.engine, entity, limit=200).items
    template = "_instance.html" if request.headers.get("hx-request") == "true" else "instance.html"
    wf = runtime.engine.workflow_of(view.instance)
    versions = [w for w in runtime.engine.workflows if w.name == wf.name]  # each event in its version's words
    drawn = Markup(diagram_svg(wf, current=view.instance.state, legend=LEGEND))  # escaped as it is drawn
    # A deadline's move form starts at its due instant, as the local wall time its workflow's zone reads.
    moves = {t.id: t.due_at.astimezone(wf.timezone).strftime("%d/%m/%Y %H:%M") for t in view.timers}
    return page(
        request,
        template,
        status,
        who=who,
        csrf=csrf,
        view=view,
        history=history,
        fields=wf.fields,
        may_fire=who.account.may("operator"),
        offered=[a for a in view.allowed if "operator" in a.roles],
        message=message,
        message_kind=kind,
        summary=instance_json(view.instance),
        diagram=drawn,
        move_values=moves,
        move_zone=wf.timezone.key,
        may_change=who.account.may("operator") and who.account.entity is None,
        **dated_context(runtime.engine, entity, as_of, runtime.settings.zone),
        **reading_context(runtime.db, who, wf, view, history, runtime.settings.zone, versions),
    )


@router.get("/instances/{entity}")
def instance(request: Request, entity: str, as_of: str = "") -> Response:
    found = session(request)
    if found is None:
        return to_login()
    try:
        return _instance_page(request, *found, entity, as_of=as_of)
    except NotFound:
        return error_page(request, 404, f"Aucun dossier « {entity[:100]} » visible avec votre compte.")


@router.post("/instances/{entity}/fire")
async def fire(request: Request, entity: str) -> Response:
    """Fire a transition from the instance's page, as the signed-in operator (off the event loop)."""
    return await off_loop(request, _fire, request, entity, await request.form())


def _fire(request: Request, entity: str, form: FormData) -> Response:
    found = session(request)
    if found is None:
        return to_login()
    who, csrf = found
    if not who.account.may("operator") or not who.sees(entity):  # no form offered it: said with its status
        return _instance_page(
            request, who, csrf, entity, message="Vous ne pouvez pas décider sur ce dossier.", kind="error", status=403
        )
    trigger = str(form.get("trigger", ""))[:100]
    typed = {str(k): str(v) for k, v in form.items() if str(k).startswith("field_") or k == "reason"}

    def again(message: str, status: int) -> Response:
        return _refused(request, who, csrf, entity, message, status, f"fire:{trigger}", typed)

    if not csrf_ok(csrf, form):
        return again("Formulaire expiré : rechargez la page.", 403)
    try:
        limits.take(request, who, "fires")
    except RateLimited as exc:
        return again(f"Trop de décisions en une minute : réessayez dans {exc.retry_after_s} s.", 429)
    version = str(form.get("version", ""))
    fields = {str(k)[6:]: str(v) for k, v in form.items() if str(k).startswith("field_") and str(v).strip()}
    runtime = runtime_of(request)
    try:  # JJ/MM/AAAA in a date field, as every form takes it
        wf = runtime.engine.workflow_of(queries.find(runtime.engine, entity))
        fields = engine_values(wf, fields, wf.timezone)
    except LabelwfError:
        pass  # no such instance: the fire says so
    request_ = FireRequest(
        entity=entity,
        trigger=trigger,
        actor=who.account.name,
        reason=str(form.get("reason", "")),
        data=fields,
        expected_version=int(version) if version.isdigit() and len(version) < 12 else -1,
        principal=who.principal,
        agent=who.agent,  # its letters name the agent signed in (« Affaire suivie par »)
    )
    try:
        with runtime.db.write() as conn:
            fired = runtime.engine.apply(conn, request_)
    except ConcurrentUpdate as exc:
        message = (
            "Ce dossier a été modifié par quelqu'un d'autre depuis l'affichage de la page "
            f"(version {exc.found_version}, vous aviez la version {exc.expected_version}) : "
            "voici son état actuel, décidez à nouveau."
        )
        return again(message, 409)
    except LabelwfError as exc:
        return again(f"Refusé : {in_french(exc)}", 422)
    wf = runtime.engine.workflow_of(queries.find(runtime.engine, entity))  # said in the workflow's words
    moved = f"{wf.state_label(fired.source)} → {wf.state_label(fired.dest)}"
    done = f"Décision enregistrée : {wf.trigger_label(fired.trigger)}, {moved} (version {fired.version})."
    if fired.letters_to_sign:  # no decision's letter leaves unsigned: say where they wait
        done += f" {fired.letters_to_sign} courrier(s) attendent leur signataire (« À signer »)."
    return settled(request, who, csrf, entity, done)


def _refused(
    request: Request, who: Caller, csrf: str, entity: str, message: str, status: int, form: str, typed: Any
) -> Response:
    """A form of the instance page refused: in place with ``status`` for htmx, else ``303`` to the
    instance's page saying ``message`` once, the form ``form`` refilled with ``typed``."""
    return refused(
        request,
        csrf,
        f"/console/instances/{quote(entity, safe='')}",
        message,
        lambda: _instance_page(request, who, csrf, entity, message=message, kind="error", status=status),
        form=form,
        typed=typed,
    )


def settled(request: Request, who: Caller, csrf: str, entity: str, done: str) -> Response:
    """A form of the instance page that succeeded: in place for htmx (an XHR is not replayed by a
    reload), else ``303`` to the instance's page, which says ``done`` once (Post/Redirect/Get)."""
    if request.headers.get("hx-request") == "true":
        return _instance_page(request, who, csrf, entity, message=done, kind="success")
    return console_flash.redirect(f"/console/instances/{quote(entity, safe='')}", csrf, done)


def _version_of(form: Any) -> int:
    version = str(form.get("version", ""))
    return int(version) if version.isdigit() and len(version) < 12 else -1


@router.post("/instances/{entity}/timers/{name}/move")
async def move_timer(request: Request, entity: str, name: str) -> Response:
    """Move a pending deadline to a local date-time, as the signed-in operator (a ``(timer moved)`` event)."""
    return await off_loop(request, _move_timer, request, entity, name, await request.form())


def _move_timer(request: Request, entity: str, name: str, form: FormData) -> Response:
    found = session(request)
    if found is None:
        return to_login()
    who, csrf = found

    if not who.account.may("operator") or not who.sees(entity):  # no form offered it: said with its status
        message = "Vous ne pouvez pas déplacer les échéances de ce dossier."
        return _instance_page(request, who, csrf, entity, message=message, kind="error", status=403)
    kept = {key: str(form.get(key, "")) for key in ("to", "reason", "catch_up")}

    def again(message: str, status: int) -> Response:
        return _refused(request, who, csrf, entity, message, status, f"move:{name}", kept)

    if not csrf_ok(csrf, form):
        return again("Formulaire expiré : rechargez la page.", 403)
    try:
        limits.take(request, who, "fires")
    except RateLimited as exc:
        return again(f"Trop de décisions en une minute : réessayez dans {exc.retry_after_s} s.", 429)
    runtime = runtime_of(request)
    current = queries.describe(runtime.engine, entity).instance
    zone = runtime.engine.workflow_of(current).timezone
    typed = str(form.get("to", "")).strip()[:40]
    try:
        to = parse_when(typed, zone)
    except ValueError as exc:
        return again(f"Échéance non déplacée : {escaped(str(exc))}", 422)
    today = runtime.engine.clock.now()
    catch_up = form.get("catch_up") == "1"
    if to < today and not catch_up:  # a past date fires at once: said so, and only when asked
        return again(
            f"Échéance non déplacée : le {to.astimezone(zone):%d/%m/%Y à %H:%M} est passé (nous sommes le "
            f"{today.astimezone(zone):%d/%m/%Y}) ; choisissez une date à venir, ou cochez « rattrapage » "
            "pour une échéance passée qui sera traitée aussitôt.",
            422,
        )
    try:
        moved = timer_moves.move_timer(
            runtime.engine,
            entity,
            name[:100],
            timer_moves.Shift(to=to),
            actor=who.account.name,
            reason=str(form.get("reason", "")),
            workflow=current.workflow,
            principal=who.principal,
            expected_version=_version_of(form),
        )
    except ConcurrentUpdate as exc:
        message = (
            "Ce dossier a été modifié par quelqu'un d'autre depuis l'affichage de la page "
            f"(version {exc.found_version}, vous aviez la version {exc.expected_version}) : "
            "voici son état actuel, déplacez l'échéance à nouveau si besoin."
        )
        return again(message, 409)
    except LabelwfError as exc:
        return again(f"Échéance non déplacée : {in_french(exc)}", 422)

    def local(value: datetime) -> str:
        return value.astimezone(runtime.settings.zone).strftime("%d/%m/%Y %H:%M")

    late = " Elle était dépassée sans avoir été traitée." if moved.overdue else ""
    if moved.new_due < today:
        late += " Rattrapage : la nouvelle échéance est passée, elle sera traitée aussitôt."
    done = (
        f"Échéance « {runtime.engine.workflow_of(current).timer_label(moved.timer)} » déplacée : "
        f"du {local(moved.old_due)} au {local(moved.new_due)} "
        f"(version {moved.seq}).{late}"
    )
    return settled(request, who, csrf, entity, done)


@router.get("/letters/{letter_id}")
def letter(request: Request, letter_id: int) -> Response:
    found = session(request)
    if found is None:
        return to_login()
    theirs(request, found[0], letter_id)
    # A letter that is not the one its event sealed is not shown: the page says so instead of its text.
    shown, altered = checked_letter(request, found[0], letter_id)
    return page(request, "letter.html", who=found[0], csrf=found[1], letter=shown, altered=altered)


@router.get("/letters/{letter_id}/html")
def letter_html(request: Request, letter_id: int) -> Response:
    found = session(request)
    if found is None:
        return to_login()
    theirs(request, found[0], letter_id)
    shown = shown_letter(request, found[0], letter_id)
    headers = {"Content-Security-Policy": LETTER_CSP, "X-Frame-Options": "SAMEORIGIN"}
    return HTMLResponse(shown.html or "", headers=headers)


@router.get("/letters/{letter_id}/pdf")
def letter_pdf(request: Request, letter_id: int) -> Response:
    found = session(request)
    if found is None:
        return to_login()
    theirs(request, found[0], letter_id)
    return pdf_response(request, found[0], letter_id)


@router.get("/deadlines")
def deadlines(request: Request, days: int = 90) -> Response:
    found = session(request)
    if found is None:
        return to_login()
    who, csrf = found
    if who.account.entity is not None:
        raise NotFound("page", "deadlines", "")
    runtime = runtime_of(request)
    days = max(1, min(days, 3660))
    # Late (due before now, still pending) apart from upcoming (now to `days` on): a past date is never upcoming.
    late, late_count, upcoming, upcoming_count = folio.deadlines(runtime.engine, days=days, shown=1000)
    zone = runtime.settings.zone
    by_day: dict[str, list[Any]] = {}
    for t in upcoming:
        by_day.setdefault(t.due_at.astimezone(zone).strftime("%d/%m/%Y"), []).append(t)
    return page(
        request,
        "deadlines.html",
        who=who,
        csrf=csrf,
        days=days,
        by_day=list(by_day.items()),
        late=late,
        late_count=late_count,
        upcoming_count=upcoming_count,
        upcoming_shown=len(upcoming),
    )
