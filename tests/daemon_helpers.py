"""Running daemons in tests: the command line, a serving thread, log lines read with a bound on the wait
(tests never sleep)."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from labelwf.engine.daemon import Daemon
from tests.conftest import CONFIG_FILE


def _lines(proc: subprocess.Popen[str], seconds: float):  # type: ignore[no-untyped-def]
    """Yield stderr lines as they come, for at most ``seconds``.

    Reads the pipe's file descriptor directly: a buffered ``readline`` may pull several lines
    into Python's buffer at once, and ``select`` would then wait for bytes already read.
    """
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    pending = b""
    try:
        while time.monotonic() < deadline:
            if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                chunk = os.read(fd, 65536)
                if not chunk:
                    if pending:
                        yield pending.decode()
                    return
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield line.decode() + "\n"
    finally:
        selector.close()


def read_until(proc: subprocess.Popen[str], marker: str, seconds: float = 60) -> list[str]:
    """Read stderr lines until one contains ``marker``; fail if it does not come in ``seconds``."""
    seen: list[str] = []
    for line in _lines(proc, seconds):
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"{marker!r} not seen; got: {''.join(seen)[-2000:]}")


def read_lines(proc: subprocess.Popen[str], marker: str, count: int, seconds: float = 120) -> int:
    """Read stderr until ``count`` lines contain ``marker`` or the process closes it; return how many did."""
    found = 0
    for line in _lines(proc, seconds):
        if marker in line:
            found += 1
            if found >= count:
                break
    return found


def daemon_command(url: str, *options: str) -> list[str]:
    """``labelwf daemon OPTIONS`` against ``url`` with the shipped configuration, letters off."""
    config = ["--config", str(CONFIG_FILE), "--db", url]
    return [sys.executable, "-m", "labelwf.cli", *config, "daemon", "--no-letters", *options]


def serve(daemon: Daemon, on_idle: Callable[[], None], seconds: float = 60) -> bool:
    """Serve ``daemon`` on a thread until it stops (at most ``seconds``); return whether it stopped by itself.

    Whatever happens, the thread is stopped and joined: no daemon is left running behind a test.
    """
    server = threading.Thread(target=daemon.serve, kwargs={"on_idle": on_idle})
    server.start()
    try:
        server.join(timeout=seconds)
        return not server.is_alive()
    finally:
        daemon.stop()
        server.join()
