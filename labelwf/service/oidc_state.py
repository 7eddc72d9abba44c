"""Pending OpenID Connect sign-ins, kept by the browser in a sealed cookie: starting a sign-in writes nothing.

``GET /console/login/oidc`` is anonymous: whatever it remembered server-side, anyone could make it
remember without limit. So the sign-in's ``state``, ``nonce``, PKCE verifier and expiry travel in
the browser's own cookie, sealed with AES-256-GCM (encrypted and authenticated): the browser cannot
read or change them, and a cookie not sealed by this server, or expired, is refused. The cookie is
HttpOnly, Secure, limited to the sign-in's path, and lives ten minutes; its ``state`` must be the
one the provider sends back, which binds the callback to the browser that began the sign-in (a
login CSRF would need the victim's cookie).

The sealing key is derived from the audit key (HMAC-SHA256 with a label of its own, so it is not
the audit key and reveals nothing of it), so every process of a server opens the cookies the
others sealed; it is never stored nor logged. Without an audit key each process draws a key of its
own at start: a sign-in then must come back to the process that began it (one worker), and a
restart ends the sign-ins under way.

A state is good once: a callback that used it puts it in a bounded memory of used states until
its cookie expires, so the same cookie and state replayed are refused before any exchange. The
memory holds ``MAX_USED`` states per process; past that the oldest are forgotten first (a flood of
callbacks must come with cookies this server sealed). The provider's authorization code is itself
single-use: a replay that reached another process, or a forgotten state, still fails at the
provider's token endpoint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PENDING_SECONDS = 600  # how long a sign-in may take at the provider
MAX_USED = 100_000  # used states remembered per process (about 10 MB at most)
MAX_COOKIE = 1000  # a sealed pending sign-in is about 400 characters
_LABEL = b"labelwf: sealing key of pending OIDC sign-ins, version 1"
_AAD = b"labelwf oidc pending sign-in 1"


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in sent to the provider: its ``state``, ``nonce`` and PKCE verifier."""

    state: str
    nonce: str
    code_verifier: str


class PendingSignIns:
    """Seals pending sign-ins into cookies, opens them on the callback, and remembers the states used."""

    def __init__(self, audit_key: bytes | None) -> None:
        key = hmac.digest(audit_key, _LABEL, "sha256") if audit_key is not None else secrets.token_bytes(32)
        self._aead = AESGCM(key)
        self._used: OrderedDict[str, float] = OrderedDict()  # state digest -> expiry (epoch seconds)
        self._lock = threading.Lock()

    def begin(self, now: datetime) -> tuple[PendingSignIn, str]:
        """A new pending sign-in, and the sealed cookie value that carries it."""
        token = secrets.token_urlsafe
        pending = PendingSignIn(state=token(32), nonce=token(32), code_verifier=token(48))
        payload = {
            "s": pending.state,
            "n": pending.nonce,
            "v": pending.code_verifier,
            "e": int(now.timestamp()) + PENDING_SECONDS,
        }
        iv = secrets.token_bytes(12)
        sealed = self._aead.encrypt(iv, json.dumps(payload).encode("ascii"), _AAD)
        return pending, base64.urlsafe_b64encode(iv + sealed).decode("ascii").rstrip("=")

    def finish(self, cookie: str, state: str, now: datetime) -> PendingSignIn | None:
        """The sign-in sealed in ``cookie`` if it is live, this server's, of ``state``, and not used yet.

        It is used up: the same state is refused from then on (until the cookie would have expired).
        """
        if not cookie or not state or len(cookie) > MAX_COOKIE or len(state) > 100:
            return None
        try:
            raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
            opened = json.loads(self._aead.decrypt(raw[:12], raw[12:], _AAD))
            pending = PendingSignIn(str(opened["s"]), str(opened["n"]), str(opened["v"]))
            expires = float(opened["e"])
        except (binascii.Error, ValueError, InvalidTag, KeyError, TypeError):
            return None
        clock = now.timestamp()
        if expires <= clock or not hmac.compare_digest(pending.state.encode(), state.encode()):
            return None
        used = hashlib.sha256(pending.state.encode()).hexdigest()
        with self._lock:
            while self._used and next(iter(self._used.values())) <= clock:
                self._used.popitem(last=False)
            if used in self._used:
                return None
            if len(self._used) >= MAX_USED:
                self._used.popitem(last=False)
            self._used[used] = expires
        return pending
