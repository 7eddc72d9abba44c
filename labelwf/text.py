"""One policy for text a person types (names, actors, reasons, data values): what is refused, and how it is shown.

Control characters and the Unicode bidirectional overrides (which can make a terminal or a
letter show text in another order than it is stored) are refused where text enters labelwf;
line breaks and tabs only where a text may span lines (a reason). Text that is stored already is
printed with such characters escaped, so that it can neither clear a terminal nor retitle it.
"""

from __future__ import annotations

import re

_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_CONTROL_ONE_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_BIDI}]")
_CONTROL_MULTI_LINE = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}]")


def text_problem(value: str, what: str, *, max_length: int, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be taken as ``what``, or None when it can."""
    if len(value) > max_length:
        return f"{what} is {len(value):,} characters long; at most {max_length:,} are allowed"
    found = (_CONTROL_MULTI_LINE if multiline else _CONTROL_ONE_LINE).search(value)
    if found is not None:
        return (
            f"{what} contains the control character U+{ord(found.group()):04X} at position {found.start()} "
            "(control and bidirectional-override characters are refused): "
            "type it without control characters" + ("" if multiline else " or line breaks")
        )
    return None


def shown(value: object) -> str:
    """``value`` as a terminal shows it safely: control and bidi characters escaped (``\\x1b``, ``\\u202e``)."""
    text = str(value)
    if text.isprintable():
        return text
    return _CONTROL_MULTI_LINE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
MAX_EMAIL = 254


def email_problem(value: str, what: str) -> str | None:
    """Why ``value`` is not exactly one plain e-mail address (``name@example.fr``), or None when it is.

    No display name, no list, no comment, no quoted or IP-literal part: a contact's address goes
    into a ``To:`` header, where ``a@x.fr,root`` would be two recipients.
    """
    if len(value) > MAX_EMAIL or not _EMAIL.match(value):
        return (
            f"{what} {value!r} is not one e-mail address: give exactly one address such as "
            "contact@pole.fr (no name, comma, space or angle brackets)"
        )
    return None
