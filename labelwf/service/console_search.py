"""The console's list of instances, ``/console/instances``: find a pole, filter, sort, page, export.

One box finds a pole by its name, a former name, its id or its region (case and accents ignored,
partial: "vege" finds Végépolys). Filters: the workflow, one of its own states (by their labels),
the region, a deadline due before a day (JJ/MM/AAAA or AAAA-MM-JJ), late only. The same list, the
same filters applied, downloads as CSV (French Excel's: BOM and ``;``) or XLSX. Nothing typed is
trusted: an unknown value is said on the page with what would be right. A stakeholder has no list:
it lands on its own entity's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..engine import search
from ..engine.fire import Engine
from ..engine.portfolio import state_label
from ..errors import NotFound
from .api import runtime_of
from .exports import CSV_TYPE, XLSX_TYPE, Cell, as_csv, as_xlsx
from .pages import page, session, to_login

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 50
EXPORT_MAX = 100_000
HEADERS = ("Pôle", "Identifiant", "Programme", "État", "Région", "Prochaine échéance", "En retard")
SORT_NAMES = {"name": "Nom", "state": "État", "deadline": "Prochaine échéance"}


@dataclass(frozen=True)
class Asked:
    """The list's query string, read and checked."""

    text: str = ""
    workflow: str = ""
    state: str = ""
    region: str = ""
    due_before: str = ""
    late: bool = False
    sort: str = "name"
    descending: bool = False
    page: int = 1

    def query(self, **changes: Any) -> str:
        """This list's query string with ``changes`` (a sort, a page), for links."""
        values = {
            "q": self.text,
            "workflow": self.workflow,
            "state": self.state,
            "region": self.region,
            "due_before": self.due_before,
            "late": "1" if self.late else "",
            "sort": self.sort,
            "order": "desc" if self.descending else "asc",
            "page": str(self.page),
        } | {k: str(v) for k, v in changes.items()}
        return urlencode({k: v for k, v in values.items() if v and not (k == "page" and v == "1")})


def _asked(params: Any) -> Asked:
    def text(name: str, limit: int = 200) -> str:
        return " ".join(str(params.get(name, "")).split())[:limit]

    number = text("page", 9)
    return Asked(
        text=text("q"),
        workflow=text("workflow", 100),
        state=text("state", 100),
        region=text("region"),
        due_before=text("due_before", 20),
        late=text("late", 5) in ("1", "on", "oui"),
        sort=text("sort", 20) or "name",
        descending=text("order", 5) == "desc",
        page=int(number) if number.isdigit() and int(number) > 0 else 1,
    )


def parse_day(typed: str, zone: ZoneInfo) -> datetime:
    """The start of the day ``typed`` (JJ/MM/AAAA or AAAA-MM-JJ) in ``zone``."""
    for form in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(typed, form).date()
        except ValueError:
            continue
        return datetime.combine(day, time(), zone)
    raise ValueError(f"« {typed} » n'est pas une date lisible ; attendu JJ/MM/AAAA, par exemple 01/01/2012.")


def _problems(engine: Engine, asked: Asked) -> list[str]:
    problems = []
    names = engine.workflow_names
    if asked.workflow and asked.workflow not in names:
        titles = ", ".join(_title(engine, n) for n in names)
        problems.append(f"Programme « {asked.workflow} » inconnu ; choisissez parmi : {titles}.")
    elif asked.state and asked.state not in search.states_of(engine, _workflow(engine, asked)):
        problems.append(f"État « {asked.state} » inconnu de ce programme ; choisissez-en un dans la liste.")
    if asked.sort not in search.SORTS:
        problems.append(f"Tri « {asked.sort} » inconnu ; attendu : {', '.join(SORT_NAMES.values())}.")
    return problems


def _workflow(engine: Engine, asked: Asked) -> str | None:
    """The chosen workflow, or the only one loaded."""
    if asked.workflow in engine.workflow_names:
        return asked.workflow
    return engine.workflow_names[0] if len(engine.workflow_names) == 1 else None


def _title(engine: Engine, name: str) -> str:
    return engine.workflow(name).title or name


def _results(request: Request, asked: Asked, *, offset: int, limit: int) -> tuple[search.Results | None, list[str]]:
    runtime = runtime_of(request)
    engine = runtime.engine
    problems = _problems(engine, asked)
    due_before = None
    if asked.due_before:
        try:
            due_before = parse_day(asked.due_before, runtime.settings.zone)
        except ValueError as exc:
            problems.append(f"Échéance avant le : {exc}")
    if problems:
        return None, problems
    try:
        found = search.search(
            engine,
            text=asked.text,
            workflow=_workflow(engine, asked),
            state=asked.state or None,
            region=asked.region,
            due_before=due_before,
            late=asked.late,
            sort=asked.sort,
            descending=asked.descending,
            offset=offset,
            limit=limit,
        )
    except NotFound as exc:  # checked above; a workflow unloaded meanwhile
        return None, [f"Recherche impossible : {exc.kind} « {exc.key} » inconnu."]
    return found, []


