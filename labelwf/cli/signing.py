"""The signature step in the command line: ``letters to-sign``, ``letters sign`` and ``letters return``.

A thin shell over ``labelwf.engine.signature``. The signatory is an account of the role
``signatory`` bound to a post (``users add NAME --role signatory --post KEY``), named with
``--account``; the process's user is recorded beside it, as for every command.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from rich.console import Console

from .. import accounts
from ..errors import AccountError, NotFound
from .base import EXIT_FAILURE, EXIT_NOT_FOUND, EXIT_REFUSED, App, json_option, row, table
from .letters import letters_group
from .wording import day

if TYPE_CHECKING:  # pyHanko loads only when letters are signed
    from ..engine.signature import Signatory

account_option = click.option(
    "--account", "account_name", required=True, metavar="NOM", help="Le compte du signataire (rôle signatory)."
)
PROGRESS_FROM = 10  # a batch of this many letters or more shows its progress


def _signatory(app: App, name: str) -> Signatory:
    """The signatory of the account ``name``: enabled, of the role ``signatory``, bound to a post."""
    from ..engine.signature import Signatory

    found = next((a for a in accounts.accounts(app.db) if a.name == name), None)
    if found is None or found.disabled:
        raise AccountError("account", name, "un compte actif (`labelwf users list` les montre)")
    if "signatory" not in found.roles or found.post is None:
        raise AccountError("account", name, "un compte signataire lié à un poste (users add --role signatory --post)")
    return Signatory(account=found.name, name=found.display_name, post=found.post, principal=app.runtime.principal)


@letters_group.command("to-sign")
@click.option("--post", help="Les lettres de ce poste (défaut : celles du compte --account, sinon tous les postes).")
@click.option("--account", "account_name", metavar="NOM", help="Le compte du signataire : les lettres de son poste.")
@click.option("--limit", type=click.IntRange(min=1, max=1000), default=100, show_default=True)
@json_option
@click.pass_obj
def letters_to_sign(app: App, post: str | None, account_name: str | None, limit: int, as_json: bool) -> None:
    """Les lettres qui attendent leur signataire, les plus anciennes d'abord.

    \b
    Exemples :
      labelwf letters to-sign --account jeanne.martin
      labelwf letters to-sign --post datar --json
    """
    if post is None and account_name is not None:
        post = _signatory(app, account_name).post
    desk = app.runtime.signature_desk
    letters = desk.queue(post, limit=limit)
    waiting = desk.count(post)
    if as_json:
        from ..engine.representations import letter_json

        return app.emit_json({"post": post, "waiting": waiting, "items": [letter_json(m) for m in letters]})
    whose = f"du poste {post}" if post else "de tous les postes"
    columns = ("n°", "pôle", "lettre", "destinataire", "décision du", *(() if post else ("poste",)))
    shown = table(f"{waiting} lettre(s) à signer {whose}", *columns, wrap=("lettre", "destinataire"))
    for letter in letters:
        recipient = letter.recipient.label or letter.recipient.role
        cells = [letter.id, letter.entity, letter.subject, recipient, day(letter.occurred_at, app.zone)]
        row(shown, *cells, *(() if post else (letter.post,)))
    app.print_rows(shown, "aucune : rien n'attend de signature")
    if waiting > len(letters):
        click.echo(f"... {waiting - len(letters)} de plus : relevez --limit")
    return None


@letters_group.command("sign")
@click.argument("letter_ids", nargs=-1, type=click.IntRange(min=1), metavar="[ID]...")
@click.option("--all", "every", is_flag=True, help="Toutes les lettres qui attendent le poste du signataire.")
@account_option
@click.option("--yes", is_flag=True, help="Ne pas demander de confirmation (une seule pour tout le lot sinon).")
@json_option
@click.pass_obj
def letters_sign(
    app: App, letter_ids: tuple[int, ...], every: bool, account_name: str, yes: bool, as_json: bool
) -> None:
    """Signer des lettres (PAdES, avec le certificat du poste) : une confirmation pour tout le lot.

    Chaque signature est un événement de la chaîne d'audit de sa lettre, avec l'empreinte du PDF
    signé ; la lettre, datée du jour de sa signature, part ensuite à la distribution (letters send).

    Code de sortie quand une lettre n'est pas signée (les autres le sont) : 3 si aucune des
    lettres non signées n'existe, 4 si l'une d'elles est refusée (déjà signée, renvoyée, d'un
    autre poste) ; 1 si la confirmation est refusée.

    \b
    Exemples :
      labelwf letters sign 12 13 14 --account jeanne.martin
      labelwf letters sign --all --account jeanne.martin --yes
    """
    if every == bool(letter_ids):
        raise click.UsageError("dites quelles lettres : des numéros, ou --all (pas les deux)")
    signatory = _signatory(app, account_name)
    desk = app.runtime.signature_desk
    batch = desk.waiting_ids(signatory.post) if every else list(letter_ids)
    if not batch:
        click.echo(f"aucune lettre n'attend la signature du poste {signatory.post}")
        return
    question = f"Signer {len(batch)} lettre(s) du poste {signatory.post} en tant que {signatory.name} ?"
    if not yes and not click.confirm(question, default=False):
        click.echo("rien n'a été signé")
        sys.exit(EXIT_FAILURE)
    console = Console(stderr=True)

    def progress(done: int, total: int) -> None:
        if total >= PROGRESS_FROM and (done % PROGRESS_FROM == 0 or done == total):
            console.print(f"... {done}/{total} lettre(s) traitée(s)", highlight=False)

    report = desk.sign(batch, signatory, progress=progress)
    if as_json:
        app.emit_json(
            {
                "signed": [
                    {"letter": s.letter, "pdf_sha256": s.sha256, "signed_at": s.signed_at, "seq": s.seq}
                    for s in report.signed
                ],
                "refused": [{"letter": letter, "reason": why} for letter, why in report.refused],
            }
        )
    else:
        click.echo(f"{len(report.signed)} lettre(s) signée(s) par {signatory.name} (poste {signatory.post})")
        for letter, why in report.refused:
            click.echo(f"  lettre {letter} non signée : {why}", err=True)
    if report.errors:  # as labelwf --help says: 3 when none of them exists, 4 when one was refused otherwise
        missing = all(isinstance(error, NotFound) for _, error in report.errors)
        sys.exit(EXIT_NOT_FOUND if missing else EXIT_REFUSED)


@letters_group.command("return")
@click.argument("letter_id", type=click.IntRange(min=1))
@account_option
@click.option("--reason", required=True, help="Pourquoi la lettre est renvoyée (enregistré dans la chaîne d'audit).")
@click.pass_obj
def letters_return(app: App, letter_id: int, account_name: str, reason: str) -> None:
    """Renvoyer une lettre à signer, avec un motif : elle ne partira pas.

    Code de sortie : 3 si la lettre n'existe pas, 4 si elle est refusée (déjà signée, renvoyée,
    d'un autre poste), 2 sans motif.

    \b
    Exemple :
      labelwf letters return 12 --account jeanne.martin --reason "Le groupe ne correspond pas au relevé"
    """
    signatory = _signatory(app, account_name)
    event = app.runtime.signature_desk.send_back(letter_id, signatory, reason=reason)
    click.echo(f"lettre {letter_id} renvoyée par {signatory.name} : {reason} (événement n° {event.seq})")
