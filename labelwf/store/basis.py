"""The basis of a fact (its provenance): the public record with its source keys, an assumption, or
invented data. Kept with each event and hashed with it (``labelwf.audit.hashing``, formats 8 and 9).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ..text import text_problem


class BasisKind(StrEnum):
    """Where a fact comes from: the public record, an assumption, or invented data (a specimen)."""

    RECORD = "record"  # the public record gives it (``source``: its keys)
    ASSUMED = "assumed"  # assumed where the record is silent (``text``: the assumption)
    SYNTHETIC = "synthetic"  # invented to fill a count the record gives without names


MAX_BASIS_SOURCE, MAX_BASIS_TEXT = 200, 2000


@dataclass(frozen=True, slots=True)
class Basis:
    """The basis of an event (its provenance), hashed with it (formats 8 and 9).

    ``record`` needs ``source`` (source keys of the public record, several joined by ", ");
    ``assumed`` needs ``text`` (the assumption) and may name a ``source``; ``synthetic`` needs
    ``text`` (what was invented and why). An event without a basis is the act itself.
    """

    kind: BasisKind
    source: str | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        problem = _basis_problem(self.kind, self.source, self.text)
        if problem is not None:
            raise ValueError(problem)

    @classmethod
    def record(cls, source: str) -> Basis:
        """The public record gives it, under ``source`` (its keys, e.g. ``"VIP-23, WTM-1213"``)."""
        return cls(BasisKind.RECORD, source=source)

    @classmethod
    def assumed(cls, text: str, source: str | None = None) -> Basis:
        """Assumed where the record is silent: ``text`` says what (``source``: what it rests on)."""
        return cls(BasisKind.ASSUMED, source=source, text=text)

    @classmethod
    def said(cls, source: str | None, assumed: str | None) -> Basis | None:
        """The basis an act's ``source`` (the record's keys) and ``assumed`` text give: an assumption
        (resting on ``source``, if named) when it assumes, else the record, else None (the act itself)."""
        if assumed is not None:
            return cls.assumed(assumed, source=source)
        return cls.record(source) if source is not None else None

    @classmethod
    def synthetic(cls, text: str) -> Basis:
        """Invented data: ``text`` says what and why."""
        return cls(BasisKind.SYNTHETIC, text=text)

    def as_json(self) -> dict[str, str]:
        """The stored and hashed form: ``{"kind": …}`` and ``source`` / ``text`` when set."""
        found = {"kind": self.kind.value}
        if self.source is not None:
            found["source"] = self.source
        if self.text is not None:
            found["text"] = self.text
        return found

    @property
    def described(self) -> str:
        """The basis as a person reads it (history, console): ``Source : VIP-23``,
        ``Hypothèse : …`` or ``Donnée fictive (synthétique) : …``."""
        if self.kind is BasisKind.RECORD:
            return f"Source : {self.source}"
        if self.kind is BasisKind.ASSUMED:
            return f"Hypothèse : {self.text}" + (f" (source : {self.source})" if self.source else "")
        return f"Donnée fictive (synthétique) : {self.text}"

    @classmethod
    def parse(cls, value: object) -> Basis:
        """A ``Basis`` from its JSON form, or ``ValueError`` saying what is wrong and what is expected."""
        if isinstance(value, Basis):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"a basis is an object with a 'kind' ({_KINDS}), got {value!r}")
        unknown = sorted(str(k) for k in value if k not in ("kind", "source", "text"))
        if unknown:
            raise ValueError(f"a basis takes the keys kind, source and text; got also {', '.join(unknown)}")
        kind, source, text = value.get("kind"), value.get("source"), value.get("text")
        if kind not in _KINDS_SET:
            raise ValueError(f"a basis's kind is one of {_KINDS}; got {kind!r}")
        for name, given in (("source", source), ("text", text)):
            if given is not None and not isinstance(given, str):
                raise ValueError(f"a basis's {name} is a text; got {given!r}")
        return cls(BasisKind(kind), source=source, text=text)


_KINDS = ", ".join(k.value for k in BasisKind)
_KINDS_SET = frozenset(k.value for k in BasisKind)


def _basis_problem(kind: object, source: str | None, text: str | None) -> str | None:
    """Why these fields make no basis, or None."""
    if not isinstance(kind, BasisKind):
        return f"a basis's kind is one of {_KINDS}; got {kind!r}"
    for name, value, longest, multiline in (
        ("source", source, MAX_BASIS_SOURCE, False),
        ("text", text, MAX_BASIS_TEXT, True),
    ):
        if value is None:
            continue
        if not value.strip():
            return f"a basis's {name}, when given, is a non-empty text; got {value!r}"
        problem = text_problem(value, f"the basis's {name}", max_length=longest, multiline=multiline)
        if problem is not None:
            return problem
    if kind is BasisKind.RECORD and source is None:
        return "a 'record' basis names its source (the record's keys, e.g. 'VIP-23'); none was given"
    if kind is BasisKind.RECORD and text is not None:
        return f"a 'record' basis has a source only, no text; got text {text!r} (an assumption is 'assumed')"
    if kind is not BasisKind.RECORD and text is None:
        return f"an {kind.value!r} basis says in its text what was {kind.value}; no text was given"
    if kind is BasisKind.SYNTHETIC and source is not None:
        return f"a 'synthetic' basis has no source (the record does not give it); got source {source!r}"
    return None


def basis_from_json(value: object) -> Basis | None:
    """The stored column's value as a ``Basis`` (None: the act itself)."""
    return None if value is None else Basis.parse(value)
