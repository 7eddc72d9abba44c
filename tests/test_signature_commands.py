"""The signature step's commands keep the exit codes `labelwf --help` lists (3 not found, 4 refused), and a
signatory is bound only to a post some letter may wait for."""

from __future__ import annotations

import pytest

from labelwf.cli import EXIT_BAD_INPUT, EXIT_NOT_FOUND, EXIT_REFUSED
from labelwf.engine.pdf import pdf_unavailable
from tests.conftest import POLES_CSV
from tests.test_cli import Cli

pytestmark = pytest.mark.skipif(pdf_unavailable() is not None, reason=f"no PDF: {pdf_unavailable()}")


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A service that requires signatures, a classification's letters waiting for the DIACT, and two signatories."""
    monkeypatch.setenv("LABELWF_SIGNATURE", "required")
    monkeypatch.setenv("LABELWF_LOCALE", "fr")  # the error lines as the administration reads them
    runner = Cli(database_url)
    runner("init")
    runner("import", str(POLES_CSV), "--at", "2008-06-18")
    runner("fire", "enfant", "classify", "--set", "group=1", "--at", "2008-06-18", "--actor", "DIACT", "--reason", "r")
    for name, post in (("jeanne", "diact"), ("paul", "datar")):
        runner("users", "add", name, "--role", "signatory", "--post", post, "--no-password")
    return runner


def test_letters_sign_exits_3_when_no_refused_letter_exists_and_4_when_one_was_refused(cli: Cli) -> None:
    waiting = str(cli.json("letters", "to-sign", "--account", "jeanne")["items"][0]["id"])
    # A letter that does not exist: not found
    missing = cli("letters", "sign", "999999", "--account", "jeanne", "--yes", code=EXIT_NOT_FOUND)
    assert "lettre 999999 non signée" in missing.stderr
    # Another post's letter: refused, alone or beside a letter that does not exist
    other = cli("letters", "sign", waiting, "--account", "paul", "--yes", code=EXIT_REFUSED)
    assert f"lettre {waiting} non signée" in other.stderr and "poste diact" in other.stderr
    cli("letters", "sign", "999999", waiting, "--account", "paul", "--yes", code=EXIT_REFUSED)
    # And its help says so
    helped = " ".join(cli("letters", "sign", "--help").stdout.split())
    assert "3 si aucune des" in helped and "4 si l'une d'elles est refusée" in helped


def test_letters_return_exits_as_letters_sign_does_and_names_the_letter_without_a_reason(cli: Cli) -> None:
    waiting = str(cli.json("letters", "to-sign", "--account", "jeanne")["items"][0]["id"])
    cli("letters", "return", "999999", "--account", "jeanne", "--reason", "r", code=EXIT_NOT_FOUND)
    cli("letters", "return", waiting, "--account", "paul", "--reason", "r", code=EXIT_REFUSED)
    empty = cli("letters", "return", waiting, "--account", "jeanne", "--reason", " ", code=EXIT_BAD_INPUT)
    assert f"l'historique du dossier de la lettre n° {waiting}." in empty.stderr and "letter " not in empty.stderr
    assert "3 si la lettre n'existe pas, 4 si" in " ".join(cli("letters", "return", "--help").stdout.split())


def test_a_signatory_bound_to_a_post_no_letter_waits_for_is_refused_listing_the_posts(cli: Cli) -> None:
    refused = cli(
        "users", "add", "signataire.x", "--role", "signatory", "--post", "nimportequoi", "--no-password",
        code=EXIT_BAD_INPUT,
    )  # fmt: skip
    assert (
        "poste « nimportequoi » refusé : attendu un poste de l'annuaire (diact, datar, cget, anct, dge, dgcis, "
        "region, premier-ministre) ou le poste par défaut « service »"
    ) in refused.stderr
    assert "signataire.x" not in cli("users", "list").stdout
    # The default post is one: the letters the directory gives to no post wait for it
    cli("users", "add", "signataire.service", "--role", "signatory", "--post", "service", "--no-password")
