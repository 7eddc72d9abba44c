"""The console's home page (the portfolio) and its search through the HTTP server, at N and at BIG
instances.

Two databases of the same make: N poles (1,000 by default) and BIG poles (100,000), of which one in
twenty is classified (one in three of those into group 3, which arms a deadline, the rest into group
1), so that the page has counts in several states, deadlines (late, since the server runs on today's
clock and the deadlines are of 2010) and decisions to show; every pole has a region (one of 13), and
one in 500 is called "Végépolys …". The classifications' letters are then marked delivered but the
last 30 (the state of a database a daemon serves: its outbox holds history and a small backlog), and
PostgreSQL's planner statistics gathered, as autovacuum does within minutes of a bulk load.
``labelwf serve`` in its own process on each in turn; an operator's session reads the portfolio
page, the counts' fragment the page polls and three search pages ("vege", a region, a state) R
times each (200 by default); the p95 of each at both sizes and their ratio are printed. The
budget: p95 under 100 ms at BIG instances, within 1.5x of the same page at N.

    python benchmarks/bench_console.py                          # N = 1,000 and BIG = 100,000 on SQLite
    python benchmarks/bench_console.py --n 200 --big 2000       # a smoke run
    python benchmarks/bench_console.py --postgres postgresql://127.0.0.1:5432/test

With ``--postgres URL`` the databases are fresh ones created on that server (``bench_console_n``,
``bench_console_big``; dropped first).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import httpx2 as httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from bench_api import WORKFLOW, console_session, free_port, fresh_postgres  # noqa: E402

from labelwf import Database, Engine, EntityRow, FrozenClock, add_entities, load_workflow, store  # noqa: E402
from labelwf.accounts import add_account  # noqa: E402

PAGES = {
    "page": "/console",
    "counts": "/console/portfolio/counts",
    "search": "/console/instances?q=vege",
    "region": "/console/instances?region=Bretagne",
    "state": "/console/instances?workflow=poles-2008&state=group_3",
}
SHARE = 20  # one pole in SHARE is classified
BACKLOG = 30  # letters not yet delivered, at both sizes (the rest went out, as a running daemon sends them)
REGIONS = ("Auvergne-Rhône-Alpes", "Bourgogne-Franche-Comté", "Bretagne", "Centre-Val de Loire", "Corse")
REGIONS += ("Grand Est", "Hauts-de-France", "Île-de-France", "Normandie", "Nouvelle-Aquitaine", "Occitanie")
REGIONS += ("Pays de la Loire", "Provence-Alpes-Côte d'Azur")


def populate(url: str, n: int) -> Engine:
    """N poles in state 'evaluated', each with a region; one in 500 named "Végépolys …"."""
    db = Database(url)
    db.upgrade()
    engine = Engine(db, load_workflow(WORKFLOW), clock=FrozenClock(datetime(2008, 6, 30, tzinfo=UTC)))
    rows = [
        EntityRow(
            i,
            f"pole-{i:06d}",
            f"Végépolys {i}" if i % 500 == 7 else f"Pôle {i:06d}",
            {"region": REGIONS[i % len(REGIONS)]},
        )
        for i in range(n)
    ]
    for start in range(0, n, 5000):
        add_entities(engine, rows[start : start + 5000], actor="b", reason="b")
    return engine


def settle(engine: Engine) -> None:
    """The state a served database is in: its letters delivered but the last BACKLOG (a daemon runs beside
    it), and on PostgreSQL the planner's statistics gathered (autovacuum does it within minutes of a bulk
    load; read at once, the planner takes the grown tables for empty ones)."""
    with engine.db.engine.begin() as conn:
        newest = conn.execute(sa.select(store.letter.c.id).order_by(store.letter.c.id.desc()).limit(BACKLOG)).scalars()
        kept = list(newest)
        conn.execute(store.letter.update().where(store.letter.c.id.not_in(kept)).values(status="delivered"))
        if not engine.db.is_sqlite:
            conn.exec_driver_sql("ANALYZE")


def prepare(url: str, n: int) -> None:
    """N poles, one in SHARE classified (a third of those into group 3, with its deadline), and an operator."""
    engine = populate(url, n)
    for i in range(0, n, SHARE):
        group = 3 if (i // SHARE) % 3 == 0 else 1
        engine.fire(f"pole-{i:06d}", "classify", data={"group": group}, actor="bench", reason="portfolio")
    add_account(
        engine.db, "bench", ["operator"], now=engine.clock.now(), author="tests", key=None, password="bench password 1"
    )
    settle(engine)
    engine.db.dispose()


def p95(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[int(len(ordered) * 0.95)]


def measure(url: str, folder: str, reads: int) -> dict[str, float]:
    """p95 seconds of each of ``PAGES`` read ``reads`` times through a server on ``url``."""
    port = free_port()
    env = {**os.environ, "LABELWF_DATABASE": url, "LABELWF_AUDIT_KEY_FILE": f"{folder}/audit.key"}
    command = [sys.executable, "-m", "labelwf.cli", "--config", str(ROOT / "config.yaml"), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        server.stderr.readline()  # "serving ..." once it is about to listen
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):  # until it answers
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        found: dict[str, float] = {}
        with httpx.Client(base_url=base, timeout=30) as http:
            headers = {"Cookie": console_session(http)}
            for name, path in PAGES.items():
                for _ in range(5):  # warm: the first reads fill the caches
                    http.get(path, headers=headers)
                seconds = []
                for _ in range(reads):
                    t0 = time.perf_counter()
                    answer = http.get(path, headers=headers)
                    seconds.append(time.perf_counter() - t0)
                    assert answer.status_code == 200, answer.text[:300]
                found[name] = p95(seconds)
        return found
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000, help="instances of the small database")
    parser.add_argument("--big", type=int, default=100_000, help="instances of the large database")
    parser.add_argument("--reads", type=int, default=200, help="reads of each page (p95 over them)")
    parser.add_argument("--postgres", metavar="URL", help="run on fresh databases of this PostgreSQL server")
    args = parser.parse_args()
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for size, label in ((args.n, "n"), (args.big, "big")):
            url = (
                fresh_postgres(args.postgres, f"bench_console_{label}")
                if args.postgres
                else f"sqlite:///{folder}/{label}.db"
            )
            print(f"{size:,} instances ...", flush=True)
            prepare(url, size)
            results[size] = measure(url, folder, args.reads)
    backend = "PostgreSQL" if args.postgres else "SQLite WAL+FULL"
    print(f"\n{backend}, the console's home page and search through the server, p95 over {args.reads} reads")
    for name, path in PAGES.items():
        small, large = results[args.n][name], results[args.big][name]
        print(
            f"  {path:<54} {args.n:>9,}: {1000 * small:6.1f} ms   {args.big:>9,}: {1000 * large:6.1f} ms   "
            f"ratio {large / small:.2f}x"
        )


if __name__ == "__main__":
    main()
