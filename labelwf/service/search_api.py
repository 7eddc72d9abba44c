"""Finding instances over the API: the console's search (``labelwf.engine.search``) as JSON.

``GET /api/v1/search?q=vege`` matches a folded text (name, former names, id, region; case and
accents ignored, partial), with the same filters, sorts and pages (by offset, with the total) as the
console's list. A stakeholder's account finds nothing beyond its own entity.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from ..engine import search as finding
from ..engine.representations import instance_json
from .api import Instant, Who, in_utc, plain_parameters, runtime_of
from .problems import problem_responses

router = APIRouter(prefix="/api/v1", dependencies=[Depends(plain_parameters)], responses=problem_responses(401, 503))


@router.get("/search", summary="Find instances by name, id or region", responses=problem_responses(404, 422))
def search_instances(
    request: Request,
    who: Who,
    q: Annotated[str, Query(max_length=200, description="Words to find (case and accents ignored, partial)")] = "",
    workflow: Annotated[str | None, Query(max_length=100)] = None,
    state: Annotated[str | None, Query(max_length=100, description="A state of the workflow")] = None,
    region: Annotated[str, Query(max_length=200)] = "",
    due_before: Annotated[Instant | None, Query(description="A pending deadline due before this instant")] = None,
    late: Annotated[bool, Query(description="Only instances with a deadline passed and not handled")] = False,
    sort: Annotated[Literal["name", "state", "deadline"], Query()] = "name",
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=finding.MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """A page of the instances found, with ``total`` (how many match in all) and ``offset``."""
    own = who.account.entity  # a stakeholder finds its own entity or nothing (its id is one more word to match)
    results = finding.search(
        runtime_of(request).engine,
        text=q if own is None else f"{q} {own}",
        workflow=workflow,
        state=state,
        region=region,
        due_before=in_utc(due_before) if due_before is not None else None,
        late=late,
        sort=sort,
        descending=order == "desc",
        offset=offset,
        limit=limit,
    )
    items = [f for f in results.items if who.sees(f.instance.entity.id)]
    total = results.total if own is None else len(items)
    return {
        "items": [
            instance_json(f.instance) | {"next_due": f.next_due.isoformat() if f.next_due else None} for f in items
        ],
        "total": total,
        "offset": results.offset,
        "limit": results.limit,
    }
