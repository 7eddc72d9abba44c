"""Who calls: the account an API token belongs to, the way it authenticated, and the request's id.

Deny by default: every route but ``/healthz``, ``/readyz``, the OpenAPI document (the API's
shape, no data) and the console's sign-in page depends on ``caller`` (or a console session), which
refuses a request without a live token of an enabled account (401, ``WWW-Authenticate: Bearer``).
What a caller may do is decided here too, from its account's roles, never from the request.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request

from .. import accounts
from ..accounts import Account


@dataclass(frozen=True)
class Caller:
    """An authenticated request: the account, how it authenticated, and the request's id."""

    account: Account
    method: str
    request_id: str

    @property
    def principal(self) -> str:
        """What the audit trail records of who acted: ``alice (token; request 3f2a…)``."""
        return f"{self.account.name} ({self.method}; request {self.request_id})"

    def sees(self, entity: str) -> bool:
        """Whether this caller may see ``entity`` (a stakeholder sees its own entity only)."""
        return self.account.entity is None or self.account.entity == entity


class Refused(HTTPException):
    """A request refused before any work: unauthenticated (401) or not allowed (403)."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        headers = {"WWW-Authenticate": 'Bearer realm="labelwf"'} if status == 401 else None
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.kind = kind


def caller(request: Request) -> Caller:
    """The authenticated caller of ``request`` (a FastAPI dependency); 401 without a valid token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(
            401, "unauthenticated", "send an API token: Authorization: Bearer lwf_… (`labelwf tokens create`)"
        )
    account = accounts.account_of_token(request.app.state.runtime.db, token.strip())
    if account is None:
        raise Refused(401, "unauthenticated", "this token is unknown, revoked, or its account is disabled")
    return Caller(account, "token", request.state.request_id)


def require(who: Caller, role: str) -> None:
    """Refuse (403) unless ``who`` holds ``role``."""
    if not who.account.may(role):
        held = ", ".join(who.account.roles)
        raise Refused(403, "forbidden", f"this needs the role {role}; account {who.account.name!r} holds: {held}")
