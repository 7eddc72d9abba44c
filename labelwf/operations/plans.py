"""Plans: one act on many instances, frozen when planned, executed exactly once per item.

A plan (a bulk decision, deadline moves, a migration) is stored with one item per entity: what to
do, what the preview said would happen (or why it cannot), and the instance's version then. Running
it goes through the shared batch runner (``batch.run_batch``): items are claimed in order, each
executed as one chain event that carries the plan's id, each rolled back alone if it fails, and
its outcome written in the transaction of its event. So:

* an instance that changed since the preview is reported ``changed``, never silently executed;
* a run killed at any point (Ctrl-C, SIGKILL) leaves each item done or untouched; running the plan
  again does the rest, once;
* a cancelled plan stops at its next batch; the items not run are marked ``cancelled``;
* who runs it (``executed_by``) is recorded on the plan beside its planner, is the principal of the
  items' events, and each run is an act of the admin chain (``admin_chain``) naming both.

What every kind shares is ``plan_items``'; this module sits above the kinds and runs any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy.engine import Connection

from ..audit.admin_chain import Action, record
from ..engine.batch import Checks, run_batch
from ..engine.fire import Engine
from ..errors import ActionRefused, ConcurrentUpdate, LabelwfError, NotFound, NothingToExecute
from ..store import batches as sql
from ..store.records import Batch, BatchItem, BatchStatus, ItemStatus
from . import bulk, migration, timer_moves
from .plan_items import Executor, all_items

DEFAULT_BATCH = 200  # items per transaction
EXECUTORS: Mapping[str, Executor] = {  # how an item of each kind of plan is executed
    bulk.KIND: bulk.execute,
    timer_moves.KIND: timer_moves.execute,
    migration.KIND: migration.execute,
}


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one run of a plan did: items executed, reported changed or failed now, and what is left."""

    batch: Batch
    done: int
    changed: int
    failed: int
    remaining: int
    stopped: bool  # the plan was cancelled (or already finished) before every item ran


def get(engine: Engine, batch_id: int) -> Batch:
    """A plan with its counts by status (``NotFound`` if none)."""
    if not 0 < batch_id < 2**63:
        raise NotFound("plan", batch_id, "`labelwf decisions` lists the plans")
    with engine.db.read() as conn:
        found = sql.get_batch(conn, batch_id)
    if found is None:
        raise NotFound("plan", batch_id, "`labelwf decisions` lists the plans")
    return found


