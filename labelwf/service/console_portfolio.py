"""The console's home page: the portfolio at a glance (``engine.portfolio``).

Per workflow and version, the count of instances in each state (each a link to the list filtered by
that state); what is late, with the action to take; what falls due in the next 30, 90 or 365 days;
the latest decisions; the letters waiting; the incidents. The counts refresh every 30 seconds
without a reload (htmx polls ``/console/portfolio/counts``, a fragment). A stakeholder's account
has no portfolio: it is sent to its own pole's page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..engine import portfolio as folio
from .api import runtime_of
from .auth import Caller
from .pages import page, session, to_login

router = APIRouter(prefix="/console", include_in_schema=False)
REFRESH_S = 30


def window(days: str) -> int:
    """The window asked for in days, one of ``WINDOWS`` (anything else: the default, 90)."""
    typed = days.strip()[:4]
    return int(typed) if typed.isdigit() and int(typed) in folio.WINDOWS else folio.DEFAULT_WINDOW


def _signed_in(request: Request) -> tuple[Caller, str] | Response:
    found = session(request)
    if found is None:
        return to_login()
    if found[0].account.entity is not None:  # a pole's own people see their pole, not the portfolio
        return RedirectResponse(f"/console/instances/{found[0].account.entity}", status_code=303)
    return found


@router.get("")
def home(request: Request, days: str = "") -> Response:
    """The console's home page: the portfolio."""
    found = _signed_in(request)
    if isinstance(found, Response):
        return found
    who, csrf = found
    runtime = runtime_of(request)
    shown = folio.portfolio(runtime.engine, days=window(days), grace_s=runtime.settings.daemon_grace_seconds)
    return page(
        request,
        "portfolio.html",
        who=who,
        csrf=csrf,
        p=shown,
        windows=folio.WINDOWS,
        refresh_s=REFRESH_S,
        may_act=who.account.may("operator"),
    )


@router.get("/portfolio")
def portfolio(request: Request, days: str = "") -> Response:
    """The portfolio's former address: the home page."""
    return RedirectResponse(f"/console?days={window(days)}", status_code=303)


@router.get("/portfolio/counts")
def counts(request: Request) -> Response:
    """The counts per state alone, the fragment the home page polls (nothing to swap without a session
    or for a stakeholder: 204)."""
    found = session(request)
    if found is None or found[0].account.entity is not None:
        return Response(status_code=204)
    phases = folio.phase_counts(runtime_of(request).engine)
    return page(request, "_portfolio_counts.html", who=found[0], csrf=found[1], phases=phases, refresh_s=REFRESH_S)
