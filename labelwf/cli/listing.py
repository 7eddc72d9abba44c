"""``labelwf list``: the instances a page at a time, or found as the console finds them (``--search``
and its filters go through ``labelwf.engine.search``, the console's and the API's search)."""

from __future__ import annotations

import shlex
from typing import Any

import click

from ..engine import queries
from ..engine import search as finding
from ..engine.representations import instance_json
from ..scenarios.replay import replay_mark
from ..store.reads import MAX_PAGE, decode_cursor, encode_cursor
from ..store.records import Instance
from .base import DEFAULT_LIMIT, App, instant, json_option, main, page_options, row, table
from .wording import Labels, day, when

SEARCH_CURSOR = "search"  # the listing a search's --after cursor belongs to (it holds the offset)
SORTS = {"name": "name", "state": "state", "deadline": "deadline"}


def _covered(app: App) -> str:
    """The workflows a listing covers: ``poles-2008@1``, or every loaded one."""
    names = [app.workflow.name] if app.workflow_name or len(app.engine.workflow_names) == 1 else None
    return ", ".join(w.key for w in app.engine.workflows if names is None or w.name in names)


def _region(instance: Instance) -> str:
    """The lead region (the first of a list such as ``Bretagne; Pays de la Loire``)."""
    return str(instance.entity.attributes.get("region") or "").split(";")[0].strip()


@main.command("list")
@click.option("--state", "states", multiple=True, help="Only instances in this state (its id: one state).")
@click.option(
    "--search", "text", metavar="TEXT", help="Words found in the name, former names, id or region (any case, accents)."
)
@click.option("--region", metavar="REGION", help="Only the entities of this region (as written: Bretagne).")
@click.option("--due-before", metavar="DATE", help="Only those with a pending deadline due before this local date.")
@click.option("--late", is_flag=True, help="Only those with a deadline passed and not handled.")
@click.option(
    "--sort",
    type=click.Choice(list(SORTS)),
    help="With a search: sort by name (default), state or next deadline.",
)
@click.option("--desc", "descending", is_flag=True, help="With a search: in descending order.")
@page_options()
@json_option
@click.pass_obj
def list_(
    app: App,
    states: tuple[str, ...],
    text: str | None,
    region: str | None,
    due_before: str | None,
    late: bool,
    sort: str | None,
    descending: bool,
    limit: int,
    after: str | None,
    as_json: bool,
) -> None:
    """List the instances with their state, by entity id, a page at a time; or find them as the
    console does (--search, --region, --due-before, --late: then with the count of results and the
    next deadline, sorted with --sort). The global --workflow chooses the workflow (the phase).

    \b
    Examples:
      labelwf list --state review
      labelwf list --search vege                 # Végépolys, whatever the case and accents
      labelwf list --region Bretagne --sort deadline
      labelwf list --late --json                 # ids and ISO dates, for scripts
      labelwf --workflow poles-2023 list --search "mer" --state term_reached
      labelwf list --limit 20 --json             # then --after the "next" cursor it prints
    """
    if len(states) > 1:  # click would keep the last one silently
        raise click.BadParameter(
            f"given {len(states)} times ({', '.join(states)}); a listing takes one state: list each in turn",
            param_hint="--state",
        )
    state = states[0] if states else None
    workflow = app.workflow.name if app.workflow_name or len(app.engine.workflow_names) == 1 else None
    searching = text is not None or region is not None or due_before is not None or late or sort is not None
    if searching:
        asked = {"text": text or "", "region": region or "", "due_before": due_before, "late": late}
        return _search(app, workflow, state, asked, sort or "name", descending, limit, after, as_json)
    if descending:
        raise click.BadParameter(
            "sorts a search only: add --search, --region, --due-before or --late", param_hint="--desc"
        )
    page = queries.list_instances(app.engine, workflow=workflow, state=state, after=after, limit=limit)
    if as_json:
        return app.emit_page(page, instance_json)
    labels = Labels(app.engine)
    several = workflow is None
    paged = " sur cette page" if page.next is not None or after else ""
    shown_state = f" à l'état « {labels.state(app.workflow, state)} »" if state and not several else ""
    title = f"{_covered(app)} : {len(page.items)} dossier(s){paged}{shown_state}"
    columns = ("id", "nom", "état", "v.", "mis à jour", "région")
    out = table(title, *(("workflow", *columns) if several else columns), wrap=("nom", "région"))
    for i in page.items:
        shown = labels.state(labels.instance(i), i.state)
        cells = (i.entity.id, i.entity.name, shown, i.version, day(i.updated_at, app.zone), _region(i))
        row(out, *((i.key, *cells) if several else cells))
    empty = "importez des entités (`labelwf import FICHIER`) ou rejouez un scénario (`labelwf replay`)"
    app.print_rows(out, "" if state or after else empty)
    app.print_more(page, "labelwf list" + (f" --state {state}" if state else ""))
    mark = replay_mark(app.engine)
    if mark is not None and mark.startswith("partial"):
        click.echo(
            f"note : cette base contient un rejeu inachevé ({mark}) ; `labelwf replay --reset` le rejoue",
            err=True,
        )
    return None


