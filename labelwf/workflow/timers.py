"""Due-date arithmetic for timers: pure functions, no database, no clock.

Calendar arithmetic happens in the workflow's time zone and results are UTC:

* an absolute local date-time (``2010-01-01T00:00`` in Europe/Paris) is localised once;
* a calendar offset (``{months: 18}``) is added to the local wall time of its anchor, clamping
  to the end of a shorter month (31 August + 18 months = 28 February), then localised;
* a local time that does not exist (the spring DST gap) is moved forward by the gap
  (02:30 on the last Sunday of March becomes 03:30 CEST); a local time that happens twice
  (the autumn repeat) is the first of the two.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

CatchUp = Literal["fire", "skip"]
CATCH_UP_POLICIES: tuple[CatchUp, ...] = ("fire", "skip")
OFFSET_UNITS = ("months", "days", "hours", "minutes", "seconds")
ENTERED = "entered"

_LOCAL_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$")


@dataclass(frozen=True, kw_only=True)
class Offset:
    """A calendar offset: months and days move the local calendar, the rest is elapsed time."""

    months: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: float = 0

    def __str__(self) -> str:
        parts = [f"{getattr(self, u):g} {u}" for u in OFFSET_UNITS if getattr(self, u)]
        return ", ".join(parts) or "0 seconds"


@dataclass(frozen=True, kw_only=True)
class TimerSpec:
    """A timer declared on a state: when it falls due and what it fires.

    Exactly one of ``at`` (a fixed local date-time), ``at_field`` (a data field holding one) or
    ``after`` (an offset from ``anchor``: ``"entered"`` or a data field name) is set.
    """

    name: str
    trigger: str
    catch_up: CatchUp = "fire"
    at: datetime | None = None
    at_field: str | None = None
    default: datetime | None = None
    after: Offset | None = None
    anchor: str = ENTERED
    notify: str | None = None  # the letter sent when an operator moves this deadline
    label: str = ""  # how people name the deadline ("Examen à 18 mois"); the id stays in the API and --json

    def data_fields(self) -> list[str]:
        """Return the data fields this timer reads (to check that transitions provide them)."""
        if self.at_field:
            return [self.at_field]
        if self.after is not None and self.anchor != ENTERED:
            return [self.anchor]
        return []


class MissingAnchor(ValueError):
    """Raised when a timer's anchor field is absent from the instance data and has no default."""

    def __init__(self, timer: str, field: str) -> None:
        self.timer, self.field = timer, field
        super().__init__(f"timer {timer!r} needs data field {field!r} to compute its due date")


def parse_local(text: str) -> datetime:
    """Parse ``YYYY-MM-DD[THH:MM[:SS[.ffffff]]]`` as a naive local wall time (a date is midnight).

    A value carrying its own UTC offset is converted to UTC and returned aware.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a date or date-time string such as '2009-01-01T00:00', got {text!r}")
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw.replace(" ", "T", 1) if _LOCAL_RE.match(raw) else raw)
    except ValueError as exc:
        detail = f" ({exc})" if _LOCAL_RE.match(raw) else ""
        raise ValueError(
            f"malformed date-time {text!r}{detail}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM (local time), "
            "optionally with a UTC offset such as +01:00"
        ) from None
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC)


def localize(wall: datetime, tz: tzinfo) -> datetime:
    """Return the UTC instant of a naive local wall time (gap: moved forward; repeat: first one)."""
    if wall.tzinfo is not None:
        return wall.astimezone(UTC)
    # zoneinfo reads fold=0 with the offset in force before a change: a wall time in the spring gap
    # lands after the gap, and a repeated autumn wall time is its first occurrence.
    try:
        return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"date-time {wall.isoformat()} is out of range: give one between years 2 and 9998") from None


def add_calendar(wall: datetime, offset: Offset) -> datetime:
    """Add ``offset`` to a naive local wall time; months clamp to the last day of the target month."""
    month_index = wall.month - 1 + offset.months
    year = wall.year + month_index // 12
    month = month_index % 12 + 1
    day = min(wall.day, calendar.monthrange(year, month)[1])
    return wall.replace(year=year, month=month, day=day) + timedelta(days=offset.days)


def wall_time(value: object, tz: tzinfo) -> datetime:
    """Return the naive local wall time of a data value (string, date or datetime) in ``tz``."""
    if isinstance(value, datetime):
        return value.astimezone(tz).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    parsed = parse_local(str(value))
    return parsed.astimezone(tz).replace(tzinfo=None) if parsed.tzinfo else parsed


def due_at(spec: TimerSpec, *, tz: tzinfo, entered_at: datetime, data: Mapping[str, object]) -> datetime:
    """Return when ``spec`` falls due (UTC) for an instance that entered its state at ``entered_at``."""
    if spec.at is not None:
        return localize(spec.at, tz)
    if spec.at_field is not None:
        value = data.get(spec.at_field)
        if value in (None, ""):
            if spec.default is None:
                raise MissingAnchor(spec.name, spec.at_field)
            return localize(spec.default, tz)
        return localize(wall_time(value, tz), tz)
    assert spec.after is not None, f"timer {spec.name!r} has neither at, at_field nor after"
    if spec.anchor == ENTERED:
        anchor_wall = entered_at.astimezone(tz).replace(tzinfo=None)
    else:
        value = data.get(spec.anchor)
        if value in (None, ""):
            raise MissingAnchor(spec.name, spec.anchor)
        anchor_wall = wall_time(value, tz)
    shifted = localize(add_calendar(anchor_wall, spec.after), tz)
    elapsed = timedelta(hours=spec.after.hours, minutes=spec.after.minutes, seconds=spec.after.seconds)
    return shifted + elapsed
