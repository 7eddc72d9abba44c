"""The service's accounts: who may sign in, with which roles, and their API tokens.

Roles, from least to most: ``viewer`` reads; ``operator`` also fires the transitions a workflow
gives to its operators; ``supervisor`` (for the programme operations to come) and ``admin``
(accounts and tokens) include the operator's rights. A ``stakeholder`` account is bound to one
entity and sees only it. Passwords are hashed with argon2id (``argon2-cffi``); an API token is
32 random bytes shown once, of which only the sha256 is kept.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import AccountError, NotFound
from .store import Database
from .store import accounts as sql
from .text import text_problem

ROLES = ("viewer", "operator", "supervisor", "admin", "stakeholder")
FIRES = frozenset({"operator", "supervisor", "admin"})  # roles that may fire an operator's transition
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
TOKEN_PREFIX = "lwf_"
MIN_PASSWORD = 12
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters


@dataclass(frozen=True)
class Account:
    """Someone who may sign in: name, roles, and the entity a stakeholder is bound to."""

    name: str
    display_name: str
    roles: tuple[str, ...]
    entity: str | None = None
    disabled: bool = False

    def may(self, role: str) -> bool:
        """Whether the account holds ``role`` (``operator`` is held by supervisors and admins too)."""
        if role == "operator":
            return bool(FIRES & set(self.roles))
        if role == "viewer":
            return bool(self.roles)
        return role in self.roles or "admin" in self.roles


def _account(row: Any) -> Account:
    return Account(row["name"], row["display_name"], tuple(row["roles"]), row["entity_id"], bool(row["disabled"]))


def _check(name: str, roles: Sequence[str], entity: str | None, display_name: str) -> None:
    if not NAME_RE.match(name):
        raise AccountError("name", name, "lower-case letters, digits, '.', '_' or '-', at most 64 characters")
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise AccountError("roles", ",".join(roles), f"one or more of {', '.join(ROLES)}")
    if ("stakeholder" in roles) != (entity is not None):
        raise AccountError("entity", entity, "an entity id for a stakeholder account, and only for one")
    if "stakeholder" in roles and len(roles) > 1:
        raise AccountError("roles", ",".join(roles), "stakeholder alone (a stakeholder sees only its entity)")
    problem = text_problem(display_name, "display name", max_length=200)
    if problem:
        raise AccountError("display_name", display_name, problem)


def add_account(
    db: Database,
    name: str,
    roles: Sequence[str],
    *,
    now: datetime,
    password: str | None = None,
    display_name: str = "",
    entity: str | None = None,
) -> Account:
    """Register an account (a password for a local one; none for one that signs in by OIDC only)."""
    _check(name, roles, entity, display_name or name)
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError("password", "(not shown)", f"at least {MIN_PASSWORD} characters")
    with db.write() as conn:
        if sql.get_account(conn, name) is not None:
            raise AccountError("name", name, "a name no other account has")
        sql.insert_account(
            conn,
            {
                "name": name,
                "display_name": display_name or name,
                "password_hash": _HASHER.hash(password) if password is not None else None,
                "roles": list(roles),
                "entity_id": entity,
                "disabled": False,
                "created_at": now,
            },
        )
    return Account(name, display_name or name, tuple(roles), entity)


def accounts(db: Database) -> list[Account]:
    """Every account, by name."""
    with db.read() as conn:
        return [_account(r) for r in sql.list_accounts(conn)]


def set_disabled(db: Database, name: str, disabled: bool = True) -> None:
    """Disable (or enable again) an account: a disabled one can neither sign in nor use its tokens."""
    with db.write() as conn:
        if not sql.update_account(conn, name, disabled=disabled):
            raise NotFound("account", name, "`labelwf users list` shows the accounts")


def set_password(db: Database, name: str, password: str) -> None:
    """Give an account a new password (hashed with argon2id)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError("password", "(not shown)", f"at least {MIN_PASSWORD} characters")
    with db.write() as conn:
        if not sql.update_account(conn, name, password_hash=_HASHER.hash(password)):
            raise NotFound("account", name, "`labelwf users list` shows the accounts")


def check_password(db: Database, name: str, password: str) -> Account | None:
    """The enabled account ``name`` if ``password`` is its password, else None (the same work either way)."""
    with db.read() as conn:
        row = sql.get_account(conn, name)
    stored = row["password_hash"] if row is not None else None
    try:
        _HASHER.verify(stored or _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or stored is None or row["disabled"]:
        return None
    return _account(row)


_DUMMY = _HASHER.hash(secrets.token_hex(16))  # verified against when there is no such account


def digest(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(db: Database, owner: str, label: str, *, now: datetime) -> tuple[int, str]:
    """A new API token for ``owner``: (its id, the token itself, to be shown once and never again)."""
    problem = text_problem(label, "token label", max_length=200)
    if problem:
        raise AccountError("label", label, problem)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.write() as conn:
        if sql.get_account(conn, owner) is None:
            raise NotFound("account", owner, "`labelwf users list` shows the accounts")
        return sql.insert_token(conn, owner, label, digest(token), now), token


def account_of_token(db: Database, token: str) -> Account | None:
    """The enabled account a live token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    with db.read() as conn:
        row = sql.account_of_token(conn, digest(token))
    return None if row is None or row["disabled"] else _account(row)


def tokens(db: Database, owner: str | None = None) -> list[dict[str, Any]]:
    """The tokens (id, account, label, created, revoked), never their secret."""
    with db.read() as conn:
        return [dict(r) for r in sql.list_tokens(conn, owner)]


def revoke_token(db: Database, token_id: int, *, now: datetime) -> None:
    """Revoke a token for good."""
    with db.write() as conn:
        if not sql.revoke_token(conn, token_id, now):
            raise NotFound("live token", token_id, "`labelwf tokens list` shows them")


SESSION_HOURS = 8


def open_session(db: Database, owner: Account, *, now: datetime) -> tuple[str, str]:
    """A console session for ``owner``: (the cookie's secret, the session's CSRF token)."""
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with db.write() as conn:
        sql.insert_session(conn, digest(secret), owner.name, csrf, now, now + timedelta(hours=SESSION_HOURS))
    return secret, csrf


def account_of_session(db: Database, secret: str, *, now: datetime) -> tuple[Account, str] | None:
    """The enabled account of a live session, and its CSRF token; None otherwise."""
    if not secret or len(secret) > 100:
        return None
    with db.read() as conn:
        row = sql.session_account(conn, digest(secret), now)
    return None if row is None or row["disabled"] else (_account(row), str(row["csrf"]))


def close_session(db: Database, secret: str) -> None:
    """Sign out: the session is gone."""
    with db.write() as conn:
        sql.delete_session(conn, digest(secret))
