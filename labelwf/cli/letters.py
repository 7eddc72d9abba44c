"""The outbox: ``letters`` (list), ``letters show``, ``letters send``, ``letters preview`` and ``letters check``."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import asdict
from typing import Any

import click
from rich.console import Console

from ..engine import queries
from ..engine.delivery import LETTER_STATUSES, DeliveryReport
from ..engine.representations import letter_json
from ..engine.signed_letters import signed_bodies
from ..letters.demonstration import check_demonstration
from ..letters.letter_check import check_letter
from ..letters.mention_check import check_mentions, mention_kinds
from ..letters.record_check import RecordContext, check_record, choice_codes, default_regions, load_regions
from ..message import N_
from ..store import signatures
from ..store.records import Letter
from ..text import shown
from .base import EXIT_FAILURE, App, instant, json_option, main, page_options, page_title, row, split_sets, table
from .saying import echo, line, named
from .wording import LETTER_STATUSES as LETTER_WORDS
from .wording import Labels, day, said

ROUND = 200  # letters delivered between two progress lines
CHECK_PAGE = 500  # letters listed per page by `letters check`
REGION_MAP = "regions_2016.csv"  # the regions merged in 2016, read beside the configured directory file


@main.group("letters", invoke_without_command=True)
@click.option("--pole", "entity", metavar="ID", help="Only this entity's letters.")
@click.option("--status", type=click.Choice(LETTER_STATUSES))
@page_options()
@json_option
@click.pass_context
def letters_group(
    ctx: click.Context, entity: str | None, status: str | None, limit: int, after: str | None, as_json: bool
) -> None:
    """List the letters of the outbox, newest first (or: letters show ID, send, preview TEMPLATE --pole ID, check).

    \b
    Examples:
      labelwf letters --pole enfant
      labelwf letters --status retry
      labelwf letters show 12 --html
    """
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    page = queries.list_letters(app.db, entity=entity, status=status, after=after, limit=limit)
    if as_json:
        app.emit_page(page, letter_json)
        return
    errors = any(m.last_error for m in page.items)
    columns = ("n°", "dossier", "objet", "destinataire", "statut", "essais", "date", *(("dernière erreur",) * errors))
    out = table(page_title(page, "courrier(s)"), *columns, wrap=("dossier", "objet", "destinataire", "dernière erreur"))
    labels = Labels(app.engine)
    for m in page.items:
        to, stands = labels.recipient(m.recipient.role), said(LETTER_WORDS, m.status)
        cells = [m.id, m.entity, m.subject or m.template, to, stands, m.attempts, day(m.occurred_at, app.zone)]
        row(out, *cells, *(((m.last_error or "")[:60],) if errors else ()))
    empty = "un courrier est écrit quand une étape qui en envoie a lieu"
    app.print_rows(out, "" if entity or status or after else empty)
    filters = (f" --pole {entity}" if entity else "") + (f" --status {status}" if status else "")
    app.print_more(page, f"labelwf letters{filters}")


@letters_group.command("show")
@click.argument("letter_id", type=int)
@click.option("--html", "as_html", is_flag=True, help="Print the stored HTML instead of the text.")
@json_option
@click.pass_obj
def letters_show(app: App, letter_id: int, as_html: bool, as_json: bool) -> None:
    """Print the stored, frozen copy of letter LETTER_ID."""
    letter = queries.get_letter(app.db, letter_id)
    if as_json:
        return app.emit_json(letter_json(letter, bodies=True))
    if as_html:
        click.echo(letter.html or "", nl=False)
        return None
    labels = Labels(app.engine)
    echo(
        N_(
            "letter %(id)s — %(template)s to %(recipient)s (%(status)s, checksum %(checksum)s…)",
            id=letter.id,
            template=letter.template,
            recipient=named(letter.recipient.role, labels.recipient(letter.recipient.role)),
            status=named(letter.status, said(LETTER_WORDS, letter.status)),
            checksum=letter.checksum[:12],
        ),
        err=True,
    )
    echo(N_("Subject: %(subject)s", subject=letter.subject or ""))
    click.echo("")
    click.echo(letter.text or "", nl=False)
    return None


@letters_group.command("send")
@click.option(
    "--limit", type=click.IntRange(min=1), help="Deliver at most this many letters (default: every letter due)."
)
@click.pass_obj
def letters_send(app: App, limit: int | None) -> None:
    """Deliver the letters that are due: to the outbox folder, and by SMTP when configured.

    PDFs are rendered by one worker process per core. Shows a progress bar on a terminal (a
    line every 200 letters otherwise: handled of due, letters per second) until nothing is due
    (or --limit letters were handled); exits 1 if a letter failed for good. It first removes
    the temporary files that a killed sender left in the outbox folder.

    \b
    Examples:
      labelwf letters send
      labelwf letters send --limit 10
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    outbox = app.runtime.outbox
    due = outbox.due_count()
    expected = due if limit is None else min(due, limit)
    total = DeliveryReport()
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"))
    bar = Progress(*columns, TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal)
    started = time.monotonic()

    def rate() -> str:
        return f"{total.handled / max(time.monotonic() - started, 1e-6):,.1f} letters/s"

    with bar:
        task = bar.add_task("delivering letters", total=expected or None, rate="")

        def handled(_letter: Letter, _outcome: str) -> None:
            bar.update(task, advance=1, rate=rate())

        try:
            while limit is None or total.handled < limit:
                size = ROUND if limit is None else min(ROUND, limit - total.handled)
                report = outbox.deliver_due(limit=size, observer=handled)
                for name in ("delivered", "retried", "failed", "uncertain", "leftovers"):
                    setattr(total, name, getattr(total, name) + getattr(report, name))
                total.errors.extend(report.errors)
                total.pdf_skipped, total.notices_held = report.pdf_skipped, report.notices_held
                if report.handled < size:
                    break
                if not console.is_terminal:
                    expected = max(expected, total.handled)
                    handled_so_far = N_(
                        "... %(handled)s/%(expected)s letter(s) handled, %(rate)s",
                        handled=f"{total.handled:,}",
                        expected=f"{expected:,}",
                        rate=rate(),
                    )
                    echo(handled_so_far, err=True)
        finally:
            outbox.close()
    if total.leftovers:
        echo(N_("removed %(count)s temporary file(s) that a killed sender left", count=total.leftovers), err=True)
    echo(
        N_(
            "delivered %(delivered)s, to retry %(retried)s, failed %(failed)s, uncertain %(uncertain)s; "
            "outbox %(outbox)s",
            delivered=total.delivered,
            retried=total.retried,
            failed=total.failed,
            uncertain=total.uncertain,
            outbox=str(app.runtime.settings.outbox),
        )
    )
    if total.pdf_skipped:
        click.echo(total.pdf_skipped, err=True)
    if total.notices_held:
        held = N_(
            "%(count)s notice(s) kept back: they go out under the service's seal, and nothing here can seal them "
            "(seal.p12 in the signature_certificates folder, and PDFs)",
            count=total.notices_held,
        )
        echo(held, err=True)
    for error in total.errors:
        click.echo(f"  {error}", err=True)
    remaining = outbox.due_count()
    if remaining:
        echo(N_("%(count)s more letter(s) due: run `labelwf letters send` again (or raise --limit)", count=remaining))
    if total.failed:
        sys.exit(EXIT_FAILURE)


