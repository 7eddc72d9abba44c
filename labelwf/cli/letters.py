"""The outbox: ``letters`` (list), ``letters show``, ``letters send`` and ``letters preview``."""

from __future__ import annotations

import sys

import click

from .. import queries
from ..delivery import LETTER_STATUSES, DeliveryReport
from ..representations import letter_json
from .base import EXIT_FAILURE, App, json_option, main, page_options, row, table

ROUND = 200  # letters delivered between two progress lines


@main.group("letters", invoke_without_command=True)
@click.option("--pole", "entity", metavar="ID", help="Only this entity's letters.")
@click.option("--status", type=click.Choice(LETTER_STATUSES))
@page_options()
@json_option
@click.pass_context
def letters_group(
    ctx: click.Context, entity: str | None, status: str | None, limit: int, after: str | None, as_json: bool
) -> None:
    """List the letters of the outbox, newest first (or: letters show ID, send, preview TEMPLATE --pole ID).

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
    columns = ("id", "pole", "letter", "to", "status", "tries", "date", *(("last error",) if errors else ()))
    out = table(f"{len(page.items)} letter(s)", *columns, wrap=("pole", "letter", "last error"))
    for m in page.items:
        cells = [m.id, m.entity, m.template, m.recipient.role, m.status, m.attempts, app.local(m.occurred_at)[:10]]
        row(out, *cells, *(((m.last_error or "")[:60],) if errors else ()))
    app.print_rows(out, "" if entity or status or after else "letters are written when a step that sends them fires")
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
    click.echo(
        f"letter {letter.id} — {letter.template} to {letter.recipient.role} ({letter.status}, "
        f"checksum {letter.checksum[:12]}…)",
        err=True,
    )
    click.echo(f"Subject: {letter.subject}\n")
    click.echo(letter.text or "", nl=False)
    return None


@letters_group.command("send")
@click.option(
    "--limit", type=click.IntRange(min=1), help="Deliver at most this many letters (default: every letter due)."
)
@click.pass_obj
def letters_send(app: App, limit: int | None) -> None:
    """Deliver the letters that are due: to the outbox folder, and by SMTP when configured.

    Delivers in rounds of 200 with a progress line after each, until nothing is due (or --limit
    letters were handled); exits 1 if a letter failed for good.

    \b
    Examples:
      labelwf letters send
      labelwf letters send --limit 10
    """
    outbox = app.runtime.outbox
    total = DeliveryReport()
    while limit is None or total.handled < limit:
        size = ROUND if limit is None else min(ROUND, limit - total.handled)
        report = outbox.deliver_due(limit=size)
        for name in ("delivered", "retried", "failed", "uncertain"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        total.errors.extend(report.errors)
        total.pdf_skipped = report.pdf_skipped
        if report.handled < size:
            break
        click.echo(f"... {total.handled} letter(s) handled, {outbox.due_count()} due", err=True)
    click.echo(
        f"delivered {total.delivered}, to retry {total.retried}, failed {total.failed}, "
        f"uncertain {total.uncertain}; outbox {app.runtime.settings.outbox}"
    )
    if total.pdf_skipped:
        click.echo(total.pdf_skipped, err=True)
    for error in total.errors:
        click.echo(f"  {error}", err=True)
    remaining = outbox.due_count()
    if remaining:
        click.echo(f"{remaining} more letter(s) due: run `labelwf letters send` again (or raise --limit)")
    if total.failed:
        sys.exit(EXIT_FAILURE)


@letters_group.command("preview")
@click.argument("template")
@click.option("--pole", "entity", metavar="ID", required=True, help="The entity to write to.")
@click.option("--recipient", help="Only this recipient role.")
@click.option("--html", "as_html", is_flag=True, help="Print the HTML instead of the text.")
@click.pass_obj
def letters_preview(app: App, template: str, entity: str, recipient: str | None, as_html: bool) -> None:
    """Render letter TEMPLATE for an entity as it stands now, without storing or sending anything."""
    rendered = app.engine.preview_letter(entity, template, workflow=app.workflow_name)
    if recipient is not None:
        roles = [r.recipient.role for r in rendered]
        rendered = [r for r in rendered if r.recipient.role == recipient]
        if not rendered:
            raise click.BadParameter(
                f"{template!r} is not sent to {recipient!r}; it goes to: {', '.join(roles)}", param_hint="--recipient"
            )
    for letter in rendered:
        click.echo(f"--- to {letter.recipient.role}: {letter.subject}", err=True)
        click.echo(letter.html if as_html else letter.text)
