"""Deadlines: a storm of simultaneous timers, the daemon's memory, and the lateness of one timer.

* Storm: N poles in group 3 of the 2008 programme, so N ``label_term`` timers all due at
  1 January 2010, midnight in Paris (the ``end_label_term`` step, with its two letters each).
  ``labelwf daemon --once`` processes fire them; timers fired per second = N / wall time of the
  daemons. On PostgreSQL with 1 and 2 daemons (the ratio of 2 to 1 is printed), on SQLite with 1,
  beside raw_storm.py (hand-written sqlite3 issuing the same statements in the same batches, and
  rendering the same letters with Jinja2's sandbox, compiled once: the floor of the same work; its
  letters are checked to be byte for byte labelwf's) and the same storm on a copy of the workflow
  whose step sends no letter: what the letters cost a fire. CPU s/fire (user + system time of the
  process over the fires) is printed beside the rate: it holds better than wall time on a busy machine.
* Baseline (``--baseline REV``): the same SQLite storm, same prepared database, run by the code of
  another commit (a ``git worktree`` of REV in a temporary folder, the same virtualenv, PYTHONPATH
  pointing at it): what a change did to the absolute rate, measured in the same run.
* Memory: the largest peak RSS of a daemon process that starts with N pending timers.
* Lateness: a daemon serving with the default settings, and timers armed by another process
  0.2 s before they fall due (inside the poll interval: the hard case), at random moments of
  the poll cycle; lateness = recorded firing time minus due instant, p50 / p99 / max.

    python benchmarks/bench_timers.py                          # N = 100,000, SQLite and PostgreSQL
    python benchmarks/bench_timers.py --n 20000 --no-postgres
    python benchmarks/bench_timers.py --n 100000 --no-postgres --no-lateness --baseline e54a0cc
    python benchmarks/bench_timers.py --postgres-url postgresql://127.0.0.1:5432/test
    python benchmarks/bench_timers.py --checkpoints --n 100000   # the SQLite storm with automatic checkpoints off/on

* Checkpoints (``--checkpoints``, on its own): the SQLite storm with a keyed daemon whose automatic
  checkpoints are off (``checkpoint_interval_minutes: 0``) and on (the defaults: it writes one
  after its sweep), alternating, ``--rounds`` times each in the same run; the cost is the ratio of
  the median wall times. It checks that each "on" run wrote its checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import raw_storm  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from labelwf import Database, Engine, EntityRow, FrozenClock, add_entities, load_workflow, store, verify  # noqa: E402
from labelwf.audit.key import create_key  # noqa: E402

CONFIG = ROOT / "config.yaml"


def prepare_storm(url: str, n: int, config: Path = CONFIG) -> None:
    """N poles classified in group 3 (batched fires, 1,000 per transaction): N pending label_term timers."""
    db = Database(url)
    db.upgrade()
    workflow = load_workflow(config.parent / "workflows" / "poles-2008.yaml")
    engine = Engine(db, workflow, clock=FrozenClock(datetime(2008, 6, 30, tzinfo=UTC)))
    ids = [f"storm-{i:06d}" for i in range(n)]
    for start in range(0, n, 5000):
        chunk = ids[start : start + 5000]
        add_entities(
            engine,
            [EntityRow(i, e, f"Pôle {e}", {"region": "Bretagne"}) for i, e in enumerate(chunk)],
            actor="bench",
            reason="storm set-up",
        )
    for start in range(0, n, 1000):
        with db.write() as conn:
            for entity in ids[start : start + 1000]:
                engine.fire_in(conn, entity, "classify", data={"group": 3}, actor="bench", reason="storm set-up")
        done = min(start + 1000, n)
        if sys.stdout.isatty():
            print(f"\r  set-up: {done:,}/{n:,} poles in group 3", end="", flush=True)
        elif done == n or done % max(1000, n // 10 // 1000 * 1000) == 0:
            print(f"  set-up: {done:,}/{n:,} poles in group 3", flush=True)
    if sys.stdout.isatty():
        print()
    db.dispose()


def run_daemons(
    url: str,
    count: int,
    batch: int,
    config: Path = CONFIG,
    env: dict[str, str] | None = None,
    code: Path = ROOT,
) -> dict[str, Any]:
    """Run ``count`` ``daemon --once`` processes at once; return wall time, CPU time, fires and the largest peak RSS.

    They are started by a small launcher process: a process forked from this one (which holds the
    whole set-up in memory) would count this process's pages in its peak RSS until it execs.
    ``code``: the checkout whose labelwf the daemons run (the launcher starts them in it, since
    ``python -m`` looks in its working folder first).
    """
    out = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--launch",
            str(count),
            "--url",
            url,
            "--batch",
            str(batch),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=code,
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("LAUNCH ")), None)
    if out.returncode != 0 or line is None:
        sys.exit(f"daemons failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(line[len("LAUNCH ") :])
    return result


def launch(url: str, count: int, batch: int, config: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "labelwf.cli",
        "--config",
        str(config),
        "--db",
        url,
        "daemon",
        "--once",
        "--no-letters",
        "--batch-size",
        str(batch),
        "--log-format",
        "json",
    ]
    start = time.perf_counter()
    procs = [
        # the daemon's summary line is read below: asked in the msgids' language, whatever the locale setting
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "LABELWF_LOCALE": "en"},
        )
        for _ in range(count)
    ]
    fired, peak, wall, cpu = [], 0.0, 0.0, 0.0
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        cpu += usage.ru_utime + usage.ru_stime
        assert proc.stdout is not None
        text = proc.stdout.read()
        proc.stdout.close()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            sys.exit(f"daemon failed (exit {proc.returncode}): {text}")
        fired.append(int(text.split("fired ")[1].split(",")[0]))
        peak = max(peak, usage.ru_maxrss / 1024)
    print("LAUNCH " + json.dumps({"wall": wall, "cpu": cpu, "fired": fired, "peak_mb": peak}))


def check_storm(url: str, n: int, letters_per_fire: int = 2) -> None:
    db = Database(url)
    with db.read() as conn:
        fired = conn.execute(sa.select(sa.func.count()).where(store.event.c.trigger == "end_label_term")).scalar()
        pending = conn.execute(sa.select(sa.func.count()).where(store.timer.c.status == "pending")).scalar()
        letters = conn.execute(
            sa.select(sa.func.count()).where(store.letter.c.template == "fin_label_maintenu")
        ).scalar()
    ok = verify(db).ok
    db.dispose()
    if (fired, pending, letters, ok) != (n, 0, letters_per_fire * n, True):
        sys.exit(f"storm did not verify: fired {fired}, pending {pending}, letters {letters}, audit ok {ok}")


def letterless(folder: str) -> Path:
    """A configuration whose poles-2008 workflow is the shipped one without the storm step's letters."""
    root = Path(folder) / "letterless"
    (root / "workflows").mkdir(parents=True)
    text = (ROOT / "workflows" / "poles-2008.yaml").read_text(encoding="utf-8")
    step = "dest: awaiting_decision, roles: [system], letters: [fin_label_maintenu]}"
    if step not in text:
        sys.exit("the storm step of workflows/poles-2008.yaml changed: update letterless()")
    (root / "workflows" / "poles-2008.yaml").write_text(text.replace(step, "dest: awaiting_decision, roles: [system]}"))
    (root / "templates").symlink_to(ROOT / "templates")
    settings = CONFIG.read_text(encoding="utf-8").replace(
        "audit_key_file: audit.key", f"audit_key_file: {root}/audit.key"
    )
    (root / "config.yaml").write_text(settings, encoding="utf-8")
    return root / "config.yaml"