def _search(
    app: App,
    workflow: str | None,
    state: str | None,
    asked: dict[str, Any],
    sort: str,
    descending: bool,
    limit: int,
    after: str | None,
    as_json: bool,
) -> None:
    """A page of what the search finds, from the offset the ``--after`` cursor holds."""
    offset = int(decode_cursor(after, SEARCH_CURSOR, 1)[0]) if after else 0
    before = instant(asked["due_before"], app.zone, "--due-before")
    results = finding.search(
        app.engine,
        text=asked["text"],
        workflow=workflow,
        state=state,
        region=asked["region"],
        due_before=before,
        late=asked["late"],
        sort=sort,
        descending=descending,
        offset=max(0, offset),
        limit=min(limit, MAX_PAGE),
    )
    end = results.offset + len(results.items)
    more = max(0, results.total - end)
    cursor = encode_cursor(SEARCH_CURSOR, [end]) if more and results.items else None
    if as_json:
        items = [instance_json(f.instance) | {"next_due": f.next_due} for f in results.items]
        return app.emit_json({"items": items, "next": cursor, "more": more, "total": results.total})
    labels = Labels(app.engine)
    several = workflow is None
    shown = f"{results.offset + 1} à {end} sur {results.total}" if results.items else "aucun"
    title = f"{_covered(app)} : {results.total} dossier(s) trouvé(s)" + (f", {shown}" if results.items else "")
    columns = ("id", "nom", "état", "région", "prochaine échéance")
    out = table(title, *(("workflow", *columns) if several else columns), wrap=("nom", "région"))
    for f in results.items:
        i = f.instance
        cells = (i.entity.id, i.entity.name, labels.state(labels.instance(i), i.state), _region(i))
        row(out, *((i.key,) if several else ()), *cells, when(f.next_due, app.zone))
    app.print_rows(out, "aucun dossier ne correspond à cette recherche")
    if cursor is not None:
        options = _options(state, asked, sort, descending)
        size = "" if limit == DEFAULT_LIMIT else f" --limit {limit}"
        click.echo(f"... {more} de plus : labelwf list{options}{size} --after {cursor}")
    return None


def _options(state: str | None, asked: dict[str, Any], sort: str, descending: bool) -> str:
    """The options of a search as a command line repeats them (quoted where they hold a blank)."""
    parts = [("--search", asked["text"]), ("--region", asked["region"]), ("--due-before", asked["due_before"])]
    parts += [("--state", state), ("--sort", sort if sort != "name" else None)]
    said = "".join(f" {option} {shlex.quote(str(value))}" for option, value in parts if value)
    return said + (" --late" if asked["late"] else "") + (" --desc" if descending else "")
