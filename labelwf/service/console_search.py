"""The console's list of instances, ``/console/instances``: find a pole, filter, sort, page, export.

``/console`` sends here until the portfolio takes its place. A stakeholder has no list: it lands on
its own entity's page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..engine import queries
from .api import runtime_of
from .pages import page, session, to_login

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/instances")
def instances(request: Request, state: str = "", entity: str = "", after: str | None = None) -> Response:
    found = session(request)
    if found is None:
        return to_login()
    who, csrf = found
    if who.account.entity is not None:
        return RedirectResponse(f"/console/instances/{who.account.entity}", status_code=303)
    runtime = runtime_of(request)
    if entity.strip():
        return RedirectResponse(f"/console/instances/{entity.strip()[:100]}", status_code=303)
    workflow = runtime.engine.workflow() if len(runtime.engine.workflow_names) == 1 else None
    states = list(workflow.states) if workflow else []
    listed = queries.list_instances(
        runtime.engine, workflow=workflow.name if workflow else None, state=state or None, after=after, limit=50
    )
    return page(request, "list.html", who=who, csrf=csrf, page=listed, states=states, state=state, entity="")