def storm(
    label: str,
    url: str,
    n: int,
    daemons: int,
    batch: int,
    config: Path = CONFIG,
    letters: int = 2,
    *,
    prepared: Path | None = None,
    env: dict[str, str] | None = None,
    code: Path = ROOT,
) -> dict[str, Any]:
    """The storm of N deadlines fired by ``daemons`` processes; ``prepared``: a SQLite file prepared
    already (copied, so that every SQLite run of a comparison starts from the same database)."""
    if prepared is None:
        print(f"{label}: preparing {n:,} simultaneous deadlines ...", flush=True)
        prepare_storm(url, n, config)
    else:
        print(f"{label}: {n:,} simultaneous deadlines, from the prepared database ...", flush=True)
        copy_sqlite(prepared, Path(url.removeprefix("sqlite:///")))
    result = run_daemons(url, daemons, batch, config, env, code)
    check_storm(url, n, letters)
    result.update(label=label, daemons=daemons, rate=n / result["wall"])
    print(
        f"  {daemons} daemon(s): {n:,} timers in {result['wall']:.1f} s = {result['rate']:,.0f} fires/s, "
        f"{1000 * result['cpu'] / n:.3f} ms CPU per fire (per daemon: {', '.join(f'{f:,}' for f in result['fired'])}); "
        f"peak RSS {result['peak_mb']:.0f} MB"
    )
    return result


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its WAL included), by SQLite's backup."""
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)
    origin.close()
    copy.close()


