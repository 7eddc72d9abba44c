"""The schema: labelwf's tables and the column types they share (aware UTC datetimes, JSON).

The schema is owned by Alembic migrations (``labelwf/migrations``); ``SCHEMA_REVISION`` is the
revision this code expects, and a database at another one is refused with "run labelwf init".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

SCHEMA_REVISION = "0020"


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"refusing to store naive datetime {value.isoformat()}: give it a time zone")
    return value.astimezone(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores the UTC wall time)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, the text SQLAlchemy's DATETIME stores, written in one step (a fire binds several).

        ``YYYY-MM-DD HH:MM:SS.ffffff`` of the UTC wall time, exactly SQLAlchemy's SQLite storage
        format (a test compares the two), so that every other query reads and compares it as its own.
        """
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            return None if value is None else _to_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

entity = sa.Table(
    "entity",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("attributes", JSONType, nullable=False),
    sa.Column("contacts", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Id, name, region, former and later names, earlier names: folded for search (store/search.py).
    sa.Column("search", sa.Text, nullable=False, server_default=""),
)

instance = sa.Table(
    "instance",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("entity_id", sa.String(100), sa.ForeignKey("entity.id"), nullable=False),
    sa.Column("workflow", sa.String(100), nullable=False),
    sa.Column("workflow_version", sa.Integer, nullable=False),
    sa.Column("state", sa.String(100), nullable=False),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.Column("entered_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("entity_id", "workflow"),
    # Keyset pages of `list`: by entity within a workflow, and within one state of it.
    sa.Index(None, "workflow", "entity_id"),
    sa.Index(None, "workflow", "state", "entity_id"),
)

event = sa.Table(
    "event",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("instance_id", Id, sa.ForeignKey("instance.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("trigger", sa.String(100)),
    sa.Column("source", sa.String(100)),
    sa.Column("dest", sa.String(100), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(50), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("late_by_s", sa.Float),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # Which canonical form the hash covers (labelwf.audit.hashing): old events keep verifying as the form grows.
    sa.Column("hash_format", sa.Integer, nullable=False, server_default="1"),
    # Who authenticated (the OS user of the CLI, the logged-in user of the API), beside the claimed actor.
    sa.Column("principal", sa.String(200)),
    # The checksums of the letters the event queued: hashed with it, checked again before delivery.
    sa.Column("letters", JSONType),
    # The plan (a bulk decision, a deadline move, a migration) the event executed, if any: hashed
    # with it (formats 6 and 7).
    sa.Column("batch_id", Id),
    # Where the fact comes from: {"kind": "record", "source": KEY} | {"kind": "assumed", "text": ...}
    # | {"kind": "synthetic", "text": ...}; hashed with the event (formats 8 and 9). None: the act itself.
    sa.Column("basis", JSONType),
    sa.UniqueConstraint("instance_id", "seq"),
    sa.Index(None, "batch_id"),
)

# Dated versions of an entity's reference data (name, attributes, contacts), never updated: the
# version in force at a date is the one with the greatest valid_from <= that date. The version as
# registered has valid_from NULL (in force since always) and no event: it is kept when the first
# change is recorded. Every other version references the chain event that recorded the change.
# The ``entity`` row holds the version in force now (a change never takes effect in the future).
entity_version = sa.Table(
    "entity_version",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("entity_id", sa.String(100), sa.ForeignKey("entity.id"), nullable=False),
    sa.Column("valid_from", UTCDateTime),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("attributes", JSONType, nullable=False),
    sa.Column("contacts", JSONType, nullable=False),
    sa.Column("event_id", Id, sa.ForeignKey("event.id")),
    sa.Column("basis", JSONType),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Index(None, "entity_id", "valid_from"),
)

timer = sa.Table(
    "timer",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("instance_id", Id, sa.ForeignKey("instance.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("trigger", sa.String(100), nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("catch_up", sa.String(10), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("armed_by_event", Id, sa.ForeignKey("event.id"), nullable=False),
    sa.Column("closed_by_event", Id, sa.ForeignKey("event.id")),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("note", sa.Text),
    sa.Index(None, "status", "due_at", "id"),  # the deadlines in their order (due instant, then id)
    sa.Index(None, "instance_id", "status"),
)

letter = sa.Table(
    "letter",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("instance_id", Id, sa.ForeignKey("instance.id"), nullable=False),
    sa.Column("event_id", Id, sa.ForeignKey("event.id"), nullable=False),
    sa.Column("template", sa.String(100), nullable=False),
    sa.Column("recipient", sa.String(100), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("body_html", sa.Text),
    sa.Column("recipient_label", sa.Text),
    sa.Column("recipient_name", sa.Text),
    sa.Column("recipient_address", sa.Text),
    sa.Column("recipient_email", sa.Text),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("filed_at", UTCDateTime),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("message_id", sa.Text),
    sa.Column("post", sa.String(100)),  # the post that must sign it (the signature step), or None
    sa.Column("signed_at", UTCDateTime),
    sa.Column("signed_pdf", sa.LargeBinary),  # the signed PDF: the artefact delivered, byte for byte
    sa.Column("pdf_sha256", sa.String(64)),  # its sha256, recorded in the chain by the signature event
    sa.Column("signed_demonstration", sa.Boolean),  # signed with a demonstration certificate: it says so
    sa.Column("signed_by", sa.String(200)),  # the name the signatory's block then says (letters.dating)
    sa.Index(None, "status"),
    sa.Index(None, "instance_id"),
    sa.Index("ix_letter_pdf_sha256", "pdf_sha256"),
    sa.Index("ix_letter_post_status", "post", "status"),
)

# Marks the database carries about itself: ``replay`` (``partial`` until a replay finishes, then
# ``complete``) says the database was created by a replay, which alone may be reset.
mark = sa.Table(
    "mark",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("set_at", UTCDateTime, nullable=False),
)

# The service's accounts: local (argon2id password), or known by OIDC; roles, and the one entity a
# stakeholder account sees.
account = sa.Table(
    "account",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text),
    sa.Column("roles", JSONType, nullable=False),
    sa.Column("entity_id", sa.String(100)),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("email", sa.String(320)),  # matched once against a provider's verified e-mail
    sa.Column("oidc_subject", sa.Text, unique=True),  # "issuer subject" of the identity bound to it
    sa.Column("post", sa.String(100)),  # the post a signatory account signs for (the directory's key)
    sa.Column("telephone", sa.String(40)),  # the number its decisions' letters give (« Affaire suivie par »)
)

# API tokens: only their sha256 is kept (a token is random and shown once).
api_token = sa.Table(
    "api_token",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account", sa.String(64), sa.ForeignKey("account.name"), nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("created_by", sa.String(200)),  # who issued it (an admin may issue one for another account)
)

# The first answer to a POST with an Idempotency-Key, written in the transaction that did the work.
idempotency = sa.Table(
    "idempotency",
    metadata,
    sa.Column("account", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("headers", JSONType, nullable=False),
    sa.Column("body", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# Console sessions, server-side: the cookie holds a random id of which only the sha256 is kept.
console_session = sa.Table(
    "console_session",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("account", sa.String(64), sa.ForeignKey("account.name"), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("method", sa.String(20), nullable=False, server_default="password"),  # password or oidc
)

# The administrative acts (accounts, tokens, plan executions), hash-chained like an instance's events
# (``labelwf.audit.admin_chain``): seq from 1, each with its author (who authenticated) and never a secret.
admin_event = sa.Table(
    "admin_event",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("action", sa.String(40), nullable=False),  # account.create, token.issue, plan.execute, ...
    sa.Column("subject", sa.String(200), nullable=False),  # the account, "token 12", "plan 3"
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("hash_format", sa.Integer, nullable=False),
)

# The admin chain's head (one row, id 1): its last seq and hash, so that deleting the newest
# administrative acts is detected as deleting an instance's newest events is.
admin_head = sa.Table(
    "admin_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)

# Plans: one act on many instances (a bulk decision, deadline moves, a migration), frozen when
# planned, executed item by item (each item's outcome committed with its event), resumable.
batch = sa.Table(
    "batch",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),  # decision | timer_move | migration
    sa.Column("workflow", sa.String(100), nullable=False),
    sa.Column("reference", sa.Text, nullable=False),  # the act's reference, e.g. "CIADT du 11 mai 2010"
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("principal", sa.String(200)),
    sa.Column("occurred_at", UTCDateTime),  # the act's business date (default: when each item runs)
    sa.Column("spec", JSONType, nullable=False),  # what was asked (selection, trigger, file), for the record
    sa.Column("status", sa.String(20), nullable=False),  # planned | running | done | cancelled
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("executed_by", sa.String(200)),  # who ran it last (the principal beside the planner's)
)

batch_item = sa.Table(
    "batch_item",
    metadata,
    sa.Column("batch_id", Id, sa.ForeignKey("batch.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("entity_id", sa.String(100), nullable=False),
    sa.Column("instance_id", Id),  # None when the entity has no instance (refused at plan time)
    sa.Column("seen_version", sa.Integer),  # the instance's version when planned: a change is reported
    sa.Column("action", JSONType, nullable=False),  # what to do (trigger and data, timer and due, ...)
    sa.Column("preview", JSONType, nullable=False),  # what the plan said would happen, or why not
    sa.Column("status", sa.String(20), nullable=False),  # pending | done | refused | changed | failed | cancelled
    sa.Column("outcome", JSONType),  # what happened (the event's seq and dest, or the error)
    sa.Column("event_id", Id),
    sa.Column("done_at", UTCDateTime),
    sa.Index(None, "batch_id", "status", "seq"),
)
