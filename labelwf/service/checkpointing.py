"""The server's automatic checkpoints: one at start-up, then a thread of its own that asks every few
seconds whether one is due (after a plan, at the interval), and one at shut-down.

A checkpoint reads every chain's head and writes a file: seconds of work on a large database, so it
never runs on the event loop (``asyncio.to_thread`` at start and stop, a thread in between).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from ..audit.checkpoints import Checkpointer, loop

LOOK_SECONDS = 5.0  # how often the thread asks whether a checkpoint is due (two indexed looks)


def checkpoints_lifespan(checkpointer: Checkpointer) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A lifespan for the application that takes the server's checkpoints while it runs."""

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        if not checkpointer.enabled:
            yield
            return
        await asyncio.to_thread(checkpointer.maybe_write)
        stop = threading.Event()
        every = min(LOOK_SECONDS, checkpointer.settings.floor_seconds)
        thread = threading.Thread(target=loop, args=(checkpointer, stop, every), name="checkpoints", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            await asyncio.to_thread(thread.join, 60)
            await asyncio.to_thread(checkpointer.maybe_write)

    return lifespan
