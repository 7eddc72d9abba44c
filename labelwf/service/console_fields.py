"""A decision form's typed fields as the engine reads them: a ``date`` field typed ``JJ/MM/AAAA`` is
given as ``AAAA-MM-JJ``, a ``datetime`` field typed ``JJ/MM/AAAA`` or ``JJ/MM/AAAA HH:MM`` (the wall
time of the workflow's zone) as its ISO instant. Anything else is left as typed, for the engine to
accept or refuse with its value: the forms take French dates as the API takes ISO ones."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import tzinfo

from ..workflow.definition import Workflow
from .console_dates import parse_when

_FRENCH = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_FRENCH_TIMED = re.compile(r"^\s*\d{1,2}/\d{1,2}/\d{4}[ T]+\d{1,2}[:h]\d{2}\s*$")


def engine_values(wf: Workflow, typed: Mapping[str, str], zone: tzinfo) -> dict[str, str]:
    """``typed`` (field name → text) with its French dates written as the engine reads dates."""
    values = dict(typed)
    for name, text in typed.items():
        field = wf.fields.get(name)
        kind = getattr(field, "type", "")
        french = _FRENCH.match(text)
        if kind == "date" and french is not None:
            day, month, year = french.groups()
            values[name] = f"{year}-{int(month):02d}-{int(day):02d}"
        elif kind == "datetime" and (french is not None or _FRENCH_TIMED.match(text)):
            with contextlib.suppress(ValueError):  # else refused by the engine, with the value as typed
                values[name] = parse_when(text, zone).isoformat()
    return values
