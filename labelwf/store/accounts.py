"""The statements of the service's accounts, API tokens and idempotent answers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from .prepared import Prepared, Statements
from .schema import account, api_token, console_session, entity, idempotency

ACCOUNT_COLUMNS = ("name", "display_name", "password_hash", "roles", "entity_id", "disabled", "created_at")


def get_account(conn: Connection, name: str) -> RowMapping | None:
    """The account row named ``name``, or None."""
    return conn.execute(sa.select(account).where(account.c.name == name)).mappings().first()


def list_accounts(conn: Connection) -> list[RowMapping]:
    """Every account, by name."""
    return list(conn.execute(sa.select(account).order_by(account.c.name)).mappings())


def insert_account(conn: Connection, values: Mapping[str, Any]) -> None:
    """Register a new account (its name must be new)."""
    conn.execute(account.insert().values(**values))


def update_account(conn: Connection, name: str, **values: Any) -> int:
    """Change an account's columns; return how many rows changed (0: no such account)."""
    return int(conn.execute(account.update().where(account.c.name == name).values(**values)).rowcount)


def insert_token(conn: Connection, owner: str, label: str, digest: str, now: datetime, created_by: str) -> int:
    """Store a new token's digest and who issued it; return its id."""
    values = {"account": owner, "label": label, "digest": digest, "created_at": now, "created_by": created_by}
    return int(conn.execute(api_token.insert().values(**values).returning(api_token.c.id)).scalar_one())


def get_token(conn: Connection, token_id: int) -> RowMapping | None:
    """The token ``token_id`` (its owner, label, times; never its digest), or None."""
    query = sa.select(
        api_token.c.id, api_token.c.account, api_token.c.label, api_token.c.created_by, api_token.c.revoked_at
    ).where(api_token.c.id == token_id)
    return conn.execute(query).mappings().first()


def revoke_tokens_of(conn: Connection, owner: str, now: datetime) -> list[int]:
    """Revoke every live token of ``owner``; return their ids."""
    mine = sa.and_(api_token.c.account == owner, api_token.c.revoked_at.is_(None))
    ids = [int(i) for i in conn.execute(sa.select(api_token.c.id).where(mine).order_by(api_token.c.id)).scalars()]
    if ids:
        conn.execute(api_token.update().where(api_token.c.id.in_(ids)).values(revoked_at=now))
    return ids


def end_sessions(conn: Connection, owner: str) -> int:
    """Close every console session of ``owner``; return how many there were."""
    return int(conn.execute(console_session.delete().where(console_session.c.account == owner)).rowcount)


_TOKEN_OWNER = (
    sa.select(account, api_token.c.id.label("token_id"))
    .join(api_token, api_token.c.account == account.c.name)
    .where(api_token.c.digest == sa.bindparam("digest"), api_token.c.revoked_at.is_(None))
)
# Every API request looks its token up: prepared once per dialect, like the fire path's statements.
_STATEMENTS = Statements(lambda dialect: {"token_owner": Prepared(_TOKEN_OWNER, dialect)})
_TOKEN_OWNER_KEYS = tuple(str(c.key) for c in _TOKEN_OWNER.selected_columns)


def account_of_token(conn: Connection, digest: str) -> Mapping[str, Any] | None:
    """The account a live (not revoked) token belongs to, with the token's id as ``token_id``."""
    found = _STATEMENTS.for_connection(conn)["token_owner"].first(conn, {"digest": digest})
    return None if found is None else dict(zip(_TOKEN_OWNER_KEYS, found, strict=True))


def list_tokens(conn: Connection, owner: str | None = None) -> list[RowMapping]:
    """Tokens (never their secret), newest first."""
    query = sa.select(
        api_token.c.id,
        api_token.c.account,
        api_token.c.label,
        api_token.c.created_at,
        api_token.c.revoked_at,
        api_token.c.created_by,
    ).order_by(api_token.c.id.desc())
    if owner is not None:
        query = query.where(api_token.c.account == owner)
    return list(conn.execute(query).mappings())


def revoke_token(conn: Connection, token_id: int, now: datetime) -> int:
    """Revoke a live token; return how many were revoked (0: none such, or already revoked)."""
    statement = (
        api_token.update().where(api_token.c.id == token_id, api_token.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return int(conn.execute(statement).rowcount)


def get_answer(conn: Connection, owner: str, key: str, kept_since: datetime) -> RowMapping | None:
    """The answer kept for ``owner``'s request with Idempotency-Key ``key`` since ``kept_since``, or None.

    An older answer has expired: the key is free again (its row goes when the next answer is kept).
    """
    query = sa.select(idempotency).where(idempotency.c.account == owner, idempotency.c.key == key)
    found = conn.execute(query).mappings().first()
    return found if found is not None and found["created_at"] >= kept_since else None


def keep_answer(conn: Connection, values: Mapping[str, Any], kept_since: datetime) -> None:
    """Keep the first answer to an idempotent request (in the transaction that did its work); the
    account's answers older than ``kept_since`` are removed, this key's expired one included."""
    mine = idempotency.c.account == values["account"]
    conn.execute(idempotency.delete().where(mine, idempotency.c.created_at < kept_since))
    conn.execute(idempotency.insert().values(**values))


def insert_session(
    conn: Connection, digest: str, owner: str, csrf: str, now: datetime, expires: datetime, method: str
) -> None:
    """Open a console session (``method``: how its account signed in)."""
    conn.execute(
        console_session.insert().values(
            digest=digest, account=owner, csrf=csrf, created_at=now, expires_at=expires, method=method
        )
    )


def session_account(conn: Connection, digest: str, now: datetime) -> RowMapping | None:
    """The account of a live session, with the session's ``csrf`` token."""
    query = (
        sa.select(account, console_session.c.csrf, console_session.c.method)
        .join(console_session, console_session.c.account == account.c.name)
        .where(console_session.c.digest == digest, console_session.c.expires_at > now)
    )
    return conn.execute(query).mappings().first()


def delete_session(conn: Connection, digest: str) -> None:
    """Close a console session."""
    conn.execute(console_session.delete().where(console_session.c.digest == digest))


def account_of_identity(conn: Connection, subject: str) -> RowMapping | None:
    """The account bound to the provider identity ``subject`` ("issuer subject"), or None."""
    return conn.execute(sa.select(account).where(account.c.oidc_subject == subject)).mappings().first()


def accounts_of_email(conn: Connection, email: str) -> list[RowMapping]:
    """The accounts whose e-mail is ``email`` (compared without case)."""
    query = sa.select(account).where(sa.func.lower(account.c.email) == email.lower())
    return list(conn.execute(query).mappings())


def entity_exists(conn: Connection, entity_id: str) -> bool:
    """Whether the entity ``entity_id`` was imported."""
    return conn.execute(sa.select(entity.c.id).where(entity.c.id == entity_id)).first() is not None


def enabled_admins(conn: Connection) -> list[str]:
    """The names of the enabled accounts holding the admin role."""
    rows = conn.execute(sa.select(account.c.name, account.c.roles).where(account.c.disabled.is_(False)))
    return [str(name) for name, roles in rows if "admin" in (roles or [])]
