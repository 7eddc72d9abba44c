"""Timers of a workflow file's states: when each falls due (``at`` or ``after``), what it fires, its catch-up.

Part of loading a workflow file (``loader``): problems are reported with their line, never raised.

Timers that lead back to their own state are bounded (``loop_problems``): a timer fires without
anyone acting, so a cycle of states joined by timers only runs for ever once entered, writing an
event (and its letters) each turn. Such a cycle must wait at least ``LOOP_FLOOR`` (one day) per
turn, counted from entering the states (a fixed instant or a delay from a data field does not move
when the state is entered again: it counts as no wait at all). A timer that does not lead back
fires once per entry into its state, and entries need someone's act: its delay has no floor
beyond zero. Every delay is bounded above by ``MAX_OFFSET`` (a thousand years) and finite.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from .definition import NAME_RE, StateDef, TransitionDef
from .loader_letters import Reporter, label_of
from .timers import CATCH_UP_POLICIES, ENTERED, OFFSET_UNITS, Offset, TimerSpec, parse_local
from .yamlfile import LineDict

LOOP_FLOOR = timedelta(days=1)  # the least wait per turn of a cycle of timers
MAX_OFFSET = timedelta(days=365_000)  # a delay longer than this is a typing error (and overflows dates)
_UNIT_SECONDS = {"months": 28 * 86_400, "days": 86_400, "hours": 3_600, "minutes": 60, "seconds": 1}


_TIMER_KEYS = {"name", "trigger", "at", "default", "after", "from", "catch_up", "notify", "label"}


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
            label = label_of(self._report, item, f"timer {name!r}")  # how people name it ("Examen à 18 mois")
            spec = self._timer_when(item, name)
            if spec is not None:
                notified = str(notify) if notify is not None else None
                result.append(
                    TimerSpec(name=name, trigger=str(trigger), catch_up=catch_up, notify=notified, label=label, **spec)
                )
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
            elif (
                not isinstance(amount, int | float)
                or isinstance(amount, bool)
                or not math.isfinite(amount)
                or amount < 0
            ):
                self._report.problem(
                    item.line_of("after"), f"timer {name!r}: {unit} must be a number >= 0, got {amount!r}"
                )
            elif amount * _UNIT_SECONDS[unit] > MAX_OFFSET.total_seconds():
                longest = int(MAX_OFFSET.total_seconds() // _UNIT_SECONDS[unit])
                self._report.problem(
                    item.line_of("after"),
                    f"timer {name!r}: {unit} {amount:,} is longer than a thousand years; at most {longest:,} {unit}",
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


def least_wait(timer: TimerSpec) -> timedelta:
    """How long ``timer`` waits at least after its state is entered, whenever that is: its delay
    from entering (a month counts 28 days, a day 24 hours), or nothing for a fixed instant or a
    delay from a data field (already past when the state is entered again)."""
    if timer.after is None or timer.anchor != ENTERED:
        return timedelta(0)
    seconds = sum(getattr(timer.after, unit) * _UNIT_SECONDS[unit] for unit in OFFSET_UNITS)
    return timedelta(seconds=seconds)


def _shown(wait: timedelta) -> str:
    seconds = wait.total_seconds()
    return f"{seconds:g} s" if seconds < 60 else str(wait)


def _after(wait: timedelta) -> str:
    return f", after {_shown(wait)}" if wait else ""


def loop_problems(
    states: Mapping[str, StateDef], transitions: Sequence[TransitionDef], lines: Mapping[tuple[str, str], int]
) -> list[tuple[int | None, str]]:
    """Each (line, message) of a cycle of timers that waits less than ``LOOP_FLOOR`` per turn.

    The states are joined by their timers: a timer of state A whose trigger takes a transition
    from A to B (any of them, whatever its condition) leads from A to B with its ``least_wait``.
    From each state, the cycle back to it that waits least is found (Dijkstra; workflows have tens
    of states); one message per cycle, at the line of its first timer (``lines``: (state, timer)).
    """
    edges: dict[str, list[tuple[str, str, timedelta]]] = {}
    for state in states.values():
        for timer in state.timers:
            for transition in transitions:
                if transition.trigger == timer.trigger and state.name in transition.sources:
                    edges.setdefault(state.name, []).append((transition.dest, timer.name, least_wait(timer)))
    found: list[tuple[int | None, str]] = []
    reported: set[frozenset[tuple[str, str]]] = set()
    for start in edges:
        path = _shortest_cycle(start, edges)
        if path is None:
            continue
        wait = sum((w for _, _, w in path), timedelta(0))
        steps = frozenset((state, timer) for state, timer, _ in path)
        if wait >= LOOP_FLOOR or steps in reported:
            continue
        reported.add(steps)
        shown = " → ".join(f"{state} (timer {timer}{_after(w)})" for state, timer, w in path) + f" → {start}"
        first_state, first_timer, _ = path[0]
        if not wait:
            message = (
                f"timers would fire in a loop without time passing: {shown}; a loop of timers must wait at "
                f"least {LOOP_FLOOR.days} day per turn: give one of them a delay (after: {{days: 1}}) or a "
                "destination that does not lead back"
            )
        else:
            message = (
                f"timers would fire in a loop every {_shown(wait)}: {shown}; a loop of timers must wait at least "
                f"{LOOP_FLOOR.days} day per turn (it fires without anyone acting, for ever): give timer "
                f"{first_timer!r} a delay of at least after: {{days: 1}}, or a destination that does not lead back"
            )
        found.append((lines.get((first_state, first_timer)), message))
    return found


def _shortest_cycle(
    start: str, edges: Mapping[str, list[tuple[str, str, timedelta]]]
) -> list[tuple[str, str, timedelta]] | None:
    """The (state, timer, wait) steps of the cycle from ``start`` back to it that waits least, or None."""
    queue: list[tuple[timedelta, int, str, list[tuple[str, str, timedelta]]]] = [(timedelta(0), 0, start, [])]
    settled: set[str] = set()
    counter = 1  # ties are broken by insertion order, never by comparing paths
    while queue:
        total, _, state, path = heapq.heappop(queue)
        if path and state == start:
            return path
        if state in settled:
            continue
        settled.add(state)
        for dest, timer, wait in edges.get(state, ()):
            if dest == start or dest not in settled:
                heapq.heappush(queue, (total + wait, counter, dest, [*path, (state, timer, wait)]))
                counter += 1
    return None
