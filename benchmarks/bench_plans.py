"""Plans on many instances: a bulk decision and a migration, against the deadline storm of the same run.

* Storm (the reference): N poles under contract in group 2, their N 18-month reviews due at one
  instant, fired in-process by the sweep (``fire_due``, the shared batch runner): ``open_review``
  with its two letters each.
* Bulk decision: N other such poles whose review is opened early by one plan (``decide plan``
  then ``decide run``: the same batch runner), the same step with the same letters. Printed: the
  preview's time, the run's rate and its ratio to the storm's.
* Migration: M instances of version 1 carried to a version 2 whose contracts end a year later
  (every ``contract_end`` recomputed): the plan's time and the run's rate.

    python benchmarks/bench_plans.py                   # N = 10,000, M = 100,000, SQLite
    python benchmarks/bench_plans.py --n 2000 --m 10000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from labelwf import Database, Engine, EntityRow, FrozenClock, add_entities, load_workflow  # noqa: E402
from labelwf.engine.deadlines import fire_due  # noqa: E402
from labelwf.operations import plans  # noqa: E402
from labelwf.operations.bulk import Selection, plan_decision  # noqa: E402
from labelwf.operations.migration import load_migration, plan_migration  # noqa: E402

WORKFLOW = ROOT / "workflows" / "poles-2008.yaml"
REVIEW = datetime(2010, 6, 30, 22, 0, tzinfo=UTC)  # 1 July 2010, midnight in Paris: 18 months after the contracts


def cohort(engine: Engine, n: int, prefix: str, group: int | None, contract: bool = False) -> list[str]:
    ids = [f"{prefix}-{i:06d}" for i in range(n)]
    for start in range(0, n, 5000):
        rows = [EntityRow(i, e, f"Pôle {e}", {"region": "Bretagne"}) for i, e in enumerate(ids[start : start + 5000])]
        add_entities(engine, rows, actor="bench", reason="set-up")
    if group is not None:
        for start in range(0, n, 1000):
            with engine.db.write() as conn:
                for entity in ids[start : start + 1000]:
                    engine.fire_in(conn, entity, "classify", data={"group": group}, actor="bench", reason="set-up")
                    if contract:
                        data = {"contract_start": "2009-01-01"}
                        engine.fire_in(conn, entity, "sign_contract", data=data, actor="bench", reason="set-up")
    return ids


def storm_and_decision(folder: Path, n: int) -> tuple[float, float, float]:
    """The same step both ways: ``open_review`` (contract_watch → review, two letters), fired by the
    sweep for N poles whose 18-month review falls due at one instant, and by one bulk decision for N
    others before theirs does."""
    db = Database(f"sqlite:///{folder / 'plans.db'}")
    db.upgrade()
    clock = FrozenClock(datetime(2008, 12, 1, tzinfo=UTC))
    engine = Engine(db, load_workflow(WORKFLOW), clock=clock)
    cohort(engine, n, "storm", 2, contract=True)
    decided = cohort(engine, n, "bulk", 2, contract=True)
    clock.set(datetime(2010, 6, 1, 10, tzinfo=UTC))  # before the reviews fall due (1 July 2010)
    started = time.perf_counter()
    plan = plan_decision(
        engine,
        selection=Selection(entities=tuple(decided)),
        trigger="open_review",
        reference="Examen à dix-huit mois",
        actor="DGCIS",
        reason="convocation anticipée",
    )
    preview = time.perf_counter() - started
    assert plan.batch.counts == {"pending": n}, plan.batch.counts
    started = time.perf_counter()
    run = plans.run(engine, plan.batch.id)
    decision = time.perf_counter() - started
    assert run.done == n, run
    clock.set(REVIEW)
    started = time.perf_counter()
    report = fire_due(engine)
    storm = time.perf_counter() - started
    assert report.fired == n, report
    db.dispose()
    return n / storm, preview, n / decision


MIGRATION = """\
migration: bench
workflow: poles-2008
from: 1
to: 2
states: {evaluated: evaluated, group_1: group_1, group_2: group_2, group_3: group_3, contract: contract,
         contract_watch: contract_watch, review: review, funding_revised: funding_revised,
         reevaluation: reevaluation, awaiting_decision: awaiting_decision, renewed: renewed, delabeled: null}
timers: {contract_end: recompute}
"""


def migration(folder: Path, m: int) -> tuple[float, float]:
    text = WORKFLOW.read_text(encoding="utf-8")
    v2 = folder / "poles-2008-v2.yaml"
    v2.write_text(
        text.replace("\nversion: 1\n", "\nversion: 2\n").replace('"2012-01-01T00:00"', '"2013-01-01T00:00"'),
        encoding="utf-8",
    )
    (folder / "migration.yaml").write_text(MIGRATION, encoding="utf-8")
    db = Database(f"sqlite:///{folder / 'migration.db'}")
    db.upgrade()
    clock = FrozenClock(datetime(2008, 6, 30, tzinfo=UTC))
    first = load_workflow(WORKFLOW)
    cohort(Engine(db, first, clock=clock), m, "mig", 3)
    engine = Engine(db, [first, load_workflow(v2, ROOT / "templates")], clock=clock)
    clock.set(datetime(2009, 6, 1, tzinfo=UTC))
    started = time.perf_counter()
    plan = plan_migration(engine, load_migration(folder / "migration.yaml", engine), actor="bench", reason="bench")
    planning = time.perf_counter() - started
    assert plan.batch.counts == {"pending": m}, plan.batch.counts
    started = time.perf_counter()
    run = plans.run(engine, plan.batch.id)
    executing = time.perf_counter() - started
    assert run.done == m, run
    db.dispose()
    return planning, m / executing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="poles of the storm and the bulk decision")
    parser.add_argument("--m", type=int, default=100_000, help="instances of the migration")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        storm, preview, decision = storm_and_decision(folder, args.n)
        print(f"deadline storm (reference)   {args.n:>8,} timers     {storm:>8,.0f} fires/s")
        print(f"bulk decision: preview       {args.n:>8,} entities   {preview:>8.2f} s (target < 5 s)")
        print(
            f"bulk decision: run           {args.n:>8,} entities   {decision:>8,.0f} fires/s"
            f"   {decision / storm:.2f}x the storm (target >= 0.8x)"
        )
        planning, executing = migration(folder, args.m)
        print(f"migration: plan              {args.m:>8,} instances  {planning:>8.1f} s (target < 60 s)")
        print(f"migration: run               {args.m:>8,} instances  {executing:>8,.0f} instances/s (target >= 2,000)")


if __name__ == "__main__":
    main()
