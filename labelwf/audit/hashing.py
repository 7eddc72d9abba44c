"""The audit trail's hash chain: the canonical forms of an event and its hash (verified by ``audit``).

Each event stores ``prev_hash`` (the hash of the previous event of its instance; 64 zeros for the
first) and ``hash`` = sha256 over a canonical JSON serialisation of the event's recorded fields and
``prev_hash``. The instance row keeps the hash of its last event and its version (= the last seq),
so deleting the newest events is detected too.

The canonical form is versioned (``Event.hash_format``), so that the event can grow fields
without breaking the verification of events hashed before:

* format 1: the event's fields and ``prev_hash`` (events written before schema revision 0003);
* format 2: the same and ``"format": 2`` itself, so that the form an event claims is covered too;
* format 3: format 2's fields (with ``"format": 3``), keyed: HMAC-SHA256 with the audit key
  (``audit_key``), so that hashes recomputed without the key do not verify;
* format 4: format 2's fields and the ``principal`` (who authenticated) and ``letters`` (the
  checksums of the letters the event queued, so that a letter changed in the outbox is refused
  before delivery), unkeyed; format 5: the same, keyed;
* formats 6 and 7: formats 4 and 5 with the ``batch`` (the id of the plan the event executed: a
  bulk decision, a deadline move, a migration). Events outside a plan keep formats 4 and 5;
* formats 8 and 9: formats 6 and 7 with the ``basis`` (where the fact comes from: the public
  record with its source keys, an assumption with its text, or synthetic data; ``Basis``), so
  that provenance cannot be changed without breaking the chain. Only an event with a basis takes
  them; events without one keep formats 4 to 7.

"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..store.records import Basis, Event

GENESIS = "0" * 64
HASH_FORMAT = 4  # the canonical form of new events without an audit key
KEYED_FORMAT = 5  # ... and with one
BATCH_FORMATS = {HASH_FORMAT: 6, KEYED_FORMAT: 7}  # the same, for an event a plan executed (its batch id)
BASIS_FORMATS = {HASH_FORMAT: 8, KEYED_FORMAT: 9}  # the same with the batch id and the event's basis
_KEYED = frozenset({3, 5, 7, 9})
# The canonical serialisation, built once (``json.dumps`` with options builds an encoder per call).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _canonical_v1(event: Event) -> dict[str, Any]:
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
        "data": event.data,
        "occurred_at": _instant(event.occurred_at),
        "recorded_at": _instant(event.recorded_at),
        "late_by_s": event.late_by_s,
        "prev_hash": event.prev_hash,
    }


def _canonical_v2(event: Event) -> dict[str, Any]:
    canonical = _canonical_v1(event)
    canonical["format"] = 2
    return canonical


def _canonical_v3(event: Event) -> dict[str, Any]:
    canonical = _canonical_v2(event)
    canonical["format"] = 3
    return canonical


def _canonical_v4(event: Event) -> dict[str, Any]:
    canonical = _canonical_v1(event)
    canonical["format"] = event.hash_format
    canonical["principal"] = event.principal
    canonical["letters"] = list(event.letters)
    return canonical


def _canonical_v6(event: Event) -> dict[str, Any]:
    canonical = _canonical_v4(event)
    canonical["batch"] = event.batch
    return canonical


def _canonical_v8(event: Event) -> dict[str, Any]:
    canonical = _canonical_v6(event)
    canonical["basis"] = None if event.basis is None else event.basis.as_json()
    return canonical


_FORMATS: dict[int, Callable[[Event], dict[str, Any]]] = {
    1: _canonical_v1,
    2: _canonical_v2,
    3: _canonical_v3,
    4: _canonical_v4,
    5: _canonical_v4,
    6: _canonical_v6,
    7: _canonical_v6,
    8: _canonical_v8,
    9: _canonical_v8,
}

KNOWN_FORMATS = frozenset(_FORMATS)  # the canonical forms this labelwf can verify


def format_for(base: int, *, batch: int | None = None, basis: Basis | None = None) -> int:
    """The hash format of a new event, from the engine's ``base`` (``HASH_FORMAT`` or ``KEYED_FORMAT``):
    with a basis, formats 8/9; else in a plan, 6/7; else ``base`` (so events without them do not change)."""
    if basis is not None:
        return BASIS_FORMATS[base]
    return base if batch is None else BATCH_FORMATS[base]


def is_keyed(hash_format: int) -> bool:
    """Whether events of ``hash_format`` are hashed with the audit key."""
    return hash_format in _KEYED


def event_hash(event: Event, key: bytes | None = None) -> str:
    """The hash of an event's canonical serialisation in its ``hash_format`` (keyed formats need ``key``)."""
    canonical = _FORMATS.get(event.hash_format)
    if canonical is None:
        raise ValueError(f"unknown hash format {event.hash_format!r}; this labelwf knows {sorted(_FORMATS)}")
    text = _ENCODER.encode(canonical(event)).encode("utf-8")
    if event.hash_format in _KEYED:
        if key is None:
            raise ValueError("a keyed event's hash needs the audit key")
        return hmac.digest(key, text, "sha256").hex()
    return hashlib.sha256(text).hexdigest()


def _instant(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")
