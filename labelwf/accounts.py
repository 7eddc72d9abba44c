"""The service's accounts: who may sign in, with which roles, and their API tokens.

Roles, from least to most: ``viewer`` reads; ``operator`` also fires the transitions a workflow
gives to its operators; ``supervisor`` (for the programme operations to come) and ``admin``
(accounts and tokens) include the operator's rights. A ``stakeholder`` account is bound to one
entity and sees only it. Passwords are hashed with argon2id (``argon2-cffi``); an API token is
32 random bytes shown once, of which only the sha256 is kept.

Every change here is an administrative act: the function that makes it takes its ``author`` (who
authenticated: the CLI's OS user, the console's account) and the audit key, and writes the act to
the admin chain (``admin_chain``) in the transaction of the change. A password change, a role
change, a disable (and an enable) end the account's console sessions and revoke its tokens, so
that nothing opened before the change outlives it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection

from .audit.admin_chain import Action, record
from .errors import AccountError, NotFound
from .letters.agent import telephone_problem
from .letters.directory import POST_KEY
from .message import N_, Word, listed
from .store import Database
from .store import accounts as sql
from .text import email_problem, text_refusal

ROLES = ("viewer", "operator", "supervisor", "admin", "stakeholder", "signatory")
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
    email: str | None = None
    oidc_bound: bool = False  # an identity of the OpenID Connect provider is bound to it
    post: str | None = None  # the post a signatory signs for (the directory's key)
    telephone: str | None = None  # the telephone its decisions' letters give (« Affaire suivie par »)
    # The API token it was found by (its ``token.issue`` act names who issued it), when it was.
    token_id: int | None = field(default=None, compare=False)

    def may(self, role: str) -> bool:
        """Whether the account holds ``role`` (``operator`` is held by supervisors and admins too)."""
        if role == "operator":
            return bool(FIRES & set(self.roles))
        if role == "viewer":
            return bool(self.roles)
        return role in self.roles or "admin" in self.roles


def _account(row: Any) -> Account:
    return Account(
        row["name"],
        row["display_name"],
        tuple(row["roles"]),
        row["entity_id"],
        bool(row["disabled"]),
        row["email"],
        row["oidc_subject"] is not None,
        post=row.get("post"),
        telephone=row.get("telephone"),
    )


def _check(
    name: str, roles: Sequence[str], entity: str | None, display_name: str, email: str | None, post: str | None = None
) -> None:
    if not NAME_RE.match(name):
        raise AccountError("name", name, N_("lower-case letters, digits, '.', '_' or '-', at most 64 characters"))
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise AccountError(
            "roles", ",".join(roles), N_("one or more of %(roles)s", roles=listed([Word(r) for r in ROLES]))
        )
    if ("stakeholder" in roles) != (entity is not None):
        raise AccountError("entity", entity, N_("an entity id for a stakeholder account, and only for one"))
    if "stakeholder" in roles and len(roles) > 1:
        raise AccountError("roles", ",".join(roles), N_("stakeholder alone (a stakeholder sees only its entity)"))
    if ("signatory" in roles) != (post is not None):
        expected = N_("a post for a signatory account (the post whose letters it signs), and only for one")
        raise AccountError("post", post or "", expected)
    if post is not None and not POST_KEY.fullmatch(post):
        raise AccountError("post", post, N_("a post key of the directory: lower-case letters, digits and '-'"))
    refusal = text_refusal(display_name, N_("display name"), max_length=200)
    if refusal:
        raise AccountError("display_name", display_name, refusal)
    problem = email_problem(email, "e-mail") if email is not None else None
    if problem:
        raise AccountError("email", email, N_("one plain address such as marie.dupont@finances.gouv.fr"))


def _check_telephone(telephone: str | None) -> None:
    if telephone is not None and (expected := telephone_problem(telephone)) is not None:
        raise AccountError("telephone", telephone, expected)


def add_account(
    db: Database,
    name: str,
    roles: Sequence[str],
    *,
    now: datetime,
    password: str | None = None,
    display_name: str = "",
    entity: str | None = None,
    email: str | None = None,
    author: str,
    key: bytes | None,
    reason: str | None = None,
    post: str | None = None,
    telephone: str | None = None,
) -> Account:
    """Register an account (a password for a local one; none for one that signs in by OIDC only).

    ``author`` (who authenticated) and ``key`` (the audit key, or None where there is none): the
    act is recorded in the admin chain with them, in the same transaction.

    ``email``: the address by which the account is found the first time its person signs in through
    the OpenID Connect provider (the provider must vouch for it); from then on the provider's
    identity itself is bound to the account. ``telephone``: the number its decisions' letters give.
    """
    _check(name, roles, entity, display_name or name, email, post)
    _check_telephone(telephone)
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError("password", "(not shown)", N_("at least %(count)s characters", count=MIN_PASSWORD))
    with db.write() as conn:
        if sql.get_account(conn, name) is not None:
            raise AccountError("name", name, N_("a name no other account has"))
        if entity is not None and not sql.entity_exists(conn, entity):
            raise AccountError("entity", entity, N_("the id of an imported entity (`labelwf list` shows them)"))
        if email is not None and sql.accounts_of_email(conn, email):
            raise AccountError("email", email, N_("an address no other account has (a sign-in must find one account)"))
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
                "email": email,
                **({"post": post} if post is not None else {}),
                **({"telephone": telephone} if telephone is not None else {}),
            },
        )
        data = {
            "roles": list(roles),
            "display_name": display_name or name,
            "entity": entity,
            "email": email,
            **({"post": post} if post is not None else {}),  # accounts of no post record what they always did
            **({"telephone": telephone} if telephone is not None else {}),
            "password": password is not None,  # whether a local password was set; never the password
        }
        record(conn, Action.ACCOUNT_CREATE, name, author=author, key=key, now=now, reason=reason, data=data)
    return Account(name, display_name or name, tuple(roles), entity, email=email, post=post, telephone=telephone)


def accounts(db: Database) -> list[Account]:
    """Every account, by name."""
    with db.read() as conn:
        return [_account(r) for r in sql.list_accounts(conn)]


def _end_access(conn: Connection, name: str, now: datetime) -> dict[str, Any]:
    """End every session and revoke every token of ``name``: what the act records it ended."""
    return {"sessions_ended": sql.end_sessions(conn, name), "tokens_revoked": sql.revoke_tokens_of(conn, name, now)}


def _existing(conn: Connection, name: str) -> Any:
    row = sql.get_account(conn, name)
    if row is None:
        raise NotFound("account", name, N_("`labelwf users list` shows the accounts"))
    return row


def set_disabled(
    db: Database,
    name: str,
    disabled: bool = True,
    *,
    now: datetime,
    author: str,
    key: bytes | None,
    reason: str | None = None,
    by: str | None = None,
) -> None:
    """Disable (or enable again) an account: a disabled one can neither sign in nor use its tokens.

    Either way its sessions end and its tokens are revoked: an enabled account starts afresh, with
    nothing opened before it was disabled. The last enabled admin is not disabled: nobody could then
    manage the accounts but from the CLI. ``by``, the account acting, never disables itself (it would
    be locked out in one click). Recorded in the admin chain with ``author``.
    """
    if disabled and by is not None and by == name:
        raise AccountError("name", name, N_("another account than your own (ask another admin to disable it)"))
    with db.write() as conn:
        _existing(conn, name)
        if disabled and sql.enabled_admins(conn) == [name]:
            raise AccountError(
                "name", name, N_("another account than the last enabled admin (add another admin first)")
            )
        sql.update_account(conn, name, disabled=disabled)
        ended = _end_access(conn, name, now)
        action = Action.ACCOUNT_DISABLE if disabled else Action.ACCOUNT_ENABLE
        record(conn, action, name, author=author, key=key, now=now, reason=reason, data=ended)


def set_password(
    db: Database, name: str, password: str, *, now: datetime, author: str, key: bytes | None, reason: str | None = None
) -> None:
    """Give an account a new password (hashed with argon2id); its sessions end and its tokens are revoked.

    Recorded in the admin chain with ``author`` (never the password).
    """
    if len(password) < MIN_PASSWORD:
        raise AccountError("password", "(not shown)", N_("at least %(count)s characters", count=MIN_PASSWORD))
    hashed = _HASHER.hash(password)  # before the write transaction: it takes a tenth of a second
    with db.write() as conn:
        _existing(conn, name)
        sql.update_account(conn, name, password_hash=hashed)
        ended = _end_access(conn, name, now)
        record(conn, Action.ACCOUNT_PASSWORD, name, author=author, key=key, now=now, reason=reason, data=ended)


def set_roles(
    db: Database,
    name: str,
    roles: Sequence[str],
    *,
    now: datetime,
    author: str,
    key: bytes | None,
    reason: str | None = None,
) -> Account:
    """Give an account other roles; its sessions end and its tokens are revoked (they carried the old ones).

    A stakeholder account stays a stakeholder of its entity, and no other account becomes one (add
    a stakeholder account instead); the last enabled admin keeps the admin role. Recorded in the
    admin chain with ``author``, the roles before and after.
    """
    with db.write() as conn:
        row = _existing(conn, name)
        if "signatory" in roles and row.get("post") is None:
            expected = N_("signatory only for an account bound to a post (add a new one)")
            raise AccountError("roles", ",".join(roles), expected)
        if ("stakeholder" in roles) != (row["entity_id"] is not None):
            raise AccountError(
                "roles",
                ",".join(roles),
                N_("stakeholder for a stakeholder account and only for one (add a new account)"),
            )
        _check(name, roles, row["entity_id"], row["display_name"], row["email"])
        if "admin" not in roles and sql.enabled_admins(conn) == [name]:
            raise AccountError("roles", ",".join(roles), N_("admin among them: this is the last enabled admin"))
        before = list(row["roles"])
        sql.update_account(conn, name, roles=list(roles))
        data = {"before": before, "after": list(roles)} | _end_access(conn, name, now)
        record(conn, Action.ACCOUNT_ROLES, name, author=author, key=key, now=now, reason=reason, data=data)
        changed = sql.get_account(conn, name)
    return _account(changed)


def set_contact(
    db: Database,
    name: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    telephone: str | None = None,
    now: datetime,
    author: str,
    key: bytes | None,
    reason: str | None = None,
) -> Account:
    """Change what the letters of an account's decisions say of its person: display name, e-mail, telephone
    (None: unchanged; "": none). Letters already written keep what they said. Recorded in the admin
    chain with ``author``, the values before and after."""
    given = {"display_name": display_name, "email": email, "telephone": telephone}
    with db.write() as conn:
        row = _existing(conn, name)
        changes = {k: v or (name if k == "display_name" else None) for k, v in given.items() if v is not None}
        changes = {k: v for k, v in changes.items() if v != row.get(k)}
        if changes.get("email") and sql.accounts_of_email(conn, str(changes["email"])):
            raise AccountError("email", email, N_("an address no other account has (a sign-in must find one account)"))
        after = {**row, **changes}
        _check(name, list(row["roles"]), row["entity_id"], after["display_name"], after["email"], row.get("post"))
        _check_telephone(after["telephone"])
        if changes:
            sql.update_account(conn, name, **changes)
            data = {"before": {k: row.get(k) for k in changes}, "after": changes}
            record(conn, Action.ACCOUNT_CONTACT, name, author=author, key=key, now=now, reason=reason, data=data)
        changed = sql.get_account(conn, name)
    return _account(changed)


def check_password(db: Database, name: str, password: str) -> Account | None:
    """The enabled account ``name`` if ``password`` is its password, else None (the same work either way)."""
    with db.read() as conn:
        row = sql.get_account(conn, name)
    stored = row["password_hash"] if row is not None else None
    try:
        _HASHER.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or stored is None or row["disabled"]:
        return None
    return _account(row)


@cache
def _dummy_hash() -> str:
    """What a password is verified against when there is no such account (the same work either way).

    Made on first use: an argon2id hash takes a tenth of a second and 64 MiB, which no command but
    a sign-in should pay for at start-up.
    """
    return _HASHER.hash(secrets.token_hex(16))


def digest(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    db: Database,
    owner: str,
    label: str,
    *,
    now: datetime,
    author: str,
    key: bytes | None,
    reason: str | None = None,
) -> tuple[int, str]:
    """A new API token for ``owner``: (its id, the token itself, to be shown once and never again).

    ``author`` issues it (an admin may issue one for another account): the token row keeps it as
    its creator, and the admin chain records the issue with the owner and the label.
    """
    problem = text_refusal(label, N_("token label"), max_length=200)
    if problem:
        raise AccountError("label", label, problem)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.write() as conn:
        if sql.get_account(conn, owner) is None:
            raise NotFound("account", owner, N_("`labelwf users list` shows the accounts"))
        token_id = sql.insert_token(conn, owner, label, digest(token), now, author)
        data = {"owner": owner, "label": label}
        record(conn, Action.TOKEN_ISSUE, f"token {token_id}", author=author, key=key, now=now, reason=reason, data=data)
    return token_id, token


def account_of_token(db: Database, token: str) -> Account | None:
    """The enabled account a live token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    with db.read() as conn:
        row = sql.account_of_token(conn, digest(token))
    if row is None or row["disabled"]:
        return None
    return replace(_account(row), token_id=int(row["token_id"]))


