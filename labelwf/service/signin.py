"""Signing in to the console and out of it: a local account's password, or the OpenID Connect provider.

A password sign-in posts the form with the sign-in page's own CSRF cookie; failed attempts are
throttled per account name. An OIDC sign-in sends the browser to the provider with a fresh
``state``, ``nonce`` and PKCE verifier, remembered server-side for ten minutes and bound to the
browser by a cookie: a callback with an unknown, used, expired or foreign state is refused before
the code is exchanged, and an ID token whose nonce is not the one sent is refused by its
validation. Either way the session records how its account signed in.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import defaultdict, deque

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .. import accounts
from .api import runtime_of
from .oidc import Provider, ProviderError
from .pages import COOKIE, csrf_ok, page, session, to_login

router = APIRouter(prefix="/console", include_in_schema=False)
LOGIN_COOKIE, OIDC_COOKIE = "labelwf_login", "labelwf_oidc"
OIDC_PATH = "/console/login/oidc"
MAX_FAILURES, FAILURE_WINDOW_S = 5, 900
SESSION_MAX_AGE = accounts.SESSION_HOURS * 3600
_log = logging.getLogger("labelwf.service")


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


def _login_page(request: Request, status: int = 200, *, message: str = "", name: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", status, login_csrf=token, message=message, name=name)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, secure=True, samesite="strict", path="/console")
    return response


def _signed_in(request: Request, account: accounts.Account, method: str) -> Response:
    runtime = runtime_of(request)
    secret, _ = accounts.open_session(runtime.db, account, now=runtime.engine.clock.now(), method=method)
    if method == "oidc":
        # Back from the provider the navigation is cross-site, and a browser keeps SameSite=Strict
        # cookies out of it and its redirects: a page of this site moves on to the console instead.
        response: Response = page(request, "signed_in.html", who=None)
    else:
        response = RedirectResponse("/console", status_code=303)
    response.set_cookie(
        COOKIE, secret, httponly=True, secure=True, samesite="strict", path="/", max_age=SESSION_MAX_AGE
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    response.delete_cookie(OIDC_COOKIE, path=OIDC_PATH)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))[:1000]
    if not csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), form):
        message = "Le formulaire a expiré : saisissez à nouveau vos identifiants."
        return _login_page(request, 400, message=message, name=name)
    if _THROTTLE.blocked(name):
        message = "Trop d'essais infructueux pour cet identifiant : réessayez dans quinze minutes."
        return _login_page(request, 429, message=message, name=name)
    account = accounts.check_password(runtime_of(request).db, name, password)
    if account is None:
        _THROTTLE.failed(name)
        return _login_page(request, 401, message="Identifiant ou mot de passe incorrect.", name=name)
    return _signed_in(request, account, "password")


@router.post("/logout")
async def logout(request: Request) -> Response:
    found = session(request)
    form = await request.form()
    if found is not None and csrf_ok(found[1], form):
        accounts.close_session(runtime_of(request).db, request.cookies.get(COOKIE, ""))
    response = to_login()
    response.delete_cookie(COOKIE, path="/")
    return response


def _provider(request: Request) -> Provider | None:
    provider: Provider | None = getattr(request.app.state, "oidc", None)
    return provider


def _redirect_uri(request: Request) -> str:
    return runtime_of(request).settings.oidc_redirect_uri or str(request.url_for("oidc_callback"))


def _refused(request: Request, status: int, message: str, reason: str) -> Response:
    _log.warning("oidc sign-in refused: %s (request %s)", reason, request.state.request_id)
    return _login_page(request, status, message=message)


@router.get("/login/oidc")
def oidc_start(request: Request) -> Response:
    provider = _provider(request)
    if provider is None:
        return _login_page(request, 404, message="La connexion par un fournisseur d'identité n'est pas configurée.")
    runtime = runtime_of(request)
    pending = accounts.begin_oidc_sign_in(runtime.db, now=runtime.engine.clock.now())
    try:
        url = provider.authorization_url(
            _redirect_uri(request), state=pending.state, nonce=pending.nonce, code_verifier=pending.code_verifier
        )
    except ProviderError as exc:
        return _refused(request, 502, "Le fournisseur d'identité ne répond pas : réessayez plus tard.", str(exc))
    response = RedirectResponse(url, status_code=303)
    # Lax, not Strict: the provider sends the browser back here by a cross-site navigation.
    response.set_cookie(
        OIDC_COOKIE, pending.browser, httponly=True, secure=True, samesite="lax", path=OIDC_PATH, max_age=600
    )
    return response


@router.get("/login/oidc/callback", name="oidc_callback")
def oidc_callback(request: Request, state: str = "", code: str = "", error: str = "") -> Response:
    provider = _provider(request)
    if provider is None:
        return _login_page(request, 404, message="La connexion par un fournisseur d'identité n'est pas configurée.")
    runtime = runtime_of(request)
    pending = accounts.finish_oidc_sign_in(
        runtime.db, state[:200], request.cookies.get(OIDC_COOKIE, ""), now=runtime.engine.clock.now()
    )
    if pending is None:
        message = "Cette connexion a expiré, a déjà servi ou n'a pas été commencée dans ce navigateur : recommencez."
        return _refused(request, 400, message, "unknown, used, expired or foreign state")
    if error or not code:
        shown = error[:100] or "no code"
        return _refused(request, 401, f"Le fournisseur d'identité a refusé la connexion ({shown}).", shown)
    try:
        identity = provider.identity(
            code[:2000], _redirect_uri(request), code_verifier=pending.code_verifier, nonce=pending.nonce
        )
    except ProviderError as exc:
        return _refused(request, 401, "La réponse du fournisseur d'identité n'a pas pu être vérifiée.", str(exc))
    try:
        account = accounts.account_of_identity(
            runtime.db, identity.issuer, identity.subject, identity.email, identity.email_verified
        )
    except accounts.SignInRefused as exc:
        message = (
            f"Aucun compte labelwf ne vous est ouvert ({identity.email or identity.subject}) : "
            "demandez à un administrateur de le créer avec votre adresse."
        )
        return _refused(request, 403, message, str(exc))
    _log.info("oidc sign-in: %s as %s (request %s)", identity.subject, account.name, request.state.request_id)
    return _signed_in(request, account, "oidc")
