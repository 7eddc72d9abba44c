"""Checkpoints of the audit trail: every chain's head and the counts, signed, in a file kept elsewhere.

The keyed chain stops anyone without the audit key from rewriting events; a checkpoint stops
anyone at all — the key's holder included — from rewriting, truncating or erasing what it covered
unnoticed, as long as the file is kept out of their reach (another machine, a signed e-mail, paper).
``audit verify`` checks the newest checkpoint of the folder (``checkpoints``): each instance it
names must still exist and its chain still pass through the same event hash at the same sequence
number, and no table may hold fewer rows than it counted.

The file is JSON, format 2: ``{"labelwf_checkpoint": 2, "created_at", "database", "instances",
"events", "counts": {table: rows}, "last_event", "heads": [[workflow, entity, seq, hash], ...],
"chains": {name: [[..., seq, hash], ...]}, "signature"}``. ``chains`` holds the heads of the
trail's other hash chains (``CHAINS`` says how to read each), so a chain can join without a new
format. The signature is HMAC-SHA256 with the audit key over the canonical JSON of the rest, so a
checkpoint cannot be forged or edited without the key either. Format 1 (no counts, no chains) is
still read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from ..errors import CheckpointError
from ..store import Database
from ..store.admin import head as admin_head
from ..store.trail import heads as chain_heads
from ..store.trail import last_event_id, table_counts

FORMAT = 2
READABLE = (1, 2)
MAX_BYTES = 512 * 1024 * 1024  # a checkpoint of millions of instances, not more
_HASH = re.compile(r"^[0-9a-f]{64}$")
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


Head = tuple[int, str]  # (seq, hash) of an instance's last event when the checkpoint was taken
ChainReader = Callable[[Connection], list[list[Any]]]


def _admin_heads(conn: Connection) -> list[list[Any]]:
    """The administrative acts' chain head as ``[[seq, hash]]`` (none before the first act)."""
    found = admin_head(conn)
    return [] if found is None or found[0] == 0 else [[found[0], found[1]]]


# The trail's other hash chains: name → the heads of that chain, each a JSON list ending with
# (seq, hash), read by the checkpoint in its own read transaction.
CHAINS: dict[str, ChainReader] = {"admin": _admin_heads}


