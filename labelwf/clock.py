"""Time, injected: the only place labelwf reads the wall clock.

Domain code takes a ``Clock`` and asks it for ``now()``; tests and replays use ``FrozenClock`` and
move it forward by hand, so no test ever sleeps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current instant as an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current instant (timezone-aware, UTC)."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """Return the current instant from the operating system, in UTC."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to: for tests, replays and simulations."""

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "FrozenClock start")

    def now(self) -> datetime:
        """Return the instant the clock was last set to."""
        return self._now

    def set(self, instant: datetime) -> None:
        """Move the clock to ``instant``; it never moves backwards."""
        instant = require_aware(instant, "FrozenClock.set")
        if instant < self._now:
            raise ValueError(f"a clock never goes back: now {self._now.isoformat()}, asked {instant.isoformat()}")
        self._now = instant

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
        self.set(self._now + delta)


def require_aware(value: datetime, what: str) -> datetime:
    """Return ``value`` in UTC, refusing a naive datetime (whose zone would be a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} needs a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)
