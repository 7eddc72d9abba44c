"""Reads that stay cheap as the portfolio grows: one page of ``list`` and one ``show``, at 1,000 and 100,000.

Two SQLite databases (and, unless --no-postgres, two PostgreSQL schemas) of the 2008 programme
with N instances, a tenth of them classified (so the event, timer and letter tables grow too).
For each: the median wall time of one page of 50 instances (the first page, and one from the
middle by cursor, as ``labelwf list --after`` reads it), and of one ``show`` of a random
instance (state, allowed triggers of its version, pending timers, letters). Printed side by
side with the ratio of the large figure to the small one (the target: within 1.5x).

    python benchmarks/bench_reads.py                     # N = 1,000 and 100,000
    python benchmarks/bench_reads.py --small 500 --large 20000 --no-postgres
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import sqlalchemy as sa  # noqa: E402
from bench_timers import postgres_schema  # noqa: E402

from labelwf import Database, Engine, EntityRow, FrozenClock, add_entities, load_workflow  # noqa: E402
from labelwf.engine import queries  # noqa: E402

REPEAT = 300


def populate(url: str, n: int) -> Engine:
    db = Database(url)
    db.upgrade()
    engine = Engine(
        db, load_workflow(ROOT / "workflows" / "poles-2008.yaml"), clock=FrozenClock(datetime(2008, 6, 30, tzinfo=UTC))
    )
    ids = [f"pole-{i:06d}" for i in range(n)]
    for start in range(0, n, 5000):
        rows = [EntityRow(i, e, f"Pôle {e}", {"region": "Bretagne"}) for i, e in enumerate(ids[start : start + 5000])]
        add_entities(engine, rows, actor="bench", reason="reads")
    chance = random.Random(2012)
    chosen = chance.sample(ids, n // 10)
    for start in range(0, len(chosen), 1000):
        with db.write() as conn:
            for entity in chosen[start : start + 1000]:
                group = chance.choice((1, 2, 3))
                engine.fire_in(conn, entity, "classify", data={"group": group}, actor="bench", reason="reads")
    with db.write() as conn:  # fresh statistics, as autovacuum (PostgreSQL) or a maintenance run would leave
        conn.execute(sa.text("ANALYZE"))
    return engine


def median_ms(work: Callable[[], Any]) -> float:
    for _ in range(20):  # warm the caches and the prepared statements
        work()
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(engine: Engine, n: int) -> dict[str, float]:
    ids = [f"pole-{i:06d}" for i in range(n)]
    # A cursor in the middle of the listing, as the page before it hands it out.
    before = queries.list_instances(engine, limit=1, after=None)
    assert before.next is not None
    cursor = before.next.replace(before.next, _cursor_at(engine, ids[n // 2]))
    chance = random.Random(7)
    return {
        "first page": median_ms(lambda: queries.list_instances(engine, limit=50)),
        "middle page": median_ms(lambda: queries.list_instances(engine, limit=50, after=cursor)),
        "show": median_ms(lambda: queries.describe(engine, chance.choice(ids))),
    }


def _cursor_at(engine: Engine, entity: str) -> str:
    """The cursor a page ending at ``entity`` would hand out."""
    from labelwf.store.reads import encode_cursor

    return encode_cursor("list", (entity, "poles-2008"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("LABELWF_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    if not 100 <= args.small < args.large:
        parser.error("need 100 <= --small < --large")
    results: dict[tuple[str, int], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        backends: list[tuple[str, Callable[[int], tuple[str, Callable[[], None]]]]] = [
            ("SQLite", lambda n: (f"sqlite:///{folder}/reads-{n}.db", lambda: None))
        ]
        if not args.no_postgres:
            backends.append(("PostgreSQL", lambda n: postgres_schema(args.postgres_url)))
        for label, make in backends:
            for n in (args.small, args.large):
                url, drop = make(n)
                try:
                    print(f"{label}: {n:,} instances ...", flush=True)
                    engine = populate(url, n)
                    results[(label, n)] = measure(engine, n)
                    engine.db.dispose()
                finally:
                    drop()
    print(f"\nmedian of {REPEAT} reads, ms (one page = 50 instances)")
    print(f"{'backend':<12}{'read':<13}{args.small:>10,}{args.large:>10,}{'ratio':>8}")
    for label in dict.fromkeys(label for label, _ in results):
        small, large = results[(label, args.small)], results[(label, args.large)]
        for read in small:
            print(f"{label:<12}{read:<13}{small[read]:>10.3f}{large[read]:>10.3f}{large[read] / small[read]:>8.2f}")


if __name__ == "__main__":
    main()
