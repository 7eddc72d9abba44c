"""Checkpoints of the audit trail: every chain's head and the counts, signed, in a file kept elsewhere.

The keyed chain stops anyone without the audit key from rewriting events; a checkpoint stops
anyone at all — the key's holder included — from rewriting, truncating or erasing what it covered
unnoticed, as long as the file is kept out of their reach (another machine, a signed e-mail, paper).
``audit verify --checkpoint FILE`` checks that each instance the checkpoint names still exists and
that its chain still passes through the same event hash at the same sequence number.

The file is JSON: ``{"labelwf_checkpoint": 1, "created_at", "database", "instances", "events",
"heads": [[workflow, entity, seq, hash], ...], "signature"}``; the signature is HMAC-SHA256 with
the audit key over the canonical JSON of the rest, so a checkpoint cannot be forged or edited
without the key either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import CheckpointError
from .store import Database
from .store.reads import chain_heads

FORMAT = 1
MAX_BYTES = 512 * 1024 * 1024  # a checkpoint of millions of instances, not more
_HASH = re.compile(r"^[0-9a-f]{64}$")


Head = tuple[int, str]  # (seq, hash) of an instance's last event when the checkpoint was taken


@dataclass(frozen=True)
class Checkpoint:
    """The heads of every chain at one instant, by (workflow, entity)."""

    created_at: datetime
    database: str
    events: int
    heads: dict[tuple[str, str], Head]

    @property
    def instances(self) -> int:
        """How many instances the checkpoint covers."""
        return len(self.heads)


def take(db: Database, now: datetime) -> Checkpoint:
    """The heads of every chain, read in one statement (one consistent view)."""
    with db.read() as conn:
        heads = {(w, e): (version, last) for e, w, version, last in chain_heads(conn).values()}
    return Checkpoint(now, db.display_url, sum(seq + 1 for seq, _ in heads.values()), heads)


def _body(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "labelwf_checkpoint": FORMAT,
        "created_at": checkpoint.created_at.isoformat(),
        "database": checkpoint.database,
        "instances": checkpoint.instances,
        "events": checkpoint.events,
        "heads": [[w, e, seq, h] for (w, e), (seq, h) in sorted(checkpoint.heads.items())],
    }


def _signature(body: dict[str, Any], key: bytes) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def write(checkpoint: Checkpoint, path: Path, key: bytes) -> None:
    """Write ``checkpoint`` signed with ``key`` to a new file ``path`` (never over an existing one)."""
    body = _body(checkpoint)
    body["signature"] = _signature(body, key)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise CheckpointError(str(path), "already exists; a checkpoint is never overwritten, name a new file") from None
    except OSError as exc:
        raise CheckpointError(str(path), f"cannot be created ({exc.strerror})") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(body, out, ensure_ascii=False, indent=1)
        out.write("\n")
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
    if not isinstance(raw, dict) or raw.get("labelwf_checkpoint") != FORMAT:
        raise CheckpointError(name, f'is not a labelwf checkpoint (expected "labelwf_checkpoint": {FORMAT})')
    signature = raw.pop("signature", None)
    if not isinstance(signature, str) or not hmac.compare_digest(_signature(raw, key), signature):
        raise CheckpointError(
            name, "its signature does not verify with the audit key: it was altered, or signed with another key"
        )
    try:
        heads: dict[tuple[str, str], Head] = {}
        for workflow, entity, seq, last in raw["heads"]:
            if not (isinstance(workflow, str) and isinstance(entity, str) and type(seq) is int and _HASH.match(last)):
                raise ValueError(f"malformed head {[workflow, entity, seq, last]!r}")
            heads[(workflow, entity)] = (seq, last)
        return Checkpoint(datetime.fromisoformat(raw["created_at"]), str(raw["database"]), int(raw["events"]), heads)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(name, f"is signed but malformed ({exc})") from None
