"""Work kept off the event loop, on small pools of worker threads that refuse rather than queue for ever.

The event loop of a server process answers every request: whatever waits on it (a password's
argon2 hash, 0.1 s and 64 MiB; a database write waiting for SQLite's lock, up to the busy timeout)
stalls them all, ``/healthz`` included. Such work runs through a ``Gate``: at most ``at_once``
calls at a time on worker threads, counted apart from the forty that the plain ``def`` routes
share (a flood of sign-ins or a held lock would otherwise take those), at most ``queued`` more
waiting their turn, and beyond that ``Overloaded`` (503 with ``Retry-After``) at once: never a
stall.

Two gates per application (``create_app``): ``passwords`` (password checks, and hashes of new
passwords) and ``console`` (the database work of the console's forms).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Request

from ..errors import Overloaded

T = TypeVar("T")
PASSWORDS_AT_ONCE, PASSWORDS_QUEUED = 2, 8  # each check holds 64 MiB and a core for a tenth of a second
CONSOLE_AT_ONCE, CONSOLE_QUEUED = 4, 32  # SQLite writes one at a time anyway; reads are short
RETRY_AFTER_S = 1


class Gate:
    """At most ``at_once`` calls of one kind running on threads of their own and ``queued`` more
    waiting; a call beyond those raises ``Overloaded`` without waiting."""

    def __init__(self, what: str, at_once: int, queued: int) -> None:
        self.what, self.at_once, self.queued = what, at_once, queued
        self._threads = anyio.CapacityLimiter(at_once)
        self._admitted = 0  # running and waiting; only the event loop's thread counts them

    @property
    def admitted(self) -> int:
        """How many calls are running or waiting now."""
        return self._admitted

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` on one of the gate's threads, its result or its exception; ``Overloaded``
        if ``at_once + queued`` calls are already in."""
        if self._admitted >= self.at_once + self.queued:
            raise Overloaded(self.what, self.at_once, self.queued, RETRY_AFTER_S)
        self._admitted += 1
        try:
            return await anyio.to_thread.run_sync(work, *args, limiter=self._threads)
        finally:
            self._admitted -= 1


async def checking_passwords(request: Request, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` through the application's gate of password checks."""
    gate: Gate = request.app.state.passwords
    return await gate.run(work, *args)


async def console_work(request: Request, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` through the application's gate of the console's database work."""
    gate: Gate = request.app.state.console
    return await gate.run(work, *args)
