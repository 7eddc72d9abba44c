"""Fires through the REST API beside the in-process fire rate, in the same run.

A SQLite database (WAL + synchronous=FULL, the default) of N poles; ``labelwf serve`` in its own
process; C client threads (http.client, or httpx; one connection each) each classify their own poles with
``If-Match``, every fire its own request and transaction. The reference: ``Engine.fire`` of the
same classification in this process, on a database of its own of the same size. The two
alternate in rounds (``--rounds``, N/rounds poles each, in process then through the API), so that
a machine whose speed drifts during the run weighs on both alike; the ratio is of the totals, and
the spread of the rounds' ratios is printed beside it. Then the latency of
single fires sent at a steady R requests/s for S seconds (p50, p99), and one page (50) of the
instance list through the API and of the console's list, p95 over 200 reads each (the first page
and pages deep in the list by cursor), on a database holding L instances (100,000 by default),
and the server's peak RSS.

    python benchmarks/bench_api.py                    # N = 4,000, 8 clients, 100 req/s for 10 s, L = 100,000
    python benchmarks/bench_api.py --list-n 10000     # a quicker run
    python benchmarks/bench_api.py --n 20000 --clients 8 --rate 100 --seconds 10
    python benchmarks/bench_api.py --workers 2        # two server processes on the same port
    python benchmarks/bench_api.py --client httpx     # the concurrent clients on httpx instead of http.client
    python benchmarks/bench_api.py --postgres postgresql://127.0.0.1:5432/test --workers 2

With ``--postgres URL`` both runs use fresh databases created on that server (``bench_api_ref``,
``bench_api``; dropped first), the in-process reference included.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # noqa: E402

from labelwf import Database, Engine, EntityRow, FrozenClock, add_entities, load_workflow  # noqa: E402
from labelwf.accounts import add_account, create_token  # noqa: E402

WORKFLOW = ROOT / "workflows" / "poles-2008.yaml"


def populate(url: str, n: int) -> Engine:
    db = Database(url)
    db.upgrade()
    engine = Engine(db, load_workflow(WORKFLOW), clock=FrozenClock(datetime(2008, 6, 30, tzinfo=UTC)))
    ids = [f"pole-{i:06d}" for i in range(n)]
    for start in range(0, n, 5000):
        add_entities(
            engine,
            [EntityRow(i, e, f"Pôle {e}", {}) for i, e in enumerate(ids[start : start + 5000])],
            actor="b",
            reason="b",
        )
    if not db.is_sqlite:  # as after any bulk load: the planner's statistics, which autovacuum gathers within minutes
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return engine


def in_process(engine: Engine, poles: range) -> float:
    """Seconds to classify ``poles`` by ``Engine.fire`` in this process, one transaction each."""
    started = time.perf_counter()
    for i in poles:
        engine.fire(f"pole-{i:06d}", "classify", data={"group": 1}, actor="bench", reason="api")
    return time.perf_counter() - started


def fresh_postgres(url: str, name: str) -> str:
    """A new, empty database ``name`` on the server of ``url``; its URL."""
    import psycopg

    server = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_pids(parent: int) -> list[int]:
    """The server process and, with workers, its children."""
    found = [parent]
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(parent):
            found.append(int(status.parent.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes ``pids`` have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / ticks


def stdlib_client(port: int, paths: list[str], body: dict[str, Any], headers: dict[str, str]) -> list[int]:
    """POST ``body`` to each path over one keep-alive connection (http.client); the non-201 statuses."""
    payload = json.dumps(body).encode()
    sent = {**headers, "Content-Type": "application/json"}
    failures = []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for path in paths:
            connection.request("POST", path, body=payload, headers=sent)
            answer = connection.getresponse()
            answer.read()
            if answer.status != 201:
                failures.append(answer.status)
    finally:
        connection.close()
    return failures


def httpx_client(port: int, paths: list[str], body: dict[str, Any], headers: dict[str, str]) -> list[int]:
    """The same with httpx (one connection): a heavier client, for comparison."""
    failures = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for path in paths:
            answer = client.post(path, json=body, headers=headers)
            if answer.status_code != 201:
                failures.append(answer.status_code)
    return failures


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def list_pages(http: httpx.Client, path: str, headers: dict[str, str]) -> list[float]:
    """Seconds per read of 200 list pages: the first page, then pages deep in the list by cursor."""

    def next_cursor(answer: httpx.Response) -> str | None:
        assert answer.status_code == 200, answer.text[:300]
        if path.startswith("/api/"):
            after = answer.json().get("next")
            return None if after is None else urllib.parse.quote(after, safe="")
        found = re.search(r'href="[^"]*after=([^"&]+)"[^>]*rel="next"', answer.text)
        return found.group(1) if found else None

    cursors: list[str | None] = [None]
    for _ in range(10):  # the first page and the nine after it, each read by its cursor
        cursor = next_cursor(http.get(path + (f"&after={cursors[-1]}" if cursors[-1] else ""), headers=headers))
        if cursor is None:
            break
        cursors.append(cursor)
    assert len(cursors) > 1, f"{path}: no next page"
    seconds = []
    for k in range(200):
        cursor = cursors[k % len(cursors)]
        t0 = time.perf_counter()
        answer = http.get(path + (f"&after={cursor}" if cursor else ""), headers=headers)
        seconds.append(time.perf_counter() - t0)
        assert answer.status_code == 200, answer.text[:300]
    return seconds


def console_session(http: httpx.Client) -> str:
    """Sign the benchmark's account in to the console; return the Cookie header of its session.

    The console's cookies are ``Secure``: a client keeps them for https only, so they are carried
    by hand over this loopback http connection."""
    form = http.get("/console/login")
    login_cookie = form.headers["set-cookie"].split(";", 1)[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None, form.text[:300]
    signed = http.post(
        "/console/login",
        data={"name": "bench", "password": "bench password 1", "csrf": csrf.group(1)},
        headers={"Cookie": login_cookie},
        follow_redirects=False,
    )
    assert signed.status_code in (302, 303), signed.text[:300]
    return "; ".join(c.split(";", 1)[0] for c in signed.headers.get_list("set-cookie"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4_000)
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="alternations of the in-process reference and the API (n/rounds fires each)",
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="labelwf serve --workers")
    parser.add_argument("--postgres", metavar="URL", help="run on fresh databases of this PostgreSQL server")
    parser.add_argument("--list-n", type=int, default=100_000, help="instances in the database the list pages read")
    parser.add_argument(
        "--client",
        choices=("stdlib", "httpx"),
        default="stdlib",
        help="the concurrent clients' HTTP library: http.client (light: the clients share the server's cores) or httpx",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paced = int(args.rate * args.seconds)
        size = max(args.n + paced, args.list_n)
        ref_url = fresh_postgres(args.postgres, "bench_api_ref") if args.postgres else f"sqlite:///{folder}/ref.db"
        print(f"the in-process reference's database: {size:,} instances ...", flush=True)
        reference_engine = populate(ref_url, size)
        url = fresh_postgres(args.postgres, "bench_api") if args.postgres else f"sqlite:///{folder}/api.db"
        print(f"the API's database: {size:,} instances ...", flush=True)
        engine = populate(url, size)
        add_account(
            engine.db,
            "bench",
            ["operator"],
            now=engine.clock.now(),
            author="tests",
            key=None,
            password="bench password 1",
        )
        token = create_token(engine.db, "bench", "bench", now=engine.clock.now(), author="tests", key=None)[1]
        engine.db.dispose()
        port = free_port()
        env = {
            **os.environ,
            "LABELWF_DATABASE": url,
            "LABELWF_AUDIT_KEY_FILE": f"{folder}/audit.key",
            "LABELWF_FIRES_PER_MINUTE": "0",  # the benchmark's one account fires thousands a minute
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "labelwf.cli",
                "--config",
                str(ROOT / "config.yaml"),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stderr is not None
            server.stderr.readline()  # "serving ..." once it is about to listen
            base = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {token}", "If-Match": '"0"'}
            body = {"trigger": "classify", "fields": {"group": 1}, "reason": "api"}
            for _ in range(100):  # until it answers
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            failures: list[int] = []
            send = stdlib_client if args.client == "stdlib" else httpx_client

            def through_api(poles: range) -> float:
                """Seconds for the clients to classify ``poles`` through the API, each client its share."""

                def client(k: int) -> None:
                    paths = [f"/api/v1/instances/pole-{i:06d}/transitions" for i in poles[k :: args.clients]]
                    failures.extend(send(port, paths, body, headers))

                started = time.perf_counter()
                threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                return time.perf_counter() - started

            print(
                f"{args.n:,} fires in {args.rounds} rounds, each in process then through the API "
                f"({args.clients} {args.client} clients) ...",
                flush=True,
            )
            pids = server_pids(server.pid)
            in_seconds = api_seconds = server_cpu = own_cpu = 0.0
            ratios = []
            for r in range(args.rounds):
                poles = range(r * args.n // args.rounds, (r + 1) * args.n // args.rounds)
                alone = in_process(reference_engine, poles)
                cpu_before, own_before = cpu_seconds(pids), time.process_time()
                served = through_api(poles)
                server_cpu += cpu_seconds(pids) - cpu_before
                own_cpu += time.process_time() - own_before
                in_seconds, api_seconds = in_seconds + alone, api_seconds + served
                ratios.append(alone / served)
            reference_engine.db.dispose()
            reference, api_rate = args.n / in_seconds, args.n / api_seconds
            server_cpu, own_cpu = server_cpu / args.n, own_cpu / args.n
            print(f"steady load: {args.rate:.0f} fires/s for {args.seconds:.0f} s ...", flush=True)
            latencies: list[float] = []
            with httpx.Client(base_url=base, timeout=30) as http:
                start = time.perf_counter()
                for j in range(paced):
                    due = start + j / args.rate
                    pause = due - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    t0 = time.perf_counter()
                    answer = http.post(
                        f"/api/v1/instances/pole-{args.n + j:06d}/transitions", json=body, headers=headers
                    )
                    latencies.append(time.perf_counter() - t0)
                    if answer.status_code != 201:
                        failures.append(answer.status_code)
                print(f"list pages at {max(args.n + paced, args.list_n):,} instances ...", flush=True)
                reads = list_pages(http, "/api/v1/instances?limit=50", {"Authorization": headers["Authorization"]})
                console = list_pages(http, "/console/instances?", {"Cookie": console_session(http)})
            rss = sum(peak_rss_mb(pid) for pid in server_pids(server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies.sort()
    reads.sort()
    console.sort()
    backend = "PostgreSQL" if args.postgres else "SQLite WAL+FULL"
    print(
        f"\n{backend}, {args.n:,} poles, {args.clients} API clients, {args.workers} server process(es) "
        f"(failures: {len(failures)})"
    )
    print(f"  in-process Engine.fire:      {reference:>8,.0f} fires/s")
    print(f"  through the API:             {api_rate:>8,.0f} fires/s  ({api_rate / reference:.2f}x in-process)")
    ratios.sort()
    print(
        f"  ratio by round ({args.rounds}, in-process then API on the same poles): "
        f"{ratios[0]:.2f} to {ratios[-1]:.2f}, median {ratios[len(ratios) // 2]:.2f}"
    )
    print(
        f"  CPU per fire: server {1000 * server_cpu:.2f} ms, the {args.clients} {args.client} clients "
        f"{1000 * own_cpu:.2f} ms (in-process: {1000 / reference:.2f} ms of wall time, fsync included)"
    )
    print(
        f"  at {args.rate:.0f} fires/s: p50 {1000 * latencies[len(latencies) // 2]:.1f} ms, "
        f"p99 {1000 * latencies[int(len(latencies) * 0.99)]:.1f} ms"
    )
    listed = max(args.n + paced, args.list_n)
    print(f"  list page (50) at {listed:,} instances: API p95 {1000 * reads[int(len(reads) * 0.95)]:.1f} ms, ", end="")
    print(f"console p95 {1000 * console[int(len(console) * 0.95)]:.1f} ms")
    print(f"  server peak RSS: {rss:.0f} MB (all its processes)")
    if failures:
        print(f"  non-201 answers: {sorted(set(failures))}")


if __name__ == "__main__":
    main()