@dataclass(frozen=True)
class Checkpoint:
    """The heads of every chain at one instant, by (workflow, entity), and the rows of each table."""

    created_at: datetime
    database: str
    events: int
    heads: dict[tuple[str, str], Head]
    counts: dict[str, int] = field(default_factory=dict)  # rows per table (format 2)
    last_event: int | None = None  # the newest event's id (format 2): whether anything was recorded since
    chains: dict[str, list[list[Any]]] = field(default_factory=dict)  # the other chains' heads, by name
    # The instance id of each head, as read from the database (not written: ids are no one's business
    # in the file, and a restored database may renumber them).
    ids: dict[tuple[str, str], int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def instances(self) -> int:
        """How many instances the checkpoint covers."""
        return len(self.heads)

    @property
    def admin_head(self) -> Head | None:
        """The (seq, hash) of the last administrative act it covered, or None (none yet, or format 1)."""
        listed = self.chains.get("admin") or []
        return (int(listed[-1][0]), str(listed[-1][1])) if listed else None


def take(db: Database, now: datetime) -> Checkpoint:
    """The heads of every chain and the rows of each table, read in one read transaction."""
    with db.read() as conn:
        found = chain_heads(conn)
        counts = table_counts(conn)
        last = last_event_id(conn)
        chains = {name: reader(conn) for name, reader in sorted(CHAINS.items())}
    heads = {(w, e): (version, h) for _, e, w, version, h in found}
    ids = {(w, e): instance_id for instance_id, e, w, _, _ in found}
    events = sum(seq + 1 for seq, _ in heads.values())
    return Checkpoint(now, db.display_url, events, heads, counts, last, chains, ids)


def _body(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "labelwf_checkpoint": FORMAT,
        "created_at": checkpoint.created_at.isoformat(),
        "database": checkpoint.database,
        "instances": checkpoint.instances,
        "events": checkpoint.events,
        "counts": dict(checkpoint.counts),
        "last_event": checkpoint.last_event,
        "heads": [[w, e, seq, h] for (w, e), (seq, h) in sorted(checkpoint.heads.items())],
        "chains": {name: heads for name, heads in sorted(checkpoint.chains.items())},
    }


def _signature(body: dict[str, Any], key: bytes) -> str:
    return hmac.new(key, _ENCODER.encode(body).encode("utf-8"), hashlib.sha256).hexdigest()


def signed(checkpoint: Checkpoint, key: bytes) -> bytes:
    """The file's content: the canonical JSON of ``checkpoint`` with its signature, encoded once
    (a checkpoint of 100,000 instances is 10 MB: serialising it twice would double its cost)."""
    text = _ENCODER.encode(_body(checkpoint))
    signature = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    return f'{text[:-1]},"signature":"{signature}"}}\n'.encode()


def write(checkpoint: Checkpoint, path: Path, key: bytes) -> None:
    """Write ``checkpoint`` signed with ``key`` to a new file ``path`` (never over an existing one),
    readable by its owner only."""
    write_bytes(signed(checkpoint, key), path)


def write_bytes(content: bytes, path: Path) -> None:
    """Write a signed checkpoint's ``content`` to a new file ``path`` (mode 0600, never over a file)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CheckpointError(str(path), "already exists; a checkpoint is never overwritten, name a new file") from None
    except OSError as exc:
        raise CheckpointError(str(path), f"cannot be created ({exc.strerror})") from None
    with os.fdopen(descriptor, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())


def read(path: Path, key: bytes) -> Checkpoint:
    """Read a checkpoint and check its signature with ``key``; ``CheckpointError`` says what is wrong."""
    name = str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise CheckpointError(name, f"is larger than {MAX_BYTES // 2**20} MiB: not a labelwf checkpoint")
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(name, "no such file") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(name, f"is not a readable JSON checkpoint ({exc})") from None
    if not isinstance(raw, dict) or raw.get("labelwf_checkpoint") not in READABLE:
        raise CheckpointError(
            name, f'is not a labelwf checkpoint (expected "labelwf_checkpoint": one of {", ".join(map(str, READABLE))})'
        )
    signature = raw.pop("signature", None)
    if not isinstance(signature, str) or not hmac.compare_digest(_signature(raw, key), signature):
        raise CheckpointError(
            name, "its signature does not verify with the audit key: it was altered, or signed with another key"
        )
    try:
        return _parsed(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(name, f"is signed but malformed ({exc})") from None


def _parsed(raw: dict[str, Any]) -> Checkpoint:
    heads: dict[tuple[str, str], Head] = {}
    for workflow, entity, seq, last in raw["heads"]:
        if not (isinstance(workflow, str) and isinstance(entity, str) and type(seq) is int and _HASH.match(last)):
            raise ValueError(f"malformed head {[workflow, entity, seq, last]!r}")
        heads[(workflow, entity)] = (seq, last)
    created = datetime.fromisoformat(raw["created_at"])
    if raw["labelwf_checkpoint"] == 1:
        return Checkpoint(created, str(raw["database"]), int(raw["events"]), heads)
    counts = {str(table): int(rows) for table, rows in raw["counts"].items()}
    chains = {str(name): list(listed) for name, listed in raw["chains"].items()}
    for name, listed in chains.items():
        for item in listed:
            if not (isinstance(item, list) and len(item) >= 2 and type(item[-2]) is int and _HASH.match(item[-1])):
                raise ValueError(f"malformed head of the {name} chain {item!r}")
    last = raw["last_event"]
    return Checkpoint(created, str(raw["database"]), int(raw["events"]), heads, counts, last, chains)
