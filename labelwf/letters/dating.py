"""A letter that waits for its signature is dated the day it is signed.

At the fire, such a letter is rendered and frozen whole but for its date line, which holds
``UNSIGNED_DATE`` (what a signatory reviewing it reads: « Paris, le [date de la signature] »).
The signature step writes the day in: ``dated`` replaces the mark in the frozen text and HTML
with the signature's day, so the final text comes from the frozen letter and the day alone,
never from live data. When the directory names no one for the post, the signature block's name
waits the same way (``UNSIGNED_NAME``) for the name of the account that signs (``named``). The
marks are plain words that French typography and HTML escaping leave as they are, and that no
value printed in a letter can be mistaken for (they hold brackets, which letters print nowhere else).
"""

from __future__ import annotations

import html as markup
from datetime import datetime, tzinfo

from .render import date_fr

UNSIGNED_DATE = "[date de la signature]"
UNSIGNED_NAME = "[nom du signataire]"  # the signature block's name, when the directory gives none


def dated(body: str, signed_at: datetime, zone: tzinfo) -> str:
    """``body`` (a frozen text or HTML) with its date line set to ``signed_at``'s day in ``zone``."""
    return body.replace(UNSIGNED_DATE, date_fr(signed_at, zone))


def named(body: str, name: str, *, is_html: bool) -> str:
    """``body`` with its signature block naming ``name``, the signatory who signs it (escaped in HTML)."""
    return body.replace(UNSIGNED_NAME, markup.escape(name) if is_html else name)


def awaits_date(body: str | None) -> bool:
    """Whether ``body`` still waits for its signature's day."""
    return body is not None and UNSIGNED_DATE in body
