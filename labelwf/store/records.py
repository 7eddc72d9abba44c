"""Typed, frozen records of the tables, and the statuses they carry, each defined once.

Every row that leaves the store is one of these records, built in one place per table
(``*_from_row`` below, from a SQLAlchemy row mapping or the fire path's processed tuples).
Statuses are ``StrEnum`` members: they compare equal to the strings stored in the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from .basis import Basis as Basis
from .basis import BasisKind as BasisKind
from .basis import basis_from_json

BACKDATED_AFTER_S = 300.0  # an event dated more than this before its recording is backdated


class TimerStatus(StrEnum):
    """Where a timer stands: pending until it fires, or closed for one of four reasons."""

    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"  # its state was left before it fell due
    OBSOLETE = "obsolete"  # its trigger could no longer be taken when it fell due
    SKIPPED = "skipped"  # fell due while no daemon ran, and its catch-up policy is skip


SEAL_POST = "(sceau)"  # a notice's post: signed at delivery under the service's seal (engine.signing_post)


class LetterStatus(StrEnum):
    """Where a letter of the outbox stands."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender (a lease)
    RETRY = "retry"  # refused or failed; tried again after a backoff
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last attempt
    UNCERTAIN = "uncertain"  # the sender stopped between sending and recording: a person checks
    TO_SIGN = "to_sign"  # waits for its post's signatory; never claimed for delivery
    RETURNED = "returned"  # sent back by its signatory with a reason; never delivered


@dataclass(frozen=True, slots=True)
class Entity:
    """A labelled entity: its id (a slug), display name, attributes and contacts."""

    id: str
    name: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    contacts: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Instance:
    """The state machine of one entity in one workflow: where it stands and at which version."""

    id: int
    entity: Entity
    workflow: str
    workflow_version: int
    state: str
    data: Mapping[str, Any]
    version: int
    last_hash: str
    entered_at: datetime | None  # None where not read (the fire path)
    updated_at: datetime | None = None

    @property
    def key(self) -> str:
        """``name@version`` of the workflow version this instance runs on."""
        return f"{self.workflow}@{self.workflow_version}"


