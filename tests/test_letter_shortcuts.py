"""The shortcuts a storm fire's letters take write exactly what the long way writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.exceptions import SecurityError

from labelwf.letters import typography
from labelwf.letters.render import LetterRenderer, letter_environment
from labelwf.letters.template_safety import MAX_LETTER, bounded_render

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "poles-2008"
PIECES = ["a", "b", "1", " ", ":", ";", "!", "?", "'", '"', "«", "»", "\u00a0", "\u202f", ".", ")", "]", "’", "@", "-"]
PIECES += ["\n", "x.fr", "janvier", "1 mai", "http://a.b", "a@b.fr", "10:30", "&amp;", "\x01", "\x02"]


def every_rule(text: str) -> str:
    """French typography applied rule by rule, without the shortcut for text no rule touches."""
    kept: list[str] = []

    def hold(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    work = typography._KEEP.sub(hold, text)
    for pattern, replacement in typography._RULES:
        work = pattern.sub(replacement, work)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], work)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join))
def test_typography_of_a_value_is_the_same_with_or_without_the_shortcut(text: str) -> None:
    # Given any text made of what the rules look for; When it is typeset; Then the rules' own result
    assert typography.french.__wrapped__(text) == every_rule(text)


def test_a_name_or_a_reference_is_printed_as_it_is() -> None:
    assert typography.french("POLES-2008/storm-000123/002-1") == "POLES-2008/storm-000123/002-1"
    assert typography.french("Pôle Mer Bretagne") == "Pôle Mer Bretagne"


def test_a_letter_of_many_small_parts_is_still_refused_past_its_size() -> None:
    # Given a template that prints one character per loop turn, far more than a letter holds
    env = letter_environment(TEMPLATES, False)
    template = env.from_string("{% for line in lines %}{{ line }}{% endfor %}")
    # When it renders more than MAX_LETTER characters in parts of 40,000; Then it is refused
    with pytest.raises(SecurityError, match="passes 1,000,000 characters"):
        bounded_render(template, {"lines": ["x" * 40_000] * (MAX_LETTER // 40_000 + 2)})


def test_a_recipient_line_without_tags_is_its_typeset_text_whatever_the_context() -> None:
    renderer = LetterRenderer(TEMPLATES)
    context = {"entity": {"name": "Enfant"}}
    lines = renderer.lines(["Madame la Préfète de l'Ain", "{{ entity.name }} : objet"], context)
    assert lines == ["Madame la Préfète de l’Ain", "Enfant\u00a0: objet"]
    assert renderer.lines(["Madame la Préfète de l'Ain"], {}) == ["Madame la Préfète de l’Ain"]
