"""The letter checker: what, in a rendered letter, a French administration could not send.

A letter leaves under the State's signature: a template that let through ``review_18_months``,
``2010-06-30T22:00:00+00:00``, a straight apostrophe or ``M./Mme`` makes the administration look
careless, and an unfavourable decision that omits its reasons or the means of appeal can be
annulled for that alone. ``check_letter`` reads the plain-text rendering (the HTML says the same
in markup) and returns one ``Finding`` per problem, in the order they appear. It is a pure
function, run on thousands of letters: the patterns are compiled once, here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a letter: a stable kebab-case ``code``, what is wrong, and the text around it."""

    code: str
    message: str
    excerpt: str


EXCERPT = 60  # characters of text shown around a problem, at most

# E-mail addresses and URLs may hold "_", ":" or "?": hidden before the checks of characters. For
# speed no pattern starts with ``\b`` (``re`` then tries every position): the boundaries that
# matter are checked after a match, and ``_SNAKE`` runs only around an underscore.
_DOMAIN = re.compile(r"@[\w-]+(?:\.[\w-]+)+")  # an address's local part is found backwards from here
_URL = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>«»\"']*[^\s<>«»\"'.,;:!?)]")
_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)")
_SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")  # run only on the words around an underscore
_WORD = re.compile(r"timer|trigger|None|null|True|False|undefined")
_STRAIGHT = re.compile("['\"]")
_FRENCH_SPACES = "\u00a0\u202f"  # no-break space, narrow no-break space
_SPACED = re.compile("[;:!?»«]")
_MONTHS = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
_ORDINAL = re.compile(rf"1[ \u00a0\u202f]+(?:{_MONTHS})\b", re.IGNORECASE)
_CIVILITY = (
    re.compile(r"(?:M\.|Mme|[Mm]adame|[Mm]onsieur)\s*/\s*(?:M\.|Mme\b|[Mm]adame\b|[Mm]onsieur\b)"),
    re.compile(r"(?:Madame|Monsieur|Mme|M\.)\s+None\b"),
    re.compile(r"\[\s*(?i:civilit[ée])\s*\]"),
    re.compile(r"^[ \t\u00a0]*,[ \t\u00a0]*$", re.MULTILINE),  # a formule d'appel with nothing before its comma
)

# The mentions every letter carries, then those of an unfavourable decision (with what they are).
_SALUTATION = re.compile(r"^[ \t]*(?:(?:Madame|Monsieur)\b[^,\n.;:!?]*,[ \t\u00a0]*)+$", re.MULTILINE)
_COURTESY = re.compile(r"[Jj]e\s+vous\s+prie\s+d’agréer|[Vv]euillez\s+agréer")
_COURTESY_STRAIGHT = re.compile(r"[Jj]e\s+vous\s+prie\s+d'agréer")
_MENTIONS = (
    (re.compile(r"Affaire\s+suivie\s+par"), "the 'Affaire suivie par' line (who handles the case)"),
    (re.compile(r"^[ \t]*Objet\b", re.MULTILINE), "the 'Objet' line (what the letter is about)"),
    (_SALUTATION, "the formule d'appel (a line such as 'Monsieur le Préfet,')"),
)
_UNFAVOURABLE = (
    (re.compile(r"[Mm]otifs\b"), "the reasons of the decision ('Motifs')"),
    (re.compile(r"prend(?:ra)?\s+effet\s+le\b"), "the date the decision takes effect ('prend effet le')"),
    (re.compile(r"recours\s+gracieux"), "the means of appeal: a 'recours gracieux'"),
    (re.compile(r"tribunal\s+administratif"), "the means of appeal: the 'tribunal administratif'"),
    (re.compile(r"deux\s+mois\b"), "the time limit of appeal ('deux mois')"),
)
_END_OF_SENTENCE = re.compile(r"(?<!\bM)\.|!")  # a full stop, not that of "M. le Maire"


def check_letter(subject: str, text: str, *, unfavourable: bool = False) -> list[Finding]:
    """Every problem of a letter (its subject first, then its text), in the order they appear.

    ``unfavourable``: the letter notifies a decision against its recipient, so it must also state
    the reasons, the effective date and the means and time limit of appeal.
    """
    found = [(0, start, f) for start, f in _typography(subject, " in the subject")]
    found += [(1, start, f) for start, f in _typography(text, "")]
    found += [(1, start, f) for start, f in _civility(text)]
    found += [(2, 0, f) for f in _mentions(text, unfavourable)]
    found.sort(key=lambda item: (item[0], item[1]))
    return [finding for _, _, finding in found]


def _typography(text: str, where: str) -> list[tuple[int, Finding]]:
    """Technical tokens, straight quotes, missing no-break spaces and ordinals, with their positions."""
    masked = _hidden(text)
    found = [
        (start, Finding("technical-token", f"{kind} {token!r}{where}: a reader cannot make sense of it", excerpt))
        for start, kind, token, excerpt in _technical(masked, text)
    ]
    for m in _STRAIGHT.finditer(masked):
        quote, proper = ("apostrophe (')", "’") if m.group() == "'" else ('double quote (")', "« »")
        message = f"a straight {quote}{where}: French typography uses {proper}"
        found.append((m.start(), Finding("straight-quote", message, _excerpt(text, m.start(), m.end()))))
    for m in _SPACED.finditer(masked):
        problem = _spacing(masked, m.start())
        if problem is not None:
            message = f"{problem}{where}: French typography wants a no-break space (U+00A0 or U+202F)"
            found.append((m.start(), Finding("missing-space", message, _excerpt(text, m.start(), m.end()))))
    for m in _ORDINAL.finditer(text):
        if not _word_char(text, m.start() - 1):
            message = f"{' '.join(m.group().split())!r}{where}: the first of the month is written '1er'"
            found.append((m.start(), Finding("ordinal", message, _excerpt(text, m.start(), m.end()))))
    return found


