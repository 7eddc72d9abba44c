"""What every kind of plan shares: its items frozen when planned (``store``), each item's instance
checked against the version its preview saw (``seen_instance``), and how a kind executes one item
(``Executor``).

Each kind of plan (``bulk``, ``timer_moves``, ``migration``) builds on this module; ``plans``, above
them all, runs, cancels and lists plans of every kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from ..engine.batch import Checks
from ..engine.fire import Engine
from ..errors import ConcurrentUpdate, NotFound
from ..store import batches as sql
from ..store.fires import load_instance
from ..store.records import Batch, BatchItem, Instance

Executor = Callable[["Engine", Connection, Batch, BatchItem, Checks], tuple[dict[str, Any], int]]
"""Executes one item inside the run's transaction: returns its outcome and the id of its event."""


@dataclass(frozen=True, slots=True)
class PlanReport:
    """A stored plan and its items as the preview left them."""

    batch: Batch
    items: tuple[BatchItem, ...]


def store(
    engine: Engine,
    *,
    kind: str,
    workflow: str,
    reference: str,
    actor: str,
    reason: str,
    principal: str | None,
    occurred_at: datetime | None,
    spec: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
) -> PlanReport:
    """Store a previewed plan and its items in one transaction (``planned``); return it as stored."""
    with engine.db.write() as conn:
        batch_id = sql.create_batch(
            conn,
            kind=kind,
            workflow=workflow,
            reference=reference.strip(),
            actor=actor,
            reason=reason,
            principal=principal or engine.principal,
            occurred_at=occurred_at,
            spec=spec,
            now=engine.clock.now(),
        )
        sql.insert_items(conn, batch_id, rows)
    with engine.db.read() as conn:
        batch = sql.get_batch(conn, batch_id)
        assert batch is not None  # written above
        return PlanReport(batch, tuple(all_items(conn, batch_id)))


def seen_instance(conn: Connection, plan: Batch, item: BatchItem) -> Instance:
    """An item's instance, still at the version its preview saw (else ``ConcurrentUpdate``: reported changed)."""
    current = load_instance(conn, item.entity, plan.workflow)
    if current is None:  # pragma: no cover - an instance is never deleted
        raise NotFound("instance", item.entity)
    if current.version != item.seen_version:
        raise ConcurrentUpdate(item.entity, item.seen_version or 0, current.version)
    return current


def all_items(conn: Connection, batch_id: int, *, status: str | None = None) -> list[BatchItem]:
    """Every item of a plan, in order (of one ``status``), read page by page."""
    found: list[BatchItem] = []
    while True:
        page = sql.items(conn, batch_id, after=found[-1].seq if found else -1, status=status)
        found.extend(page)
        if len(page) < 1000:
            return found
