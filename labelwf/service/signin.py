"""Signing in to the console and out of it: a local account's password, or the OpenID Connect provider.

A password sign-in posts the form with the sign-in page's own CSRF cookie; failed attempts are
throttled per client address and per account name with growing delays, never a lock
(``throttle``), and the password is checked off the event loop, a few at a time (``offload``:
beyond them, 503 with ``Retry-After``). An OIDC sign-in sends the browser to the provider with a fresh
``state``, ``nonce`` and PKCE verifier, sealed for ten minutes in the browser's own cookie
(``oidc_state``: starting a sign-in writes nothing on the server): a callback with an unknown,
used, expired or foreign state is refused before the code is exchanged, and an ID token whose
nonce is not the one sent is refused by its validation. The callback's address is the configured
one, never the request's. Either way the session records how its account signed in. Signing out
ends the server's session whatever the form sends.
"""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .. import accounts
from ..errors import LabelwfError, Overloaded
from .api import runtime_of
from .offload import checking_passwords, console_work
from .oidc import Provider, ProviderError
from .oidc_state import PENDING_SECONDS
from .pages import COOKIE, csrf_ok, page, to_login
from .throttle import Throttle, Wait, client_address

router = APIRouter(prefix="/console", include_in_schema=False)
LOGIN_COOKIE, OIDC_COOKIE = "labelwf_login", "labelwf_oidc"
OIDC_PATH = "/console/login/oidc"
SESSION_MAX_AGE = accounts.SESSION_HOURS * 3600
_log = logging.getLogger("labelwf.service")


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
    throttle: Throttle = request.app.state.throttle
    address = client_address(request, request.app.state.trusted_proxies)
    wait = throttle.admit(address, name)
    if wait is not None:
        return _waiting(_login_page(request, 429, message=_wait_message(wait), name=name), wait.seconds)
    try:  # argon2 takes a tenth of a second and 64 MiB: on the gate's threads, never on the event loop
        account = await checking_passwords(request, accounts.check_password, runtime_of(request).db, name, password)
    except LabelwfError as exc:  # not checked (too many at once, or no database): no failure
        throttle.forgive(address, name, signed_in=False)
        if not isinstance(exc, Overloaded):
            raise
        return _waiting(_login_page(request, 503, message=BUSY, name=name), exc.retry_after_s)
    if account is None:  # the admitted attempt stays counted as a failure
        return _login_page(request, 401, message="Identifiant ou mot de passe incorrect.", name=name)
    throttle.forgive(address, name, signed_in=True)
    try:
        return await console_work(request, _signed_in, request, account, "password")
    except Overloaded as exc:
        return _waiting(_login_page(request, 503, message=BUSY, name=name), exc.retry_after_s)


BUSY = "Le service traite déjà beaucoup de connexions : réessayez dans quelques secondes."


def _wait_message(wait: Wait) -> str:
    whose = "depuis votre adresse" if wait.because == "address" else "pour cet identifiant"
    delay = f"{wait.seconds} s" if wait.seconds < 120 else f"{-(-wait.seconds // 60)} min"
    return f"Trop d'essais infructueux {whose} : réessayez dans {delay}."


def _waiting(response: Response, seconds: int) -> Response:
    response.headers["Retry-After"] = str(seconds)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    # Signing out is never dangerous, so the server's session ends whatever the form carries (a
    # CSRF token or none, as from a form expired in another tab): clearing the cookie alone would
    # leave a copy of it valid. It stays a POST: a link or an image elsewhere signs nobody out.
    secret = request.cookies.get(COOKIE, "")
    if secret:
        await console_work(request, accounts.close_session, runtime_of(request).db, secret)
    response = to_login()
    response.delete_cookie(COOKIE, path="/")
    return response


def _provider(request: Request) -> Provider | None:
    provider: Provider | None = getattr(request.app.state, "oidc", None)
    return provider


def _refused(request: Request, status: int, message: str, reason: str, *, used: bool = True) -> Response:
    """The sign-in page saying why; a pending sign-in whose state was ``used`` loses its cookie.

    A callback with another state leaves the cookie: a link with a made-up state must not end
    the sign-in a person has under way."""
    _log.warning("oidc sign-in refused: %s (request %s)", reason, request.state.request_id)
    response = _login_page(request, status, message=message)
    if used:
        response.delete_cookie(OIDC_COOKIE, path=OIDC_PATH)
    return response


@router.get("/login/oidc")
def oidc_start(request: Request) -> Response:
    provider = _provider(request)
    if provider is None:
        return _login_page(request, 404, message="La connexion par un fournisseur d'identité n'est pas configurée.")
    # Nothing is written: the pending sign-in goes to the browser, sealed (``oidc_state``).
    pending, sealed = provider.pending.begin(runtime_of(request).engine.clock.now())
    try:
        url = provider.authorization_url(
            provider.redirect_uri, state=pending.state, nonce=pending.nonce, code_verifier=pending.code_verifier
        )
    except ProviderError as exc:
        return _refused(request, 502, "Le fournisseur d'identité ne répond pas : réessayez plus tard.", str(exc))
    response = RedirectResponse(url, status_code=303)
    # Lax, not Strict: the provider sends the browser back here by a cross-site navigation.
    response.set_cookie(
        OIDC_COOKIE, sealed, httponly=True, secure=True, samesite="lax", path=OIDC_PATH, max_age=PENDING_SECONDS
    )
    return response


@router.get("/login/oidc/callback", name="oidc_callback")
def oidc_callback(request: Request, state: str = "", code: str = "", error: str = "") -> Response:
    provider = _provider(request)
    if provider is None:
        return _login_page(request, 404, message="La connexion par un fournisseur d'identité n'est pas configurée.")
    runtime = runtime_of(request)
    now = runtime.engine.clock.now()
    pending = provider.pending.finish(request.cookies.get(OIDC_COOKIE, ""), state[:200], now)
    if pending is None:
        message = "Cette connexion a expiré, a déjà servi ou n'a pas été commencée dans ce navigateur : recommencez."
        return _refused(request, 400, message, "unknown, used, expired or foreign state", used=False)
    if error or not code:
        shown = error[:100] or "no code"
        return _refused(request, 401, f"Le fournisseur d'identité a refusé la connexion ({shown}).", shown)
    try:
        identity = provider.identity(
            code[:2000], provider.redirect_uri, code_verifier=pending.code_verifier, nonce=pending.nonce
        )
    except ProviderError as exc:
        return _refused(request, 401, "La réponse du fournisseur d'identité n'a pas pu être vérifiée.", str(exc))
    try:
        account = accounts.account_of_identity(
            runtime.db,
            identity.issuer,
            identity.subject,
            identity.email,
            identity.email_verified,
            now=now,
            key=runtime.audit_key,
        )
    except accounts.SignInRefused as exc:
        message = (
            f"Aucun compte labelwf ne vous est ouvert ({identity.email or identity.subject}) : "
            "demandez à un administrateur de le créer avec votre adresse."
        )
        return _refused(request, 403, message, str(exc))
    _log.info("oidc sign-in: %s as %s (request %s)", identity.subject, account.name, request.state.request_id)
    return _signed_in(request, account, "oidc")
