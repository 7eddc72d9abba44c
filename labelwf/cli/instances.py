"""Instances: ``list``, ``show``, ``fire``, ``history``, ``timers`` and ``diagram``."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

import click
from rich.text import Text

from ..audit.export import event_json
from ..engine import queries
from ..engine.representations import fired_json, instance_json, timer_json, view_json
from ..operations.entity_versions import entity_as_of
from ..scenarios.replay import replay_mark
from ..store.basis import Basis
from ..store.records import Instance
from ..text import shown
from ..workflow import diagram
from .base import App, human_duration, instant, json_option, main, page_options, page_title, row, split_sets, table

WIDTH = 80  # what the human-readable output fits in


def _label(app: App) -> str:
    """The workflows a listing covers: ``poles-2008@1``, or every loaded one."""
    names = [app.workflow.name] if app.workflow_name or len(app.engine.workflow_names) == 1 else None
    shown = [w.key for w in app.engine.workflows if names is None or w.name in names]
    return ", ".join(shown)


@main.command("list")
@click.option("--state", "states", multiple=True, help="Only instances in this state (one state).")
@page_options()
@json_option
@click.pass_obj
def list_(app: App, states: tuple[str, ...], limit: int, after: str | None, as_json: bool) -> None:
    """List the instances with their state, by entity id, a page at a time.

    \b
    Examples:
      labelwf list --state review
      labelwf list --limit 20 --json        # then --after the "next" cursor it prints
    """
    if len(states) > 1:  # click would keep the last one silently
        raise click.BadParameter(
            f"given {len(states)} times ({', '.join(states)}); a listing takes one state: list each in turn",
            param_hint="--state",
        )
    state = states[0] if states else None
    workflow = app.workflow.name if app.workflow_name or len(app.engine.workflow_names) == 1 else None
    page = queries.list_instances(app.engine, workflow=workflow, state=state, after=after, limit=limit)
    if as_json:
        return app.emit_page(page, instance_json)
    several = workflow is None
    paged = " on this page" if page.next is not None or after else ""
    title = f"{_label(app)}: {len(page.items)} instance(s){paged}" + (f" in {state}" if state else "")
    columns = ("id", "name", "state", "v", "updated", "region")
    out = table(title, *(("workflow", *columns) if several else columns), wrap=("name", "region"))
    for i in page.items:
        cells = (i.entity.id, i.entity.name, i.state, i.version, app.local(i.updated_at)[:10], _region(i))
        row(out, *((i.key, *cells) if several else cells))
    hint = "" if state or after else "import entities (`labelwf import FILE`) or replay a scenario (`labelwf replay`)"
    app.print_rows(out, hint)
    app.print_more(page, "labelwf list" + (f" --state {state}" if state else ""))
    mark = replay_mark(app.engine)
    if mark is not None and mark.startswith("partial"):
        click.echo(
            f"note: this database holds an unfinished replay ({mark}); `labelwf replay --reset` replays it again",
            err=True,
        )
    return None


def _region(instance: Instance) -> str:
    """The lead region (the first of a list such as ``Bretagne; Pays de la Loire``)."""
    return str(instance.entity.attributes.get("region") or "").split(";")[0].strip()


@main.command()
@click.argument("entity")
@click.option("--as-of", "as_of", metavar="DATE", help="Show the entity as it was on DATE (its name, region…).")
@json_option
@click.pass_obj
def show(app: App, entity: str, as_of: str | None, as_json: bool) -> None:
    """Show one instance: state, allowed triggers, pending timers and letters.

    The triggers are those of the workflow version the instance runs on. With --as-of, the
    entity's name and attributes are those in force on that date (`labelwf entities versions`).
    """
    view = queries.describe(app.engine, entity, app.workflow_name)
    when = instant(as_of, app.zone, "--as-of")
    if when is not None:
        dated = entity_as_of(app.engine, entity, when)
        view = replace(view, instance=replace(view.instance, entity=dated))
    if as_json:
        return app.emit_json(view_json(view) | ({"as_of": when.isoformat()} if when is not None else {}))
    out, i = app.out, view.instance
    out.print(Text.assemble((shown(i.entity.name), "bold"), f" ({i.entity.id}) — {i.key}"))
    if when is not None:
        out.print(Text(f"à la date du {app.local(when)} : " + shown(str(i.entity.attributes.get("region") or "—"))))
    final = " (final state)" if view.final else ""
    out.print(Text.assemble("state: ", (i.state, "bold"), f"{final} — {view.description}"))
    out.print(Text(f"version {i.version}, in this state since {app.local(i.entered_at)}"))
    if i.data:
        out.print(Text("data: " + shown(", ".join(f"{k}={v}" for k, v in i.data.items()))))
    if view.allowed:
        allowed = table("allowed triggers", "trigger", "to", "requires", "optional", "roles", wrap=("to", "optional"))
        for a in view.allowed:
            row(allowed, a.trigger, ", ".join(a.to), ", ".join(a.requires), ", ".join(a.optional), ", ".join(a.roles))
        out.print(allowed)
    else:
        out.print(Text("no trigger allowed (final state)"))
    if view.timers:
        timers = table("pending timers", "timer", "fires", "due", "catch-up")
        for t in view.timers:
            row(timers, t.name, t.trigger, app.local(t.due_at), t.catch_up)
        out.print(timers)
    if view.letters:
        letters = table("letters", "id", "letter", "to", "status", "subject", wrap=("subject",))
        for m in view.letters:
            row(letters, m.id, m.template, m.recipient.role, m.status, m.subject)
        out.print(letters)
    return None


@main.command()
@click.argument("entity")
@click.argument("trigger")
@click.option("--actor", required=True, help="Who decides (recorded in the audit).")
@click.option("--reason", required=True, help="Why (recorded in the audit).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Data for the transition; repeatable.")
@click.option(
    "--at",
    "at",
    metavar="DATETIME",
    help="When the decision took effect (local time of the workflow, YYYY-MM-DD[THH:MM]); default now.",
)
@click.option(
    "--expect-version", type=click.IntRange(min=0), help="Refuse (exit 5) unless the instance is still at this version."
)
@click.option("--source", metavar="KEYS", help="The public record's source keys the decision rests on (e.g. VIP-23).")
@click.option("--assumed", metavar="TEXT", help="What the decision assumes where the record is silent.")
@json_option
@click.pass_obj
def fire(
    app: App,
    entity: str,
    trigger: str,
    actor: str,
    reason: str,
    sets: Sequence[str],
    at: str | None,
    expect_version: int | None,
    source: str | None,
    assumed: str | None,
    as_json: bool,
) -> None:
    """Fire TRIGGER on ENTITY's instance, as an operator, with who and why (and, optionally, the
    record's source keys or the assumption it rests on: its basis, sealed with the event).

    \b
    Example:
      labelwf fire vegepolys review_satisfactory --set "review_ref=Rapport du 15/12/2010" \\
          --at 2010-12-15 --actor DGCIS --reason "Examen à 18 mois"
    """
    data = split_sets(sets)
    zone = app.engine.workflow(app.workflow_name).timezone if app.workflow_name else app.engine.workflows[0].timezone
    when = instant(at, zone, "--at")
    fired = app.engine.fire(
        entity,
        trigger,
        actor=actor,
        reason=reason,
        data=data,
        at=when,
        expected_version=expect_version,
        workflow=app.workflow_name,
        basis=operator_basis(source, assumed),
    )
    if as_json:
        return app.emit_json(fired_json(fired))
    click.echo(f"{fired.entity}: {fired.source} --{fired.trigger}--> {fired.dest} (version {fired.version})")
    for name, due in fired.timers_armed:
        click.echo(f"  timer {name} due {app.local(due)}")
    if fired.letters:
        click.echo(f"  {fired.letters} letter(s) queued")
    return None


@main.command()
@click.argument("entity")
@page_options()
@json_option
@click.pass_obj
def history(app: App, entity: str, limit: int, after: str | None, as_json: bool) -> None:
    """Show the audit trail of ENTITY's instance, oldest first: who decided what, when and why."""
    page = queries.history(app.engine, entity, app.workflow_name, after=after, limit=limit)
    if as_json:
        return app.emit_page(page, event_json)
    click.echo(f"history of {entity}: {len(page.items)} event(s)" + (" (continued)" if after else ""))
    wrap: Callable[[str], list[str]] = textwrap.TextWrapper(
        width=WIDTH, initial_indent="    ", subsequent_indent="      "
    ).wrap
    for e in page.items:
        late = f" (fired {human_duration(e.late_by_s)} late)" if e.late_by_s else ""
        if e.backdated:
            late = f" (backdated: recorded {app.local(e.recorded_at)})"
        step = f"{e.trigger}: {e.source} → {e.dest}" if e.trigger else f"created in {e.dest}"
        if e.trigger == "(timer moved)":
            due = e.data.get("to")
            step = f"timer {e.data.get('timer')} moved to {app.local(datetime.fromisoformat(due)) if due else '?'}"
        elif e.trigger and e.trigger.startswith("(timer "):
            step = f"timer {e.data.get('timer')} closed {e.trigger[7:-1]} in {e.dest}"
        elif e.trigger == "(successor of)":
            step = f"created in {e.dest}, successor of {', '.join(e.data.get('successor_of', []))}"
        elif e.trigger == "(merged into)":
            step = f"merged into {e.data.get('successor')}: {e.source} → {e.dest}"
        elif e.trigger == "(migrated)":
            step = f"migrated to version {e.data.get('to_version')}: {e.source} → {e.dest}"
        plan = f"  [plan {e.batch}]" if e.batch is not None else ""
        click.echo(f"#{e.seq:<3} {app.local(e.occurred_at)}{late}  {step}{plan}")
        who = f"{e.actor} ({e.role}" + (f", as {e.principal}" if e.principal else "") + ")"
        for line in wrap(shown(f"{who}: {e.reason}")):
            click.echo(line)
        if e.data:
            for line in wrap(shown(", ".join(f"{k}={v}" for k, v in e.data.items()))):
                click.echo(line)
        if e.basis is not None:
            for line in wrap(shown(e.basis.described)):
                click.echo(line)
    app.print_more(page, f"labelwf history {entity}")
    return None