def _row(engine: Engine, item: search.Found, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    current = item.instance
    try:
        wf = engine.workflow_of(current)
        state, title = state_label(wf, current.state), wf.title or wf.name
    except NotFound:
        state, title = current.state, current.workflow
    due = item.next_due
    return {
        "id": current.entity.id,
        "name": current.entity.name,
        "programme": title,
        "state": state,
        "region": str(current.entity.attributes.get("region") or ""),
        "due": due.astimezone(zone).date() if due else None,
        "late": due is not None and due <= now,
    }


def _signed(request: Request) -> tuple[Any, str] | Response:
    found = session(request)
    if found is None:
        return to_login()
    if found[0].account.entity is not None:
        return RedirectResponse(f"/console/instances/{found[0].account.entity}", status_code=303)
    return found


@router.get("/instances")
def instances(request: Request) -> Response:
    signed = _signed(request)
    if isinstance(signed, Response):
        return signed
    who, csrf = signed
    runtime = runtime_of(request)
    engine, zone = runtime.engine, runtime.settings.zone
    asked = _asked(request.query_params)
    entity = " ".join(str(request.query_params.get("entity", "")).split())[:100]
    if entity:  # the former form's exact id still opens the pole
        return RedirectResponse(f"/console/instances/{entity}", status_code=303)
    found, problems = _results(request, asked, offset=(asked.page - 1) * PAGE, limit=PAGE)
    now = engine.clock.now()
    chosen = _workflow(engine, asked)
    states = []
    if chosen is not None:
        wf = engine.workflow(chosen)
        states = [(s, state_label(wf, s)) for s in search.states_of(engine, chosen)]
    rows = [_row(engine, i, now, zone) for i in found.items] if found else []
    total = found.total if found else 0
    pages = max(1, -(-total // PAGE))
    return page(
        request,
        "list.html",
        200 if not problems else 422,
        who=who,
        csrf=csrf,
        asked=asked,
        rows=rows,
        total=total,
        first=(asked.page - 1) * PAGE + 1,
        last=(asked.page - 1) * PAGE + len(rows),
        pages=pages,
        problems=problems,
        states=states,
        workflows=[(n, _title(engine, n)) for n in engine.workflow_names],
        regions=search.regions(engine),
        sorts=SORT_NAMES,
    )


def _export(request: Request, kind: str) -> Response:
    signed = _signed(request)
    if isinstance(signed, Response):
        return signed
    runtime = runtime_of(request)
    asked = _asked(request.query_params)
    found, problems = _results(request, asked, offset=0, limit=EXPORT_MAX)
    if found is None:
        return page(request, "list.html", 422, who=signed[0], csrf=signed[1], **_empty(request, asked, problems))
    now, zone = runtime.engine.clock.now(), runtime.settings.zone
    rows: list[list[Cell]] = []
    for item in found.items:
        r = _row(runtime.engine, item, now, zone)
        rows.append([r["name"], r["id"], r["programme"], r["state"], r["region"], r["due"], "oui" if r["late"] else ""])
    stamp = now.astimezone(zone).strftime("%Y-%m-%d")
    if kind == "csv":
        body, media = as_csv(HEADERS, rows), CSV_TYPE
    else:
        body, media = as_xlsx("Dossiers", HEADERS, rows), XLSX_TYPE
    disposition = f'attachment; filename="dossiers-{stamp}.{kind}"'
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


def _empty(request: Request, asked: Asked, problems: list[str]) -> dict[str, Any]:
    engine = runtime_of(request).engine
    return {
        "asked": asked,
        "rows": [],
        "total": 0,
        "first": 0,
        "last": 0,
        "pages": 1,
        "problems": problems,
        "states": [],
        "workflows": [(n, _title(engine, n)) for n in engine.workflow_names],
        "regions": search.regions(engine),
        "sorts": SORT_NAMES,
    }


@router.get("/instances.csv")
def instances_csv(request: Request) -> Response:
    """The list as CSV, its filters applied."""
    return _export(request, "csv")


@router.get("/instances.xlsx")
def instances_xlsx(request: Request) -> Response:
    """The list as XLSX, its filters applied."""
    return _export(request, "xlsx")
