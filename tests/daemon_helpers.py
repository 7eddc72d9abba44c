"""Reading a daemon subprocess's log lines with a bound on the wait (tests never sleep)."""

from __future__ import annotations

import selectors
import subprocess
import time


def _lines(proc: subprocess.Popen[str], seconds: float):  # type: ignore[no-untyped-def]
    assert proc.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                line = proc.stderr.readline()
                if not line:
                    return
                yield line
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
