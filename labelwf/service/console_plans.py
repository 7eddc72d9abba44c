"""The console's plans (supervisors): the list, a bulk decision's first step, a plan's frozen items,
its execution and its cancellation.

As over the API (``batches_api``): plans are the supervisors' (and admins'), never a stakeholder's;
the signed-in account is the actor and its session the principal of every event a plan writes.
Planning fires nothing: the form is checked whole (each problem said with its value and what
would do), then ``bulk.plan_decision`` freezes and previews the list. Executing runs ``plans.run``
in the request, on a worker thread as every form's work (``pages.off_loop``); a finished or
cancelled plan is refused with why. Every form posts the session's CSRF token, and the role is
checked on every request, whatever the page offered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from ..engine.fire import Engine
from ..engine.wording import ITEM_STATUSES as ITEM_STATUS
from ..engine.wording import PLAN_KINDS as KINDS
from ..engine.wording import PLAN_STATUSES as PLAN_STATUS
from ..errors import LabelwfError, NotFound, PlanRejected, RateLimited
from ..operations import bulk, plans
from ..store import batches as bsql
from ..store.records import Batch, BatchItem, BatchStatus, ItemStatus
from . import console_flash, console_kept, limits
from .api import runtime_of
from .auth import Caller
from .console_ops import _signed_in
from .console_plan_form import FORM_KEYS, MAX_IDS, choices, read_form
from .console_refusals import refused
from .pages import csrf_ok, off_loop, page
from .plan_runs import runs_of

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 200  # items of a plan per page
LISTED = 100  # plans on the list
MAX_SEQ = 10_000_000
OPEN = (BatchStatus.PLANNED, BatchStatus.RUNNING)
EXPIRED = "Formulaire expiré : rechargez la page."
NOTHING = "rien d'applicable"


def _number(text: str) -> int:
    """A plan id or sequence number from a URL (-1 when it is none: then nothing is found)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else -1


def _local(value: datetime | str | None, zone: tzinfo) -> str:
    """An instant (or its ISO form, as a plan's preview stores it) in the console's time zone."""
    if value is None or value == "":
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def inert(plan: Batch) -> bool:
    """Whether a plan never run has nothing to execute: every item was refused at its preview."""
    return plan.status is BatchStatus.PLANNED and not plan.counts.get(ItemStatus.PENDING, 0)


def progress_of(plan: Batch) -> dict[str, int]:
    """How far a plan's execution is: items treated (done, changed, failed), items left, of those to do."""
    treated = sum(plan.counts.get(s, 0) for s in (ItemStatus.DONE, ItemStatus.CHANGED, ItemStatus.FAILED))
    left = plan.counts.get(ItemStatus.PENDING, 0)
    return {"done": treated, "left": left, "total": treated + left}


def _counts(counts: Mapping[str, int]) -> str:
    said = [f"{ITEM_STATUS[s.value]} : {counts[s.value]}" for s in ItemStatus if counts.get(s.value)]
    return " · ".join(said) or "aucun élément"


def _summary(plan: Batch, zone: tzinfo) -> dict[str, Any]:
    """A plan as the list and its page show it."""
    return {
        "id": plan.id,
        "kind": KINDS.get(plan.kind, plan.kind),
        "workflow": plan.workflow,
        "reference": plan.reference,
        "actor": plan.actor,
        "principal": plan.principal or "",
        "executed_by": plan.executed_by or "",
        "reason": plan.reason,
        "created_at": _local(plan.created_at, zone),
        "date": _local(plan.occurred_at, zone) or "à l'exécution de chaque élément",
        "status": NOTHING if inert(plan) else PLAN_STATUS.get(plan.status.value, plan.status.value),
        "open": plan.status in OPEN,
        "executable": plan.status in OPEN and not inert(plan),
        "counts": _counts(plan.counts),
        "total": sum(plan.counts.values()),
        "asked": _asked(plan, zone),
    }


def _pairs(data: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in data.items())


