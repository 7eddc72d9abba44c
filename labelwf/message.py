"""A message that can be said in any language: an English msgid with named placeholders, and its values.

Errors build their message with ``N_("trigger %(trigger)s is not allowed …", trigger=Quoted(trigger))``:
``N_`` marks the msgid for ``pybabel extract`` (it is one of its default keywords) and returns a
``Message``. ``str(message)`` is the English text (the msgid filled in as labelwf always wrote it:
a quoted value as Python's ``repr``, a date in ISO 8601); ``labelwf.i18n`` says it in another
language through the ``labelwf`` message catalogue, each value in that language's manner.

The values a placeholder takes:

- ``Quoted(value)``: a value somebody typed or a name, quoted (``'vegepolys'``; in French « vegepolys »);
- ``Term(kind, name)``: a state, trigger or field of a workflow: its id in English, its label where the
  workflow declares one in the other languages;
- ``Word(name)``: a word of labelwf's own vocabulary (a role, ``actor``): its translation in the catalogue;
- ``Listed(items, sep, empty)``: a list of such values, ``empty`` (a message) when there are none;
- a nested ``Message``; a ``datetime``; anything else as ``str``.

A check that refuses a value in a module below the errors raises ``Refused(N_("…"))``, a ``ValueError``
carrying its message; the error that wraps it keeps the message (``said(exc)``), not its English text.

This module is the ground floor: it imports nothing of labelwf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class Quoted:
    """A value shown quoted: ``'x'`` in English (``repr``), « x » in French."""

    value: object


TermKind = Literal["state", "trigger", "field"]


@dataclass(frozen=True)
class Term:
    """A state, trigger or field of a workflow: its id in English (quoted unless ``quoted`` is false),
    its label where the workflow declares one in the other languages (always quoted)."""

    kind: TermKind
    name: str
    quoted: bool = True


@dataclass(frozen=True)
class Word:
    """A word of labelwf's own vocabulary (a role name, ``actor``): translated through the catalogue.

    ``quoted`` words show as ``repr`` in English (``got role 'operator'``)."""

    name: str
    quoted: bool = False


@dataclass(frozen=True)
class Listed:
    """Values joined by ``sep`` (itself a message: ``, `` or `` and ``), or ``empty`` when there are none."""

    items: tuple[object, ...]
    sep: Message | str = ", "
    empty: Message | str = ""


@dataclass(frozen=True)
class Message:
    """An English msgid with ``%(name)s`` placeholders and the values that fill them."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.params:
            return self.msgid
        return self.msgid % {name: english(value) for name, value in self.params.items()}


class Refused(ValueError):
    """A ``ValueError`` that says why in a ``Message``: ``str()`` is its English text; a caller that wraps
    it into a labelwf error passes ``said(exc)`` on, so the other languages say it too."""

    def __init__(self, message: Message) -> None:
        self.message = message
        super().__init__(str(message))


def said(exc: Exception) -> Message | str:
    """What ``exc`` says: its ``Message`` when it is ``Refused``, else its text."""
    return exc.message if isinstance(exc, Refused) else str(exc)


def N_(msgid: str, **params: object) -> Message:
    """The message ``msgid`` with ``params`` (marked for ``pybabel extract``)."""
    return Message(msgid, params)


def listed(items: Sequence[object], sep: Message | str = ", ", empty: Message | str = "") -> Listed:
    """``Listed`` from any sequence."""
    return Listed(tuple(items), sep, empty)


def english(value: object) -> str:
    """``value`` as the English message shows it (as labelwf's messages always showed it)."""
    if isinstance(value, Message):
        return str(value)
    if isinstance(value, Quoted):
        return repr(value.value)
    if isinstance(value, Term):
        return repr(value.name) if value.quoted else value.name
    if isinstance(value, Word):
        return repr(value.name) if value.quoted else value.name
    if isinstance(value, Listed):
        if not value.items:
            return english(value.empty)
        return english(value.sep).join(english(item) for item in value.items)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)