@main.group(invoke_without_command=True)
@click.option("--due-before", metavar="DATETIME", help="Only timers due before this local date-time.")
@page_options()
@json_option
@click.pass_context
def timers(ctx: click.Context, due_before: str | None, limit: int, after: str | None, as_json: bool) -> None:
    """List pending deadlines of every instance, soonest first (timers move: change one).

    \b
    Examples:
      labelwf timers --due-before 2012-01-01
      labelwf timers move mta contract_end --by "+1 year" --actor DATAR --reason "Phase 2 prolongée"
    """
    if ctx.invoked_subcommand is not None:
        return None
    app: App = ctx.obj
    before = instant(due_before, app.zone, "--due-before")
    page = queries.pending_timers(app.db, due_before=before, after=after, limit=limit)
    if as_json:
        return app.emit_page(page, timer_json)
    out = table(page_title(page, "pending timer(s)"), "entity", "timer", "fires", "due", "catch-up")
    for t in page.items:
        row(out, t.entity, t.name, t.trigger, app.local(t.due_at), t.catch_up)
    app.print_rows(out, "timers are armed when an instance enters a state that declares them")
    app.print_more(page, "labelwf timers" + (f" --due-before {due_before}" if due_before else ""))
    return None


@main.command("diagram")
@click.option("--format", "fmt", type=click.Choice(diagram.FORMATS), default="mermaid", show_default=True)
@click.option("--counts/--no-counts", default=True, show_default=True, help="Show live instance counts per state.")
@click.pass_obj
def diagram_(app: App, fmt: str, counts: bool) -> None:
    """Print the workflow as a diagram, with how many instances each state holds."""
    live = queries.state_counts(app.db, app.workflow) if counts else None
    render: Callable[..., str] = diagram.mermaid if fmt == "mermaid" else diagram.dot
    click.echo(render(app.workflow, live), nl=False)


def operator_basis(source: str | None, assumed: str | None) -> Basis | None:
    """The basis an operator gives a decision: the record's ``--source`` keys, or what it ``--assumed``
    (with the source it rests on, if given); a malformed one is refused as a bad option."""
    try:
        return Basis.said(source, assumed)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--assumed" if assumed is not None else "--source") from None
