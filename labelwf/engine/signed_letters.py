"""What a signed letter is once delivered: its frozen text and HTML dated the day it was signed, naming
who signed it where the directory named no one, saying so when a demonstration certificate signed it."""

from __future__ import annotations

from dataclasses import replace
from datetime import tzinfo

from ..letters.dating import dated, named
from ..letters.demonstration import with_mention_html, with_mention_text
from ..store.records import Letter


def signed_bodies(letter: Letter, zone: tzinfo) -> Letter:
    """``letter`` with its text and HTML dated its signature's day (as its signed PDF is), and the mention of
    a demonstration certificate when one signed it; unchanged if unsigned."""
    if letter.signed_at is None:
        return letter
    text = dated(letter.text, letter.signed_at, zone) if letter.text is not None else None
    html = dated(letter.html, letter.signed_at, zone) if letter.html is not None else None
    if letter.signed_by:  # the signature block names who signed, as the signed PDF does
        text = named(text, letter.signed_by, is_html=False) if text is not None else None
        html = named(html, letter.signed_by, is_html=True) if html is not None else None
    if letter.signed_demonstration:
        text = with_mention_text(text) if text is not None else None
        html = with_mention_html(html) if html is not None else None
    return replace(letter, text=text, html=html)