def storm_static(url: str, config: Path = CONFIG) -> dict[str, Any]:
    """What every fire of the storm gives its letter and the reference takes as given: the workflow's title,
    the letterhead in force today, the letter's subject, the recipients' ranks, the templates folder."""
    from labelwf.config import load_settings

    settings = load_settings(config)
    workflow = load_workflow(config.parent / "workflows" / "poles-2008.yaml")
    issuer = workflow.letterhead.issuer_at(datetime.now(UTC).astimezone(workflow.timezone).date())
    assert issuer is not None
    letter = workflow.letters["fin_label_maintenu"]
    return {
        "title": workflow.title,
        "timezone": str(workflow.timezone),
        "templates": str(letter.template.parent),
        "subject": letter.subject,
        "ranks": {role: workflow.ranks[role] for role in letter.to},
        "letterhead": {
            "service": issuer.service,
            "signatory": issuer.signatory,
            "delegation": issuer.delegation,
            "place": workflow.letterhead.place,
            "recourse_court": workflow.letterhead.recourse_court,
            "agent": settings.letters_agent,
            "signatory_name": settings.letters_signatory_name,
            "attachments": list(letter.attachments),
        },
    }


def raw_reference(folder: str, url: str, n: int, batch: int) -> dict[str, Any]:
    """The reference storm (raw_storm.py) on N timers; its letters checked against labelwf's (``url``)."""
    static = Path(folder) / "static.json"
    static.write_text(json.dumps(storm_static(url)), encoding="utf-8")
    path = str(Path(folder) / "raw-storm.db")
    raw_storm.prepare(path, n)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "raw_storm.py"), path, str(batch), str(static)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    if os.waitstatus_to_exitcode(status) != 0 or "RAW " not in out:
        sys.exit(f"raw storm failed: {out[-2000:]}")
    fired = int(out.split("RAW ")[1])
    if fired != n:
        sys.exit(f"raw storm fired {fired} of {n}")
    same_letters(url, path)
    cpu = usage.ru_utime + usage.ru_stime
    print(
        f"  reference (sqlite3 + sandboxed Jinja2): {n:,} timers in {wall:.1f} s = {n / wall:,.0f} fires/s, "
        f"{1000 * cpu / n:.3f} ms CPU per fire; its letters are labelwf's, byte for byte"
    )
    return {"wall": wall, "cpu": cpu, "rate": n / wall}


def same_letters(url: str, raw_path: str) -> None:
    """Exit unless the reference wrote, for the first and the last pole, the letters labelwf wrote."""
    columns = ("recipient", "recipient_label", "subject", "body", "body_html", "checksum")
    db = Database(url)
    with sqlite3.connect(raw_path) as raw:
        for entity in raw.execute("SELECT min(entity_id), max(entity_id) FROM instance").fetchone():
            with db.read() as conn:
                ours = conn.execute(
                    sa.select(*(store.letter.c[c] for c in columns))
                    .join(store.instance, store.instance.c.id == store.letter.c.instance_id)
                    .where(store.instance.c.entity_id == entity, store.letter.c.template == "fin_label_maintenu")
                    .order_by(store.letter.c.id)
                ).all()
            theirs = raw.execute(
                f"SELECT {', '.join(columns)} FROM letter JOIN instance ON instance.id = letter.instance_id "
                "WHERE instance.entity_id = ? ORDER BY letter.id",
                (entity,),
            ).fetchall()
            if [tuple(row) for row in ours] != [tuple(row) for row in theirs]:
                sys.exit(f"the reference's letters to {entity} are not labelwf's: {theirs!r} != {ours!r}")
    raw.close()
    db.dispose()


