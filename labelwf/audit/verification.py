"""The audit trail's verification: every chain recomputed, naming the first broken link of each.

The chains' canonical forms and hashes are ``hashing``'s. Without the key, ``verify`` checks the
structure of keyed events (sequence, links, the instance head) but not their content, and says so.
With it, a keyed chain that continues with unkeyed events (a downgrade) is broken, and unkeyed
events before the first keyed one (written before the key existed) are counted as not authenticated.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from ..errors import NotFound
from ..message import N_
from ..store import Database
from ..store.reads import chain_rows, chains_without_events, count_chains
from ..store.records import event_from_row
from ..store.trail import letter_seal_rows, sealing_shortfalls, table_counts
from .checkpoint import Checkpoint
from .hashing import GENESIS, KNOWN_FORMATS, event_hash, is_keyed
from .seals import SEALING_FORMAT, seal_problem
from .versions import check_versions


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
    keyed: bool = False  # verified with the audit key: authenticity, not structure only
    unauthenticated: int = 0  # events whose content this verification could not authenticate
    checkpoint: int | None = None  # instances checked against a checkpoint, when one was given
    letters: int = 0  # letters checked against the checksums their events sealed
    missing: tuple[str, ...] = ()  # tables holding fewer rows than the checkpoint counted
    unkeyed_accepted: int = 0  # events hashed without the key, accepted by ``allow_unkeyed``

    @property
    def ok(self) -> bool:
        """True when every chain and every letter verifies and no table lost rows."""
        return not self.breaks and not self.missing

    def as_json(self) -> dict[str, Any]:
        """What was checked, with which guarantee, the first broken link of each chain, every altered
        letter, and the tables shorter than the checkpoint counted (``missing``): as ``--json`` and the API give it."""
        return {
            "ok": self.ok,
            "instances": self.instances,
            "events": self.events,
            "keyed": self.keyed,
            "unauthenticated": self.unauthenticated,
            "unkeyed_accepted": self.unkeyed_accepted,
            "letters": self.letters,
            "breaks": [b.__dict__ for b in self.breaks],
            "missing": list(self.missing),
        }


def verify(
    db: Database,
    *,
    entity: str | None = None,
    key: bytes | None = None,
    allow_unkeyed: bool = False,
    checkpoint: Checkpoint | Mapping[tuple[str, str], tuple[int, str]] | None = None,
) -> VerifyReport:
    """Recompute every chain (or one entity's) and report the first broken link of each instance,
    then every letter that is not the one its event sealed.

    With ``key`` (the audit key) keyed events are authenticated, and an event hashed without the
    key is a broken link (its hash could have been recomputed by anyone) unless ``allow_unkeyed``
    (a database whose older events predate the key); without ``key``, keyed events are checked
    for structure only. ``checkpoint`` (``checkpoint.read(...).heads``): each instance it names
    must still exist and its chain pass through the same hash at the same sequence number; a whole
    ``Checkpoint`` also names its date in what it finds, and no table may hold fewer rows than it counted.
    """
    events = 0
    unauthenticated = 0
    unkeyed = 0
    sealed = 0  # checksums sealed by events that seal their letters (formats 4 and later)
    breaks: list[Break] = []
    since, counted = "", {}
    if isinstance(checkpoint, Checkpoint):
        since, counted = f" of {checkpoint.created_at.isoformat(timespec='seconds')}", checkpoint.counts
        checkpoint = checkpoint.heads
    covered = dict(checkpoint or {})
    if entity is not None:
        covered = {k: v for k, v in covered.items() if k[1] == entity}
    checked = len(covered)
    with db.read() as conn:
        instances = count_chains(conn, entity)
        if entity is not None and not instances and not covered:
            raise NotFound("instance", entity, N_("`labelwf list` shows the instances"))
        current: int | None = None
        head = _Head("", "", 0, GENESIS)
        state = _ChainState()
        for row in chain_rows(conn, entity):
            events += 1
            if row["instance_id"] != current:
                if current is not None:
                    _close(head, state, breaks)
                current = row["instance_id"]
                head = _Head(row["entity_id"], row["workflow"], row["head_version"], row["head_hash"])
                state = _ChainState(covered.pop((head.workflow, head.entity), None), since)
            if row["hash_format"] >= 4:
                sealed += len(row["letters"] or ())
            if not state.broken:
                unchecked = state.check(row, head, breaks, key, allow_unkeyed)
                unauthenticated += unchecked
                unkeyed += unchecked if key is not None and allow_unkeyed else 0
        if current is not None:
            _close(head, state, breaks)
        for name, workflow in chains_without_events(conn, entity):
            covered.pop((workflow, name), None)
            breaks.append(Break(name, workflow, None, None, "instance has no events at all"))
        letters = _check_letters(conn, entity, sealed, breaks)
        breaks.extend(Break(*found) for found in check_versions(conn, entity))
        missing = _shorter_tables(conn, counted, since) if entity is None else ()
    for (workflow, name), (seq, _) in sorted(covered.items()):
        problem = f"erased: the checkpoint{since} covered {seq + 1} event(s) of this instance"
        breaks.append(Break(name, workflow, None, None, problem))
    return VerifyReport(
        instances,
        events,
        tuple(breaks),
        keyed=key is not None,
        unauthenticated=unauthenticated,
        checkpoint=checked if checkpoint is not None else None,
        letters=letters,
        missing=missing,
        unkeyed_accepted=unkeyed,
    )


def _check_letters(conn: Connection, entity: str | None, sealed: int, breaks: list[Break]) -> int:
    """Check every letter against its checksum and its event's seals; return how many were checked.

    A letter whose row was deleted is found by the totals: when the events sealed more checksums
    than there are letters of theirs, the events short of letters are named.
    """
    checked = found = 0
    for row in letter_seal_rows(conn, entity):
        checked += 1
        found += row["hash_format"] >= SEALING_FORMAT
        problem = seal_problem(
            checksum=row["checksum"],
            subject=row["subject"],
            text=row["body"] or "",
            html=row["body_html"] or "",
            name=row["recipient_name"] or "",
            address=row["recipient_address"] or "",
            email=row["recipient_email"] or "",
            hash_format=row["hash_format"],
            sealed=row["sealed"] or (),
        )
        if problem is not None:
            what = (
                f"letter #{row['id']} ({row['template']} to {row['recipient']}) altered since it was written: {problem}"
            )
            breaks.append(Break(row["entity_id"], row["workflow"], row["seq"], row["event_id"], what))
    if found < sealed:
        for event, remaining in sealing_shortfalls(conn, entity):
            what = f"sealed {len(event['letters'])} letter(s), {remaining} remain: a letter of this event was deleted"
            breaks.append(Break(event["entity_id"], event["workflow"], event["seq"], event["id"], what))
    return checked


def _shorter_tables(conn: Connection, counted: Mapping[str, int], since: str) -> tuple[str, ...]:
    """The tables holding fewer rows than the checkpoint counted (rows of these tables are never deleted)."""
    if not counted:
        return ()
    now = table_counts(conn)
    return tuple(
        f"table {table} has {now[table]} row(s), the checkpoint{since} counted {rows}: rows were deleted"
        for table, rows in sorted(counted.items())
        if table in now and now[table] < rows
    )


@dataclass(frozen=True, slots=True)
class _Head:
    entity: str
    workflow: str
    version: int
    last_hash: str


class _ChainState:
    def __init__(self, covered: tuple[int, str] | None = None, since: str = "") -> None:
        self.covered = covered  # (seq, hash) the checkpoint recorded for this instance
        self.since = since  # " of <date>" of the checkpoint, when known
        self.expected_seq = 0
        self.prev_hash = GENESIS
        self.broken = False
        self.keyed = False  # a keyed event was met: what follows must be keyed too

    def check(
        self, row: Mapping[str, Any], head: _Head, breaks: list[Break], key: bytes | None, allow_unkeyed: bool
    ) -> int:
        """Check one event; return 1 if its content could not be authenticated, else 0."""

        def fail(problem: str) -> int:
            breaks.append(Break(head.entity, head.workflow, row["seq"], row["id"], problem))
            self.broken = True
            return 0

        if row["seq"] != self.expected_seq:
            return fail(f"sequence jumps from {self.expected_seq - 1} to {row['seq']} (events missing)")
        if row["prev_hash"] != self.prev_hash:
            return fail("prev_hash does not match the previous event's hash (an event was removed or altered)")
        stored = event_from_row(row, head.entity, head.workflow)
        if stored.hash_format not in KNOWN_FORMATS:
            return fail(
                f"unknown hash format {stored.hash_format!r} (the event was altered, or is from a newer labelwf)"
            )
        keyed = is_keyed(stored.hash_format)
        if self.keyed and not keyed:
            return fail("an unkeyed event follows keyed ones: its hash was recomputed without the audit key")
        self.keyed = self.keyed or keyed
        unchecked = 0
        if keyed and key is None:
            unchecked = 1  # structure only: the content of a keyed event needs the key
        elif not hmac.compare_digest(event_hash(stored, key), stored.hash):
            return fail("stored hash does not match the event's content (the event was altered)")
        elif key is not None and not keyed:
            if not allow_unkeyed:
                return fail(
                    "hashed without the audit key: anyone could have recomputed it (if the event predates "
                    "the key, verify with --allow-unkeyed)"
                )
            unchecked = 1  # written before the audit key existed: no authenticity to check
        if self.covered is not None and stored.seq == self.covered[0] and stored.hash != self.covered[1]:
            return fail(
                f"rewritten since the checkpoint{self.since}: this event's hash is not the one the checkpoint recorded"
            )
        self.prev_hash = stored.hash
        self.expected_seq += 1
        return unchecked


def _close(head: _Head, state: _ChainState, breaks: list[Break]) -> None:
    if state.broken:
        return
    if state.covered is not None and state.expected_seq - 1 < state.covered[0]:
        problem = (
            f"truncated since the checkpoint{state.since}: the chain ends at seq {state.expected_seq - 1}, "
            f"the checkpoint covered it up to seq {state.covered[0]}"
        )
        breaks.append(Break(head.entity, head.workflow, None, None, problem))
        return
    if state.expected_seq - 1 != head.version or state.prev_hash != head.last_hash:
        breaks.append(
            Break(
                head.entity,
                head.workflow,
                None,
                None,
                f"instance is at version {head.version} but its chain ends at seq {state.expected_seq - 1} "
                "(the newest events were removed, or the instance row was altered)",
            )
        )
