"""Workflow definitions over the API: each loaded version's definition, and its diagram as SVG."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from ..engine.representations import workflow_json
from ..errors import NotFound
from ..workflow.diagram import diagram_svg
from .api import Who, plain_parameters, runtime_of
from .problems import problem_responses

router = APIRouter(prefix="/api/v1", dependencies=[Depends(plain_parameters)], responses=problem_responses(401, 503))
Name = Annotated[str, Path(max_length=100)]
Version = Annotated[int, Path(ge=1, le=1_000_000)]
SVG = "image/svg+xml"
_SVG: dict[int | str, dict[str, Any]] = {200: {"content": {SVG: {}}, "description": "The diagram"}}


def _version(request: Request, name: str, version: int) -> Any:
    for wf in runtime_of(request).engine.workflows:
        if wf.name == name and wf.version == version:
            return wf
    loaded = ", ".join(w.key for w in runtime_of(request).engine.workflows)
    raise NotFound("workflow version", f"{name}@{version}", f"loaded: {loaded}")


@router.get(
    "/workflows/{name}/versions/{version}",
    summary="One workflow version's definition",
    responses=problem_responses(404, 422),
)
def definition(request: Request, who: Who, name: Name, version: Version) -> dict[str, Any]:
    """States (with their timers), transitions (sources, roles, fields, letters), fields and letters."""
    return workflow_json(_version(request, name, version))


@router.get(
    "/workflows/{name}/versions/{version}/diagram",
    summary="One workflow version's diagram (SVG)",
    response_class=Response,
    responses=_SVG | problem_responses(404, 422),
)
def diagram(
    request: Request,
    who: Who,
    name: Name,
    version: Version,
    state: Annotated[str | None, Query(max_length=100, description="A state to highlight.")] = None,
) -> Response:
    """The state machine drawn as SVG (no script), the ``state`` given highlighted."""
    wf = _version(request, name, version)
    if state is not None and state not in wf.states:
        raise NotFound("state", state, f"states of {wf.key}: {', '.join(wf.states)}")
    return Response(diagram_svg(wf, current=state), media_type=SVG)
