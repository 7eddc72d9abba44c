"""Who calls: the account an API token belongs to, the way it authenticated, and the request's id.

Deny by default: every route but ``/healthz``, ``/readyz``, the OpenAPI document (the API's
shape, no data) and the console's sign-in page depends on ``caller`` (or a console session), which
refuses a request without a live token of an enabled account (401, ``WWW-Authenticate: Bearer``).
What a caller may do is decided here too, from its account's roles, never from the request.

A token's account is remembered by the process for ``TOKEN_REMEMBERED`` (one second): a client
sending many requests costs one look-up a second, not one a request (nor a worker thread's
turn). A token revoked, or an account disabled, by another process is therefore refused within
that second; by this process (the console's token page), at once. (With ``serve --workers N``,
the other server processes are other processes.)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from .. import accounts
from ..accounts import Account
from ..clock import Clock
from ..letters.agent import Agent
from ..store import Database

TOKEN_REMEMBERED = timedelta(seconds=1)
MAX_REMEMBERED = 10_000  # live tokens remembered at once; past that the memory starts afresh


@dataclass(frozen=True)
class Caller:
    """An authenticated request: the account, how it authenticated, and the request's id."""

    account: Account
    method: str
    request_id: str

    @property
    def principal(self) -> str:
        """What the audit trail records of who acted: ``alice (token 7; request 3f2a…)`` (token 7's
        ``token.issue`` act says who issued it)."""
        return f"{self.account.name} ({self.method}; request {self.request_id})"

    @property
    def agent(self) -> Agent:
        """Who the letters of this caller's decisions name (« Affaire suivie par »): the account's person
        as it reads now, written into the letters at the fire."""
        return Agent(self.account.display_name, self.account.email or "", self.account.telephone or "")

    def sees(self, entity: str) -> bool:
        """Whether this caller may see ``entity`` (a stakeholder sees its own entity only)."""
        return self.account.entity is None or self.account.entity == entity


class Refused(HTTPException):
    """A request refused before any work: unauthenticated (401) or not allowed (403)."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        headers = {"WWW-Authenticate": 'Bearer realm="labelwf"'} if status == 401 else None
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.kind = kind


class Tokens:
    """The accounts of the API tokens this process has seen lately: ``remembered`` answers without the
    database for ``TOKEN_REMEMBERED`` after ``look_up`` found the token live (an unknown token is
    looked up every time). A clock that goes back forgets them: the memory never outlasts the second."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self._seen: dict[str, tuple[datetime, Account]] = {}  # by the token's digest, as the database keeps it
        self._lock = threading.Lock()
        self._forgotten = 0  # how many times ``forget`` ran: a look-up begun before one is not remembered

    def remembered(self, token: str) -> Account | None:
        """The account of ``token`` if it was found live less than ``TOKEN_REMEMBERED`` ago."""
        found = self._seen.get(accounts.digest(token))
        if found is None:
            return None
        age = self.clock.now() - found[0]
        return found[1] if timedelta(0) <= age < TOKEN_REMEMBERED else None

    def look_up(self, token: str) -> Account | None:
        """The enabled account of the live ``token``, read from the database (and remembered), or None."""
        with self._lock:
            forgotten = self._forgotten
        seen_at = self.clock.now()
        account = accounts.account_of_token(self.db, token)
        with self._lock:
            if account is None:
                self._seen.pop(accounts.digest(token), None)
            elif forgotten == self._forgotten:  # no revocation here since the read began
                if len(self._seen) >= MAX_REMEMBERED:
                    self._seen.clear()
                self._seen[accounts.digest(token)] = (seen_at, account)
        return account

    def forget(self) -> None:
        """Forget every token: after a revocation in this process, the next request reads the database."""
        with self._lock:
            self._forgotten += 1
            self._seen.clear()


async def caller(request: Request) -> Caller:
    """The authenticated caller of ``request`` (a FastAPI dependency); 401 without a valid token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(
            401, "unauthenticated", "send an API token: Authorization: Bearer lwf_… (`labelwf tokens create`)"
        )
    tokens: Tokens = request.app.state.tokens
    token = token.strip()
    account = tokens.remembered(token)
    if account is None:  # the database, on a worker thread: the event loop never waits for it
        account = await run_in_threadpool(tokens.look_up, token)
    if account is None:
        raise Refused(401, "unauthenticated", "this token is unknown, revoked, or its account is disabled")
    method = "token" if account.token_id is None else f"token {account.token_id}"
    return Caller(account, method, request.state.request_id)


def require(who: Caller, role: str) -> None:
    """Refuse (403) unless ``who`` holds ``role``."""
    if not who.account.may(role):
        held = ", ".join(who.account.roles)
        raise Refused(403, "forbidden", f"this needs the role {role}; account {who.account.name!r} holds: {held}")
