"""Plans on many instances: ``decide plan|run|show|cancel``, ``decisions``, ``timers move|plan-move``."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click

from ..engine.representations import batch_item_json, batch_json
from ..message import N_
from ..operations import plans
from ..operations.bulk import Selection, plan_decision, read_ids, read_outcomes
from ..operations.timer_moves import Shift, move_timer, plan_moves
from ..store.records import Batch, BatchItem, ItemStatus
from ..workflow.definition import Workflow
from . import saying
from .base import EXIT_FAILURE, App, instant, json_option, main, row, split_sets, table
from .instances import timers
from .wording import ITEM_STATUSES, PLAN_KINDS, PLAN_STATUSES, Labels, counts_said, said
from .wording import when as moment

SHOWN_REFUSALS = 50  # refusals printed under a plan (the rest: decide show --status refused)


@main.group()
def decide() -> None:
    """Bulk decisions in two steps: plan freezes and previews, run executes that plan.

    \b
    Examples:
      labelwf decide plan --trigger renew --entity enfant --entity mta \\
          --set "decision_ref=CIADT du 11 mai 2010" --at 2010-05-11 \\
          --reference "CIADT du 11 mai 2010" --actor Gouvernement --reason "Renouvellement des 7 pôles"
      labelwf decide plan --outcomes classement.csv --trigger classify --ignore source \\
          --reference "Décision du 30 juin 2008" --actor DGCIS --reason "Classement 2008"
      labelwf decide run 3
    """


def _where(values: Sequence[str]) -> dict[str, tuple[str, ...]]:
    where: dict[str, list[str]] = {}
    for key, value in _pairs(values):
        where.setdefault(key, []).append(value)
    return {k: tuple(v) for k, v in where.items()}


def _pairs(values: Sequence[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected ATTRIBUTE=VALUE, got {item!r}", param_hint="--where")
        pairs.append((key.strip(), value.strip()))
    return pairs


@decide.command("plan")
@click.option("--reference", required=True, help="The act's reference, e.g. 'CIADT du 11 mai 2010'.")
@click.option("--actor", required=True, help="Who decides (recorded in each event).")
@click.option("--reason", required=True, help="Why (recorded in each event, after the reference).")
@click.option("--trigger", help="The trigger to fire (every entity, or the rows of --outcomes without one).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Data for every entity; repeatable.")
@click.option("--entity", "entities", multiple=True, metavar="ID", help="An entity to decide on; repeatable.")
@click.option("--entities-file", type=click.Path(dir_okay=False), help="A file of entity ids, one per line.")
@click.option("--state", "states", multiple=True, help="Every instance in this state; repeatable.")
@click.option("--where", "wheres", multiple=True, metavar="ATTR=VALUE", help="Entity attribute filter; repeatable.")
@click.option("--except", "excluded", multiple=True, metavar="ID", help="Leave this entity out; repeatable.")
@click.option("--all", "everything", is_flag=True, help="Every instance of the workflow.")
@click.option("--outcomes", type=click.Path(dir_okay=False), help="CSV id[,trigger][,field...]: each one's own.")
@click.option("--ignore", multiple=True, metavar="COLUMN", help="A column of --outcomes to leave aside; repeatable.")
@click.option("--at", metavar="DATETIME", help="The act's date (local time, YYYY-MM-DD[THH:MM]); default: run time.")
@json_option
@click.pass_obj
def plan(
    app: App,
    reference: str,
    actor: str,
    reason: str,
    trigger: str | None,
    sets: Sequence[str],
    entities: Sequence[str],
    entities_file: str | None,
    states: Sequence[str],
    wheres: Sequence[str],
    excluded: Sequence[str],
    everything: bool,
    outcomes: str | None,
    ignore: Sequence[str],
    at: str | None,
    as_json: bool,
) -> None:
    """Freeze a bulk decision and preview it, entity by entity; fire nothing.

    Prints what would happen to each entity (the state it would move to, its letters) or why it
    would be refused, with counts, and the plan's number to give to ``labelwf decide run``.
    """
    wf = app.workflow
    named = tuple(entities) + (tuple(read_ids(entities_file)) if entities_file else ())
    selection = Selection(named, tuple(states), _where(wheres), tuple(excluded), everything)
    given = selection.entities or selection.filtered
    rows = read_outcomes(outcomes, wf, trigger=trigger, ignore=ignore) if outcomes else None
    if rows is None and not given:
        raise click.UsageError("say whom: --entity, --entities-file, --state, --where, --all or --outcomes")
    if rows is None and trigger is None:
        raise click.UsageError("--trigger is needed without --outcomes")
    report = plan_decision(
        app.engine,
        reference=reference,
        actor=actor,
        reason=reason,
        selection=selection if given else None,
        trigger=trigger,
        data=split_sets(sets),
        outcomes=rows,
        at=instant(at, wf.timezone, "--at"),
        workflow=wf.name,
    )
    if as_json:
        return app.emit_json(batch_json(report.batch) | {"items": [batch_item_json(i) for i in report.items]})
    print_plan(app, report.batch, report.items)
    if report.batch.counts.get(ItemStatus.PENDING):
        click.echo(f"rien n'est encore décidé : `labelwf decide run {report.batch.id}` exécute exactement ce plan")
    return None


def print_plan(app: App, batch: Batch, items: Sequence[BatchItem]) -> None:
    """A plan's preview as people read it: what it does, by the workflow's labels, and what it refuses."""
    labels = Labels(app.engine)
    wf = labels.of(batch.workflow)
    when = moment(batch.occurred_at, app.zone) if batch.occurred_at else "à son exécution"
    click.echo(f"plan {batch.id} ({_kind_status(batch)}) : {batch.reference} — daté {when}")
    click.echo(f"  {len(items)} élément(s) : {counts_said(batch.counts)}")
    moving = batch.kind == "timer_move"

    def shown(value: Any) -> str:  # a timer's instants in local time, a state by its label
        return moment(datetime.fromisoformat(value), app.zone) if moving and value else labels.state(wf, value)

    moves = Counter(
        (
            str(i.action.get("timer", "")) if moving else labels.trigger(wf, str(i.action.get("trigger", ""))),
            shown(i.preview.get("from")),
            shown(i.preview.get("dest")),
        )
        for i in items
        if i.status is not ItemStatus.REFUSED
    )
    if moves:
        out = table("ce que fait le plan", "échéance" if moving else "décision", "de", "vers", "dossiers")
        for (trigger, source, dest), count in sorted(moves.items()):
            row(out, trigger, source, dest, count)
        app.out.print(out)
    refused = [i for i in items if i.status is ItemStatus.REFUSED]
    if refused:
        out = table(f"refusés ({len(refused)})", "n°", "dossier", "pourquoi", wrap=("pourquoi",))
        for i in refused[:SHOWN_REFUSALS]:
            row(out, i.seq, i.entity, i.preview.get("refused"))
        app.out.print(out)
        if len(refused) > SHOWN_REFUSALS:
            more = len(refused) - SHOWN_REFUSALS
            click.echo(f"... {more} de plus : labelwf decide show {batch.id} --status refused")


def _kind_status(batch: Batch) -> str:
    """``décision, planifié``: a plan's kind and status in French."""
    return f"{said(PLAN_KINDS, batch.kind)}, {said(PLAN_STATUSES, batch.status)}"


