"""The dated directory of the administration: the shipped file loads, says who signs at each date,
never names a person the record does not name, refuses bad rows, and letters sign with it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelwf import Engine, Workflow, load_scenario, replay, store
from labelwf.cli import main
from labelwf.clock import FrozenClock
from labelwf.errors import ImportRejected, WorkflowError
from labelwf.letters.directory import KINDS, NO_NAME, kind_of, load_directory, parse_directory
from labelwf.letters.render import Signers
from labelwf.store import Database
from labelwf.workflow.loader import load_workflow
from tests.conftest import ROOT

DIRECTORY = ROOT / "data" / "directory.csv"
CAMPAIGN = ROOT / "scenarios" / "campaign-2008-2010.yaml"
HEADER = "kind,valid_from,valid_to,decides,signatory,gender,signatory_name,delegation,source,assumed,note\n"


def test_the_shipped_directory_loads_and_every_row_cites_the_record_and_names_nobody_unnamed() -> None:
    directory = load_directory(DIRECTORY)
    assert directory.rows
    for row in directory.rows:
        assert row.source and row.kind in KINDS
        assert row.signatory_name or NO_NAME in row.note  # never an invented person


@pytest.mark.parametrize(
    ("day", "signatory"),
    [
        (date(2019, 2, 5), "le Premier ministre"),
        (date(2022, 5, 16), "la Première ministre"),
        (date(2023, 3, 27), "la Première ministre"),
        (date(2024, 1, 9), "le Premier ministre"),
    ],
)
def test_the_label_is_signed_by_the_prime_minister_in_the_gender_of_the_day(day: date, signatory: str) -> None:
    row = load_directory(DIRECTORY).at("labellisation", day)
    assert row is not None and row.signatory == signatory and row.gender == ("f" if "Première" in signatory else "m")


def test_the_programme_is_run_by_the_diact_then_the_datar_then_the_cget_then_the_anct() -> None:
    directory = load_directory(DIRECTORY)

    def services(day: date) -> set[str]:
        rows = directory.in_force(day)
        return {r.decides.rsplit("(", 1)[-1].rstrip(")") for r in rows if r.kind == "pilotage" and "(" in r.decides}

    assert services(date(2008, 6, 18)) == {"DIACT", "DGE"}
    assert services(date(2010, 5, 11)) == {"DATAR", "DGCIS"}
    assert services(date(2016, 1, 1)) == {"CGET", "DGE"}
    assert services(date(2021, 7, 1)) == {
        "ANCT",
        "DGE",
        "pilotage partagé avec l'État, crédits de fonctionnement des pôles transférés",
    }
    industry = [r.decides for r in directory.in_force(date(2012, 7, 30)) if "Direction générale" in r.decides]
    assert industry == ["la Direction générale de la compétitivité, de l'industrie et des services (DGCIS)"]
    assert any("conseils régionaux" in r.decides for r in directory.in_force(date(2020, 1, 1)))
    assert not any("conseils régionaux" in r.decides for r in directory.in_force(date(2018, 1, 1)))


def test_a_step_takes_its_letters_declared_kind_else_its_triggers() -> None:
    assert kind_of("delabel") == "delabellisation" and kind_of("confirm") == "confirmation"
    assert kind_of("end_phase", "information") == "information" and kind_of("unknown_trigger") is None


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("nomination,2010-01-01,,x,le ministre,m,A B,,VIP-23,,", "kind 'nomination' is invalid: expected one of"),
        ("refus,2010-13-01,,x,le ministre,m,A B,,VIP-23,,", "valid_from '2010-13-01' is invalid"),
        ("refus,2010-01-02,2010-01-01,x,le ministre,m,A B,,VIP-23,,", "on or after valid_from (2010-01-02)"),
        ("refus,2010-01-01,,x,la Première ministre,m,A B,,VIP-23,,", "expected f for a feminine title"),
        ("refus,2010-01-01,,x,le ministre,m,A B,,see the press,,", "the record's source keys"),
        ("refus,2010-01-01,,x,le ministre,m,,,VIP-23,,", f"a note saying {NO_NAME!r}"),
        ("refus,2010-01-01,,x,le ministre,m,A B,,VIP-23", "has 9 columns; expected 11"),
    ],
)
def test_a_bad_row_refuses_the_file_naming_its_line_value_and_what_is_right(row: str, expected: str) -> None:
    with pytest.raises(ImportRejected) as refused:
        parse_directory(HEADER + row + "\n", "directory.csv")
    assert refused.value.problems[0].line == 2 and expected in refused.value.problems[0].message


def test_two_rows_of_one_kind_in_force_on_the_same_day_are_refused() -> None:
    rows = (
        "refus,2010-01-01,2012-12-31,x,le ministre,m,A B,,VIP-23,,\nrefus,2012-06-01,,x,le ministre,m,C D,,VIP-23,,\n"
    )
    with pytest.raises(ImportRejected, match="overlaps the row from 2010-01-01"):
        parse_directory(HEADER + rows)


def test_a_letter_names_the_authority_in_force_on_its_date_and_says_when_the_record_gives_no_name(
    db: Database, workflow: Workflow, clock: FrozenClock
) -> None:
    # Given the campaign replayed by an engine that signs with the directory
    engine = Engine(db, workflow, clock=clock, signers=Signers(directory=load_directory(DIRECTORY)))
    replay(engine, load_scenario(CAMPAIGN, engine.workflow()))
    # When the CIADT's withdrawal of 11 May 2010 is read
    with engine.db.read() as conn:
        found = conn.execute(sa.select(store.letter.c.body).where(store.letter.c.template == "delabellisation")).first()
    assert found is not None
    # Then it is signed by the DATAR's delegate for the Prime Minister, and says the record gives no name
    assert "Pour le Premier ministre et par délégation,\n(nom non donné par le dossier public)\n" in found[0]
    assert "Le délégué interministériel à l’aménagement du territoire et à l’attractivité régionale" in found[0]


def test_a_letter_declaring_an_unknown_decision_kind_is_refused_at_load(tmp_path: Path, workflow: Workflow) -> None:
    source = (ROOT / "workflows" / "poles-2008.yaml").read_text(encoding="utf-8")
    marker = "  contrat_signe:\n"
    edited = source.replace(marker, marker + "    decision: nomination\n", 1)
    (tmp_path / "poles-2008.yaml").write_text(edited, encoding="utf-8")
    with pytest.raises(WorkflowError, match="decision 'nomination' is not one of"):
        load_workflow(tmp_path / "poles-2008.yaml", ROOT / "templates")


def test_the_directory_command_lists_who_decides_and_signs_at_a_date_in_french_and_in_json(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database: sqlite:///{tmp_path / 'x.db'}\ndirectory: {DIRECTORY}\n", encoding="utf-8")
    runner = CliRunner()
    shown = runner.invoke(main, ["--config", str(config), "directory", "--as-of", "2023-03-27"], env={"COLUMNS": "400"})
    assert shown.exit_code == 0, shown.output
    assert "la Première ministre" in shown.output and "labellisation" in shown.output
    as_json = runner.invoke(main, ["--config", str(config), "directory", "--as-of", "2023-03-27", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert '"signatory": "la Première ministre"' in as_json.output
    refused = runner.invoke(main, ["--config", str(config), "directory", "--as-of", "27/03/2023"])
    assert refused.exit_code == 2 and "27/03/2023" in refused.output
