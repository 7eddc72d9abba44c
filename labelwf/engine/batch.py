"""The batch runner: many fires in one transaction for speed, each failing one rolled back alone.

Used by the deadline sweep (a storm of timers due at one instant) and by anything else that
fires many instances at once. Its contract:

1. **One transaction per batch.** ``claim(conn)`` picks the batch's items inside the transaction
   (so a claim can lock them: ``FOR UPDATE SKIP LOCKED``), then ``apply(conn, item, checks)``
   handles each, in order.
2. **Fast first.** The batch first runs without a savepoint per item (a savepoint costs two
   statements per item, two round trips on PostgreSQL), pipelined where the driver can
   (psycopg's pipeline mode): ``apply`` then gets a ``Checks`` to which it appends the checks
   of row counts that are known only once the pipeline's results are in; they run before commit.
3. **Careful on failure.** If any ``apply`` raises, a check fails, or the database reports an
   error anywhere in the batch, the whole transaction is rolled back and the batch runs again in
   a new one: ``claim`` again, each item under its own savepoint, checks run at once. An item
   that fails there is rolled back to its savepoint — it leaves no trace — and
   ``recover(conn, item, error)`` gives its outcome (it may write, such as closing a timer as
   obsolete). The other items commit.
4. **Reported after commit.** Outcomes are returned only once the batch has committed, so a
   caller that logs them never reports what a crash then rolled back. A crash at any point
   leaves each item either untouched or done with the batch's transaction.

``KeyboardInterrupt`` and other ``BaseException`` are never recovered: they roll the batch back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection

from ..errors import LabelwfError
from ..store import Database
from ..store.prepared import Savepoint, pipeline, pipelines

T = TypeVar("T")
R = TypeVar("R")


class Checks:
    """Checks of statements' results, run when those results are in (at once, or after a pipeline)."""

    def __init__(self, *, deferred: bool) -> None:
        self.deferred = deferred
        self._pending: list[tuple[Callable[[], bool], LabelwfError]] = []

    def expect(self, holds: Callable[[], bool], error: LabelwfError) -> None:
        """Raise ``error`` unless ``holds()``: now, or when ``verify`` runs if the checks are deferred."""
        if self.deferred:
            self._pending.append((holds, error))
        elif not holds():
            raise error

    def verify(self) -> None:
        """Run the deferred checks; raise the error of the first that fails."""
        pending, self._pending = self._pending, []
        for holds, error in pending:
            if not holds():
                raise error


IMMEDIATE = Checks(deferred=False)  # checks run as they are asked (a single fire, a careful redo)


@dataclass(frozen=True, slots=True)
class BatchResult(Generic[T, R]):
    """A committed batch: the items it claimed, each one's outcome, and whether it was redone carefully."""

    items: tuple[T, ...]
    outcomes: tuple[R, ...]
    redone: bool


class _Redo(Exception):
    """The fast run of a batch failed: roll it back and run it again, one savepoint per item."""


def run_batch(
    db: Database,
    claim: Callable[[Connection], Sequence[T]],
    apply: Callable[[Connection, T, Checks], R],
    recover: Callable[[Connection, T, Exception], R],
) -> BatchResult[T, R]:
    """Run one batch (see the module's contract) and return its outcomes once committed."""
    try:
        with db.write() as conn:
            items = tuple(claim(conn))
            outcomes = _fast(conn, items, apply, db) if items else ()
        return BatchResult(items, outcomes, redone=False)
    except _Redo:
        pass
    with db.write() as conn:
        items = tuple(claim(conn))
        outcomes = tuple(_careful(conn, item, apply, recover) for item in items)
    return BatchResult(items, outcomes, redone=True)


def _fast(
    conn: Connection, items: Sequence[T], apply: Callable[[Connection, T, Checks], R], db: Database
) -> tuple[R, ...]:
    checks = Checks(deferred=pipelines(conn))
    try:
        with pipeline(conn):
            outcomes = tuple(apply(conn, item, checks) for item in items)
        checks.verify()
    except Exception as exc:
        # Any failure, the engine's refusal or the database's error alike: the batch is redone.
        raise _Redo from exc
    return outcomes


def _careful(
    conn: Connection,
    item: T,
    apply: Callable[[Connection, T, Checks], R],
    recover: Callable[[Connection, T, Exception], R],
) -> R:
    savepoint = Savepoint(conn)
    try:
        outcome = apply(conn, item, IMMEDIATE)
    except Exception as exc:
        savepoint.rollback()
        return recover(conn, item, exc)
    savepoint.release()
    return outcome