@decide.command("run")
@click.argument("plan_id", metavar="PLAN", type=int)
@click.option("--batch-size", type=click.IntRange(1, 5000), default=plans.DEFAULT_BATCH, show_default=True)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show progress on stderr after each committed batch (default: when stderr is a terminal).",
)
@json_option
@click.pass_obj
def run(app: App, plan_id: int, batch_size: int, progress: bool | None, as_json: bool) -> None:
    """Execute a plan: each pending item once, at the version its preview saw.

    An instance changed since the preview is reported (changed), not fired. Interrupted (Ctrl-C,
    a crash), the plan keeps what was done: run it again to do the rest, once.
    """
    tty = sys.stderr.isatty()
    shown = (tty and not as_json) if progress is None else progress

    def report_progress(done: int, total: int) -> None:
        if shown and tty:
            click.echo(f"\r  {done:,}/{total:,} éléments".replace(",", "\u202f"), nl=False, err=True)
        elif shown:  # a line per batch, for logs: said in the configured language
            saying.echo(N_("progress: %(done)s/%(total)s items", done=done, total=total), err=True)

    try:
        report = plans.run(app.engine, plan_id, size=batch_size, progress=report_progress)
    except KeyboardInterrupt:
        left = plans.get(app.engine, plan_id)
        click.echo(
            f"\ninterrompu : {counts_said(left.counts)} ; `labelwf decide run {plan_id}` fait le reste", err=True
        )
        sys.exit(EXIT_FAILURE)
    if shown and tty:
        click.echo("", err=True)
    if as_json:
        return app.emit_json(
            batch_json(report.batch)
            | {"run": {"done": report.done, "changed": report.changed, "failed": report.failed}}
        )
    click.echo(
        f"plan {plan_id} : {report.done} fait(s) maintenant, {report.changed} modifié(s) depuis l'aperçu "
        f"(non exécuté(s)), {report.failed} en échec ; tous les éléments : {counts_said(report.batch.counts)}"
    )
    if report.changed or report.failed:
        click.echo(f"  lesquels : labelwf decide show {plan_id} --status changed (ou failed)")
    if report.stopped:
        click.echo("  le plan a été annulé : les éléments non exécutés restent à faire")
    return None


