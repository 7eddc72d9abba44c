"""Executing a plan from the console, and following it: a confirmation first, then the run in the
background (``plan_runs``: the engine's ``plans.run``, as the API and the CLI), and the plan's page
polling a small fragment of its progress until the run ends; or the plan's cancellation.

``GET /console/plans/{id}/execution`` says exactly what will be executed; its « Confirmer » posts
``confirm=oui`` with the session's CSRF token. A post without it executes nothing and is sent to
that page. A plan whose every item was refused at its preview is not executed (the engine refuses
it too: ``NothingToExecute``). Each post answers ``303`` to the plan's page, which says the outcome
once (``console_flash``): a reload sends nothing again.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from ..engine.wording import PLAN_KINDS as KINDS
from ..engine.wording import PLAN_STATUSES as PLAN_STATUS
from ..errors import ActionRefused, RateLimited
from ..operations import plans
from ..store.records import Batch, BatchStatus, ItemStatus
from . import console_flash, limits
from .api import runtime_of
from .auth import Caller
from .console_ops import _signed_in
from .console_plans import (
    EXPIRED,
    OPEN,
    _number,
    _plan_page,
    _stored,
    _summary,
    inert,
    progress_of,
)
from .console_refusals import refused
from .pages import csrf_ok, off_loop, page
from .plan_runs import runs_of

router = APIRouter(prefix="/console", include_in_schema=False)
POLL = "every 2s"  # how often a running plan's page asks for its progress


def nothing_applies(plan: Batch) -> str:
    """Why a plan is not executable, in French (empty when it is)."""
    if not inert(plan):
        return ""
    refused = plan.counts.get(ItemStatus.REFUSED, 0)
    return (
        f"Aucune décision de ce plan n'est applicable : ses {refused} élément(s) ont été refusés à l'aperçu "
        "(voir la colonne « Prévu »). Il ne peut pas être exécuté ; annulez-le et planifiez ce qui s'applique."
    )


def _not_open(plan: Batch) -> str:
    said = PLAN_STATUS[plan.status.value]
    why = "chaque élément a déjà son résultat" if plan.status is BatchStatus.DONE else "il ne peut plus être exécuté"
    return f"Rien n'a été exécuté : ce plan est {said}, {why}."


def _what(plan: Batch, request: Request) -> str:
    """« Exécuter le plan n° 12 : 7 décisions sur 7 dossiers — … », as the confirmation says it."""
    pending = plan.counts.get(ItemStatus.PENDING, 0)
    kind = KINDS.get(plan.kind, plan.kind)
    asked = _summary(plan, runtime_of(request).settings.zone)["asked"]
    refused = plan.counts.get(ItemStatus.REFUSED, 0)
    skipped = f" Les {refused} élément(s) refusés à l'aperçu ne seront pas tentés." if refused else ""
    return (
        f"Exécuter le plan n° {plan.id} ({plan.reference}) : {pending} {kind}(s) sur {pending} dossier(s) — {asked}. "
        f"Chaque élément devient un événement du journal d'audit, à votre nom ; un dossier modifié depuis "
        f"l'aperçu sera signalé, pas traité.{skipped}"
    )


@router.get("/plans/{plan_id}/execution")
def confirm_execution(request: Request, plan_id: str) -> Response:
    """What executing the plan will do, to confirm or cancel; nothing is executed here."""
    found = _signed_in(request, "supervisor")
    if isinstance(found, Response):
        return found
    who, csrf = found
    number = _number(plan_id)
    plan = _stored(runtime_of(request).engine, number)
    if plan is None:
        return _plan_page(request, who, csrf, number)
    title = f"Exécuter le plan n° {plan.id}"
    back = f"/console/plans/{plan.id}"
    refused = _not_open(plan) if plan.status not in OPEN else nothing_applies(plan)
    if refused or runs_of(request.app.state).running(plan.id):
        refused = refused or "Ce plan est en cours d'exécution : sa page suit son avancement."
        return page(request, "confirm.html", 409, who=who, csrf=csrf, title=title, refused=refused, back=back)
    return page(
        request,
        "confirm.html",
        who=who,
        csrf=csrf,
        title=title,
        refused="",
        what=_what(plan, request),
        action=f"/console/plans/{plan.id}/execution",
        fields=[],
        reason=False,
        back=back,
    )


@router.post("/plans/{plan_id}/execution")
async def execute_plan(request: Request, plan_id: str) -> Response:
    """Start the plan's run in the background once confirmed, then send the browser to its page."""
    return await off_loop(request, _execute_plan, request, plan_id, await request.form())


