"""The administrative acts' chain: who created, changed, disabled or enabled an account, issued or
revoked a token, executed a plan; each act one hash-chained event with its author.

Like an instance's events (``audit``), each act stores the hash of the act before it (64 zeros for
the first) and its own, over a canonical JSON form that names the chain (so an act's form can never
be taken for an instance event's); the ``admin_head`` row keeps the last seq and hash, so deleting
the newest acts is detected. The forms are versioned (``hash_format``):

* format 1: sha256 of the canonical form (written where no audit key is configured);
* format 2: the same form keyed with the audit key (HMAC-SHA256): without the key, nobody can
  write or rewrite an act whose hash verifies.

An act is written by ``record`` inside the transaction of the change it records (the account
row, the token row, the plan's start), so either both are committed or neither. It carries the
author (the principal who authenticated: the OS user of the CLI, the console's account), a
reason if one was given, and data that never holds a password or a token's secret. What the
chain proves, against whom, is in ``verify``'s docstring.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.engine import Connection

from ..errors import AccountError, ActionRefused, ConfigError
from ..store import Database
from ..store import admin as sql
from ..text import text_problem

GENESIS = "0" * 64
UNKEYED_FORMAT, KEYED_FORMAT = 1, 2
_FORMATS = frozenset({UNKEYED_FORMAT, KEYED_FORMAT})
MAX_AUTHOR = 200
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


class Action(StrEnum):
    """What an administrative act did."""

    ACCOUNT_CREATE = "account.create"
    ACCOUNT_ROLES = "account.roles"
    ACCOUNT_DISABLE = "account.disable"
    ACCOUNT_ENABLE = "account.enable"
    ACCOUNT_PASSWORD = "account.password"
    ACCOUNT_IDENTITY = "account.identity"  # an OIDC identity bound to the account at its first sign-in
    ACCOUNT_CONTACT = "account.contact"  # display name, e-mail or telephone changed (what its letters name)
    TOKEN_ISSUE = "token.issue"
    TOKEN_REVOKE = "token.revoke"
    PLAN_EXECUTE = "plan.execute"


@dataclass(frozen=True, slots=True)
class AdminEvent:
    """One administrative act as the chain records it."""

    seq: int
    action: str
    subject: str
    author: str
    reason: str | None
    data: Mapping[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: str
    hash: str
    hash_format: int


def _canonical(event: AdminEvent) -> dict[str, Any]:
    return {
        "chain": "admin",
        "format": event.hash_format,
        "seq": event.seq,
        "action": event.action,
        "subject": event.subject,
        "author": event.author,
        "reason": event.reason,
        "data": dict(event.data),
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "recorded_at": event.recorded_at.isoformat(timespec="microseconds"),
        "prev_hash": event.prev_hash,
    }


def admin_hash(event: AdminEvent, key: bytes | None = None) -> str:
    """The hash of an act's canonical form in its ``hash_format`` (the keyed format needs ``key``)."""
    if event.hash_format not in _FORMATS:
        raise ValueError(f"unknown admin hash format {event.hash_format!r}; this labelwf knows {sorted(_FORMATS)}")
    text = _ENCODER.encode(_canonical(event)).encode("utf-8")
    if event.hash_format == KEYED_FORMAT:
        if key is None:
            raise ValueError("a keyed administrative act's hash needs the audit key")
        return hmac.digest(key, text, "sha256").hex()
    return hashlib.sha256(text).hexdigest()


