"""Post/Redirect/Get for the console: a form's outcome shown once, on the page the browser is sent to.

A handled form answers ``303 See Other`` to a page (``redirect``) and the sentence it would have
shown travels in a short-lived cookie (``labelwf_flash``: HttpOnly, Secure, SameSite=Strict, two
minutes), signed with the session's CSRF token, so only the session that posted the form reads it,
and a cookie set by anyone else is ignored. The next full page of that session shows it and deletes
it (``take``): a reload shows neither the message again nor sends the form again. What else a form
leaves for that page — a new API token, the values of a refused form — is kept on the server
(``console_kept``), never in the cookie. Templates escape what they show, as every text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

COOKIE = "labelwf_flash"
MAX_AGE = 120  # seconds: the redirect is followed at once; a stale message is not worth keeping
LONGEST = 3000  # characters of a message (a cookie holds 4 KiB)


@dataclass(frozen=True, slots=True)
class Flash:
    """What a form's outcome shows once: its sentence, its kind (``success`` or ``error``)."""

    message: str
    kind: str = "success"


def _signature(csrf: str, payload: str) -> str:
    return hmac.new(csrf.encode(), payload.encode(), hashlib.sha256).hexdigest()


def redirect(url: str, csrf: str, message: str, kind: str = "success") -> RedirectResponse:
    """``303`` to ``url`` (a console path), its page then showing ``message`` once."""
    if not url.startswith("/console"):  # only ever the console's own pages
        raise ValueError(f"a flash redirects within the console, got {url!r}")
    response = RedirectResponse(url, status_code=303)
    data = {"m": message[:LONGEST], "k": kind}
    payload = base64.urlsafe_b64encode(json.dumps(data, ensure_ascii=False).encode()).decode()
    response.set_cookie(
        COOKIE,
        f"{payload}.{_signature(csrf, payload)}",
        max_age=MAX_AGE,
        httponly=True,
        secure=True,
        samesite="strict",
        path="/console",
    )
    return response


def take(request: Request, csrf: str) -> Flash | None:
    """The flash the session posting with ``csrf`` left for this page, if any and genuine."""
    payload, _, signature = request.cookies.get(COOKIE, "").partition(".")
    if not payload or not csrf or not hmac.compare_digest(signature, _signature(csrf, payload)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("k") if data.get("k") in ("success", "error") else "success"
    return Flash(str(data.get("m", "")), str(kind))


def pending(request: Request) -> bool:
    """Whether this request carries a flash for a full page (never an htmx fragment, which would eat it)."""
    return COOKIE in request.cookies and request.headers.get("hx-request") != "true"


def spent(response: Response) -> None:
    """Delete the flash cookie: it has been shown (or was not genuine)."""
    response.delete_cookie(COOKIE, path="/console", secure=True, httponly=True, samesite="strict")
