"""Instances: ``show``, ``fire``, ``history``, ``timers`` and ``diagram`` (``list`` is in ``listing``)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import replace

import click
from rich.text import Text

from ..audit.export import event_json
from ..engine import queries
from ..engine.representations import fired_json, timer_json, view_json
from ..operations.entity_versions import entity_as_of
from ..service.console_history import act_words, detail, engine_reason, timer_fired
from ..store.basis import Basis
from ..store.records import Event
from ..text import shown
from ..workflow import diagram
from ..workflow.definition import DAEMON_ACTOR, Workflow
from ..workflow.step_version import step_version
from .base import App, instant, json_option, main, page_options, page_title, row, split_sets, table
from .wording import CATCH_UP, LETTER_STATUSES, ROLES, Labels, day, duration, said
from .wording import when as moment

WIDTH = 80  # what the human-readable output fits in


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
    out, i, wf, labels = app.out, view.instance, view.workflow, Labels(app.engine)
    out.print(Text.assemble((shown(i.entity.name), "bold"), f" ({i.entity.id}) — {i.key}"))
    if when is not None:
        region = shown(str(i.entity.attributes.get("region") or "—"))
        out.print(Text(f"à la date du {day(when, app.zone)} : {region}"))
    state = labels.state(wf, i.state)
    described = f" — {view.description}" if view.description and not view.description.startswith(state) else ""
    out.print(Text.assemble("état : ", (state, "bold"), " (état final)" if view.final else "", described))
    out.print(Text(f"version {i.version}, dans cet état depuis le {moment(i.entered_at, app.zone)}"))
    if i.data:
        out.print(Text("données : " + shown(labels.data(wf, i.data))))
    if view.allowed:
        allowed = table("décisions possibles", "décision", "vers", "à renseigner", "facultatif", "à saisir", wrap=_WRAP)
        for a in view.allowed:
            fields = [", ".join(_field(labels, wf, f) for f in names) for names in (a.requires, a.optional)]
            row(
                allowed, labels.trigger(wf, a.trigger), ", ".join(labels.state(wf, t) for t in a.to), *fields, a.trigger
            )
        out.print(allowed)
    else:
        out.print(Text("aucune décision possible (état final)"))
    if view.timers:
        timers = table("échéances en cours", "échéance", "action", "date", "si dépassée", wrap=("action",))
        for t in view.timers:
            row(timers, t.name, labels.action(wf, t.trigger), moment(t.due_at, app.zone), said(CATCH_UP, t.catch_up))
        out.print(timers)
    if view.letters:
        letters = table("courriers", "n°", "destinataire", "statut", "objet", wrap=("destinataire", "objet"))
        for m in view.letters:
            row(letters, m.id, labels.recipient(m.recipient.role), said(LETTER_STATUSES, m.status), m.subject)
        out.print(letters)
    return None


_WRAP = ("décision", "vers", "à renseigner", "facultatif")


def _field(labels: Labels, workflow: Workflow, name: str) -> str:
    """A field by its label, with the key ``--set`` takes: ``Rapport d'examen (review_ref)``."""
    label = labels.field(workflow, name)
    return f"{label} ({name})" if label != name else name


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
    labels = Labels(app.engine)
    wf = labels.of(fired.workflow)
    step = (
        f"« {labels.trigger(wf, fired.trigger)} » — {labels.state(wf, fired.source)} → {labels.state(wf, fired.dest)}"
    )
    click.echo(f"Décision enregistrée pour {fired.entity} : {step} (version {fired.version})")
    for name, due in fired.timers_armed:
        label = wf.timer_label(name) if wf is not None else name
        click.echo(f"  échéance « {label} » posée au {moment(due, app.zone)}")
    if fired.letters_to_sign:
        click.echo(f"  {fired.letters_to_sign} courrier(s) à signer avant envoi : labelwf letters to-sign")
    if fired.letters > fired.letters_to_sign:
        click.echo(f"  {fired.letters - fired.letters_to_sign} courrier(s) à envoyer")
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
    click.echo(f"historique de {entity} : {len(page.items)} événement(s)" + (" (suite)" if after else ""))
    wrap: Callable[[str], list[str]] = textwrap.TextWrapper(
        width=WIDTH, initial_indent="    ", subsequent_indent="      "
    ).wrap
    labels = Labels(app.engine)
    for e in page.items:
        wf = step_version(labels.versions(e.workflow) or [app.engine.workflow(e.workflow)], e.trigger, e.source, e.dest)
        late = f" (déclenché avec {duration(e.late_by_s)} de retard)" if e.late_by_s else ""
        if e.backdated:
            late = f" (antidaté : enregistré le {moment(e.recorded_at, app.zone)})"
        plan = f"  [plan {e.batch}]" if e.batch is not None else ""
        click.echo(f"#{e.seq:<3} {moment(e.occurred_at, app.zone)}{late}  {_step(app, labels, wf, e)}{plan}")
        on = detail(e.principal)
        who = f"{e.actor} ({said(ROLES, e.role)}" + (f", {on}" if on else "") + ")"
        for line in wrap(shown(who if engine_reason(e) else f"{who} : {e.reason}")):
            click.echo(line)
        if e.data and not (e.trigger or "").startswith("("):  # an engine act's data: its line says them
            for line in wrap(shown(labels.data(wf, e.data, app.zone))):
                click.echo(line)
        if e.basis is not None:
            for line in wrap(shown(e.basis.described)):
                click.echo(line)
    app.print_more(page, f"labelwf history {entity}")
    return None


def _step(app: App, labels: Labels, wf: Workflow, e: Event) -> str:
    """What an event did, in the words of the workflow version that declares it: ``Classement : Évalué → Groupe 3``."""
    source, dest = labels.state(wf, e.source), labels.state(wf, e.dest)
    if e.trigger is None:
        return f"ouverture du dossier : {dest}"
    if e.trigger.startswith("("):  # the engine's own acts, said as the console says them
        return act_words(e, wf, app.zone)
    step = f"{labels.trigger(wf, e.trigger)} : {source} → {dest}"
    if e.actor == DAEMON_ACTOR:
        return f"échéance « {timer_fired(e, wf)} » atteinte : {step}"
    return step


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
    labels = Labels(app.engine)
    title = page_title(page, "échéance(s) en cours")
    out = table(title, "id", "échéance", "action", "date", "si dépassée", wrap=("action",))
    for t in page.items:
        action = labels.action(labels.of(t.workflow), t.trigger)
        row(out, t.entity, t.name, action, moment(t.due_at, app.zone), said(CATCH_UP, t.catch_up))
    app.print_rows(out, "une échéance est posée quand un dossier entre dans un état qui en déclare")
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
