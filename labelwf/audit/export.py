"""The audit trail exported: every event, as one JSON object per line, with what its hash covers.

An export is a copy to archive or hand to an auditor: each line holds the event's fields, its
``prev_hash``, ``hash_format`` and ``hash``, so that the chains can be recomputed elsewhere (the
keyed formats need the audit key, which the export never contains). Lines come by instance, then
by sequence, streamed from one read transaction: memory stays flat whatever the trail's length.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..errors import NotFound
from ..message import N_
from ..store import Database
from ..store.reads import chain_rows, count_chains
from ..store.records import Event, event_from_row


def exported_events(db: Database, *, entity: str | None = None) -> Iterator[dict[str, Any]]:
    """Every event (or one entity's), by instance then sequence, as JSON-ready mappings.

    An ``entity`` without an instance is refused (``NotFound``) before anything is streamed.
    """
    if entity is not None:
        with db.read() as conn:
            if not count_chains(conn, entity):
                raise NotFound("instance", entity, N_("`labelwf list` shows the instances"))
    return _events(db, entity)


def _events(db: Database, entity: str | None) -> Iterator[dict[str, Any]]:
    with db.read() as conn:
        for row in chain_rows(conn, entity):
            event = event_from_row(row, row["entity_id"], row["workflow"])
            yield event_json(event) | {"prev_hash": event.prev_hash, "hash_format": event.hash_format}


def export_lines(db: Database, *, entity: str | None = None) -> Iterator[str]:
    """The export as text: one JSON object per line (RFC 3339 instants, UTF-8); checked like ``exported_events``."""
    records = exported_events(db, entity=entity)
    return (json.dumps(r, ensure_ascii=False, default=_instant, sort_keys=True) + "\n" for r in records)


def _instant(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    raise TypeError(f"not exportable: {type(value).__name__}")


def event_json(event: Event) -> dict[str, Any]:
    """An audit event, as the export, the CLI's ``--json`` and the API give it."""
    return {
        "entity": event.entity,
        "workflow": event.workflow,
        "seq": event.seq,
        "trigger": event.trigger,
        "source": event.source,
        "dest": event.dest,
        "actor": event.actor,
        "role": event.role,
        "reason": event.reason,
        "data": dict(event.data),
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "late_by_s": event.late_by_s,
        "backdated": event.backdated,
        "principal": event.principal,
        "letters": list(event.letters),
        "batch": event.batch,
        "basis": None if event.basis is None else event.basis.as_json(),
        "hash": event.hash,
    }
