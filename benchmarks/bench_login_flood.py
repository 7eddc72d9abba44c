"""A viewer's reads while anonymous clients flood the console's sign-in with wrong passwords.

``labelwf serve`` in its own process over a SQLite database of N poles, behind a "proxy" (its
``trusted_proxies`` is 127.0.0.1), so that each wrong sign-in comes from a new client address
(``X-Forwarded-For``) with a new name: none is throttled, every one costs an argon2id check, the
worst case for the server. One client reads a page (50) of the instance list through the API (a
viewer's token) and ``/healthz`` in turn, for S seconds without the flood, then S seconds while C
clients (8 by default) post wrong sign-ins as fast as they are answered. It prints each read's
latency, median/p90/p99, quiet and flooded, their ratio, and how the sign-ins were answered
(401 checked and wrong, 503 beyond the pool of password checks, 429 throttled).

    python benchmarks/bench_login_flood.py                  # N = 2,000 poles, 8 clients, 5 s each
    python benchmarks/bench_login_flood.py --seconds 10 --clients 16
    python benchmarks/bench_login_flood.py --one-address    # the flood from one address: throttled at once
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench_api import free_port, populate  # noqa: E402

from labelwf.accounts import add_account, create_token  # noqa: E402


def viewer_token(url: str, n: int) -> str:
    """A database of ``n`` poles (bench_api's) and a viewer; the viewer's API token."""
    engine = populate(url, n)
    db, now = engine.db, engine.clock.now()
    add_account(db, "viewer", ["viewer"], now=now, author="bench", key=None, password="bench password 1")
    token = create_token(db, "viewer", "bench", now=now, author="bench", key=None)[1]
    db.dispose()
    return token


def reads(port: int, token: str, seconds: float) -> tuple[list[float], list[float]]:
    """Latencies (s) of a list page and of /healthz, read in turn for ``seconds``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    listing, health = [], []
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        for path, headers, kept in (
            ("/api/v1/instances?limit=50", {"Authorization": f"Bearer {token}"}, listing),
            ("/healthz", {}, health),
        ):
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            answer = conn.getresponse()
            answer.read()
            kept.append(time.perf_counter() - started)
            assert answer.status == 200, (path, answer.status)
    conn.close()
    return listing, health


def flood(port: int, k: int, stop: threading.Event, answers: Counter[int], one_address: bool) -> None:
    """Wrong sign-ins as fast as they are answered, each from a new address and name (or one address)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    n = 0
    while not stop.is_set():
        n += 1
        address = "198.51.100.7" if one_address else f"10.{k}.{n // 250 % 250}.{n % 250}"
        body = urllib.parse.urlencode({"csrf": "t", "name": f"guess{k}-{n}", "password": "wrong password"})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "labelwf_login=t",
            "X-Forwarded-For": address,
        }
        conn.request("POST", "/console/login", body=body, headers=headers)
        answer = conn.getresponse()
        answer.read()
        answers[answer.status] += 1
    conn.close()


def quantiles(values: list[float]) -> tuple[float, float, float]:
    """Median, p90, p99 in milliseconds."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values) * 1000, cuts[89] * 1000, cuts[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="poles in the database")
    parser.add_argument("--clients", type=int, default=8, help="clients flooding the sign-in")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of reads, quiet and flooded")
    parser.add_argument("--one-address", action="store_true", help="flood from one address (throttled)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/flood.db"
        token = viewer_token(url, args.n)
        port = free_port()
        env = {
            **os.environ,
            "LABELWF_DATABASE": url,
            "LABELWF_AUDIT_KEY_FILE": f"{folder}/audit.key",
            "LABELWF_TRUSTED_PROXIES": "127.0.0.1",
        }
        command = [sys.executable, "-m", "labelwf.cli", "--config", str(ROOT / "config.yaml"), "serve"]
        server = subprocess.Popen([*command, "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
        try:
            assert server.stderr is not None
            server.stderr.readline()  # "serving ..." once it is about to listen
            for _ in range(100):  # until it answers
                try:
                    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    probe.request("GET", "/healthz")
                    probe.getresponse().read()
                    break
                except OSError:
                    time.sleep(0.05)
            reads(port, token, 0.5)  # warm
            quiet = reads(port, token, args.seconds)
            stop, answers = threading.Event(), Counter[int]()
            flooders = [
                threading.Thread(target=flood, args=(port, k, stop, answers, args.one_address))
                for k in range(args.clients)
            ]
            for t in flooders:
                t.start()
            time.sleep(0.5)  # the flood under way
            started = time.perf_counter()
            flooded = reads(port, token, args.seconds)
            elapsed = time.perf_counter() - started
            stop.set()
            for t in flooders:
                t.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{args.clients} clients flooding wrong sign-ins ({'one address' if args.one_address else 'new addresses'})")
    print(
        f"sign-ins answered: {dict(sorted(answers.items()))}, {sum(answers.values()) / elapsed:.1f}/s during the reads"
    )
    print(f"{'read':<34}{'median ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'reads':>8}")
    for name, calm, busy in (("list page (API, viewer)", quiet[0], flooded[0]), ("/healthz", quiet[1], flooded[1])):
        q, f = quantiles(calm), quantiles(busy)
        print(f"{name + ', quiet':<34}{q[0]:>10.1f}{q[1]:>10.1f}{q[2]:>10.1f}{len(calm):>8}")
        print(f"{name + ', flooded':<34}{f[0]:>10.1f}{f[1]:>10.1f}{f[2]:>10.1f}{len(busy):>8}")
        print(f"{name + ', ratio':<34}{f[0] / q[0]:>10.1f}{f[1] / q[1]:>10.1f}{f[2] / q[2]:>10.1f}")


if __name__ == "__main__":
    main()
