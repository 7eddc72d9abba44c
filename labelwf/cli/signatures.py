"""Signatures: ``certificates demo``, ``certificates check`` and ``letters verify``.

A thin shell over ``labelwf.letters.certificates`` and ``verification``. A passphrase is read
from a file or an environment variable named on the command line, never given as its value.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from pathlib import Path

import click

from ..clock import SystemClock
from ..errors import LabelwfError
from .base import EXIT_BAD_INPUT, EXIT_FAILURE, App, json_option, main
from .letters import letters_group

PATH = click.Path(dir_okay=False, path_type=Path)
passphrase_file_option = click.option(
    "--passphrase-file", type=PATH, help="Fichier dont la première ligne est le mot de passe du certificat."
)
passphrase_env_option = click.option(
    "--passphrase-env", metavar="VARIABLE", help="Variable d'environnement qui contient le mot de passe."
)


@main.group("certificates")
def certificates_group() -> None:
    """Certificats de signature : en créer un de démonstration, en vérifier un avant usage."""


@certificates_group.command("demo")
@click.argument("path", type=PATH)
@passphrase_file_option
@passphrase_env_option
def certificates_demo(path: Path, passphrase_file: Path | None, passphrase_env: str | None) -> None:
    """Créer un certificat de démonstration auto-signé (PKCS#12) en PATH, sans valeur juridique.

    Son nom le dit, et les lettres signées avec lui le diront. Le certificat seul est écrit à côté
    (PATH en .pem) : c'est lui que l'on donne à qui vérifie (letters verify --trust). Sans option,
    le mot de passe est tiré au hasard et écrit dans PATH en .passphrase (lisible par vous seul).

    \b
    Exemples :
      labelwf certificates demo demo.p12
      labelwf certificates demo demo.p12 --passphrase-env LABELWF_SIGNATURE_PASSPHRASE
    """
    from ..letters.certificates import create_demo_certificate, new_passphrase, read_passphrase, write_passphrase

    if passphrase_file is None and passphrase_env is None:
        passphrase_file = path.with_suffix(".passphrase")
    if passphrase_file is not None and not passphrase_file.exists():
        write_passphrase(passphrase_file, new_passphrase())
        click.echo(f"mot de passe : tiré au hasard, écrit dans {passphrase_file} (gardez-le secret)")
    passphrase = read_passphrase(file=passphrase_file, env=passphrase_env)
    signer = create_demo_certificate(path, passphrase, when=SystemClock().now())
    click.echo(f"certificat de démonstration : {path} (« {signer.name} »)")
    click.echo(f"valable jusqu'au {signer.valid_until:%d/%m/%Y} ; à donner à qui vérifie : {path.with_suffix('.pem')}")
    click.echo("ce certificat n'a aucune valeur juridique : les lettres signées avec lui le disent")


@certificates_group.command("check")
@click.argument("path", type=PATH)
@passphrase_file_option
@passphrase_env_option
@json_option
@click.pass_obj
def certificates_check(
    app: App, path: Path, passphrase_file: Path | None, passphrase_env: str | None, as_json: bool
) -> None:
    """Ouvrir le certificat PKCS#12 PATH avec son mot de passe, et dire s'il peut signer aujourd'hui.

    \b
    Exemple :
      labelwf certificates check poste-dgcis.p12 --passphrase-file /run/secrets/dgcis
    """
    from ..letters.certificates import load_signer, read_passphrase

    passphrase = read_passphrase(file=passphrase_file, env=passphrase_env)
    signer = load_signer(path, passphrase, when=SystemClock().now())
    if as_json:
        return app.emit_json(
            {
                "path": str(path),
                "subject": signer.name,
                "valid_until": signer.valid_until,
                "demonstration": signer.demonstration,
            }
        )
    click.echo(f"{path} : « {signer.name} », valable jusqu'au {signer.valid_until:%d/%m/%Y}")
    if signer.demonstration:
        click.echo("certificat de démonstration : sans valeur juridique")
    return None


@letters_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trust",
    "trusted",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Certificat d'une autorité (ou d'un poste) reconnue, PEM ou DER ; répétable.",
)
@json_option
@click.pass_obj
def letters_verify(app: App, file: Path, trusted: tuple[Path, ...], as_json: bool) -> None:
    """Vérifier la signature du PDF FILE : par qui, quand, intact ou non, et par quel certificat.

    Un certificat n'est reconnu que si une autorité donnée par --trust le garantit (pour un
    certificat de démonstration : le fichier .pem de son poste). Sans --trust, seule l'intégrité
    est vérifiée : le certificat est dit « non vérifié ».

    \b
    Code de sortie :
      0  signature valide : intacte, certificat reconnu par une autorité donnée par --trust
      1  signature NON VALIDE : document modifié, signature absente ou altérée, certificat non reconnu
      2  signature intacte mais certificat non vérifié, faute de --trust (ou fichier --trust illisible)

    \b
    Exemples :
      labelwf letters verify outbox/enfant/2010-05-11-delabellisation-prefet.pdf --trust dgcis.pem
      labelwf letters verify lettre.pdf --trust demo.pem --json
    """
    from ..letters.certificates import load_trusted
    from ..letters.signing import PARIS
    from ..letters.verification import ChainMatch, find_in_chain, verify

    # pyHanko logs why a certificate is not trusted, with a traceback, on a terminal that has no
    # logging set up; the verdict says it in French: keep its log lines for configured handlers
    logging.getLogger("pyhanko").addHandler(logging.NullHandler())
    roots = [load_trusted(path) for path in trusted]
    verdict = verify(file.read_bytes(), roots, now=SystemClock().now())
    try:
        chain = find_in_chain(verdict.sha256, app.db)
    except LabelwfError as unreadable:  # no database, or one of an older schema: the verdict stands alone
        chain = ChainMatch(looked_up=False, note=f"recherche indisponible : {unreadable}")
    verdict = replace(verdict, chain=chain)
    if as_json:
        app.emit_json({"file": str(file), **verdict.as_json()})
    else:
        said = "valide" if verdict.valid else "intacte, certificat non vérifié" if verdict.intact_unchecked else None
        click.echo(f"{file} : signature {said or 'NON VALIDE'}")
        if verdict.signer is not None:
            click.echo(f"  signée par : {verdict.signer}")
        if verdict.signed_at is not None:
            click.echo(f"  le : {verdict.signed_at.astimezone(PARIS):%d/%m/%Y à %H:%M} (heure de Paris)")
        if verdict.signatures:
            click.echo(f"  intégrité : {'intacte' if verdict.intact and verdict.whole_document else 'ROMPUE'}")
            if verdict.trust_checked:
                click.echo(f"  certificat : {'reconnu' if verdict.trusted else 'non reconnu'}")
            else:
                click.echo("  certificat : non vérifié — donnez --trust FICHIER.pem, par exemple le .pem du poste")
        if verdict.demonstration:
            click.echo("  certificat de démonstration : cette lettre n'a aucune valeur juridique")
        for problem in verdict.problems:
            click.echo(f"  problème : {problem}")
        click.echo(f"  empreinte sha256 : {verdict.sha256}")
        if verdict.chain is not None:
            chain = verdict.chain
            click.echo(f"  chaîne d'audit : {chain.note or f'lettre {chain.letter}'}")
    if not verdict.valid:
        sys.exit(EXIT_BAD_INPUT if verdict.intact_unchecked else EXIT_FAILURE)