def record(
    conn: Connection,
    action: Action,
    subject: str,
    *,
    author: str,
    key: bytes | None,
    now: datetime,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> AdminEvent:
    """Append an act to the chain inside the caller's transaction (the one that makes the change).

    Refused (nothing written) when the author is empty or too long, the reason breaks the text
    policy, the head row is gone, or the chain is keyed and ``key`` is None: an unkeyed act after
    keyed ones would read as a forgery.
    """
    if not author.strip() or len(author) > MAX_AUTHOR:
        raise ValueError(f"an administrative act's author must be 1 to {MAX_AUTHOR} characters, got {author!r}")
    if reason is not None:
        problem = text_problem(reason, "reason", max_length=2000)
        if problem:
            raise AccountError("reason", reason, problem)
    head = sql.lock_head(conn)
    if head is None:
        raise ActionRefused(
            "record",
            f"the administrative act {action.value} of {subject}",
            "impossible: the admin chain's head row is missing (the database was altered)",
            "a database whose chain verifies (`labelwf audit verify`)",
        )
    last_seq, last_hash = head
    if key is None and last_seq and sql.hash_format_of(conn, last_seq) == KEYED_FORMAT:
        raise ConfigError(
            "audit_key_file", "(no key loaded)", "the audit key: the administrative acts' chain is keyed with it"
        )
    event = AdminEvent(
        seq=last_seq + 1,
        action=action.value,
        subject=subject,
        author=author,
        reason=reason,
        data=dict(data or {}),
        occurred_at=now.astimezone(UTC),  # as the database gives it back, so the hash verifies
        recorded_at=now.astimezone(UTC),
        prev_hash=last_hash,
        hash="",
        hash_format=KEYED_FORMAT if key is not None else UNKEYED_FORMAT,
    )
    sealed = AdminEvent(**{**_fields(event), "hash": admin_hash(event, key)})
    sql.append(conn, _fields(sealed))
    return sealed


def _fields(event: AdminEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in AdminEvent.__slots__}


def _event(row: Mapping[Any, Any]) -> AdminEvent:
    return AdminEvent(**{name: row[name] for name in AdminEvent.__slots__})


def history(db: Database, *, subject: str | None = None, newest: int | None = None) -> list[AdminEvent]:
    """The administrative acts in order (of one ``subject``, e.g. an account's name; the ``newest`` N)."""
    with db.read() as conn:
        return [_event(r) for r in sql.events(conn, subject=subject, newest=newest)]


@dataclass(frozen=True)
class AdminBreak:
    """Where the admin chain breaks (an act's seq, or None for the head row) and what does not hold."""

    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"act #{self.seq}" if self.seq is not None else "head row"
        return f"administrative acts, {where}: {self.problem}"


@dataclass(frozen=True)
class AdminReport:
    """What ``verify`` checked of the admin chain, and its first break if any."""

    events: int
    breaks: tuple[AdminBreak, ...] = ()
    keyed: bool = False
    unauthenticated: int = 0  # acts whose content this verification could not authenticate
    head: tuple[int, str] | None = field(default=None)  # the head row as found (for a checkpoint)

    @property
    def ok(self) -> bool:
        """True when the chain verifies."""
        return not self.breaks

    def lines(self) -> list[str]:
        """What the CLI says of it: one line if intact, the break's line(s) otherwise."""
        if not self.ok:
            return ["administrative acts BROKEN:", *(f"  {b}" for b in self.breaks)]
        checked = "authenticity checked with the audit key" if self.keyed else "structure only: no audit key"
        said = [f"administrative acts intact: {self.events} act(s) verified ({checked})"]
        if self.unauthenticated:
            what = "keyed acts checked for structure only" if not self.keyed else "acts written without the key"
            said.append(f"  {self.unauthenticated} {what}: their content is not authenticated")
        return said

    def as_json(self) -> dict[str, Any]:
        """The report as the CLI's ``--json`` gives it."""
        return {
            "ok": self.ok,
            "events": self.events,
            "keyed": self.keyed,
            "unauthenticated": self.unauthenticated,
            "breaks": [{"seq": b.seq, "problem": b.problem} for b in self.breaks],
            "head": None if self.head is None else {"seq": self.head[0], "hash": self.head[1]},
        }


def verify(
    db: Database,
    *,
    key: bytes | None = None,
    allow_unkeyed: bool = False,
    pinned: tuple[int, str] | None = None,
    since: str = "",
) -> AdminReport:
    """Recompute the admin chain; report its first broken link, or a head that is not its last act.

    What it proves: without the audit key, that the acts link up and end at the head (an edit
    that recomputes the sha256 of unkeyed acts, or moves the head back after deleting the newest
    acts, passes: only a checkpoint kept elsewhere catches it). With the key, that no act was
    written, altered or removed by anyone without the key (keyed acts cannot be forged, an unkeyed
    act is a break unless ``allow_unkeyed``, for acts written before the key existed); removing
    the newest acts and moving the head back, by someone who can write the database, still needs a
    checkpoint to be caught. Someone who holds the key and the database can rewrite everything a
    checkpoint kept elsewhere does not pin.

    ``pinned``: the (seq, hash) of the last act a checkpoint (``since``: " of <its date>") recorded;
    the chain must still pass through it, which catches the newest acts removed with the head
    moved back, or an act rewritten by the key's holder, as long as the checkpoint is out of reach.
    """
    count = unauthenticated = 0
    expected, prev = 1, GENESIS
    keyed_seen = False
    found: AdminBreak | None = None
    with db.read() as conn:
        head = sql.head(conn)
        for row in sql.events(conn):
            count += 1
            if found is not None:
                continue
            event = _event(row)
            found, unchecked = _check(event, expected, prev, keyed_seen, key, allow_unkeyed)
            unauthenticated += unchecked
            keyed_seen = keyed_seen or event.hash_format == KEYED_FORMAT
            if found is None and pinned is not None and event.seq == pinned[0] and event.hash != pinned[1]:
                found = AdminBreak(event.seq, f"rewritten since the checkpoint{since}: not the act it recorded")
            expected, prev = event.seq + 1, event.hash
    if found is None:
        last = expected - 1
        if pinned is not None and last < pinned[0]:
            found = AdminBreak(
                None, f"truncated since the checkpoint{since}: the chain ends at act #{last}, it recorded #{pinned[0]}"
            )
        elif head is None:
            found = AdminBreak(None, "the head row is missing (the chain's end can no longer be checked)")
        elif head != (last, prev):
            found = AdminBreak(
                None,
                f"the head says {head[0]} act(s) but the chain ends at act #{last} "
                "(the newest acts were removed, or the head was altered)",
            )
    return AdminReport(
        count,
        () if found is None else (found,),
        keyed=key is not None,
        unauthenticated=unauthenticated,
        head=head,
    )


def _check(
    event: AdminEvent, expected: int, prev: str, keyed_seen: bool, key: bytes | None, allow_unkeyed: bool
) -> tuple[AdminBreak | None, int]:
    """The break at ``event``, if any, and whether its content went unauthenticated (1) or not (0)."""

    def broken(problem: str) -> tuple[AdminBreak, int]:
        return AdminBreak(event.seq, problem), 0

    if event.seq != expected:
        return broken(f"sequence jumps from {expected - 1} to {event.seq} (acts missing)")
    if event.prev_hash != prev:
        return broken("prev_hash does not match the previous act's hash (an act was removed or altered)")
    if event.hash_format not in _FORMATS:
        return broken(f"unknown hash format {event.hash_format!r} (the act was altered, or is from a newer labelwf)")
    keyed = event.hash_format == KEYED_FORMAT
    if keyed_seen and not keyed:
        return broken("an unkeyed act follows keyed ones: its hash was recomputed without the audit key")
    if keyed and key is None:
        return None, 1  # structure only: a keyed act's content needs the key
    if not hmac.compare_digest(admin_hash(event, key), event.hash):
        return broken("stored hash does not match the act's content (the act was altered)")
    if key is not None and not keyed:
        if not allow_unkeyed:
            return broken("hashed without the audit key: anyone could have recomputed it")
        return None, 1
    return None, 0
