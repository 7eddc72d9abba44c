"""The audit trail: hash-chained events, and the verification that names the first broken link.

Each event stores ``prev_hash`` (the hash of the previous event of its instance; 64 zeros for the
first) and ``hash`` = sha256 over a canonical JSON serialisation of the event's recorded fields and
``prev_hash``. The instance row keeps the hash of its last event and its version (= the last seq),
so deleting the newest events is detected too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from . import store
from .errors import NotFound
from .store import Database

GENESIS = "0" * 64


def event_hash(record: Mapping[str, Any]) -> str:
    """Return the sha256 of an event's canonical serialisation (its fields and ``prev_hash``)."""
    canonical = {
        "entity": record["entity"],
        "workflow": record["workflow"],
        "seq": record["seq"],
        "trigger": record["trigger"],
        "source": record["source"],
        "dest": record["dest"],
        "actor": record["actor"],
        "role": record["role"],
        "reason": record["reason"],
        "data": record["data"],
        "occurred_at": _instant(record["occurred_at"]),
        "recorded_at": _instant(record["recorded_at"]),
        "late_by_s": record["late_by_s"],
        "prev_hash": record["prev_hash"],
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _instant(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Break:
    """A broken link of the chain: where it is and what does not hold."""

    entity: str
    workflow: str
    seq: int | None
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event #{self.event_id} (seq {self.seq})" if self.event_id is not None else "instance row"
        return f"{self.entity} [{self.workflow}] {where}: {self.problem}"


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify`` checked and the first broken link of each broken instance."""

    instances: int
    events: int
    breaks: tuple[Break, ...]

    @property
    def ok(self) -> bool:
        """True when every chain verifies."""
        return not self.breaks


def verify(db: Database, *, entity: str | None = None) -> VerifyReport:
    """Recompute every chain (or one entity's) and report the first broken link of each instance."""
    instances = events = 0
    breaks: list[Break] = []
    with db.read() as conn:
        heads = {
            row.id: row
            for row in conn.execute(
                sa.select(
                    store.instance.c.id,
                    store.instance.c.entity_id,
                    store.instance.c.workflow,
                    store.instance.c.version,
                    store.instance.c.last_hash,
                ).where(sa.true() if entity is None else store.instance.c.entity_id == entity)
            )
        }
        instances = len(heads)
        if entity is not None and not heads:
            raise NotFound("instance", entity, "`labelwf list` shows the instances")
        query = sa.select(store.event).order_by(store.event.c.instance_id, store.event.c.seq)
        if entity is not None:
            query = query.where(store.event.c.instance_id.in_(list(heads)))
        current: int | None = None
        state = _ChainState()
        for row in conn.execution_options(yield_per=2000).execute(query).mappings():
            events += 1
            if row["instance_id"] != current:
                if current is not None:
                    _close(heads.pop(current, None), state, breaks)
                current, state = row["instance_id"], _ChainState()
            head = heads.get(row["instance_id"])
            if head is None or state.broken:
                continue
            state.check(row, head, breaks)
        if current is not None:
            _close(heads.pop(current, None), state, breaks)
        for head in heads.values():
            breaks.append(Break(head.entity_id, head.workflow, None, None, "instance has no events at all"))
    return VerifyReport(instances, events, tuple(breaks))


class _ChainState:
    def __init__(self) -> None:
        self.expected_seq = 0
        self.prev_hash = GENESIS
        self.broken = False

    def check(self, row: Mapping[Any, Any], head: Any, breaks: list[Break]) -> None:
        def fail(problem: str) -> None:
            breaks.append(Break(head.entity_id, head.workflow, row["seq"], row["id"], problem))
            self.broken = True

        if row["seq"] != self.expected_seq:
            return fail(f"sequence jumps from {self.expected_seq - 1} to {row['seq']} (events missing)")
        if row["prev_hash"] != self.prev_hash:
            return fail("prev_hash does not match the previous event's hash (an event was removed or altered)")
        record = dict(row, entity=head.entity_id, workflow=head.workflow)
        computed = event_hash(record)
        if computed != row["hash"]:
            return fail("stored hash does not match the event's content (the event was altered)")
        self.prev_hash = row["hash"]
        self.expected_seq += 1
        return None


def _close(head: Any, state: _ChainState, breaks: list[Break]) -> None:
    if head is None or state.broken:
        return
    if state.expected_seq - 1 != head.version or state.prev_hash != head.last_hash:
        breaks.append(
            Break(
                head.entity_id,
                head.workflow,
                None,
                None,
                f"instance is at version {head.version} but its chain ends at seq {state.expected_seq - 1} "
                "(the newest events were removed, or the instance row was altered)",
            )
        )
