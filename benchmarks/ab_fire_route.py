"""Two variants of the API's fire route, A/B in the same run: server CPU per fire and fires/s.

The old variant is the package at a commit (``--old``, checked out in a temporary ``git
worktree``), the new one the package of this tree (or of ``--new REF``, checked out likewise).
Both serve one SQLite database (WAL + synchronous=FULL, the default) in turn: each block starts a
server process of one variant, warms it up, then C clients (http.client, one keep-alive
connection each) classify F poles of their own with ``If-Match``, every fire its own request and
transaction, and stop it; the next block is the other variant's. The order alternates (A B B A
A B …) so that a machine whose speed drifts weighs on both alike. The figure that a busy machine
disturbs least is the server's CPU time per fire (user + system, from ``/proc``, over the
measured fires only); fires/s is printed beside it. Medians over the blocks, and their ratio.

    python benchmarks/ab_fire_route.py --old HEAD~1                   # 6 blocks of 1,500 fires each
    python benchmarks/ab_fire_route.py --old HEAD~1 --new HEAD --blocks 8 --fires 2000

What differs between the two is printed first (``git diff --stat`` of ``labelwf/``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # noqa: E402
from bench_api import cpu_seconds, free_port, populate, stdlib_client  # noqa: E402

from labelwf.accounts import add_account, create_token  # noqa: E402

WARM_UP = 100  # fires before a block's measure: imports, compiled templates, caches of the new process


@dataclass
class Block:
    """One block's measure: which variant, its server's CPU seconds per fire, and fires per second."""

    variant: str
    cpu_per_fire: float
    rate: float
    failures: int


@contextmanager
def checked_out(ref: str) -> Iterator[Path]:
    """The tree of ``ref`` in a temporary git worktree, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ab-fire-") as folder:
        tree = Path(folder) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), ref], check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


@contextmanager
def server(tree: Path, env: dict[str, str]) -> Iterator[tuple[int, int]]:
    """``labelwf serve`` of the package in ``tree``, answering: its port and process id."""
    port = free_port()
    command = [sys.executable, "-m", "labelwf.cli", "--config", str(tree / "config.yaml"), "serve", "--port", str(port)]
    # The package of ``tree``, ahead of the one installed in development mode from this checkout.
    env = {**env, "PYTHONPATH": str(tree)}
    process = subprocess.Popen(command, cwd=tree, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        process.stderr.readline()  # "serving ..." once it is about to listen
        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def fire_all(port: int, poles: range, clients: int, headers: dict[str, str]) -> list[int]:
    """Classify ``poles`` through the API, ``clients`` connections at once, each its share; the non-201 statuses."""
    body = {"trigger": "classify", "fields": {"group": 1}, "reason": "a/b"}
    failures: list[int] = []

    def client(k: int) -> None:
        paths = [f"/api/v1/instances/pole-{i:06d}/transitions" for i in poles[k::clients]]
        failures.extend(stdlib_client(port, paths, body, headers))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="the commit of the old variant")
    parser.add_argument("--new", help="the commit of the new variant (default: this tree as it is)")
    parser.add_argument("--blocks", type=int, default=6, help="blocks per variant")
    parser.add_argument("--fires", type=int, default=1_500, help="measured fires per block")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    against = [args.new] if args.new else []
    print(f"labelwf/ of {args.old} against {args.new or 'this tree'}:", flush=True)
    subprocess.run(["git", "-C", str(ROOT), "diff", "--stat", args.old, *against, "--", "labelwf"], check=True)
    per_block = WARM_UP + args.fires
    with ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        trees = {"old": stack.enter_context(checked_out(args.old))}
        trees["new"] = stack.enter_context(checked_out(args.new)) if args.new else ROOT
        url = f"sqlite:///{folder}/ab.db"
        size = 2 * args.blocks * per_block
        print(f"one database of {size:,} instances ...", flush=True)
        engine = populate(url, size)
        now = engine.clock.now()
        add_account(engine.db, "bench", ["operator"], now=now, author="bench", key=None, password="bench password 1")
        token = create_token(engine.db, "bench", "bench", now=now, author="bench", key=None)[1]
        engine.db.dispose()
        env = {
            **os.environ,
            "LABELWF_DATABASE": url,
            "LABELWF_AUDIT_KEY_FILE": f"{folder}/audit.key",
            "LABELWF_FIRES_PER_MINUTE": "0",  # the benchmark's one account fires thousands a minute
        }
        headers = {"Authorization": f"Bearer {token}", "If-Match": '"0"'}
        order = [v for b in range(args.blocks) for v in (("old", "new") if b % 2 == 0 else ("new", "old"))]
        print(f"{args.blocks} blocks per variant of {args.fires:,} fires, {args.clients} clients ...", flush=True)
        blocks: list[Block] = []
        for k, variant in enumerate(order):
            start = k * per_block
            with server(trees[variant], env) as (port, pid):
                failures = fire_all(port, range(start, start + WARM_UP), args.clients, headers)
                cpu_before, started = cpu_seconds([pid]), time.perf_counter()
                failures += fire_all(port, range(start + WARM_UP, start + per_block), args.clients, headers)
                seconds, cpu = time.perf_counter() - started, cpu_seconds([pid]) - cpu_before
            block = Block(variant, cpu / args.fires, args.fires / seconds, len(failures))
            blocks.append(block)
            print(
                f"  block {k + 1:>2} {variant}: server CPU {1000 * block.cpu_per_fire:.2f} ms/fire, "
                f"{block.rate:,.0f} fires/s" + (f", {block.failures} non-201" if block.failures else ""),
                flush=True,
            )
    cpu = {v: statistics.median(b.cpu_per_fire for b in blocks if b.variant == v) for v in trees}
    rate = {v: statistics.median(b.rate for b in blocks if b.variant == v) for v in trees}
    print(f"\nmedians over {args.blocks} blocks each ({args.clients} clients, {args.fires:,} fires a block):")
    for v in trees:
        print(f"  {v}: server CPU {1000 * cpu[v]:.2f} ms per fire, {rate[v]:,.0f} fires/s")
    saved = 1 - cpu["old"] / cpu["new"]
    print(
        f"  old / new: CPU per fire {cpu['old'] / cpu['new']:.3f}x, fires/s {rate['old'] / rate['new']:.3f}x; "
        f"the old variant saves {100 * saved:.1f}% of the new one's server CPU per fire"
    )
    print(f"  load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
