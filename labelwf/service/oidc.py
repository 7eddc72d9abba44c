"""Sign-in through an OpenID Connect provider (ProConnect, or any provider with discovery).

The authorization code flow with PKCE (S256), a ``state`` and a ``nonce``: Authlib builds the
authorization request, exchanges the code (``client_secret_basic`` or ``client_secret_post``, as
the provider's discovery document offers) and validates the ID token (signature against the
provider's keys, ``iss``, ``aud``, ``exp``, ``nonce``, ``at_hash``). The provider's claims are
read from the ID token and, where it lacks them, from the userinfo endpoint, which ProConnect
answers as a signed JWT: it is verified with the same keys, and its ``sub`` must be the ID
token's. Nothing here decides who may sign in: ``accounts.account_of_identity`` does.

The callback's address (``oidc_redirect_uri``) comes from the configuration only, never from the
request (whose ``Host`` header the client chooses): a server with OIDC on and no redirect URI
refuses to start. Pending sign-ins live in a sealed cookie (``oidc_state``), not in the database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OAuthError, OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from ..config import Settings
from ..errors import ConfigError
from .oidc_state import PendingSignIns

TIMEOUT_S = 10.0  # longest wait for one answer of the provider
_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class ProviderError(Exception):
    """The provider could not be reached, or answered something a sign-in must not accept."""


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str


class _App(OAuth2Mixin, OpenIDMixin, BaseApp):  # type: ignore[misc]
    """Authlib's client for one provider, configured from its discovery document."""

    client_cls = OAuth2Session


CALLBACK_PATH = "/console/login/oidc/callback"


def check_settings(settings: Settings) -> None:
    """Refuse (``ConfigError``) an OIDC configuration a server must not start with; nothing if OIDC is off."""
    if not settings.oidc_enabled:
        return
    for key in ("oidc_client_id", "oidc_client_secret"):
        if not getattr(settings, key):
            raise ConfigError(key, "", "the value the provider gave labelwf's registration (with oidc_issuer set)")
    if not settings.oidc_redirect_uri:
        raise ConfigError(
            "oidc_redirect_uri",
            "",
            "the callback's public URL registered at the provider, such as "
            f"https://labelwf.example.gouv.fr{CALLBACK_PATH} (with oidc_issuer set; never the request's Host header)",
        )


class Provider:
    """The configured OpenID Connect provider; its discovery document is read on first use.

    ``audit_key``: the pending sign-ins' cookies are sealed with a key derived from it (``oidc_state``).
    """

    def __init__(self, settings: Settings, audit_key: bytes | None = None) -> None:
        check_settings(settings)
        self.settings = settings
        self.issuer = settings.oidc_issuer
        self.redirect_uri = settings.oidc_redirect_uri
        self.pending = PendingSignIns(audit_key)
        self._app: _App | None = None
        self._lock = threading.Lock()

    def authorization_url(self, redirect_uri: str, *, state: str, nonce: str, code_verifier: str) -> str:
        """Where to send the browser to sign in."""
        app = self._loaded()
        try:
            made = app.create_authorization_url(redirect_uri, state=state, nonce=nonce, code_verifier=code_verifier)
        except (OAuthError, requests.RequestException, KeyError, ValueError) as exc:
            raise ProviderError(f"could not build the authorization request: {exc}") from None
        return str(made["url"])

    def identity(self, code: str, redirect_uri: str, *, code_verifier: str, nonce: str) -> Identity:
        """Exchange the authorization ``code`` and return the validated identity; ProviderError otherwise."""
        app = self._loaded()
        try:
            token = app.fetch_access_token(redirect_uri=redirect_uri, code=code, code_verifier=code_verifier)
            if "id_token" not in token:
                raise ProviderError("the provider's answer has no ID token")
            claims = dict(app.parse_id_token(token, nonce=nonce))
            if not claims.get("email"):
                claims |= self._userinfo(app, token, str(claims.get("sub", "")))
        except (OAuthError, JoseError, requests.RequestException, KeyError, TypeError, ValueError) as exc:
            raise ProviderError(f"the sign-in could not be validated: {type(exc).__name__}: {exc}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject) <= 255:
            raise ProviderError("the ID token's subject is missing or longer than 255 characters")
        email = claims.get("email")
        email = email.strip() if isinstance(email, str) and email.strip() else None
        verified = claims.get("email_verified") is True or self.settings.oidc_email_verified_by_issuer
        given = " ".join(str(claims.get(k, "")) for k in ("given_name", "usual_name", "family_name") if claims.get(k))
        return Identity(self.issuer, subject, email, verified, str(claims.get("name") or given or email or subject))

    def _loaded(self) -> _App:
        with self._lock:
            if self._app is None:
                self._app = self._discover()
            return self._app

    def _discover(self) -> _App:
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            answer = requests.get(url, timeout=TIMEOUT_S)
            answer.raise_for_status()
            metadata = answer.json()
        except (requests.RequestException, ValueError) as exc:
            raise ProviderError(f"the provider's discovery document {url} could not be read: {exc}") from None
        if not isinstance(metadata, dict) or str(metadata.get("issuer", "")).rstrip("/") != self.issuer:
            found = metadata.get("issuer") if isinstance(metadata, dict) else None
            raise ProviderError(f"the discovery document names the issuer {found!r}, not {self.issuer!r}")
        missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not metadata.get(k)]
        if missing:
            raise ProviderError(f"the discovery document lacks {', '.join(missing)}")
        offered = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = next((m for m in _AUTH_METHODS if m in offered), None)
        if method is None:
            raise ProviderError(f"the provider offers none of {', '.join(_AUTH_METHODS)} at its token endpoint")
        app = _App(
            None,
            name="oidc",
            client_id=self.settings.oidc_client_id,
            client_secret=self.settings.oidc_client_secret,
            client_kwargs={
                "scope": self.settings.oidc_scopes,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": method,
                "default_timeout": TIMEOUT_S,
            },
        )
        app.server_metadata.update(metadata)
        return app

    def _userinfo(self, app: _App, token: dict[str, Any], subject: str) -> dict[str, Any]:
        endpoint = app.server_metadata.get("userinfo_endpoint")
        if not endpoint:
            return {}
        answer = app.get(endpoint, token=token)
        answer.raise_for_status()
        if answer.headers.get("content-type", "").startswith("application/jwt"):  # ProConnect signs it
            keys = KeySet.import_key_set(app.fetch_jwk_set())
            algorithms = app.server_metadata.get("userinfo_signing_alg_values_supported")
            decoded = jwt.decode(answer.text.strip(), keys, registry=JWSRegistry(algorithms=algorithms))
            claims = dict(decoded.claims)
            if claims.get("iss", self.issuer).rstrip("/") != self.issuer:
                raise ProviderError("the signed userinfo names another issuer")
        else:
            claims = dict(answer.json())
        if claims.get("sub") != subject:
            raise ProviderError("the userinfo's subject is not the ID token's")
        return claims
