"""Workflow definitions: the frozen ``Workflow`` and its parts (fields, states, transitions, letters).

They are built only by ``loader.load_workflow``, which validates a file as a whole: nothing uses
a workflow that did not pass validation. The file format is documented in ``docs/workflows.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..letters.spec import LetterDef, Letterhead
from ..message import N_, Quoted, Refused, Term, Word
from ..text import text_problem
from .conditions import Condition
from .timers import TimerSpec, parse_local

MAX_FIELD_TEXT = 4000  # a field's text: a decision's reference, the reasons a letter gives
MAX_LABEL = 120  # a state's, trigger's, field's or recipient's label: one line people read

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
FIELD_TYPES = ("string", "integer", "date", "datetime")
OPERATOR = "operator"
SYSTEM = "system"
DAEMON_ACTOR = "labelwf-daemon"  # the name the daemon acts under; no caller may claim it


@dataclass(frozen=True)
class FieldDef:
    """A data field that transitions may require: its type and, optionally, the values allowed."""

    name: str
    type: str
    choices: tuple[Any, ...] = ()
    description: str = ""
    label: str = ""

    def coerce(self, value: Any, what: str = "data field", *, typed: bool = False) -> Any:
        """Return ``value`` as this field stores it, or raise ``ValueError`` saying what is expected.

        An integer is a whole number, never a bool nor a decimal (2.9 is not 2), or a text of ASCII
        digits with an optional minus (a command line's, a form's, a file's): ``int()`` alone also
        reads ``" 3"``, ``"0_3"`` and ``"٣"``. ``typed`` values (a JSON body's) give a number as a number.
        """
        text = value.strip() if isinstance(value, str) else value
        try:
            if self.type == "integer":
                result: Any = _whole(value, typed)
            elif self.type == "date":
                result = (text if isinstance(text, date) else date.fromisoformat(str(text))).isoformat()
            elif self.type == "datetime":
                result = (text if isinstance(text, datetime) else parse_local(str(text))).isoformat()
            else:
                result = str(text)
                if not result or text_problem(result, what, max_length=MAX_FIELD_TEXT, multiline=True):
                    _fail()
        except (TypeError, ValueError, OverflowError):
            expected = {
                "integer": _WHOLE_TYPED if typed else _WHOLE,
                "date": N_("a date YYYY-MM-DD"),
                "datetime": N_("a date-time YYYY-MM-DDTHH:MM (local time)"),
                "string": _TEXT,
            }[self.type]
            said = N_(
                "%(what)s %(name)s must be %(expected)s, got %(value)s",
                what=Word(what),
                name=Term("field", self.name),
                expected=expected,
                value=Quoted(value),
            )
            raise Refused(said) from None
        if self.choices and result not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            said = N_(
                "%(what)s %(name)s must be one of %(allowed)s, got %(value)s",
                what=Word(what),
                name=Term("field", self.name),
                allowed=allowed,
                value=Quoted(value),
            )
            raise Refused(said)
        return result


def _fail() -> Any:
    raise ValueError


_DIGITS = re.compile(r"-?[0-9]{1,18}")  # ASCII only, and within a 64-bit integer
_LARGEST = 2**63 - 1
_WHOLE = N_(
    "a whole number: ASCII digits 0-9 with an optional minus, at most 18 digits (not a decimal, not true/false)"
)
_WHOLE_TYPED = N_("a whole number written as a JSON integer, such as 3 (not a text, a decimal or true/false)")
_TEXT = N_("a non-empty text of at most %(count)s characters, without control characters", count=f"{MAX_FIELD_TEXT:,}")


def _whole(value: Any, typed: bool) -> int:
    """``value`` as an integer field holds it: a whole number, or ASCII digits if it is an untyped text."""
    if isinstance(value, int) and not isinstance(value, bool) and -_LARGEST <= value <= _LARGEST:
        return value
    if isinstance(value, str) and not typed and _DIGITS.fullmatch(value):
        return int(value)
    raise ValueError


@dataclass(frozen=True)
class StateDef:
    """A state of the workflow, with the timers armed when an instance enters it."""

    name: str
    description: str = ""
    final: bool = False
    timers: tuple[TimerSpec, ...] = ()
    label: str = ""  # how people read it ("Évalué"); the id stays in the API and --json


@dataclass(frozen=True)
class TransitionDef:
    """One declared transition: from ``sources`` on ``trigger`` to ``dest`` when ``condition`` holds."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    condition: Condition | None = None
    requires: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    roles: tuple[str, ...] = (OPERATOR,)
    letters: tuple[str, ...] = ()
    line: int = 0
    label: str = ""  # how people read the decision ("Classement"); one label per trigger

    @property
    def accepts(self) -> tuple[str, ...]:
        """Every data field this transition takes."""
        return self.requires + self.optional


ENDINGS = ("ceased", "merged")  # an entity's changes that end its instance (labelwf.operations.entity_changes)


@dataclass(frozen=True, eq=False)
class Workflow:
    """A validated workflow version: the states, transitions, timers and letters of one programme."""

    name: str
    version: int
    timezone: ZoneInfo
    initial: str
    states: Mapping[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    fields: Mapping[str, FieldDef]
    letters: Mapping[str, LetterDef]
    recipients: Mapping[str, str]
    attributes: tuple[str, ...] = ()
    ranks: Mapping[str, str] = field(default_factory=dict)  # recipient role → rank (labelwf.letters.address)
    letterhead: Letterhead = field(default_factory=Letterhead)
    attribute_types: Mapping[str, FieldDef] = field(default_factory=dict)  # typed ones, checked at import
    title: str = ""
    endings: Mapping[str, str] = field(default_factory=dict)  # ceased / merged → the final state it ends in
    recipient_labels: Mapping[str, str] = field(default_factory=dict)  # role → how people read it ("Préfet de région")
    entity_roles: frozenset[str] = frozenset()  # the recipient roles that stand for the entity (its stakeholder's)
    source: Path = field(default=Path("."))
    templates: Path = field(default=Path("."))

    @property
    def key(self) -> str:
        """``name@version``, how instances refer to this definition."""
        return f"{self.name}@{self.version}"

    @cached_property
    def _by_source(self) -> dict[tuple[str, str], tuple[TransitionDef, ...]]:
        table: dict[tuple[str, str], list[TransitionDef]] = {}
        for transition in self.transitions:
            for source in transition.sources:
                table.setdefault((source, transition.trigger), []).append(transition)
        return {key: tuple(value) for key, value in table.items()}

    @cached_property
    def _triggers(self) -> dict[str, tuple[str, ...]]:
        result: dict[str, list[str]] = {name: [] for name in self.states}
        for source, trigger in self._by_source:
            if trigger not in result[source]:
                result[source].append(trigger)
        return {name: tuple(sorted(triggers)) for name, triggers in result.items()}

    def candidates(self, state: str, trigger: str) -> tuple[TransitionDef, ...]:
        """Return the transitions declared for ``trigger`` from ``state``, in file order."""
        return self._by_source.get((state, trigger), ())

    def triggers_from(self, state: str) -> tuple[str, ...]:
        """Return the triggers that ``state`` can take, sorted."""
        return self._triggers.get(state, ())

    @cached_property
    def all_triggers(self) -> tuple[str, ...]:
        """Every trigger the workflow declares, sorted."""
        return tuple(sorted({t.trigger for t in self.transitions}))

    def state_label(self, state: str | None) -> str:
        """How people read ``state``: its declared label, else its description, else its id."""
        found = self.states.get(state or "")
        return (found.label or found.description or found.name) if found else str(state or "")

    @cached_property
    def _trigger_labels(self) -> dict[str, str]:
        labels: dict[str, str] = {}
        for transition in self.transitions:
            if transition.label:
                labels.setdefault(transition.trigger, transition.label)
        return labels

    def trigger_label(self, trigger: str | None) -> str:
        """How people read ``trigger``: the label one of its transitions declares, else its id."""
        return self._trigger_labels.get(trigger or "", str(trigger or ""))

    def field_label(self, name: str) -> str:
        """How people read the field ``name``: its label, else its description, else its id."""
        found = self.fields.get(name)
        return (found.label or found.description or name) if found else name

    def recipient_label(self, role: str) -> str:
        """How people read the recipient ``role``: its declared label, else its id."""
        return self.recipient_labels.get(role) or role

    @cached_property
    def _timer_labels(self) -> dict[str, str]:
        labels: dict[str, str] = {}
        for state in self.states.values():
            for timer in state.timers:
                if timer.label:
                    labels.setdefault(timer.name, timer.label)
        return labels

    def timer_label(self, name: str) -> str:
        """How people name the deadline ``name``: the label its timers declare, else its id."""
        return self._timer_labels.get(name, name)
