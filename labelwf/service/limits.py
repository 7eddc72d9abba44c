"""Per-account rate limits on what costs the server most: fires and PDF renderings.

A sliding window of one minute per (account, kind), read on the engine's clock (so tests move
time instead of waiting). The limits hold per server process: with several processes behind a
proxy, an account's share is that many times larger, which still bounds a runaway script.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque
from datetime import datetime

from fastapi import Request

from ..clock import Clock
from ..errors import RateLimited
from .auth import Caller

WINDOW_S = 60.0


class RateLimits:
    """How many of each kind an account may ask for per minute; ``take`` counts one or refuses."""

    def __init__(self, clock: Clock, per_minute: dict[str, int]) -> None:
        self.clock, self.per_minute = clock, dict(per_minute)
        self._seen: defaultdict[tuple[str, str], deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def take(self, account: str, kind: str) -> None:
        """Count one ``kind`` for ``account`` now, or raise ``RateLimited`` with the wait before the next."""
        limit = self.per_minute.get(kind, 0)
        if limit <= 0:  # no limit set for this kind
            return
        now = self.clock.now()
        with self._lock:
            seen = self._seen[(account, kind)]
            while seen and (now - seen[0]).total_seconds() >= WINDOW_S:
                seen.popleft()
            if len(seen) >= limit:
                wait = WINDOW_S - (now - seen[0]).total_seconds()
                raise RateLimited(kind, limit, max(1, math.ceil(wait)))
            seen.append(now)


def take(request: Request, who: Caller, kind: str) -> None:
    """Count one ``kind`` for the caller's account, or raise ``RateLimited``."""
    limits: RateLimits = request.app.state.limits
    limits.take(who.account.name, kind)