def _asked(plan: Batch, zone: tzinfo) -> str:
    """What the plan was asked to do, in a sentence."""
    spec = plan.spec
    if plan.kind == "timer_move":  # spec["shift"]: "to <ISO instant>" or "by +1 year"
        how, _, where = str(spec.get("shift", "")).partition(" ")
        moved = f"au {_local(where, zone)}" if how == "to" else f"de {where}"
        return f"échéance {spec.get('timer', '')} déplacée {moved}"
    if plan.kind != "decision":
        return plan.reference
    said = [str(spec.get("trigger") or "le déclencheur de chaque ligne")]
    if spec.get("data"):
        said.append(f"avec {_pairs(spec['data'])}")
    chosen = spec.get("selection") or {}
    whom = []
    if chosen.get("entities"):
        whom.append(f"{len(chosen['entities'])} dossier(s) nommé(s)")
    if chosen.get("states"):
        whom.append(f"état {', '.join(chosen['states'])}")
    if chosen.get("all"):
        whom.append("tous les dossiers")
    if whom:
        said.append(f"— sélection : {' ; '.join(whom)}")
    return " ".join(said)


def _item(plan: Batch, item: BatchItem, zone: tzinfo) -> dict[str, Any]:
    """One item as the plan's page shows it: what to do, what the preview said, what happened."""
    action, preview, outcome = item.action, item.preview, item.outcome or {}
    moving = plan.kind == "timer_move"
    if moving:
        to = _local(action.get("to"), zone)
        what = f"{action.get('timer', '')} → {to}" if to else f"{action.get('timer', '')} {action.get('by') or ''}"
    elif plan.kind == "decision":
        data = action.get("data") or {}
        what = f"{action.get('trigger', '')}" + (f" ({_pairs(data)})" if data else "")
    else:
        what = f"version {action['to_version']}" if "to_version" in action else ""
    if "refused" in preview:
        planned = f"Refusé : {preview['refused']}"
    elif moving:
        planned = f"{_local(preview.get('from'), zone)} → {_local(preview.get('dest'), zone)}"
    else:
        letters = ", ".join(preview.get("letters") or [])
        planned = f"{preview.get('from', '')} → {preview.get('dest', '')}" + (
            f" ; courriers : {letters}" if letters else " ; aucun courrier"
        )
    if "error" in outcome:
        result = str(outcome["error"])
    elif item.status is ItemStatus.DONE and moving:
        result = f"échéance au {_local(outcome.get('dest'), zone)} (version {outcome.get('seq')})"
    elif item.status is ItemStatus.DONE:
        letters_sent = outcome.get("letters")
        count = len(letters_sent) if isinstance(letters_sent, list) else letters_sent
        result = f"→ {outcome.get('dest', '')} (version {outcome.get('seq')}), {count or 0} courrier(s)"
    else:
        result = ""
    return {
        "n": item.seq + 1,
        "entity": item.entity,
        "linked": item.instance_id is not None,
        "action": what,
        "preview": planned,
        "status": ITEM_STATUS.get(item.status.value, item.status.value),
        "status_code": item.status.value,
        "outcome": result,
    }


def _list_page(
    request: Request, who: Caller, csrf: str, message: str = "", kind: str = "", status: int = 200
) -> Response:
    runtime = runtime_of(request)
    zone = runtime.settings.zone
    listed = [_summary(p, zone) for p in plans.listing(runtime.engine, limit=LISTED)]
    return page(request, "plans.html", status, who=who, csrf=csrf, plans=listed, message=message, message_kind=kind)


def _plan_page(
    request: Request,
    who: Caller,
    csrf: str,
    plan_id: int,
    *,
    after: int = -1,
    message: str = "",
    kind: str = "",
    status: int = 200,
) -> Response:
    runtime = runtime_of(request)
    zone = runtime.settings.zone
    plan: Batch | None = None
    found: list[BatchItem] = []
    # Whether it runs is asked before the plan is read: a run that ends in between is then seen live
    # (the page polls, and the next poll finds it ended), never read as running by a page that no run follows.
    live = runs_of(request.app.state).running(plan_id)
    if 0 < plan_id < 2**63:
        with runtime.db.read() as conn:
            plan = bsql.get_batch(conn, plan_id)
            if plan is not None:
                found = bsql.items(conn, plan_id, after=after, limit=PAGE + 1)
    if plan is None:
        which = f"n° {plan_id}" if plan_id > 0 else "de ce numéro"
        return _list_page(request, who, csrf, f"Aucun plan {which} : voici les plans enregistrés.", "error", 404)
    listed = found[:PAGE]
    return page(
        request,
        "plan.html",
        status,
        who=who,
        csrf=csrf,
        plan=_summary(plan, zone),
        planned=plan.status is BatchStatus.PLANNED,
        live=live,
        progress=progress_of(plan),
        items=[_item(plan, i, zone) for i in listed],
        next=listed[-1].seq if len(found) > PAGE else None,
        paged=after >= 0,
        per_page=PAGE,
        message=message,
        message_kind=kind,
    )


