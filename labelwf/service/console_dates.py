"""Dates as the console's forms take and show them: JJ/MM/AAAA (with an optional HH:MM) or ISO,
read as the wall time of a zone; a moved deadline's history line with both dates.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

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


def day_fr(value: datetime, zone: tzinfo) -> str:
    """``value`` as a French day of ``zone`` (``01/01/2013``)."""
    return value.astimezone(zone).strftime("%d/%m/%Y")


def moved_line(event: Any, zone: tzinfo) -> str | None:
    """The history line of a moved deadline (``échéance … déplacée du 01/01/2012 au 01/01/2013``), or
    None for any other event."""
    data = event.data or {}
    if event.trigger != "(timer moved)" or "from" not in data or "to" not in data:
        return None
    try:
        old, new = datetime.fromisoformat(str(data["from"])), datetime.fromisoformat(str(data["to"]))
    except ValueError:
        return None
    late = " (elle était dépassée)" if data.get("overdue") else ""
    return f"échéance {data.get('timer', '')} déplacée du {day_fr(old, zone)} au {day_fr(new, zone)}{late}"
