"""Durable fires per second on SQLite, beside the raw sqlite3 ceiling of the same transaction shape.

Workload (the one other workflow libraries are measured on): N poles created in 'evaluated',
then four transitions each, phase by phase over all poles — classify, sign_contract (arms a
review timer due 0.2 s later), review_due (fired by the timer sweep), review_ok — every
transition committed in its own transaction with its audit row. labelwf does more in each:
the hash-chained event, optimistic version check, timer rows armed/cancelled/fired.

The raw reference is hand-written sqlite3 doing only what the shape needs: BEGIN IMMEDIATE;
a guarded UPDATE; INSERT of the audit row; COMMIT. Both run in their own process (peak RSS is
per process) with the same journal mode and synchronous setting.

    python benchmarks/bench_fires.py                      # N = 10,000, WAL + synchronous=FULL
    python benchmarks/bench_fires.py --n 100000 --skip-raw  # memory at 100,000 instances
    python benchmarks/bench_fires.py --profile wal        # WAL + synchronous=NORMAL
    python benchmarks/bench_fires.py --peer-results DIR   # also print results of a peer harness run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROFILES = {"wal-full": ("WAL", "FULL"), "wal": ("WAL", "NORMAL"), "default": ("DELETE", "FULL")}
PHASES = ("classify", "sign_contract", "review_due", "review_ok")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Phases:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, work: Any) -> None:
        start = time.perf_counter()
        work()
        self.seconds[name] = time.perf_counter() - start


def run_labelwf(n: int, profile: str, path: str, batch: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE.parent))
    import sqlalchemy as sa

    from labelwf import Database, Engine, EntityRow, add_entities, load_workflow, store, verify
    from labelwf.engine.deadlines import fire_due

    journal, sync = PROFILES[profile]
    db = Database(f"sqlite:///{path}", synchronous=sync, journal_mode=journal)
    db.upgrade()
    engine = Engine(db, load_workflow(HERE / "pole-lifecycle.yaml", HERE.parent / "templates"))
    ids = [f"pole-{i:07d}" for i in range(n)]
    phases = Phases()
    phases.run(
        "create", lambda: [add_entities(engine, [EntityRow(0, e, e, {})], actor="import", reason="bench") for e in ids]
    )
    rss_created = peak_rss_mb()

    def operator(trigger: str, shift: int = 0) -> None:
        for i, entity in enumerate(ids):
            engine.fire(entity, trigger, actor=f"operator-{(i + shift) % 7}", reason="benchmark")

    phases.run("classify", lambda: operator("classify"))
    phases.run("sign_contract", lambda: operator("sign_contract"))
    with db.read() as conn:
        last_due = conn.execute(sa.select(sa.func.max(store.timer.c.due_at))).scalar()
    time.sleep(max(0.0, (last_due - datetime.now(UTC)).total_seconds()) + 0.001)  # untimed, <= 0.2 s
    sweeps: list[Any] = []
    phases.run("review_due", lambda: sweeps.append(fire_due(engine, batch_size=batch)))
    phases.run("review_ok", lambda: operator("review_ok", 3))
    rss = peak_rss_mb()

    report = verify(db)
    with db.read() as conn:
        states = dict(conn.execute(sa.select(store.instance.c.state, sa.func.count()).group_by("state")).all())
        events = conn.execute(sa.select(sa.func.count()).select_from(store.event)).scalar()
    db.dispose()
    quick = sqlite3.connect(path).execute("PRAGMA quick_check").fetchone()[0]
    ok = states == {"confirmed": n} and events == 5 * n and report.ok and quick == "ok" and sweeps[0].fired == n
    return {
        "ok": ok,
        "phases": phases.seconds,
        "rss_mb": rss,
        "rss_after_create_mb": rss_created,
        "states": states,
        "events": events,
        "audit_ok": report.ok,
        "quick_check": quick,
    }


def run_raw(n: int, profile: str, path: str) -> dict[str, Any]:
    journal, sync = PROFILES[profile]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode={journal}")
    conn.execute(f"PRAGMA synchronous={sync}")
    conn.executescript(
        "CREATE TABLE pole (id INTEGER PRIMARY KEY, ref TEXT UNIQUE NOT NULL, state TEXT NOT NULL, due TEXT,"
        " updated TEXT NOT NULL); CREATE INDEX pole_state ON pole(state); CREATE INDEX pole_due ON pole(due);"
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, pole INTEGER NOT NULL REFERENCES pole(id), src TEXT, dst TEXT,"
        " trigger TEXT, actor TEXT, at TEXT); CREATE INDEX audit_pole ON audit(pole);"
    )
    flow = {
        "classify": ("evaluated", "group_2"),
        "sign_contract": ("group_2", "under_contract"),
        "review_due": ("under_contract", "review_pending"),
        "review_ok": ("review_pending", "confirmed"),
    }

    def step(pole: int, trigger: str, actor: str) -> None:
        src, dst = flow[trigger]
        now = datetime.now(UTC)
        due = (now + timedelta(seconds=0.2)).isoformat() if trigger == "sign_contract" else None
        conn.execute("BEGIN IMMEDIATE")
        changed = conn.execute(
            "UPDATE pole SET state=?, due=?, updated=? WHERE id=? AND state=?", (dst, due, now.isoformat(), pole, src)
        ).rowcount
        if changed != 1:
            conn.execute("ROLLBACK")
            raise RuntimeError(f"{trigger} refused for pole {pole}")
        conn.execute(
            "INSERT INTO audit(pole, src, dst, trigger, actor, at) VALUES (?,?,?,?,?,?)",
            (pole, src, dst, trigger, actor, now.isoformat()),
        )
        conn.execute("COMMIT")

    phases = Phases()
    ids: list[int] = []

    def create() -> None:
        for i in range(n):
            conn.execute("BEGIN IMMEDIATE")
            ids.append(
                conn.execute(
                    "INSERT INTO pole(ref, state, updated) VALUES (?, 'evaluated', ?)",
                    (f"pole-{i:07d}", datetime.now(UTC).isoformat()),
                ).lastrowid
            )
            conn.execute("COMMIT")

    phases.run("create", create)
    phases.run("classify", lambda: [step(p, "classify", f"operator-{i % 7}") for i, p in enumerate(ids)])
    phases.run("sign_contract", lambda: [step(p, "sign_contract", f"operator-{i % 7}") for i, p in enumerate(ids)])
    last = datetime.fromisoformat(conn.execute("SELECT max(due) FROM pole").fetchone()[0])
    time.sleep(max(0.0, (last - datetime.now(UTC)).total_seconds()) + 0.001)

    def sweep() -> None:
        now = datetime.now(UTC).isoformat()
        query = "SELECT id FROM pole WHERE state='under_contract' AND due<=? ORDER BY due, id"
        due = [r[0] for r in conn.execute(query, (now,))]
        for pole in due:
            step(pole, "review_due", "timer")

    phases.run("review_due", sweep)
    phases.run("review_ok", lambda: [step(p, "review_ok", f"operator-{(i + 3) % 7}") for i, p in enumerate(ids)])
    rss = peak_rss_mb()
    confirmed = conn.execute("SELECT count(*) FROM pole WHERE state='confirmed'").fetchone()[0]
    audits = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    conn.close()
    return {"ok": confirmed == n and audits == 4 * n, "phases": phases.seconds, "rss_mb": rss}


def child(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench.db")
        result = (
            run_raw(args.n, args.profile, path)
            if args.part == "raw"
            else run_labelwf(args.n, args.profile, path, args.batch)
        )
    print("RESULT " + json.dumps(result))


def measure(part: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run ``part`` ``--repeat`` times in fresh processes; return the run with the median transition time."""
    runs = sorted(
        (measure_once(part, args) for _ in range(args.repeat)), key=lambda r: sum(r["phases"][p] for p in PHASES)
    )
    return runs[len(runs) // 2]


def measure_once(part: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--part",
        part,
        "--n",
        str(args.n),
        "--profile",
        args.profile,
        "--batch",
        str(args.batch),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        sys.exit(f"{part} run failed (exit {out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    if not result["ok"]:
        sys.exit(f"{part} run did not verify: {result}")
    return result


def peers(folder: Path, n: int) -> list[dict[str, Any]]:
    rows = []
    for file in sorted(folder.glob("*.json")):
        data = json.loads(file.read_text())
        if data.get("n") == n:
            rows.append(data)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="number of poles (default 10,000)")
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="wal-full",
        help="SQLite journal + synchronous setting, the same for both (default wal-full)",
    )
    parser.add_argument(
        "--batch", type=int, default=1, help="timers per sweep transaction (1 = one commit per fire, like the others)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each system; the median is shown (default 3)")
    parser.add_argument("--skip-raw", action="store_true", help="measure labelwf only")
    parser.add_argument("--peer-results", type=Path, help="folder of JSON results from a peer harness run")
    parser.add_argument("--part", choices=["labelwf", "raw"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.n < 1:
        parser.error(f"--n must be a positive number of poles, got {args.n}")
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    if args.part:
        return child(args)

    print(
        f"pole lifecycle, N = {args.n:,}, SQLite {args.profile} ({'/'.join(PROFILES[args.profile])}), "
        f"4 transitions each, one commit per transition, median of {args.repeat} run(s)",
        flush=True,
    )
    results = {"labelwf": measure("labelwf", args)}
    if not args.skip_raw:
        results["raw sqlite3"] = measure("raw", args)
    transitions = 4 * args.n
    raw_tps = None
    if "raw sqlite3" in results:
        raw_tps = transitions / sum(results["raw sqlite3"]["phases"][p] for p in PHASES)
    print(f"{'system':<28}{'transitions/s':>14}{'ms/transition':>15}{'x raw':>8}{'create s':>10}{'peak RSS MB':>13}")
    for name, r in results.items():
        seconds = sum(r["phases"][p] for p in PHASES)
        tps = transitions / seconds
        ratio = f"{tps / raw_tps:.2f}" if raw_tps else "-"
        print(
            f"{name:<28}{tps:>14,.0f}{1000 * seconds / transitions:>15.3f}{ratio:>8}"
            f"{r['phases']['create']:>10.2f}{r['rss_mb']:>13.1f}"
        )
    if args.peer_results:
        for data in peers(args.peer_results, args.n):
            tps = data["transitions_per_s"]
            ratio = f"{tps / raw_tps:.2f}" if raw_tps else "-"
            label = f"{data['peer']} [{data['profile']}]"
            print(
                f"{label:<28}{tps:>14,.0f}{data['ms_per_transition']:>15.3f}{ratio:>8}{data['create_s']:>10.2f}"
                f"{data.get('rss_workload_mb', 0):>13.1f}"
            )
    lab = results["labelwf"]
    print("labelwf phases (s): " + ", ".join(f"{p} {lab['phases'][p]:.2f}" for p in ("create", *PHASES)))
    print(
        f"labelwf peak RSS after creating {args.n:,} instances: {lab['rss_after_create_mb']:.1f} MB; "
        f"at the end: {lab['rss_mb']:.1f} MB; verified: {lab['events']:,} events, audit chain intact"
    )
    return None


if __name__ == "__main__":
    main()