def run(
    engine: Engine,
    batch_id: int,
    *,
    size: int = DEFAULT_BATCH,
    progress: Callable[[int, int], None] | None = None,
    executed_by: str | None = None,
) -> RunReport:
    """Execute the pending items of a plan, ``size`` per transaction, calling ``progress(done, total)``
    after each committed batch; return what this run did. Running a finished plan does nothing; a plan
    whose every item was refused at its preview is refused (``NothingToExecute``): it never ran.

    ``executed_by``: who runs it (the caller's principal; default the engine's, the CLI's OS user). It
    is recorded on the plan, is the principal of the events the run writes (the planner stays on
    the plan), and the run's start is an act of the admin chain with both names."""
    plan = get(engine, batch_id)
    executor = EXECUTORS.get(plan.kind)
    if executor is None:  # pragma: no cover - every stored kind has its executor
        raise NotFound("kind of plan", plan.kind, f"known: {', '.join(sorted(EXECUTORS))}")
    if plan.status is BatchStatus.CANCELLED:
        raise ActionRefused("run", f"plan {batch_id}", "cancelled", "planned or running")
    if plan.status is BatchStatus.PLANNED and not plan.counts.get(ItemStatus.PENDING, 0):
        # Every item was refused at the preview: a run would only mark the plan done, as if it had acted.
        raise NothingToExecute(batch_id, plan.counts.get(ItemStatus.REFUSED, 0))
    now = engine.clock.now()
    executed_by = executed_by or engine.principal or "(no principal given)"
    with engine.db.write() as conn:
        allowed = (BatchStatus.PLANNED, BatchStatus.RUNNING)
        if sql.set_status(conn, batch_id, BatchStatus.RUNNING, now, allowed=allowed):
            sql.set_executor(conn, batch_id, executed_by)
            data = {
                "kind": plan.kind,
                "workflow": plan.workflow,
                "reference": plan.reference,
                "actor": plan.actor,
                "planner": plan.principal,
                "pending": plan.counts.get(ItemStatus.PENDING, 0),
            }
            subject = f"plan {batch_id}"
            record(conn, Action.PLAN_EXECUTE, subject, author=executed_by, key=engine.audit_key, now=now, data=data)
            plan = replace(plan, executed_by=executed_by)
    total = sum(plan.counts.values())
    finished = total - plan.counts.get(ItemStatus.PENDING, 0)
    done = changed = failed = 0
    while True:

        def claim(conn: Connection) -> list[BatchItem]:
            return sql.claim_items(conn, batch_id, size)

        def apply(conn: Connection, item: BatchItem, checks: Checks) -> ItemStatus:
            outcome, event_id = executor(engine, conn, plan, item, checks)
            sql.finish_item(conn, item, ItemStatus.DONE, outcome, engine.clock.now(), event_id)
            return ItemStatus.DONE

        def recover(conn: Connection, item: BatchItem, error: Exception) -> ItemStatus:
            # Rolled back to its savepoint: the item leaves no trace but its outcome.
            status = ItemStatus.CHANGED if isinstance(error, ConcurrentUpdate) else ItemStatus.FAILED
            message = str(error) if isinstance(error, LabelwfError) else f"{type(error).__name__}: {error}"
            outcome = {"error": message, "kind": type(error).__name__}
            sql.finish_item(conn, item, status, outcome, engine.clock.now())
            return status

        result = run_batch(engine.db, claim, apply, recover)
        if not result.items:
            break
        done += result.outcomes.count(ItemStatus.DONE)
        changed += result.outcomes.count(ItemStatus.CHANGED)
        failed += result.outcomes.count(ItemStatus.FAILED)
        finished += len(result.items)
        if progress is not None:
            progress(finished, total)
    with engine.db.write() as conn:
        remaining = sql.items(conn, batch_id, status=ItemStatus.PENDING, limit=1)
        if not remaining:
            sql.set_status(conn, batch_id, BatchStatus.DONE, engine.clock.now(), allowed=(BatchStatus.RUNNING,))
    after = get(engine, batch_id)
    left = after.counts.get(ItemStatus.PENDING, 0)
    return RunReport(after, done, changed, failed, left, stopped=after.status is BatchStatus.CANCELLED)


def cancel(engine: Engine, batch_id: int) -> Batch:
    """Cancel a plan not finished: a run in progress stops at its next batch; the items not run are
    marked ``cancelled``. The items already done stay done (their events are in the chain)."""
    plan = get(engine, batch_id)
    now = engine.clock.now()
    with engine.db.write() as conn:
        allowed = (BatchStatus.PLANNED, BatchStatus.RUNNING)
        if not sql.set_status(conn, batch_id, BatchStatus.CANCELLED, now, allowed=allowed):
            raise ActionRefused("cancel", f"plan {batch_id}", plan.status.value, "planned or running")
        sql.cancel_pending(conn, batch_id, now)
    return get(engine, batch_id)


def items(engine: Engine, batch_id: int, *, status: str | None = None) -> list[BatchItem]:
    """Every item of a plan, in order (of one ``status``)."""
    with engine.db.read() as conn:
        return all_items(conn, batch_id, status=status)


def listing(engine: Engine, *, kind: str | None = None, limit: int = 100) -> list[Batch]:
    """The latest plans first, with their counts."""
    with engine.db.read() as conn:
        return sql.list_batches(conn, kind=kind, limit=limit)


def summary(counts: Mapping[str, int]) -> str:
    """``"12 done, 1 refused"``: a plan's counts in a fixed order."""
    order = [s.value for s in ItemStatus]
    return ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s))
