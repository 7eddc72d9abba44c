"""French typography of a rendered letter: apostrophes, guillemets and the spaces that do not break.

Applied to the text as rendered (the template's own words and every value it printed alike):
a straight apostrophe becomes ’, "quoted" text becomes « quoted », a no-break space goes inside
guillemets and before « : » (U+00A0), a narrow one before « ; ! ? » (U+202F), and "1 janvier"
becomes "1er janvier". In HTML only the text between tags changes (not the markup, not a
``<style>``). E-mail addresses, URLs and times (10:30) are left as they are.
"""

from __future__ import annotations

import re

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
    (re.compile(r"(?<=[\w»)\]’.])[ \u00a0\u202f]*([;!?])"), NNBSP + r"\1"),
    (re.compile(r"(?<=[\w»)\]’.])[ \u00a0\u202f]*:(?=\s|$)"), NBSP + ":"),
    (re.compile(rf"\b1 ({_MONTHS})\b"), r"1er \1"),
)
_TEXT_NODES = re.compile(r"(<style\b.*?</style>|<script\b.*?</script>|<[^>]*>)", re.DOTALL | re.IGNORECASE)


def french(text: str) -> str:
    """``text`` with French typography (see the module's doc); e-mails, URLs and times untouched."""
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
