"""The filters letter templates may use besides Jinja's own, and the French date they write.

``date_fr`` (an ISO date the French way), ``lead`` (the first of a list), ``wrap_paragraphs`` (plain
text re-flowed to 78 columns), ``paragraphs`` (HTML paragraphs), ``pole`` (a pole's name with its
noun). The letters' environment wraps each in ``template_safety.bounded_filter``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from markupsafe import Markup

MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def date_fr_text(value: Any) -> str:
    """``{{ data.contract_start | date_fr }}``: an ISO date or date-time written the French way."""
    year, month, day = (int(x) for x in str(value)[:10].split("-"))
    return f"{'1er' if day == 1 else day} {MONTHS_FR[month - 1]} {year}"


def lead(value: Any) -> str:
    """``Midi-Pyrénées; Aquitaine`` → ``Midi-Pyrénées``: the first of a list, without notes in parentheses."""
    return re.split(r"[;(]", str(value or ""), maxsplit=1)[0].strip()


def _wrap_paragraphs(text: Any, width: int = 78) -> str:
    """Re-flow plain-text paragraphs (separated by blank lines) to ``width`` columns."""
    return _wrapped(str(text), int(width))


@lru_cache(maxsize=64)  # a letter's body is the same for each of its recipients: re-flowed once
def _wrapped(text: str, width: int) -> str:
    paragraphs = re.split(r"\n[ \t]*\n", text.strip(" \t\n"))
    return "\n\n".join(_fill(words(p), width) for p in paragraphs if p.strip())


def words(text: str) -> list[str]:
    """The words of a paragraph: split at spaces and line breaks, never at a no-break space."""
    return [w for w in re.split(r"[ \t\n]+", text) if w]


def _fill(words: list[str], width: int) -> str:
    """Greedy word wrap (what textwrap.fill does for prose, without its regex machinery: letters are hot)."""
    lines: list[str] = []
    line = ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)


def _paragraphs(markup: Any) -> Markup:
    """HTML paragraphs from rendered (already escaped) text separated by blank lines."""
    return _html_paragraphs(str(markup))


@lru_cache(maxsize=64)  # a letter's body is the same for each of its recipients: split once
def _html_paragraphs(text: str) -> Markup:
    parts = [" ".join(words(p)) for p in re.split(r"\n[ \t]*\n", text.strip(" \t\n")) if p.strip()]
    return Markup("\n".join(f"<p>{p}</p>" for p in parts))


def _pole(name: Any, capital: bool = False) -> str:
    """``{{ entity.name | pole }}``: "pôle Enfant", but "Pôle Mer Bretagne" for a name that says it already."""
    text = str(name)
    if re.match(r"(?i)p[ôo]le\b", text):
        return text
    return f"{'Pôle' if capital else 'pôle'} {text}"


FILTERS = {
    "date_fr": date_fr_text,
    "lead": lead,
    "wrap_paragraphs": _wrap_paragraphs,
    "paragraphs": _paragraphs,
    "pole": _pole,
}
