"""Dates as the console's forms take and show them: JJ/MM/AAAA (with an optional HH:MM) or ISO,
read as the wall time of a zone.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from ..workflow.timers import localize, parse_local

_FRENCH = ("%d/%m/%Y %H:%M", "%d/%m/%Y à %H:%M", "%d/%m/%Y %Hh%M", "%d/%m/%Y")
EXPECTED = "JJ/MM/AAAA ou JJ/MM/AAAA HH:MM (ou AAAA-MM-JJ), par exemple 01/01/2013 ou 01/01/2013 00:00"


def parse_when(text: str, zone: tzinfo) -> datetime:
    """The instant ``text`` names in ``zone`` (a date alone is its midnight); ValueError in French."""
    raw = " ".join(text.split())[:40]
    for form in _FRENCH:
        try:
            return localize(datetime.strptime(raw, form), zone)
        except ValueError:
            continue
    try:
        value = parse_local(raw)
    except ValueError:
        raise ValueError(f"« {raw} » n'est pas une date lisible : attendu {EXPECTED}.") from None
    return value if value.tzinfo is not None else localize(value, zone)