@dataclass(frozen=True, slots=True)
class Event:
    """One link of an instance's audit chain: the same record is hashed, stored and read back.

    ``id`` is None and ``hash`` empty until the event is sealed and stored. ``hash_format`` is the
    canonical form the hash covers (``labelwf.audit.hashing``).
    """

    entity: str
    workflow: str
    seq: int
    trigger: str | None
    source: str | None
    dest: str
    actor: str
    role: str
    reason: str
    data: Mapping[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    late_by_s: float | None
    prev_hash: str
    hash_format: int
    hash: str = ""
    id: int | None = None
    principal: str | None = None  # who authenticated (formats 4 and 5), beside the claimed ``actor``
    letters: tuple[str, ...] = ()  # the checksums of the letters it queued (formats 4 to 7)
    batch: int | None = None  # the plan it executed (formats 6 and 7: a bulk decision, a move, a migration)
    basis: Basis | None = None  # where the fact comes from (formats 8 and 9); None: the act itself

    @property
    def backdated(self) -> bool:
        """Dated before it was recorded by more than the clock's skew (a decision taken earlier)."""
        return (self.recorded_at - self.occurred_at).total_seconds() > BACKDATED_AFTER_S and self.late_by_s is None


@dataclass(frozen=True, slots=True)
class Timer:
    """A durable deadline of an instance."""

    id: int
    entity: str
    workflow: str
    name: str
    trigger: str
    due_at: datetime
    catch_up: str
    status: TimerStatus


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a stored letter is addressed to."""

    role: str
    label: str
    name: str = ""
    address: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class Letter:
    """A letter of the outbox: frozen content, its recipient and where its delivery stands.

    ``text`` and ``html`` are None in listings (which do not load bodies).
    """

    id: int
    entity: str
    template: str
    recipient: Recipient
    subject: str
    status: LetterStatus
    attempts: int
    checksum: str
    occurred_at: datetime
    created_at: datetime
    last_error: str | None = None
    message_id: str | None = None
    delivered_at: datetime | None = None
    text: str | None = None
    html: str | None = None
    post: str | None = None  # the post that signs it (the signature step), or None
    signed_at: datetime | None = None
    pdf_sha256: str | None = None  # the signed PDF's sha256
    signed_pdf: bytes | None = None  # the signed PDF (loaded where delivered or served)
    signed_demonstration: bool = False  # signed with a demonstration certificate: its bodies say so
    signed_by: str | None = None  # the signatory's name written into its block at signing (letters.dating)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing: its items, the cursor of the next page, and how many come after.

    ``more`` counts the items after this page up to ``more_capped_at``; ``more_capped_at`` is set
    when there are at least that many (counting further would cost in proportion to the table).
    """

    items: tuple[T, ...]
    next: str | None
    more: int
    more_capped_at: int | None = None

    @property
    def more_text(self) -> str:
        """``"12 more"``, ``"1000+ more"`` or ``""``."""
        if self.more_capped_at is not None:
            return f"{self.more_capped_at}+ more"
        return f"{self.more} more" if self.more else ""


def entity_from_row(row: Mapping[Any, Any]) -> Entity:
    """An ``Entity`` from a row with the entity's columns (``entity_id`` or ``id``, name, attributes…)."""
    return Entity(
        id=row["entity_id"] if "entity_id" in row else row["id"],
        name=row["name"],
        attributes=row.get("attributes") or {},
        contacts=tuple(row.get("contacts") or ()),
    )


def instance_from_row(row: Mapping[Any, Any]) -> Instance:
    """An ``Instance`` from a row of ``instance`` joined to its entity (see ``reads.INSTANCE_COLUMNS``)."""
    return Instance(
        id=row["id"],
        entity=entity_from_row(row),
        workflow=row["workflow"],
        workflow_version=row["workflow_version"],
        state=row["state"],
        data=row["data"],
        version=row["version"],
        last_hash=row["last_hash"],
        entered_at=row["entered_at"],
        updated_at=row.get("updated_at"),
    )


def event_from_row(row: Mapping[Any, Any], entity: str, workflow: str) -> Event:
    """An ``Event`` from a row of ``event``, with the entity and workflow of its instance."""
    return Event(
        entity=entity,
        workflow=workflow,
        seq=row["seq"],
        trigger=row["trigger"],
        source=row["source"],
        dest=row["dest"],
        actor=row["actor"],
        role=row["role"],
        reason=row["reason"],
        data=row["data"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        late_by_s=row["late_by_s"],
        prev_hash=row["prev_hash"],
        hash_format=row["hash_format"],
        hash=row["hash"],
        id=row["id"],
        principal=row["principal"],
        letters=tuple(row["letters"] or ()),
        batch=row.get("batch_id"),
        basis=basis_from_json(row.get("basis")),
    )


def timer_from_row(row: Mapping[Any, Any]) -> Timer:
    """A ``Timer`` from a row of ``timer`` joined to its instance (``entity_id``, ``workflow``)."""
    return Timer(
        id=row["id"],
        entity=row["entity_id"],
        workflow=row["workflow"],
        name=row["name"],
        trigger=row["trigger"],
        due_at=row["due_at"],
        catch_up=row["catch_up"],
        status=TimerStatus(row["status"]),
    )


def letter_from_row(row: Mapping[Any, Any]) -> Letter:
    """A ``Letter`` from a row of ``letter`` joined to its entity and event (bodies when selected)."""
    return Letter(
        id=row["id"],
        entity=row["entity_id"],
        template=row["template"],
        recipient=Recipient(
            role=row["recipient"],
            label=row.get("recipient_label") or "",
            name=row.get("recipient_name") or "",
            address=row.get("recipient_address") or "",
            email=row.get("recipient_email") or "",
        ),
        subject=row["subject"],
        status=LetterStatus(row["status"]),
        attempts=row["attempts"],
        checksum=row["checksum"],
        occurred_at=row["occurred_at"],
        created_at=row["created_at"],
        last_error=row.get("last_error"),
        message_id=row.get("message_id"),
        delivered_at=row.get("delivered_at"),
        text=row.get("body"),
        html=row.get("body_html"),
        post=row.get("post"),
        signed_at=row.get("signed_at"),
        pdf_sha256=row.get("pdf_sha256"),
        signed_pdf=row.get("signed_pdf"),
        signed_demonstration=bool(row.get("signed_demonstration")),
        signed_by=row.get("signed_by"),
    )


class BatchStatus(StrEnum):
    """Where a plan stands."""

    PLANNED = "planned"  # frozen, not run yet
    RUNNING = "running"  # a run started; some items may be done (a crashed run is resumed by running again)
    DONE = "done"  # every item has its outcome
    CANCELLED = "cancelled"  # stopped by an operator; the items not run yet stay undone


class ItemStatus(StrEnum):
    """Where one item of a plan stands."""

    PENDING = "pending"  # to do when the plan runs
    DONE = "done"  # executed: its event is in the chain
    REFUSED = "refused"  # the plan said why it cannot be done; never attempted
    CHANGED = "changed"  # its instance moved on since the plan: reported, not executed
    FAILED = "failed"  # attempted and refused at execution (rolled back alone)
    CANCELLED = "cancelled"  # the plan was cancelled before it ran


@dataclass(frozen=True, slots=True)
class Batch:
    """A plan: one act (a bulk decision, deadline moves, a migration) frozen over many instances."""

    id: int
    kind: str
    workflow: str
    reference: str
    actor: str
    reason: str
    principal: str | None
    occurred_at: datetime | None
    spec: Mapping[str, Any]
    status: BatchStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: Mapping[str, int] = field(default_factory=dict)  # items by status
    executed_by: str | None = None  # who ran it last (its events' principal), beside its planner's


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One entity's part of a plan: what to do, what the plan said, and what happened."""

    batch_id: int
    seq: int
    entity: str
    instance_id: int | None
    seen_version: int | None
    action: Mapping[str, Any]
    preview: Mapping[str, Any]
    status: ItemStatus
    outcome: Mapping[str, Any] | None
    event_id: int | None
    done_at: datetime | None


def batch_from_row(row: Mapping[Any, Any], counts: Mapping[str, int] | None = None) -> Batch:
    """A ``Batch`` from a row of ``batch`` (and its items' counts by status)."""
    return Batch(
        id=row["id"],
        kind=row["kind"],
        workflow=row["workflow"],
        reference=row["reference"],
        actor=row["actor"],
        reason=row["reason"],
        principal=row["principal"],
        occurred_at=row["occurred_at"],
        spec=row["spec"],
        status=BatchStatus(row["status"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        counts=dict(counts or {}),
        executed_by=row["executed_by"],
    )


def batch_item_from_row(row: Mapping[Any, Any]) -> BatchItem:
    """A ``BatchItem`` from a row of ``batch_item``."""
    return BatchItem(
        batch_id=row["batch_id"],
        seq=row["seq"],
        entity=row["entity_id"],
        instance_id=row["instance_id"],
        seen_version=row["seen_version"],
        action=row["action"],
        preview=row["preview"],
        status=ItemStatus(row["status"]),
        outcome=row["outcome"],
        event_id=row["event_id"],
        done_at=row["done_at"],
    )
