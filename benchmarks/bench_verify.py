"""``audit verify`` over a large trail: wall time, and peak memory flat in the trail's size.

Builds SQLite databases of the benchmark workload (``pole-lifecycle.yaml``: create, classify,
sign, the review timer, confirm: 5 keyed events per entity) through the engine, then verifies
them with the audit key. Printed for 10,000 and 100,000 events (by default): the wall time of
``verify``, its rate, the peak of memory Python allocated during it (tracemalloc, in a second
run: it slows what it measures), and, as the reference measured in the same run, a minimal
verifier in plain ``sqlite3``: every row read and HMAC'd once over its JSON, no checks at all.
The target: 100,000 events in under 5 s, and the same peak memory at both sizes.

    python benchmarks/bench_verify.py
    python benchmarks/bench_verify.py --events 20000 50000
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from labelwf import Database, Engine, EntityRow, FrozenClock, add_entities, load_workflow, verify  # noqa: E402
from labelwf.engine.deadlines import fire_due  # noqa: E402

KEY = bytes(range(32))
PER_ENTITY = 5


def populate(path: Path, events: int) -> Database:
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    clock = FrozenClock(datetime(2009, 1, 1, tzinfo=UTC))
    engine = Engine(
        db, load_workflow(HERE / "pole-lifecycle.yaml", HERE.parent / "templates"), clock=clock, audit_key=KEY
    )
    ids = [f"pole-{i:06d}" for i in range(events // PER_ENTITY)]
    for start in range(0, len(ids), 5000):
        add_entities(
            engine, [EntityRow(i, e, e, {}) for i, e in enumerate(ids[start : start + 5000])], actor="b", reason="b"
        )
    for trigger in ("classify", "sign_contract"):
        for start in range(0, len(ids), 1000):
            with db.write() as conn:
                for entity in ids[start : start + 1000]:
                    engine.fire_in(conn, entity, trigger, actor="bench", reason="verify")
    clock.advance(timedelta(seconds=1))
    fire_due(engine, now=clock.now(), batch_size=500)
    for start in range(0, len(ids), 1000):
        with db.write() as conn:
            for entity in ids[start : start + 1000]:
                engine.fire_in(conn, entity, "review_ok", actor="bench", reason="verify")
    return db


def raw_reference(path: Path) -> float:
    """Read every event row and HMAC its JSON: the least any verifier of this trail must do."""
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    for row in conn.execute("SELECT * FROM event ORDER BY instance_id, seq"):
        hmac.new(KEY, json.dumps(row, default=str).encode(), hashlib.sha256).hexdigest()
    conn.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n in args.events:
            print(f"building a trail of {n:,} events ...", flush=True)
            path = Path(folder) / f"verify-{n}.db"
            db = populate(path, n)
            start = time.perf_counter()
            report = verify(db, key=KEY)
            wall = time.perf_counter() - start
            assert report.ok and report.events == n, report
            tracemalloc.start()
            verify(db, key=KEY)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            raw = raw_reference(path)
            rows.append((n, wall, peak, raw))
            db.dispose()
    print(f"\n{'events':>9}{'verify s':>10}{'events/s':>11}{'peak MiB':>10}{'raw ref s':>11}{'x raw':>7}")
    for n, wall, peak, raw in rows:
        print(f"{n:>9,}{wall:>10.2f}{n / wall:>11,.0f}{peak:>10.1f}{raw:>11.2f}{wall / raw:>7.2f}")
    if len(rows) > 1:
        print(f"peak memory, largest / smallest trail: {rows[-1][2] / rows[0][2]:.2f}x (flat: about 1x)")


if __name__ == "__main__":
    main()
