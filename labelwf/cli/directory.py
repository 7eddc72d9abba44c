"""``labelwf directory``: who runs the programme, decides and signs each kind of decision at a date."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import click

from ..letters.directory import GENDERS, KINDS, Directory
from ..letters.filters import MONTHS_FR
from .base import EXIT_BAD_INPUT, App, fail, json_option, main, row, table


@main.command("directory")
@click.option("--as-of", "as_of", metavar="AAAA-MM-JJ", help="The date to read (default: today).")
@json_option
@click.pass_obj
def directory_command(app: App, as_of: str | None, as_json: bool) -> None:
    """List who runs the programme, who decides and who signs each kind of decision on a date.

    Every row gives its source keys in the public record; an empty name is one the record does not give.

    \b
    Examples:
      labelwf directory --as-of 2023-03-27
      labelwf directory --as-of 2010-05-11 --json
    """
    day = _day(as_of) if as_of else app.engine.clock.now().astimezone(app.zone).date()
    directory: Directory | None = app.runtime.directory
    if directory is None:
        fail(EXIT_BAD_INPUT, "aucun annuaire configuré : indiquez le fichier dans la clé directory de la configuration")
    rows = directory.in_force(day)
    if as_json:
        app.emit_json({"as_of": day, "file": directory.file, "rows": [asdict(r) for r in rows]})
        return
    title = f"Annuaire de l’administration au {_french(day)} : {len(rows)} entrée(s)"
    columns = ("nature", "décide", "signe", "nom", "délégation", "sources")
    out = table(title, *columns, wrap=columns)
    for r in rows:
        name = r.signatory_name or "non donné par le dossier public"
        signs = r.signatory + (f" ({GENDERS[r.gender]})" if r.gender else "")
        row(
            out,
            KINDS[r.kind],
            r.decides,
            signs,
            name,
            r.delegation or "—",
            r.source + (" ; supposé" if r.assumed else ""),
        )
    app.print_rows(out, "le dossier public ne donne aucune entrée à cette date")
    if any(r.assumed for r in rows):
        click.echo("« supposé » : l’entrée repose sur une hypothèse, écrite dans la colonne assumed du fichier.")


def _day(text: str) -> date:
    """The ``--as-of`` date, or a usage error naming the value and the form expected."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise click.BadParameter(f"{text!r} n’est pas une date AAAA-MM-JJ (par ex. 2023-03-27)", param_hint="--as-of")


def _french(day: date) -> str:
    return f"{'1er' if day.day == 1 else day.day} {MONTHS_FR[day.month - 1]} {day.year}"