def tokens(db: Database, owner: str | None = None) -> list[dict[str, Any]]:
    """The tokens (id, account, label, created, revoked, created_by: who issued it), never their secret."""
    with db.read() as conn:
        return [dict(r) for r in sql.list_tokens(conn, owner)]


def revoke_token(
    db: Database, token_id: int, *, now: datetime, author: str, key: bytes | None, reason: str | None = None
) -> None:
    """Revoke a token for good; the admin chain records who revoked it (``author``) and whose it was."""
    with db.write() as conn:
        found = sql.get_token(conn, token_id) if 0 < token_id < 2**63 else None
        if found is None or not sql.revoke_token(conn, token_id, now):
            raise NotFound("live token", token_id, N_("`labelwf tokens list` shows them"))
        data = {"owner": found["account"], "label": found["label"], "created_by": found["created_by"]}
        subject = f"token {token_id}"
        record(conn, Action.TOKEN_REVOKE, subject, author=author, key=key, now=now, reason=reason, data=data)


SESSION_HOURS = 8


SIGN_IN_METHODS = ("password", "oidc")


def open_session(db: Database, owner: Account, *, now: datetime, method: str = "password") -> tuple[str, str]:
    """A console session for ``owner``: (the cookie's secret, the session's CSRF token).

    ``method`` (password or oidc) is how the account signed in; the audit trail records it.
    """
    if method not in SIGN_IN_METHODS:
        raise ValueError(f"unknown sign-in method {method!r}: one of {', '.join(SIGN_IN_METHODS)}")
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with db.write() as conn:
        expires = now + timedelta(hours=SESSION_HOURS)
        sql.insert_session(conn, digest(secret), owner.name, csrf, now, expires, method)
    return secret, csrf


