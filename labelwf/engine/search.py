"""Finding instances for the console, the API and the CLI: a folded text (name, former names, id,
region; case and accents ignored, partial), filters (workflow, state, region, deadline due before a
day, late), a sort (name, state, next deadline, both directions) and pages with the count of results.
"""

from __future__ import annotations

from datetime import datetime

from ..errors import NotFound
from ..message import N_
from ..store import search as store
from ..store.search import SORTS, Criteria, Found, Results
from .fire import Engine

__all__ = ["SORTS", "Found", "Results", "found", "regions", "search", "states_of"]
MAX_PAGE = 500


def states_of(engine: Engine, workflow: str | None) -> list[str]:
    """The states ``workflow`` uses (every loaded version of it; of every workflow when None), in its order."""
    names = [workflow] if workflow is not None else list(engine.workflow_names)
    seen: dict[str, None] = {}
    for wf in engine.workflows:
        if wf.name in names:
            seen.update(dict.fromkeys(wf.states))
    return list(seen)


def search(
    engine: Engine,
    *,
    text: str = "",
    workflow: str | None = None,
    state: str | None = None,
    region: str = "",
    due_before: datetime | None = None,
    late: bool = False,
    sort: str = "name",
    descending: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> Results:
    """The instances matching, sorted, from ``offset`` (at most ``limit``), with how many match in all."""
    if workflow is not None and workflow not in engine.workflow_names:
        raise NotFound("workflow", workflow, N_("loaded: %(names)s", names=", ".join(engine.workflow_names)))
    if state is not None and state not in states_of(engine, workflow):
        raise NotFound("state", state, f"{workflow or 'the workflows'} has: {', '.join(states_of(engine, workflow))}")
    if sort not in SORTS:
        raise NotFound("sort", sort, N_("sorts: %(names)s", names=", ".join(SORTS)))
    criteria = Criteria(
        text=text[:200],
        workflow=workflow,
        states=(state,) if state is not None else (),
        region=region[:200],
        due_before=due_before,
        late_at=engine.clock.now() if late else None,
    )
    with engine.db.read() as conn:
        return store.search_instances(
            conn, criteria, sort=sort, descending=descending, offset=max(0, offset), limit=max(1, min(limit, MAX_PAGE))
        )


def regions(engine: Engine) -> list[str]:
    """The regions the registered entities name, to offer as a filter."""
    with engine.db.read() as conn:
        return store.regions(conn)


def found(item: Found) -> tuple[str, str]:
    """An item's entity id and workflow, the key that names it in links."""
    return item.instance.entity.id, item.instance.workflow
