"""What every console page shares: its templates (in Jinja2's sandbox), its headers, and the session.

A session's cookie holds a random secret (HttpOnly, Secure, SameSite=Strict; only its sha256 is
stored) and the session carries the CSRF token every state-changing form must send back.

A ``def`` route runs on a worker thread already; a route that must read its form on the event
loop (``async def``) hands the rest of its work, the session's look-up included, to ``off_loop``:
nothing that waits for the database runs on the loop.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2.sandbox import SandboxedEnvironment

from .. import accounts
from ..engine.wording import LETTER_STATUSES
from ..errors import Overloaded
from . import console_flash, console_kept
from .api import runtime_of
from .auth import Caller
from .console_theme import look
from .console_words import ROLE_LABELS
from .offload import console_work

COOKIE = "labelwf_session"
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"
)
# The console's own templates, in the sandbox all the same (they render stored, typed-in text).
_ENV = SandboxedEnvironment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A console page rendered from ``template``, with the console's Content-Security-Policy."""
    runtime = runtime_of(request)
    zone = runtime.settings.zone

    def local(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(zone).strftime("%d/%m/%Y %H:%M")

    settings = runtime.settings
    defaults: dict[str, Any] = {"who": None, "csrf": "", "typed": {}, "typed_for": "", "new_token": "", "message": ""}
    defaults["oidc_label"] = settings.oidc_label if settings.oidc_enabled else ""
    context = {"look": look(runtime, runtime.engine.clock.now())} | context  # the theme, and who issues it today
    context = {"role_labels": ROLE_LABELS, "letter_statuses": LETTER_STATUSES} | context
    flashed = request.method == "GET" and console_flash.pending(request)  # a form's outcome, shown once
    flash = console_flash.take(request, str(context.get("csrf", ""))) if flashed else None
    if flash is not None and not context.get("message"):
        context = context | {"message": flash.message, "message_kind": flash.kind}
        kept = console_kept.take(request, str(context.get("csrf", "")))  # a new token, a refused form's values
        if kept is not None:
            context = context | {"new_token": kept.token, "typed": kept.typed, "typed_for": kept.form}
    html = _ENV.get_template(template).render(defaults | context, local=local)
    response = HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CONSOLE_CSP})
    if flashed:
        console_flash.spent(response)
    return response


def session(request: Request) -> tuple[Caller, str] | None:
    """The signed-in caller of ``request`` and its session's CSRF token, or None."""
    runtime = runtime_of(request)
    found = accounts.account_of_session(runtime.db, request.cookies.get(COOKIE, ""), now=runtime.engine.clock.now())
    if found is None:
        return None
    return Caller(found.account, f"{found.method} session", request.state.request_id), found.csrf


def csrf_ok(expected: str, form: Any) -> bool:
    """Whether a posted form carries the session's CSRF token."""
    return bool(expected) and hmac.compare_digest(expected, str(form.get("csrf", "")))


def to_login() -> RedirectResponse:
    """Where a request without a session goes."""
    return RedirectResponse("/console/login", status_code=303)


async def off_loop(request: Request, work: Callable[..., Response], *args: Any) -> Response:
    """The answer ``work(*args)`` makes on the console's worker threads (``offload.console_work``); a page
    saying to retry (503, ``Retry-After``) when the console already has as many forms in hand as it takes."""
    try:
        return await console_work(request, work, *args)
    except Overloaded as exc:
        busy = "Le service traite déjà beaucoup de demandes : réessayez dans quelques secondes."
        response = page(request, "base.html", 503, busy=busy)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