@dataclass(frozen=True)
class Session:
    """A live console session: its account, its CSRF token, and how the account signed in."""

    account: Account
    csrf: str
    method: str


def account_of_session(db: Database, secret: str, *, now: datetime) -> Session | None:
    """The live session of that secret, if its account is enabled; None otherwise."""
    if not secret or len(secret) > 100:
        return None
    with db.read() as conn:
        row = sql.session_account(conn, digest(secret), now)
    return None if row is None or row["disabled"] else Session(_account(row), str(row["csrf"]), str(row["method"]))


def close_session(db: Database, secret: str) -> None:
    """Sign out: the session is gone."""
    with db.write() as conn:
        sql.delete_session(conn, digest(secret))


class SignInRefused(Exception):
    """An identity the OpenID Connect provider vouched for, which no enabled account may take."""


def account_of_identity(
    db: Database,
    issuer: str,
    subject: str,
    email: str | None,
    email_verified: bool,
    *,
    now: datetime,
    key: bytes | None,
) -> Account:
    """The account a provider's identity signs in as, binding it on its first sign-in.

    The binding is an administrative act in the admin chain (its author: the account, signed in
    through the provider), since from then on that identity is the account.

    An identity already bound signs in as its account. Otherwise the provider's e-mail, if it
    vouches for it (``email_verified``), finds the one account registered with that address and not
    bound yet, and the identity is bound to it for good: a later identity with the same address is
    refused, so an address that changes hands does not hand over the account.
    """
    bound = f"{issuer} {subject}"
    with db.write() as conn:
        row = sql.account_of_identity(conn, bound)
        if row is None:
            if not email or not email_verified:
                raise SignInRefused("the provider did not give a verified e-mail address, and no account is bound")
            candidates = sql.accounts_of_email(conn, email)
            if not candidates:
                raise SignInRefused(f"no account has the e-mail address {email}")
            if len(candidates) > 1:
                raise SignInRefused(f"several accounts have the e-mail address {email}; an admin must keep one")
            row = candidates[0]
            if row["oidc_subject"] is not None:
                raise SignInRefused(f"the account of {email} is bound to another identity of the provider")
            sql.update_account(conn, row["name"], oidc_subject=bound)
            data = {"issuer": issuer, "subject": subject, "email": email}
            author = f"{row['name']} (oidc sign-in)"
            record(conn, Action.ACCOUNT_IDENTITY, row["name"], author=author, key=key, now=now, data=data)
            row = sql.get_account(conn, row["name"])
            assert row is not None
        if row["disabled"]:
            raise SignInRefused(f"the account {row['name']} is disabled")
        return _account(row)
