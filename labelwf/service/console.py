"""The operators' console, ``/console``: French, server-rendered, usable without JavaScript for reading.

Sign-in opens a server-side session (the cookie holds a random secret, HttpOnly, Secure,
SameSite=Strict; only its sha256 is stored) with a CSRF token that every state-changing form
carries. A fire posts the form; with htmx the instance's section is swapped in place (new state,
history, the conflict message of a stale page), without it the page is rendered again. Failed
sign-ins are throttled per account name.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2.sandbox import SandboxedEnvironment

from .. import accounts, queries
from ..decision import Request as FireRequest
from ..errors import ConcurrentUpdate, LabelwfError, NotFound
from ..representations import instance_json
from .api import runtime_of
from .auth import Caller
from .letters_api import pdf_response, readable_letter

router = APIRouter(prefix="/console", include_in_schema=False)
COOKIE, LOGIN_COOKIE = "labelwf_session", "labelwf_login"
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"
)
LETTER_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"
MAX_FAILURES, FAILURE_WINDOW_S = 5, 900
# The console's own templates, in the sandbox all the same (they render stored, typed-in text).
_ENV = SandboxedEnvironment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


class _Throttle:
    """Failed sign-ins per account name in the last ``FAILURE_WINDOW_S`` seconds (per process)."""

    def __init__(self) -> None:
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, name: str) -> bool:
        with self._lock:
            recent = self._failures[name]
            while recent and recent[0] < time.monotonic() - FAILURE_WINDOW_S:
                recent.popleft()
            return len(recent) >= MAX_FAILURES

    def failed(self, name: str) -> None:
        with self._lock:
            self._failures[name].append(time.monotonic())


_THROTTLE = _Throttle()


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    zone = runtime_of(request).settings.zone

    def local(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(zone).strftime("%d/%m/%Y %H:%M")

    html = _ENV.get_template(template).render({"who": None, "csrf": ""} | context, local=local)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CONSOLE_CSP})


def _session(request: Request) -> tuple[Caller, str] | None:
    runtime = runtime_of(request)
    found = accounts.account_of_session(runtime.db, request.cookies.get(COOKIE, ""), now=runtime.engine.clock.now())
    if found is None:
        return None
    account, csrf = found
    return Caller(account, "session", request.state.request_id), csrf


def _to_login() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303)


@router.get("/login")
def login_form(request: Request) -> Response:
    token = secrets.token_urlsafe(24)
    response = _page(request, "login.html", login_csrf=token, message="", name="")
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, secure=True, samesite="strict", path="/console")
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))[:1000]
    expected = request.cookies.get(LOGIN_COOKIE, "")
    retry = secrets.token_urlsafe(24)

    def refused(message: str, status: int) -> Response:
        response = _page(request, "login.html", status, login_csrf=retry, message=message, name=name)
        response.set_cookie(LOGIN_COOKIE, retry, httponly=True, secure=True, samesite="strict", path="/console")
        return response

    if not expected or not hmac.compare_digest(expected, str(form.get("csrf", ""))):
        return refused("Le formulaire a expiré : saisissez à nouveau vos identifiants.", 400)
    if _THROTTLE.blocked(name):
        return refused("Trop d'essais infructueux pour cet identifiant : réessayez dans quinze minutes.", 429)
    runtime = runtime_of(request)
    account = accounts.check_password(runtime.db, name, password)
    if account is None:
        _THROTTLE.failed(name)
        return refused("Identifiant ou mot de passe incorrect.", 401)
    secret, _ = accounts.open_session(runtime.db, account, now=runtime.engine.clock.now())
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(COOKIE, secret, httponly=True, secure=True, samesite="strict", path="/", max_age=8 * 3600)
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    found = _session(request)
    form = await request.form()
    if found is not None and hmac.compare_digest(found[1], str(form.get("csrf", ""))):
        accounts.close_session(runtime_of(request).db, request.cookies.get(COOKIE, ""))
    response = _to_login()
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("")
def portfolio(request: Request, state: str = "", entity: str = "", after: str | None = None) -> Response:
    found = _session(request)
    if found is None:
        return _to_login()
    who, csrf = found
    if who.account.entity is not None:
        return RedirectResponse(f"/console/instances/{who.account.entity}", status_code=303)
    runtime = runtime_of(request)
    if entity.strip():
        return RedirectResponse(f"/console/instances/{entity.strip()[:100]}", status_code=303)
    workflow = runtime.engine.workflow() if len(runtime.engine.workflow_names) == 1 else None
    states = list(workflow.states) if workflow else []
    page = queries.list_instances(
        runtime.engine, workflow=workflow.name if workflow else None, state=state or None, after=after, limit=50
    )
    return _page(request, "list.html", who=who, csrf=csrf, page=page, states=states, state=state, entity="")


def _instance_page(
    request: Request, who: Caller, csrf: str, entity: str, *, message: str = "", kind: str = "", status: int = 200
) -> Response:
    runtime = runtime_of(request)
    if not who.sees(entity):
        raise NotFound("instance", entity, "")
    view = queries.describe(runtime.engine, entity)
    history = queries.history(runtime.engine, entity, limit=200).items
    template = "_instance.html" if request.headers.get("hx-request") == "true" else "instance.html"
    wf = runtime.engine.workflow_of(view.instance)
    return _page(
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
    )


@router.get("/instances/{entity}")
def instance(request: Request, entity: str) -> Response:
    found = _session(request)
    if found is None:
        return _to_login()
    try:
        return _instance_page(request, *found, entity)
    except NotFound:
        return _page(request, "base.html", 404, who=found[0], csrf=found[1])


@router.post("/instances/{entity}/fire")
async def fire(request: Request, entity: str) -> Response:
    found = _session(request)
    if found is None:
        return _to_login()
    who, csrf = found
    form = await request.form()
    if not hmac.compare_digest(csrf, str(form.get("csrf", ""))):
        return _instance_page(
            request, who, csrf, entity, message="Formulaire expiré : rechargez la page.", kind="error", status=403
        )
    if not who.account.may("operator") or not who.sees(entity):
        return _instance_page(
            request, who, csrf, entity, message="Vous ne pouvez pas décider sur ce dossier.", kind="error", status=403
        )
    version = str(form.get("version", ""))
    fields = {str(k)[6:]: str(v) for k, v in form.items() if str(k).startswith("field_") and str(v).strip()}
    runtime = runtime_of(request)
    request_ = FireRequest(
        entity=entity,
        trigger=str(form.get("trigger", ""))[:100],
        actor=who.account.name,
        reason=str(form.get("reason", "")),
        data=fields,
        expected_version=int(version) if version.isdigit() and len(version) < 12 else -1,
        principal=who.principal,
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
        return _instance_page(request, who, csrf, entity, message=message, kind="error", status=409)
    except LabelwfError as exc:
        return _instance_page(request, who, csrf, entity, message=f"Refusé : {exc}", kind="error", status=422)
    done = f"Décision enregistrée : {fired.trigger}, {fired.source} → {fired.dest} (version {fired.version})."
    return _instance_page(request, who, csrf, entity, message=done, kind="success")


@router.get("/letters/{letter_id}")
def letter(request: Request, letter_id: int) -> Response:
    found = _session(request)
    if found is None:
        return _to_login()
    shown = readable_letter(request, found[0], letter_id)
    return _page(request, "letter.html", who=found[0], csrf=found[1], letter=shown)


@router.get("/letters/{letter_id}/html")
def letter_html(request: Request, letter_id: int) -> Response:
    found = _session(request)
    if found is None:
        return _to_login()
    shown = readable_letter(request, found[0], letter_id)
    headers = {"Content-Security-Policy": LETTER_CSP, "X-Frame-Options": "SAMEORIGIN"}
    return HTMLResponse(shown.html or "", headers=headers)


@router.get("/letters/{letter_id}/pdf")
def letter_pdf(request: Request, letter_id: int) -> Response:
    found = _session(request)
    if found is None:
        return _to_login()
    return pdf_response(request, found[0], letter_id)


@router.get("/deadlines")
def deadlines(request: Request, days: int = 90) -> Response:
    found = _session(request)
    if found is None:
        return _to_login()
    who, csrf = found
    if who.account.entity is not None:
        raise NotFound("page", "deadlines", "")
    runtime = runtime_of(request)
    days = max(1, min(days, 3660))
    until = runtime.engine.clock.now() + timedelta(days=days)
    timers = queries.pending_timers(runtime.db, due_before=until, limit=1000).items
    zone = runtime.settings.zone
    by_day: dict[str, list[Any]] = {}
    for t in timers:
        by_day.setdefault(t.due_at.astimezone(zone).strftime("%d/%m/%Y"), []).append(t)
    return _page(request, "deadlines.html", who=who, csrf=csrf, days=days, by_day=list(by_day.items()))
