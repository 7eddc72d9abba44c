"""Timers of a workflow file's states: when each falls due (``at`` or ``after``), what it fires, its catch-up.

Part of loading a workflow file (``loader``): problems are reported with their line, never raised.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol

from .definition import NAME_RE
from .timers import CATCH_UP_POLICIES, ENTERED, OFFSET_UNITS, Offset, TimerSpec, parse_local
from .yamlfile import LineDict


class Reporter(Protocol):
    """Where problems go: the loader of the file, which collects them all."""

    def problem(self, line: int | None, message: str) -> None: ...

    def unknown_keys(self, mapping: LineDict, allowed: set[str], what: str) -> None: ...


_TIMER_KEYS = {"name", "trigger", "at", "default", "after", "from", "catch_up", "notify"}


class TimerReader:
    """Reads the ``timers`` list of one state."""

    def __init__(self, report: Reporter, letters: Collection[str] = ()) -> None:
        self._report = report
        self._letters = letters

    def timers(self, raw: Any, line: int, state: str, takes: set[str]) -> list[TimerSpec]:
        if not isinstance(raw, list):
            self._report.problem(line, f"state {state!r}: timers must be a list")
            return []
        result = []
        names: set[str] = set()
        for item, at in zip(raw, getattr(raw, "item_lines", [line] * len(raw)), strict=True):
            if not isinstance(item, LineDict):
                self._report.problem(at, f"state {state!r}: each timer must be a mapping (name, trigger, at or after)")
                continue
            self._report.unknown_keys(item, _TIMER_KEYS, f"timer in state {state!r}")
            name = item.get("name")
            if not isinstance(name, str) or not NAME_RE.match(name):
                self._report.problem(
                    item.line_of("name"),
                    f"state {state!r}: timer name must be lower_snake_case, got {name!r}",
                )
                continue
            if name in names:
                self._report.problem(item.line_of("name"), f"state {state!r}: timer {name!r} is declared twice")
            names.add(name)
            trigger = item.get("trigger")
            if trigger not in takes:
                self._report.problem(
                    item.line_of("trigger"),
                    f"timer {name!r} fires {trigger!r}, which state {state!r} cannot take; "
                    f"it takes: {', '.join(sorted(takes)) or 'nothing'}",
                )
            catch_up = item.get("catch_up", "fire")
            if catch_up not in CATCH_UP_POLICIES:
                self._report.problem(
                    item.line_of("catch_up"),
                    f"timer {name!r}: catch_up must be one of {', '.join(CATCH_UP_POLICIES)}, got {catch_up!r}",
                )
            notify = item.get("notify")
            if notify is not None and notify not in self._letters:
                self._report.problem(
                    item.line_of("notify"),
                    f"timer {name!r}: notify names letter {notify!r}, which letters does not declare; "
                    f"letters: {', '.join(sorted(self._letters)) or 'none'}",
                )
            spec = self._timer_when(item, name)
            if spec is not None:
                notified = str(notify) if notify is not None else None
                result.append(TimerSpec(name=name, trigger=str(trigger), catch_up=catch_up, notify=notified, **spec))
        return result

    def _timer_when(self, item: LineDict, name: str) -> dict[str, Any] | None:
        has_at, has_after = "at" in item, "after" in item
        if has_at == has_after:
            self._report.problem(
                item.line, f"timer {name!r} needs exactly one of 'at' (a date-time) or 'after' (an offset)"
            )
            return None
        if has_at:
            at = item["at"]
            if isinstance(at, str) and at.startswith("data."):
                default = None
                if "default" in item:
                    default = self._local(item, "default", name)
                return {"at_field": at[len("data.") :], "default": default}
            if "default" in item:
                self._report.problem(
                    item.line_of("default"), f"timer {name!r}: default only goes with at: data.<field>"
                )
            local = self._local(item, "at", name)
            return {"at": local} if local is not None else None
        after = item["after"]
        if not isinstance(after, dict) or not after:
            self._report.problem(
                item.line_of("after"), f"timer {name!r}: after must be a mapping such as {{months: 18}}"
            )
            return None
        units: dict[str, Any] = {}
        for unit, amount in after.items():
            if unit not in OFFSET_UNITS:
                self._report.problem(
                    item.line_of("after"),
                    f"timer {name!r}: unknown duration unit {unit!r}; use {', '.join(OFFSET_UNITS)}",
                )
            elif not isinstance(amount, int | float) or isinstance(amount, bool) or amount < 0:
                self._report.problem(
                    item.line_of("after"), f"timer {name!r}: {unit} must be a number >= 0, got {amount!r}"
                )
            elif unit != "seconds" and not isinstance(amount, int):
                self._report.problem(
                    item.line_of("after"), f"timer {name!r}: {unit} must be a whole number, got {amount!r}"
                )
            else:
                units[unit] = amount
        anchor = item.get("from", ENTERED)
        if anchor != ENTERED and not (isinstance(anchor, str) and anchor.startswith("data.")):
            self._report.problem(
                item.line_of("from"),
                f"timer {name!r}: from must be 'entered' or data.<field>, got {anchor!r}",
            )
            return None
        anchor = anchor if anchor == ENTERED else anchor[len("data.") :]
        offset = Offset(
            months=units.get("months", 0),
            days=units.get("days", 0),
            hours=units.get("hours", 0),
            minutes=units.get("minutes", 0),
            seconds=units.get("seconds", 0),
        )
        return {"after": offset, "anchor": anchor}

    def _local(self, item: LineDict, key: str, name: str) -> datetime | None:
        try:
            return parse_local(item[key])
        except ValueError as exc:
            self._report.problem(item.line_of(key), f"timer {name!r}: {exc}")
            return None