@decide.command("show")
@click.argument("plan_id", metavar="PLAN", type=int)
@click.option("--status", type=click.Choice([s.value for s in ItemStatus]), help="Only items of this status.")
@json_option
@click.pass_obj
def show(app: App, plan_id: int, status: str | None, as_json: bool) -> None:
    """Show a plan and its items: what each was to do, and what happened."""
    batch = plans.get(app.engine, plan_id)
    found = plans.items(app.engine, plan_id, status=status)
    if as_json:
        return app.emit_json(batch_json(batch) | {"items": [batch_item_json(i) for i in found]})
    labels = Labels(app.engine)
    wf = labels.of(batch.workflow)
    title = wf.title if wf is not None and wf.title else batch.workflow
    click.echo(f"plan {batch.id} ({_kind_status(batch)}) sur {title} : {batch.reference}")
    click.echo(f"  par {batch.actor} : {batch.reason}")
    click.echo(f"  planifié par {batch.principal or '(inconnu)'} ; exécuté par {batch.executed_by or '(pas encore)'}")
    click.echo(f"  {counts_said(batch.counts)}")
    out = table("éléments", "n°", "dossier", "action", "statut", "détail", wrap=("action", "détail"))
    for i in found:
        action = labels.trigger(wf, str(i.action["trigger"])) if "trigger" in i.action else labels.data(wf, i.action)
        row(out, i.seq, i.entity, action, said(ITEM_STATUSES, i.status), _detail(labels, wf, i))
    app.print_rows(out, "aucun élément" + (f" {said(ITEM_STATUSES, status)}" if status else ""))
    return None


def _detail(labels: Labels, wf: Workflow | None, item: BatchItem) -> str:
    """What became of an item: why it was refused or failed, else the state it went (or goes) to."""
    if item.status is ItemStatus.REFUSED:
        return str(item.preview.get("refused"))
    if item.outcome and "error" in item.outcome:
        return str(item.outcome["error"])
    if item.status is ItemStatus.DONE and item.outcome:
        return f"→ {labels.state(wf, item.outcome.get('dest'))} (version {item.outcome.get('seq', '')})"
    return f"→ {labels.state(wf, item.preview['dest'])}" if item.preview.get("dest") else ""


@decide.command("cancel")
@click.argument("plan_id", metavar="PLAN", type=int)
@json_option
@click.pass_obj
def cancel(app: App, plan_id: int, as_json: bool) -> None:
    """Cancel a plan: a run in progress stops at its next batch; what was done stays done."""
    batch = plans.cancel(app.engine, plan_id)
    if as_json:
        return app.emit_json(batch_json(batch))
    click.echo(f"plan {plan_id} annulé : {counts_said(batch.counts)}")
    return None


@main.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_option
@click.pass_obj
def decisions(app: App, limit: int, as_json: bool) -> None:
    """List the plans (bulk decisions, deadline moves, migrations), latest first, with their counts."""
    found = plans.listing(app.engine, limit=limit)
    if as_json:
        return app.emit_json({"items": [batch_json(b) for b in found]})
    out = table("plans", "n°", "nature", "statut", "référence", "créé le", "éléments", wrap=("référence", "éléments"))
    for b in found:
        kind, status = said(PLAN_KINDS, b.kind), said(PLAN_STATUSES, b.status)
        row(out, b.id, kind, status, b.reference, moment(b.created_at, app.zone), counts_said(b.counts))
    app.print_rows(out, "aucun pour l'instant : `labelwf decide plan --help`")
    return None


def _shift(to: str | None, by: str | None, zone: Any) -> Shift:
    if (to is None) == (by is None):
        raise click.UsageError("give exactly one of --to DATETIME or --by OFFSET (e.g. --by '+1 year')")
    return Shift(to=instant(to, zone, "--to"), by=by)


