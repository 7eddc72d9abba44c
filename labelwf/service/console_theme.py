"""The console's look, chosen in configuration (``console_theme``).

``dsfr``: the Système de Design de l'État (vendored under ``static/dsfr/``, served by labelwf, no
CDN), for a programme the State runs: the header carries the Marianne bloc-marque, « République
française », and the administration that issues the programme's letters today (the workflow's
letterhead). ``neutral``: a small stylesheet of its own over the same class names, no Marianne, for
any other programme. The templates' markup is the same in both: the DSFR's classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from ..runtime import Runtime

Theme = Literal["dsfr", "neutral"]
THEMES: tuple[Theme, ...] = ("dsfr", "neutral")


@dataclass(frozen=True, kw_only=True)
class Look:
    """What the layout needs to dress a page: the theme and, in the State's, who issues it."""

    theme: Theme
    administration: str  # the issuing administration in force today; empty: none to name

    @property
    def stylesheets(self) -> tuple[str, ...]:
        """The stylesheets of the theme, in order (the console's own adjustments last)."""
        if self.theme == "dsfr":
            return ("/console/static/dsfr/dsfr.min.css", "/console/static/console-dsfr.css")
        return ("/console/static/console.css",)


def look(runtime: Runtime, now: datetime) -> Look:
    """The look of the console's pages for ``runtime``'s configuration on ``now``."""
    theme = cast(Theme, runtime.settings.console_theme)
    if theme != "dsfr":
        return Look(theme=theme, administration="")
    return Look(theme=theme, administration=issuing_administration(runtime, now))


def issuing_administration(runtime: Runtime, now: datetime) -> str:
    """The service the loaded workflows' letters are issued by on ``now``'s day, if they name one and
    agree on it (several workflows of one programme share it); else empty."""
    day = now.astimezone(runtime.settings.zone).date()
    named = set()
    for workflow in runtime.engine.workflows:
        issuer = workflow.letterhead.issuer_at(day)
        if issuer is not None:
            named.add(issuer.service)
    return named.pop() if len(named) == 1 else ""