@letters_group.command("preview")
@click.argument("template")
@click.option("--pole", "entity", metavar="ID", required=True, help="The entity to write to.")
@click.option("--recipient", help="Only this recipient role.")
@click.option("--html", "as_html", is_flag=True, help="Print the HTML instead of the text.")
@click.option(
    "--set", "sets", multiple=True, metavar="KEY=VALUE", help="A field of the step it comes with; repeatable."
)
@click.option("--at", metavar="DATE", help="Date the letter then: the entity as it was that day (name, region…).")
@click.pass_obj
def letters_preview(
    app: App,
    template: str,
    entity: str,
    recipient: str | None,
    as_html: bool,
    sets: tuple[str, ...],
    at: str | None,
) -> None:
    """Render letter TEMPLATE for an entity as it stands now, without storing or sending anything.

    A decision's letter shows the fields the decision would carry: give them with --set. With --at,
    the letter is dated that day and names the entity as it was then.

    \b
    Examples:
      labelwf letters preview classement_groupe_1 --pole enfant
      labelwf letters preview delabellisation --pole mta --recipient prefet \\
        --set "decision_ref=CIADT du 11 mai 2010" --set "motif=Les critères du label ne sont pas remplis."
    """
    data = split_sets(sets)
    when = instant(at, app.zone, "--at")
    rendered = app.engine.preview_letter(entity, template, workflow=app.workflow_name, data=data, at=when)
    if recipient is not None:
        roles = [r.recipient.role for r in rendered]
        rendered = [r for r in rendered if r.recipient.role == recipient]
        if not rendered:
            raise click.BadParameter(
                f"{template!r} is not sent to {recipient!r}; it goes to: {', '.join(roles)}", param_hint="--recipient"
            )
    labels = Labels(app.engine)
    for letter in rendered:
        to = named(letter.recipient.role, labels.recipient(letter.recipient.role))
        echo(N_("--- to %(recipient)s: %(subject)s", recipient=to, subject=letter.subject), err=True)
        click.echo(letter.html if as_html else letter.text)