def _hidden(text: str) -> str:
    """``text`` with its e-mail addresses and URLs overwritten with ``X``, so that positions stay."""
    spans = []
    if "@" in text:
        for m in _DOMAIN.finditer(text):
            start = m.start()
            while start and (text[start - 1].isalnum() or text[start - 1] in "_.+-"):
                start -= 1
            if start < m.start():
                spans.append((start - 7 if text.endswith("mailto:", 0, start) else start, m.end()))
    if "://" in text or "www." in text:
        spans += [m.span() for m in _URL.finditer(text)]
    pieces, done = [], 0
    for start, end in sorted(spans):
        start = max(start, done)
        if end > start:
            pieces += [text[done:start], "X" * (end - start)]
            done = end
    return "".join(pieces) + text[done:] if pieces else text


def _technical(masked: str, text: str) -> list[tuple[int, str, str, str]]:
    """The technical tokens of ``masked``: (position, kind, token, excerpt from ``text``)."""
    found = [(m, "unrendered template syntax") for m in _TEMPLATE.finditer(masked)]
    found += [(m, "an ISO 8601 date") for m in _ISO.finditer(masked) if not _word_char(masked, m.start() - 1)]
    found += [(m, "a snake_case identifier") for m in _snake_cases(masked)]
    found += [
        (m, "a programming word")
        for m in _WORD.finditer(masked)
        if not _word_char(masked, m.start() - 1) and not _word_char(masked, m.end())
    ]
    return [(m.start(), kind, m.group(), _excerpt(text, m.start(), m.end())) for m, kind in found]


def _snake_cases(text: str) -> list[re.Match[str]]:
    """The snake_case identifiers: ``_SNAKE`` run on the run of non-blanks around each underscore."""
    found: list[re.Match[str]] = []
    at = text.find("_")
    while at >= 0:
        start = max(text.rfind(" ", 0, at), text.rfind("\n", 0, at)) + 1
        ends = [end for end in (text.find(" ", at), text.find("\n", at)) if end >= 0]
        end = min(ends, default=len(text))
        found += _SNAKE.finditer(text, start, end)
        at = text.find("_", end)
    return found


def _word_char(text: str, at: int) -> bool:
    """Whether ``text[at]`` exists and is a word character (what ``\\b`` looks at)."""
    return 0 <= at < len(text) and (text[at].isalnum() or text[at] == "_")


def _spacing(text: str, at: int) -> str | None:
    """What is wrong with the space around the mark at ``at`` (``; : ! ? » «``), or None."""
    mark = text[at]
    if mark == "«":
        after = text[at + 1 : at + 2]
        if after in _FRENCH_SPACES and after:
            return None
        return f"a plain space after '{mark}'" if after == " " else f"no space after '{mark}'"
    before = text[at - 1] if at else ""
    if before and before in _FRENCH_SPACES:
        return None
    if mark == ":" and before.isdigit() and text[at + 1 : at + 2].isdigit():
        return None  # a time such as 10:30
    if mark in "!?" and before in ("!", "?"):
        return None  # '?!': one space before the group
    return f"a plain space before '{mark}'" if before == " " else f"no space before '{mark}'"


def _civility(text: str) -> list[tuple[int, Finding]]:
    """Forms of address the template left for a person to choose (``M./Mme``, ``[civilité]``, ``,``)."""
    found = []
    for pattern in _CIVILITY:
        for m in pattern.finditer(text):
            if pattern in _CIVILITY[:2] and _word_char(text, m.start() - 1):  # not within a word
                continue
            shown = m.group().strip() or ","
            message = f"an unresolved form of address {shown!r}: the recipient's civility was never filled in"
            found.append((m.start(), Finding("unresolved-civility", message, _excerpt(text, m.start(), m.end()))))
    return found


def _mentions(text: str, unfavourable: bool) -> list[Finding]:
    """The mentions missing from the letter, one finding each."""
    missing = [what for pattern, what in _MENTIONS if pattern.search(text) is None]
    courtesy = _COURTESY.search(text)
    if courtesy is None:
        straight = _COURTESY_STRAIGHT.search(text)
        note = ", here written with a straight apostrophe" if straight else ""
        missing.append(f"the formule de politesse ('Je vous prie d’agréer' or 'Veuillez agréer'){note}")
    else:
        ends = _END_OF_SENTENCE.search(text, courtesy.end())
        line_end = text.find("\n", ends.end() if ends else courtesy.end())
        if line_end < 0 or not text[line_end:].strip():
            missing.append("the signature (a line after the formule de politesse)")
    if unfavourable:
        missing += [what for pattern, what in _UNFAVOURABLE if pattern.search(text) is None]
    return [Finding("missing-mention", f"missing {what}", "") for what in missing]


def _excerpt(text: str, start: int, end: int) -> str:
    """The text from ``start`` to ``end`` with some context, on one line, at most ``EXCERPT`` characters."""
    if end - start >= EXCERPT:
        return _one_line(text[start : start + EXCERPT - 1]) + "…"
    room = (EXCERPT - 2 - (end - start)) // 2  # two characters kept for the ellipses
    left, right = max(0, start - room), min(len(text), end + room)
    return ("…" if left else "") + _one_line(text[left:right]).strip(" ") + ("…" if right < len(text) else "")


def _one_line(text: str) -> str:
    """``text`` on one line: each line break shown as ⏎."""
    return text.replace("\r", "").replace("\n", "⏎")
