"""The whole audit trail verified at once, as the CLI, the API and the console verify it.

Every instance's chain and every letter (``audit.verify``), the administrative acts' chain
(``admin_chain.verify``), both against a checkpoint: the one given, else the newest of the
checkpoints folder. Without a checkpoint the report says what then goes unnoticed (the newest
events or acts deleted with their heads moved back, a whole instance erased), so no caller can
present such a verification as complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from ..message import N_, Message
from ..store import Database
from . import admin_chain, checkpoint, checkpoints
from . import verification as audit
from .admin_chain import AdminReport
from .checkpoint import Checkpoint
from .verification import VerifyReport


@dataclass(frozen=True)
class TrailReport:
    """What a verification of the trail checked and found."""

    chains: VerifyReport
    admin: AdminReport | None  # None when only one entity's chain was verified
    checkpoint: Checkpoint | None
    checkpoint_file: Path | None
    note: Message | None  # what this verification could not see (no checkpoint), if anything

    @property
    def ok(self) -> bool:
        """True when every chain, every letter and the administrative acts verify."""
        return self.chains.ok and (self.admin is None or self.admin.ok)

    def as_json(self) -> dict[str, Any]:
        """The report as ``--json`` and the API give it."""
        covered = None
        if self.checkpoint is not None:
            covered = {
                "file": self.checkpoint_file.name if self.checkpoint_file else None,
                "created_at": self.checkpoint.created_at,
                "instances": self.chains.checkpoint,
            }
        admin = None if self.admin is None else self.admin.as_json()
        note = None if self.note is None else str(self.note)  # the English source text, as JSON keeps it
        return self.chains.as_json() | {"ok": self.ok, "checkpoint": covered, "admin": admin, "note": note}


def chosen_checkpoint(
    db: Database, key: bytes | None, folder: Path, given: Path | None = None, *, skipped: bool = False
) -> tuple[Path | None, Checkpoint | None, Message | None]:
    """The checkpoint to verify against (``given``, or the newest of ``folder``) and its file, or a
    note saying why there is none and what the verification then cannot see.

    ``CheckpointError`` when ``given`` cannot be read or does not verify with ``key``."""
    if skipped:
        return None, None, N_("a deletion of the newest events or of whole instances is not detected")
    if key is None and given is not None:
        raise CheckpointError(str(given), "cannot be authenticated without the audit key (audit_key_file)")
    if key is None:
        unkeyed = N_("no audit key: no checkpoint can be authenticated, truncation and erasure are not detected")
        return None, None, unkeyed
    if given is not None:
        return given, checkpoint.read(given, key), None
    found = checkpoints.newest(folder, key, db.display_url)
    if found is None:
        why = N_(
            "no checkpoint of this database in %(folder)s: a deletion of the newest events or of whole instances "
            "is not detected (`labelwf audit checkpoint` takes one; the daemon and the server take them by themselves)",
            folder=str(folder),
        )
        return None, None, why
    return found[0], found[1], None


def verify_trail(
    db: Database,
    *,
    key: bytes | None,
    folder: Path,
    entity: str | None = None,
    allow_unkeyed: bool = False,
    checkpoint_file: Path | None = None,
    skip_checkpoint: bool = False,
) -> TrailReport:
    """Verify the chains, the letters and (unless ``entity`` names one) the administrative acts,
    against ``checkpoint_file`` or the newest checkpoint of ``folder``."""
    path, taken, note = chosen_checkpoint(db, key, folder, checkpoint_file, skipped=skip_checkpoint)
    chains = audit.verify(db, entity=entity, key=key, allow_unkeyed=allow_unkeyed, checkpoint=taken)
    admin = None
    if entity is None:
        since = f" of {taken.created_at.isoformat(timespec='seconds')}" if taken is not None else ""
        pinned = taken.admin_head if taken is not None else None
        admin = admin_chain.verify(db, key=key, allow_unkeyed=allow_unkeyed, pinned=pinned, since=since)
    return TrailReport(chains, admin, taken, path, note)