def baseline_storm(folder: str, rev: str, prepared: Path, n: int, batch: int, env: dict[str, str]) -> dict[str, Any]:
    """The SQLite storm from ``prepared`` fired by the code of commit ``rev``: a ``git worktree`` of it in
    ``folder``, run with this virtualenv and PYTHONPATH pointing at it (its own workflows and templates)."""
    tree = Path(folder) / "baseline"
    added = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), rev],
        capture_output=True,
        text=True,
        check=False,
    )
    if added.returncode != 0:
        sys.exit(f"--baseline {rev}: git worktree add failed: {added.stderr.strip()}")
    try:
        code_env = {**env, "PYTHONPATH": str(tree)}
        found = subprocess.run(
            [sys.executable, "-c", "import labelwf; print(labelwf.__file__)"],
            cwd=tree,
            env={**os.environ, **code_env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not found.startswith(str(tree)):
            sys.exit(f"--baseline {rev}: the worktree's labelwf is not the one imported ({found})")
        url = f"sqlite:///{folder}/baseline.db"
        return storm(
            f"baseline {rev}", url, n, 1, batch, tree / "config.yaml", prepared=prepared, env=code_env, code=tree
        )
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def postgres_schema(base: str) -> tuple[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}", drop


def lateness(samples: int) -> list[float]:
    """Arm timers 0.2 s ahead from this process while a default daemon serves; return their lateness (s)."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/lateness.db"
        db = Database(url)
        db.upgrade()
        engine = Engine(db, load_workflow(HERE / "pole-lifecycle.yaml", ROOT / "templates"))
        ids = [f"late-{i:04d}" for i in range(samples)]
        add_entities(engine, [EntityRow(i, e, e, {}) for i, e in enumerate(ids)], actor="bench", reason="lateness")
        env = {**os.environ, "LABELWF_WORKFLOWS": str(HERE / "pole-lifecycle.yaml")}
        command = [sys.executable, "-m", "labelwf.cli", "--config", str(CONFIG), "--db", url, "daemon", "--no-letters"]
        daemon = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        late: list[float] = []
        try:
            time.sleep(1.0)  # let it start
            phase = random.Random(2010)
            for entity in ids:
                # Real timers are armed at any moment of the poll cycle; a fixed rhythm would lock onto it.
                time.sleep(phase.uniform(0, 0.5))
                engine.fire(entity, "classify", actor="bench", reason="lateness")
                engine.fire(entity, "sign_contract", actor="bench", reason="lateness")  # due in 0.2 s
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    with db.read() as conn:
                        value = conn.execute(
                            sa.select(store.event.c.late_by_s)
                            .join(store.instance, store.instance.c.id == store.event.c.instance_id)
                            .where(store.instance.c.entity_id == entity, store.event.c.trigger == "review_due")
                        ).scalar()
                    if value is not None:
                        late.append(value)
                        break
                    time.sleep(0.01)
                else:
                    sys.exit(f"timer of {entity} did not fire within 10 s")
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
            db.dispose()
    return late


def checkpoint_storms(n: int, batch: int, rounds: int) -> None:
    """The SQLite storm with automatic checkpoints off and on, alternating, in the same run."""
    walls: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as folder:
        key = Path(folder) / "audit.key"
        create_key(key)
        for turn in range(rounds):
            for mode in ("off", "on"):
                checkpoints = Path(folder) / f"checkpoints-{mode}-{turn}"
                env = {
                    "LABELWF_AUDIT_KEY_FILE": str(key),
                    "LABELWF_CHECKPOINTS": str(checkpoints),
                    "LABELWF_CHECKPOINT_INTERVAL_MINUTES": "0" if mode == "off" else "60",
                }
                url = f"sqlite:///{folder}/storm-{mode}-{turn}.db"
                print(f"checkpoints {mode}, round {turn + 1}: preparing {n:,} simultaneous deadlines ...", flush=True)
                prepare_storm(url, n)
                result = run_daemons(url, 1, batch, env=env)
                check_storm(url, n)
                written = len(list(checkpoints.glob("labelwf-checkpoint-*.json"))) if checkpoints.is_dir() else 0
                if written != (1 if mode == "on" else 0):
                    sys.exit(f"checkpoints {mode}: the daemon wrote {written} checkpoint(s)")
                walls[mode].append(result["wall"])
                print(f"  {n:,} timers in {result['wall']:.2f} s = {n / result['wall']:,.0f} fires/s")
                Path(url.removeprefix("sqlite:///")).unlink()
    off, on = statistics.median(walls["off"]), statistics.median(walls["on"])
    print(
        f"\nstorm of {n:,} deadlines, batch {batch}, {rounds} round(s) each, same run: automatic checkpoints off "
        f"{off:.2f} s, on {on:.2f} s (median): they cost {100 * (on / off - 1):+.1f}% of the storm"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="simultaneous deadlines (default 100,000)")
    parser.add_argument("--batch", type=int, default=500, help="timers per daemon transaction (default 500)")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("LABELWF_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-lateness", action="store_true", help="skip the lateness figure")
    parser.add_argument("--samples", type=int, default=100, help="single timers for the lateness figure")
    parser.add_argument("--checkpoints", action="store_true", help="only: the storm with checkpoints off and on")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each with --checkpoints (default 3)")
    parser.add_argument("--baseline", metavar="REV", help="also run the SQLite storm with the code of commit REV")
    parser.add_argument("--no-letterless", action="store_true", help="skip the storm whose step sends no letter")
    parser.add_argument("--launch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, default=CONFIG, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.launch:
        return launch(args.url, args.launch, args.batch, args.config)
    if args.n < 1 or args.samples < 1 or args.rounds < 1:
        parser.error("--n, --samples and --rounds must be positive")
    if args.checkpoints:
        return checkpoint_storms(args.n, args.batch, args.rounds)

    results = []
    bare = base = None
    with tempfile.TemporaryDirectory() as folder:
        # Every storm keyed with one audit key, its automatic checkpoint off (--checkpoints measures it).
        key = Path(folder) / "audit.key"
        create_key(key)
        env = {"LABELWF_AUDIT_KEY_FILE": str(key), "LABELWF_CHECKPOINT_INTERVAL_MINUTES": "0"}
        prepared = Path(folder) / "prepared.db"
        print(f"SQLite: preparing {args.n:,} simultaneous deadlines ...", flush=True)
        prepare_storm(f"sqlite:///{prepared}", args.n)
        url = f"sqlite:///{folder}/storm.db"
        results.append(storm("SQLite", url, args.n, 1, args.batch, prepared=prepared, env=env))
        raw = raw_reference(folder, url, args.n, args.batch)
        if args.baseline:
            base = baseline_storm(folder, args.baseline, prepared, args.n, args.batch, env)
        if not args.no_letterless:
            bare_url = f"sqlite:///{folder}/bare.db"
            bare = storm("SQLite, no letters", bare_url, args.n, 1, args.batch, letterless(folder), 0, env=env)
        if not args.no_postgres:
            for daemons in (1, 2):
                pg_url, drop = postgres_schema(args.postgres_url)
                try:
                    results.append(storm("PostgreSQL", pg_url, args.n, daemons, args.batch, env=env))
                finally:
                    drop()
    late = sorted(lateness(args.samples)) if not args.no_lateness else []

    print(f"\nstorm of {args.n:,} simultaneous end_label_term deadlines (2 letters each), batch {args.batch}")
    print(f"{'backend':<12}{'daemons':>8}{'fires/s':>10}{'wall s':>9}{'peak RSS MB':>13}{'x 1 daemon':>12}")
    single = {r["label"]: r["rate"] for r in results if r["daemons"] == 1}
    for r in results:
        print(
            f"{r['label']:<12}{r['daemons']:>8}{r['rate']:>10,.0f}{r['wall']:>9.1f}{r['peak_mb']:>13.0f}"
            f"{r['rate'] / single[r['label']]:>12.2f}"
        )
    ours = results[0]
    print(f"\nSQLite, same run, same prepared database{'':<14}{'fires/s':>10}{'wall s':>9}{'CPU ms/fire':>13}")
    rows = [("labelwf", ours), ("reference (sqlite3 + sandboxed Jinja2)", raw)]
    if base is not None:
        rows.append((f"baseline {args.baseline}", base))
    for label, r in rows:
        print(f"  {label:<52}{r['rate']:>10,.0f}{r['wall']:>9.1f}{1000 * r['cpu'] / args.n:>13.3f}")
    print(
        f"labelwf / the reference: {ours['rate'] / raw['rate']:.2f}x in fires/s, "
        f"{raw['cpu'] / ours['cpu']:.2f}x in CPU per fire"
    )
    if base is not None:
        print(
            f"labelwf / baseline {args.baseline}: {ours['rate'] / base['rate']:.2f}x in fires/s, "
            f"{base['cpu'] / ours['cpu']:.2f}x in CPU per fire"
        )
    if bare is not None:
        print(
            f"the same storm with the step's letters taken out of the workflow (same run): {bare['rate']:,.0f} "
            f"fires/s = {bare['rate'] / raw['rate']:.2f}x the reference; the two letters cost "
            f"{1000 * (1 / ours['rate'] - 1 / bare['rate']):.2f} ms of a fire's {1000 / ours['rate']:.2f} ms"
        )
    if late:
        p50, p99 = statistics.median(late), late[min(len(late) - 1, int(0.99 * len(late)))]
        print(
            f"lateness of a single timer armed 0.2 s ahead by another process, default daemon settings, "
            f"{len(late)} samples: p50 {1000 * p50:.0f} ms, p99 {1000 * p99:.0f} ms, max {1000 * late[-1]:.0f} ms"
        )


if __name__ == "__main__":
    main()