@timers.command("move")
@click.argument("entity")
@click.argument("timer")
@click.option("--to", metavar="DATETIME", help="The new due instant (local time, YYYY-MM-DD[THH:MM]).")
@click.option("--by", metavar="OFFSET", help="Move by a calendar offset: +1 year, -2 months, +10 days.")
@click.option("--actor", required=True, help="Who decides (recorded in the audit).")
@click.option("--reason", required=True, help="Why (recorded in the audit).")
@click.option("--at", metavar="DATETIME", help="When the act was decided (local time); default now.")
@click.option(
    "--expect-version", type=click.IntRange(min=0), help="Refuse (exit 5) unless the instance is still at this version."
)
@json_option
@click.pass_obj
def move(
    app: App,
    entity: str,
    timer: str,
    to: str | None,
    by: str | None,
    actor: str,
    reason: str,
    at: str | None,
    expect_version: int | None,
    as_json: bool,
) -> None:
    """Move ENTITY's pending TIMER to another instant, as an audited chain event.

    A deadline that passed without firing (no daemon ran) can be moved too; the event says so.

    \b
    Examples:
      labelwf timers move mta contract_end --to 2013-01-01 --actor DATAR --reason "CIADT du 11 mai 2010"
      labelwf timers move mta contract_end --by "+1 year" --actor DATAR --reason "Phase 2 prolongée"
    """
    zone = app.workflow.timezone if app.workflow_name else app.engine.workflows[0].timezone
    moved = move_timer(
        app.engine,
        entity,
        timer,
        _shift(to, by, zone),
        actor=actor,
        reason=reason,
        workflow=app.workflow_name,
        expected_version=expect_version,
        at=instant(at, zone, "--at"),
    )
    if as_json:
        return app.emit_json(
            {
                "entity": moved.entity,
                "timer": moved.timer,
                "from": moved.old_due,
                "to": moved.new_due,
                "overdue": moved.overdue,
                "version": moved.seq,
            }
        )
    late = " (elle était échue sans avoir été déclenchée)" if moved.overdue else ""
    click.echo(
        f"{moved.entity} : échéance {moved.timer} déplacée du {moment(moved.old_due, app.zone)} "
        f"au {moment(moved.new_due, app.zone)}{late} (version {moved.seq})"
    )
    return None


@timers.command("plan-move")
@click.argument("timer")
@click.option("--to", metavar="DATETIME", help="The new due instant (local time, YYYY-MM-DD[THH:MM]).")
@click.option("--by", metavar="OFFSET", help="Move by a calendar offset: +1 year, -2 months, +10 days.")
@click.option("--reference", required=True, help="The act's reference, e.g. 'CIADT du 11 mai 2010'.")
@click.option("--actor", required=True, help="Who decides (recorded in each event).")
@click.option("--reason", required=True, help="Why (recorded in each event, after the reference).")
@click.option("--entity", "entities", multiple=True, metavar="ID", help="An entity; repeatable.")
@click.option("--state", "states", multiple=True, help="Every instance in this state; repeatable.")
@click.option("--where", "wheres", multiple=True, metavar="ATTR=VALUE", help="Entity attribute filter; repeatable.")
@click.option("--except", "excluded", multiple=True, metavar="ID", help="Leave this entity out; repeatable.")
@click.option("--all", "everything", is_flag=True, help="Every instance of the workflow.")
@click.option("--at", metavar="DATETIME", help="The act's date (local time, YYYY-MM-DD[THH:MM]); default: run time.")
@json_option
@click.pass_obj
def plan_move(
    app: App,
    timer: str,
    to: str | None,
    by: str | None,
    reference: str,
    actor: str,
    reason: str,
    entities: Sequence[str],
    states: Sequence[str],
    wheres: Sequence[str],
    excluded: Sequence[str],
    everything: bool,
    at: str | None,
    as_json: bool,
) -> None:
    """Plan the move of TIMER on every instance of a selection; `labelwf decide run PLAN` executes it.

    \b
    Example (the CIADT of 11 May 2010 extended every phase-2 contract to the end of 2012):
      labelwf timers plan-move contract_end --to 2013-01-01 --all \\
          --reference "CIADT du 11 mai 2010" --actor Gouvernement --reason "Phase 2 prolongée jusqu'à fin 2012"
    """
    selection = Selection(tuple(entities), tuple(states), _where(wheres), tuple(excluded), everything)
    if not (selection.entities or selection.filtered):
        raise click.UsageError("say whom: --entity, --state, --where or --all")
    wf = app.workflow
    report = plan_moves(
        app.engine,
        timer,
        _shift(to, by, wf.timezone),
        selection,
        reference=reference,
        actor=actor,
        reason=reason,
        workflow=wf.name,
        at=instant(at, wf.timezone, "--at"),
    )
    if as_json:
        return app.emit_json(batch_json(report.batch) | {"items": [batch_item_json(i) for i in report.items]})
    print_plan(app, report.batch, report.items)
    if report.batch.counts.get(ItemStatus.PENDING):
        click.echo(f"rien n'est encore déplacé : `labelwf decide run {report.batch.id}` exécute exactement ce plan")
    return None