@letters_group.command("check")
@click.option("--pole", "entity", metavar="ID", help="Only this entity's letters.")
@json_option
@click.pass_obj
def letters_check(app: App, entity: str | None, as_json: bool) -> None:
    """Check every stored letter for what an administration could not send; exit 1 if any has a finding.

    Flags technical tokens (snake_case, ISO dates, `None`), straight quotes, missing no-break
    spaces, "1 janvier", unresolved forms of address, and missing mentions (the unfavourable
    letters also need their reasons, effective date and means of appeal); and, against the record,
    raw values of declared fields, English words, bare role codes in the copies, a region merged
    away before the letter's date, a signature without a name (or a note that the record gives
    none), a step resting on an assumed or synthetic fact without its note or SPÉCIMEN mark; a decision
    without its legal basis or its means of appeal (Télérecours citoyens from its opening), an
    unfavourable one without reasons in law and in fact, an addressee without address or the note
    that the record gives none; a letter signed with a demonstration certificate that does not say
    it has no legal value.

    \b
    Examples:
      labelwf letters check
      labelwf letters check --pole enfant --json
    """
    from rich.progress import Progress
    from rich.text import Text

    unfavourable = {
        name for workflow in app.engine.workflows for name, letter in workflow.letters.items() if letter.unfavourable
    }
    declared = [(f.label or name, f.choices) for w in app.engine.workflows for name, f in w.fields.items()]
    kinds = mention_kinds(
        (w.letters, w.letterhead, [(t.trigger, t.letters) for t in w.transitions]) for w in app.engine.workflows
    )
    choices = choice_codes(declared)
    directory = app.runtime.settings.directory
    region_map = directory.parent / REGION_MAP if directory is not None else None
    regions = load_regions(region_map) if region_map is not None and region_map.is_file() else default_regions()
    labels = Labels(app.engine)
    console = Console(stderr=True)
    live = console.is_terminal
    above_bar = live and sys.stdout.isatty()  # then lines are printed above the bar, not through it
    progress = Progress(console=console, transient=True, disable=not live, redirect_stdout=False, redirect_stderr=False)

    def say(line: str) -> None:
        if above_bar:
            console.print(Text(line), soft_wrap=True)
        else:
            click.echo(line)

    checked, with_findings, codes = 0, 0, Counter[str]()
    reported: list[dict[str, Any]] = []  # with --json only
    with progress:
        task = progress.add_task("checking letters", total=None)
        cursor: str | None = None
        while True:
            page = queries.list_letters(app.db, entity=entity, after=cursor, limit=CHECK_PAGE)
            if checked == 0:
                progress.update(task, total=None if page.more_capped_at else len(page.items) + page.more)
            for listed in page.items:
                letter = queries.get_letter(app.db, listed.id)
                findings = check_letter(letter.subject, letter.text or "", unfavourable=letter.template in unfavourable)
                day = letter.occurred_at.astimezone(app.zone).date()
                basis = queries.letter_basis_kind(app.db, letter.id)
                findings += check_record(letter.text or "", RecordContext(choices, regions, day, basis))
                findings += check_mentions(letter.text or "", kinds.get(letter.template), day)
                if letter.pdf_sha256 is not None:  # signed: as it reads signed, and what its signature recorded
                    with app.db.read() as conn:
                        certificate = signatures.signature_certificate(conn, letter)
                    signed = signed_bodies(letter, app.zone).text or ""
                    findings += check_demonstration(signed, certificate)
                checked += 1
                if not findings:
                    continue
                with_findings += 1
                codes.update(f.code for f in findings)
                if as_json:
                    findings_json = [asdict(f) for f in findings]
                    reported.append(
                        {
                            "id": letter.id,
                            "entity": letter.entity,
                            "template": letter.template,
                            "recipient": letter.recipient.role,
                            "findings": findings_json,
                        }
                    )
                else:
                    to = named(letter.recipient.role, labels.recipient(letter.recipient.role))
                    heading = N_(
                        "letter %(id)s: %(entity)s, %(template)s to %(recipient)s",
                        id=letter.id,
                        entity=letter.entity,
                        template=letter.template,
                        recipient=to,
                    )
                    say(shown(line(heading)))
                    for f in findings:
                        say(f"  {f.code}: {shown(f.message)}" + (f"\n      {shown(f.excerpt)}" if f.excerpt else ""))
            progress.update(task, completed=checked)
            if page.next is None:
                break
            cursor = page.next
    if as_json:
        app.emit_json({"checked": checked, "letters": reported})
    else:
        if codes:
            counted = ", ".join(f"{code} {n}" for code, n in sorted(codes.items()))
            echo(N_("findings: %(counts)s", counts=counted))
        echo(N_("%(checked)s letter(s) checked, %(found)s with findings", checked=checked, found=with_findings))
    if with_findings:
        sys.exit(EXIT_FAILURE)
