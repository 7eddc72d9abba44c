"""The mentions the law asks of a decision letter, as a workflow declares them and a letter reads them.

- ``LegalBasis``: a text a decision rests on (``legal_basis:`` of a letter in the workflow file), with
  the source key of the public record it comes from, and the rule it states (what the reasons of an
  unfavourable decision cite "en droit", beside the facts of its ``motif``);
- ``OnlineRecourse``: the online filing of a recourse (Télérecours citoyens), mentioned in letters
  dated from its opening on (``online_recourse:`` of the letterhead); where the record does not give
  the opening date, its ``assumed`` says so;
- ``duration_fr``: a contract's duration written from its start and end dates ("trois ans", "un an
  et six mois"), never a fixed text.

The workflow loader reads them with ``legal_bases`` and ``online_recourse``; the renderer gives a
template the namespace ``mentions`` (``mentions_of``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, Protocol

from .filters import MONTHS_FR

_SOURCE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
MAX_TEXT = 600
NUMBERS = ("", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze")


@dataclass(frozen=True)
class LegalBasis:
    """A text a decision rests on: how a letter cites it, its source keys in the record, the rule it states."""

    text: str  # "l’article 24 de la loi n° 2004-1484 du 30 décembre 2004 de finances pour 2005"
    source: str  # the record's source keys, "LF05-24"
    rule: str = ""  # what it provides, cited "en droit" by an unfavourable decision's reasons
    assumed: str = ""  # what the record does not give, when the citation rests on an assumption


@dataclass(frozen=True)
class OnlineRecourse:
    """The online filing of a recourse before the administrative courts, from its opening day on."""

    since: date
    name: str  # "l’application Télérecours citoyens"
    address: str  # "www.telerecours.fr"
    source: str = ""
    assumed: str = ""  # why the date is not the record's, when it is not


class Reporter(Protocol):
    """What collects the problems of the workflow file being read (``workflow.loader``'s builder)."""

    def problem(self, line: int | None, message: str) -> None: ...


def _line_of(raw: Any, key: object, default: int) -> int:
    line_of = getattr(raw, "line_of", None)
    found = line_of(key) if line_of is not None else None
    return found if isinstance(found, int) else default


def _text(value: Any) -> str | None:
    """A one-line printable text of at most ``MAX_TEXT`` characters, or None."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        return None
    text = " ".join(value.split())
    return text if text.isprintable() else None


def _sources(value: Any) -> str | None:
    """Source keys separated by commas ("AE-2010, CG-suites"), or None."""
    if not isinstance(value, str):
        return None
    keys = [k.strip() for k in value.split(",")]
    if not keys or not all(k and len(k) <= 40 and set(k) <= _SOURCE_KEY_CHARS for k in keys):
        return None
    return ", ".join(keys)


def _what(letter: str) -> str:
    return "letterhead" if letter == "letterhead" else f"letter {letter!r}"


def legal_bases(b: Reporter, raw: Any, line: int, letter: str) -> tuple[LegalBasis, ...]:
    """A ``legal_basis`` (of ``letter``, or of the ``letterhead`` for every letter): a list of
    ``{text, source, rule?, assumed?}``, each refused with what is right."""
    if raw is None:
        return ()
    expected = (
        "a list of {text, source} (optionally rule and assumed), such as "
        '{text: "l\'article 24 de la loi n° 2004-1484 du 30 décembre 2004 de finances pour 2005", source: LF05-24}'
    )
    if not isinstance(raw, list):
        b.problem(line, f"{_what(letter)}: legal_basis must be {expected}; got {raw!r}")
        return ()
    found = []
    for n, item in enumerate(raw, 1):
        at = getattr(item, "line", line)
        if not isinstance(item, dict):
            b.problem(at, f"{_what(letter)}: legal_basis item {n} must be a mapping: {expected}; got {item!r}")
            continue
        unknown = sorted(str(k) for k in item if k not in ("text", "source", "rule", "assumed"))
        if unknown:
            b.problem(at, f"{_what(letter)}: legal_basis item {n} has unknown keys {', '.join(unknown)}: {expected}")
        text, source = _text(item.get("text")), _sources(item.get("source"))
        rule = _text(item["rule"]) if "rule" in item else ""
        assumed = _text(item["assumed"]) if "assumed" in item else ""
        if text is None:
            b.problem(
                _line_of(item, "text", at),
                f"{_what(letter)}: legal_basis item {n} needs text, one line of at most {MAX_TEXT} characters "
                f"(how the letter cites it); got {item.get('text')!r}",
            )
        if source is None:
            b.problem(
                _line_of(item, "source", at),
                f"{_what(letter)}: legal_basis item {n} needs source, the record's source keys separated by "
                f"', ' (such as LF05-24); got {item.get('source')!r}",
            )
        if rule is None or assumed is None:
            key = "rule" if rule is None else "assumed"
            b.problem(
                _line_of(item, key, at),
                f"{_what(letter)}: legal_basis item {n}: {key} must be one line of at most {MAX_TEXT} characters; "
                f"got {item.get(key)!r}",
            )
        if text is not None and source is not None and rule is not None and assumed is not None:
            found.append(LegalBasis(text, source, rule, assumed))
    return tuple(found)


def online_recourse(b: Reporter, raw: Any, line: int) -> OnlineRecourse | None:
    """The letterhead's ``online_recourse``: ``{since, name, address, source?, assumed?}``; one of source or
    assumed says where its date comes from."""
    if raw is None:
        return None
    expected = (
        "a mapping {since: YYYY-MM-DD, name, address, source or assumed}, such as "
        "{since: 2018-11-30, name: l'application Télérecours citoyens, address: www.telerecours.fr, assumed: …}"
    )
    if not isinstance(raw, dict):
        b.problem(line, f"letterhead online_recourse must be {expected}; got {raw!r}")
        return None
    unknown = sorted(str(k) for k in raw if k not in ("since", "name", "address", "source", "assumed"))
    if unknown:
        b.problem(line, f"letterhead online_recourse has unknown keys {', '.join(unknown)}: {expected}")
    since = raw.get("since")
    if isinstance(since, str):
        try:
            since = date.fromisoformat(since)
        except ValueError:
            since = None
    name, address = _text(raw.get("name")), _text(raw.get("address"))
    source = _sources(raw["source"]) if "source" in raw else ""
    assumed = _text(raw["assumed"]) if "assumed" in raw else ""
    problems = []
    if not isinstance(since, date) or isinstance(since, datetime):
        problems.append(f"since {raw.get('since')!r} is not a date YYYY-MM-DD (the day it opened)")
    if name is None or address is None:
        problems.append("name and address are one-line texts (what the letter names, where to file)")
    if source is None or assumed is None or not (source or assumed):
        problems.append("source (the record's keys) or assumed (why the date is supposed) says where it comes from")
    if problems:
        b.problem(line, f"letterhead online_recourse: {'; '.join(problems)}: {expected}")
        return None
    assert isinstance(since, date) and name is not None and address is not None  # checked above
    return OnlineRecourse(since, name, address, source or "", assumed or "")


def duration_fr(start: Any, end: Any) -> str:
    """``{{ data.contract_start | duration(end) }}``: the time from an ISO start to an ISO end ("trois ans",
    "un an et six mois", "six mois"); an end at midnight is the first day after the period."""
    first, after = (date.fromisoformat(str(v)[:10]) for v in (start, end))
    if after <= first:
        raise ValueError(f"the end {after.isoformat()} is not after the start {first.isoformat()}")
    months = (after.year - first.year) * 12 + after.month - first.month - (after.day < first.day)
    days = (after - _plus_months(first, months)).days
    years, months = divmod(months, 12)
    parts = []
    if years:
        parts.append(f"{_number(years)} an{'s' if years > 1 else ''}")
    if months:
        parts.append(f"{_number(months)} mois")
    if days:
        parts.append(f"{_number(days)} jour{'s' if days > 1 else ''}")
    return " et ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def _plus_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    return date(day.year + year, month + 1, day.day)


def _number(n: int) -> str:
    return NUMBERS[n] if n < len(NUMBERS) else str(n)


def last_day_fr(end: Any) -> str:
    """``{{ data.contract_end | last_day }}``: the last day of a period ending at ``end`` (an instant at
    midnight ends the day before), written the French way."""
    text = str(end)
    day = date.fromisoformat(text[:10])
    if len(text) > 10 and text[11:16] == "00:00":
        day = date.fromordinal(day.toordinal() - 1)
    return f"{'1er' if day.day == 1 else day.day} {MONTHS_FR[day.month - 1]} {day.year}"


def mentions_of(
    bases: Sequence[LegalBasis],
    recourse: OnlineRecourse | None,
    *,
    decided: date | None,
    decided_fr: str = "",
    decision: bool,
) -> SimpleNamespace:
    """What a template reads as ``mentions``: the legal bases cited, their rules (for the reasons), the
    decision's date, whether the letter notifies a decision (and so the means of appeal), and the online
    recourse when it is open on the decision's date."""
    online = recourse if recourse is not None and decided is not None and recourse.since <= decided else None
    return SimpleNamespace(
        decided_fr=decided_fr,
        legal_basis=[basis.text for basis in bases],
        rules=[basis.rule for basis in bases if basis.rule],
        sources=", ".join(dict.fromkeys(basis.source for basis in bases)),
        decision=decision,
        online=None if online is None else SimpleNamespace(name=online.name, address=online.address),
    )


MENTION_FILTERS = {"duration": duration_fr, "last_day": last_day_fr}  # added to the letters' filters