def _refused(request: Request, who: Caller, csrf: str, number: int, message: str, status: int) -> Response:
    """The plan's page with ``status`` for htmx, else ``303`` to it saying ``message`` once."""
    return refused(
        request,
        csrf,
        f"/console/plans/{number}",
        message,
        lambda: _plan_page(request, who, csrf, number, message=message, kind="error", status=status),
    )


def _execute_plan(request: Request, plan_id: str, form: FormData) -> Response:
    found = _signed_in(request, "supervisor")
    if isinstance(found, Response):
        return found
    who, csrf = found
    number = _number(plan_id)
    if not csrf_ok(csrf, form):
        return _refused(request, who, csrf, number, EXPIRED, 403)
    engine = runtime_of(request).engine
    plan = _stored(engine, number)
    if plan is None:
        return _plan_page(request, who, csrf, number)
    if plan.status not in OPEN:
        return _refused(request, who, csrf, number, _not_open(plan), 409)
    if inert(plan):
        return _refused(request, who, csrf, number, nothing_applies(plan), 409)
    if form.get("confirm") != "oui":  # nothing runs before its confirmation page
        return RedirectResponse(f"/console/plans/{number}/execution", status_code=303)
    try:
        limits.take(request, who, "fires")
    except RateLimited as exc:
        message = f"Trop de décisions en une minute : réessayez dans {exc.retry_after_s} s."
        return _refused(request, who, csrf, number, message, 429)
    started = runs_of(request.app.state).start(engine, number, executed_by=who.principal)
    said = (
        "Exécution lancée : cette page suit son avancement."
        if started
        else "Ce plan est déjà en cours d'exécution : cette page suit son avancement."
    )
    return console_flash.redirect(f"/console/plans/{number}", csrf, said)


@router.get("/plans/{plan_id}/progress")
def plan_progress(request: Request, plan_id: str) -> Response:
    """The plan's progress as a fragment the plan's page polls while it runs; when the run has ended,
    the page is reloaded (``HX-Refresh``) to show each item's result."""
    found = _signed_in(request, "supervisor")
    if isinstance(found, Response):
        return found
    who, csrf = found
    number = _number(plan_id)
    live = runs_of(request.app.state).running(number)  # asked before the plan is read (see _plan_page)
    plan = _stored(runtime_of(request).engine, number)
    if plan is None:
        return _plan_page(request, who, csrf, number)
    answer = page(
        request,
        "_plan_progress.html",
        who=who,
        csrf=csrf,
        plan=_summary(plan, runtime_of(request).settings.zone),
        live=live,
        progress=progress_of(plan),
        poll=POLL,
    )
    if not live and request.headers.get("hx-request") == "true":
        answer.headers["HX-Refresh"] = "true"  # the run ended: the whole page shows the results
    return answer


@router.post("/plans/{plan_id}/cancellation")
async def cancel_plan(request: Request, plan_id: str) -> Response:
    """Cancel a plan not finished: its items not run yet are cancelled, those done stay done."""
    return await off_loop(request, _cancel_plan, request, plan_id, await request.form())


def _cancel_plan(request: Request, plan_id: str, form: FormData) -> Response:
    found = _signed_in(request, "supervisor")
    if isinstance(found, Response):
        return found
    who, csrf = found
    number = _number(plan_id)
    if not csrf_ok(csrf, form):
        return _refused(request, who, csrf, number, EXPIRED, 403)
    engine = runtime_of(request).engine
    if _stored(engine, number) is None:
        return _plan_page(request, who, csrf, number)
    try:
        cancelled = plans.cancel(engine, number)
    except ActionRefused as exc:
        message = f"Ce plan ne peut plus être annulé : il est {PLAN_STATUS.get(exc.found, exc.found)}."
        return _refused(request, who, csrf, number, message, 409)
    left = cancelled.counts.get(ItemStatus.CANCELLED.value, 0)
    message = f"Plan annulé : {left} élément(s) non exécuté(s) annulé(s) ; ceux déjà faits le restent."
    return console_flash.redirect(f"/console/plans/{number}", csrf, message)
