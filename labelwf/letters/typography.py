"""French typography of letters: apostrophes, guillemets and the spaces that do not break.

A straight apostrophe becomes ’, "quoted" text becomes « quoted », a no-break space goes inside
guillemets and before « : » (U+00A0), a narrow one before « ; ! ? » (U+202F), and "1 janvier"
becomes "1er janvier". In HTML only the text between tags changes (not the markup, not a
``<style>``). E-mail addresses, URLs and times (10:30) are left as they are.

Letters apply it twice, and never to a whole rendered letter (the hot path of a fire): to a
template's own words once, when it is compiled (``typeset_template``, Jinja's tags held aside
so that a rule sees ``{{ name }} :`` as a word and its colon), and to each value it prints
(``french``, cached: names and dates repeat from letter to letter).
"""

from __future__ import annotations

import re
from functools import lru_cache

NBSP, NNBSP = "\u00a0", "\u202f"
_MONTHS = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
_KEEP = re.compile(r"(?:https?://|mailto:)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b\d{1,2}:\d{2}\b|&#?[0-9A-Za-z]+;")
_RULES = (
    (re.compile(r"(?<=\w)'(?=\w)"), "’"),  # l'expression → l’expression
    (re.compile(r"(?<=\w)'"), "’"),  # a closing elision at a word's end
    (re.compile(r"'"), "’"),
    (re.compile(r'"\s*([^"\n]*?)\s*"'), "«" + NBSP + r"\1" + NBSP + "»"),
    (re.compile(r'"(?=\w)'), "«"),  # a quote left alone: opening before a word, closing otherwise
    (re.compile(r'"'), "»"),
    (re.compile(r"«[ \u00a0\u202f]*"), "«" + NBSP),
    (re.compile(r"[ \u00a0\u202f]*»"), NBSP + "»"),
    (re.compile(r"(?<=[\w»)\]’.\x02])[ \u00a0\u202f]*([;!?])"), NNBSP + r"\1"),
    (re.compile(r"(?<=[\w»)\]’.\x02])[ \u00a0\u202f]*:(?=\s|$|\x01)"), NBSP + ":"),
    (re.compile(rf"\b1 ({_MONTHS})\b"), r"1er \1"),
)
# What at least one rule needs: a text without any of these is left as it is (names, references,
# most values a letter prints), found by one search instead of the rules' dozen substitutions.
_TRIGGERS = re.compile(rf"['\"«»;!?:]|\b1 (?:{_MONTHS})\b")
_TEXT_NODES = re.compile(r"(<style\b.*?</style>|<script\b.*?</script>|<[^>]*>)", re.DOTALL | re.IGNORECASE)


@lru_cache(maxsize=8192)
def french(text: str) -> str:
    """``text`` with French typography (see the module's doc); e-mails, URLs and times untouched."""
    if _TRIGGERS.search(text) is None:
        return text
    kept: list[str] = []

    def hold(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    work = _KEEP.sub(hold, text)
    for pattern, replacement in _RULES:
        work = pattern.sub(replacement, work)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], work)


def french_html(html: str) -> str:
    """``html`` with French typography in its text, its markup untouched."""
    parts = _TEXT_NODES.split(html)
    return "".join(part if i % 2 else french(_QUOTES.sub(_unquote, part)) for i, part in enumerate(parts))


_QUOTES = re.compile(r"&#39;|&#x27;|&#34;|&quot;")  # what autoescaping wrote of a quote, plain in a text node


def _unquote(match: re.Match[str]) -> str:
    return "'" if match.group(0) in ("&#39;", "&#x27;") else '"'


_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def typeset_template(source: str, *, html: bool) -> str:
    """A template's source with French typography in its own words; its Jinja tags (and, in HTML,
    its markup) unchanged."""
    tags: list[str] = []

    def hold(match: re.Match[str]) -> str:
        tags.append(match.group(0))
        return f"\x01{len(tags) - 1}\x02"

    work = _JINJA.sub(hold, source)
    work = french_html(work) if html else french(work)
    return re.sub(r"\x01(\d+)\x02", lambda m: tags[int(m.group(1))], work)