def _form_page(
    request: Request,
    who: Caller,
    csrf: str,
    typed: Mapping[str, str] | None = None,
    problems: Sequence[str] = (),
    status: int = 200,
) -> Response:
    engine = runtime_of(request).engine
    if typed is None and console_flash.pending(request):  # back from a refused post: refilled, problems said
        kept = console_kept.take(request, csrf)
        if kept is not None and kept.form == "plan":
            typed, problems = kept.typed, kept.problems
    values = {k: "" for k in FORM_KEYS} | dict(typed or {})
    workflows = choices(engine)
    return page(
        request,
        "plan_new.html",
        status,
        who=who,
        csrf=csrf,
        form=values,
        problems=list(problems),
        workflows=workflows,
        several=len(workflows) > 1,
        max_ids=MAX_IDS,
        max_reference=bulk.MAX_REFERENCE,
    )


@router.get("/plans")
def plans_page(request: Request) -> Response:
    found = _signed_in(request, "supervisor")
    return found if isinstance(found, Response) else _list_page(request, *found)


@router.get("/plans/new")
def new_plan(request: Request) -> Response:
    found = _signed_in(request, "supervisor")
    return found if isinstance(found, Response) else _form_page(request, *found)


@router.post("/plans")
async def create_plan(request: Request) -> Response:
    """Freeze a bulk decision from the form (nothing fired), then show its page; or say what is wrong."""
    return await off_loop(request, _create_plan, request, await request.form())


def _create_plan(request: Request, form: FormData) -> Response:
    found = _signed_in(request, "supervisor")
    if isinstance(found, Response):
        return found
    who, csrf = found
    typed = {k: str(form.get(k, "")) for k in FORM_KEYS}

    def again(problems: list[str], status: int) -> Response:
        said = f"Le plan n'a pas été créé : {len(problems)} problème(s), dits au-dessus du formulaire."
        return refused(
            request,
            csrf,
            "/console/plans/new",
            problems[0] if len(problems) == 1 else said,
            lambda: _form_page(request, who, csrf, typed, problems, status),
            form="plan",
            typed=typed,
            problems=problems,
        )

    if not csrf_ok(csrf, form):
        return again([EXPIRED], 403)
    engine = runtime_of(request).engine
    arguments, problems = read_form(engine, typed)
    if problems:
        return again(problems, 422)
    try:
        limits.take(request, who, "fires")
        report = bulk.plan_decision(engine, actor=who.account.name, principal=who.principal, **arguments)
    except RateLimited as exc:
        return again([f"Trop de décisions en une minute : réessayez dans {exc.retry_after_s} s."], 429)
    except PlanRejected as exc:
        return again([f"Plan non créé : {p.message}" for p in exc.problems[:50]], 422)
    except LabelwfError as exc:
        return again([f"Plan non créé : {exc}"], 422)
    return RedirectResponse(f"/console/plans/{report.batch.id}", status_code=303)


@router.get("/plans/{plan_id}")
def plan_page(request: Request, plan_id: str, after: str = "") -> Response:
    found = _signed_in(request, "supervisor")
    if isinstance(found, Response):
        return found
    start = _number(after) if after else -1
    return _plan_page(request, *found, _number(plan_id), after=start if start <= MAX_SEQ else -1)


def _stored(engine: Engine, plan_id: int) -> Batch | None:
    try:
        return plans.get(engine, plan_id)
    except NotFound:
        return None
