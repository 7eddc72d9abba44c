"""Provenance on every fact: an event's basis (the record, an assumption, synthetic data) is hashed
with it, stored, read back and shown; an event without one keeps its old canonical form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelwf import Engine, ScenarioError, import_entities, store, verify
from labelwf.audit.export import exported_events
from labelwf.audit.hashing import BASIS_FORMATS, HASH_FORMAT, KEYED_FORMAT, event_hash
from labelwf.cli import main
from labelwf.errors import PlanRejected
from labelwf.operations.bulk import read_outcomes
from labelwf.operations.provenance import with_act_basis
from labelwf.scenarios.replay import replay
from labelwf.scenarios.scenario import load_scenario
from labelwf.store import reads
from labelwf.store.records import Basis, BasisKind
from tests.conftest import CONFIG_FILE, POLES_CSV
from tests.helpers import OPERATOR

RECORD = Basis.record("VIP-23, WTM-1213")
ASSUMED = Basis.assumed("le contrat est signé le 1er janvier 2009", source="RAP-2008")
SYNTHETIC = Basis.synthetic("nom inventé : le dossier public donne un nombre, pas des noms")


def events_of(engine: Engine, entity: str) -> list[store.records.Event]:
    with engine.db.read() as conn:
        [instance] = reads.find_instances(conn, entity)
        return list(reads.history(conn, instance, limit=100).items)


@pytest.mark.parametrize("basis", [RECORD, ASSUMED, SYNTHETIC], ids=lambda b: b.kind.value)
def test_an_event_with_a_basis_is_stored_with_it_and_verifies(poles: Engine, basis: Basis) -> None:
    # Given a decision fired with its basis
    poles.fire("enfant", "classify", data={"group": 3}, basis=basis, **OPERATOR)
    # Then it is read back with it, in format 8, and the trail verifies
    event = events_of(poles, "enfant")[-1]
    assert event.basis == basis and event.hash_format == BASIS_FORMATS[HASH_FORMAT] == 8
    assert event_hash(event) == event.hash
    assert verify(poles.db).ok
    [exported] = [e for e in exported_events(poles.db, entity="enfant") if e["seq"] == 1]
    assert exported["basis"] == basis.as_json() and exported["hash_format"] == 8


def test_an_event_without_basis_keeps_its_old_format(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    event = events_of(poles, "enfant")[-1]
    assert event.basis is None and event.hash_format == HASH_FORMAT


def test_a_keyed_engine_writes_format_9(db: store.Database, workflow: object, clock: object) -> None:
    keyed = Engine(db, workflow, clock=clock, audit_key=b"k" * 32)  # type: ignore[arg-type]
    import_entities(keyed, POLES_CSV, actor="import", reason="test set-up")
    keyed.fire("enfant", "classify", data={"group": 3}, basis=RECORD, **OPERATOR)
    event = events_of(keyed, "enfant")[-1]
    assert event.hash_format == BASIS_FORMATS[KEYED_FORMAT] == 9 and event.basis == RECORD
    assert verify(db, key=b"k" * 32).ok


@pytest.mark.parametrize(
    "tampered",
    [
        {"kind": "record", "source": "VIP-99"},
        {"kind": "assumed", "text": "autre chose"},
        None,
    ],
)
def test_a_basis_changed_in_the_database_breaks_the_chain(poles: Engine, tampered: object) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, basis=RECORD, **OPERATOR)
    with poles.db.write() as conn:
        conn.execute(store.event.update().where(store.event.c.hash_format == 8).values(basis=tampered))
    report = verify(poles.db)
    assert not report.ok
    assert any(b.entity == "enfant" and b.seq == 1 for b in report.breaks)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"kind": "record"}, "names its source"),
        ({"kind": "hearsay", "source": "X"}, "one of record, assumed, synthetic; got 'hearsay'"),
        ({"kind": "assumed", "text": "  "}, "non-empty"),
        ({"kind": "synthetic", "text": "x", "source": "VIP-23"}, "no source"),
        ({"kind": "record", "source": "VIP-23\nX"}, "control character"),
        ({"kind": "record", "source": "V" * 201}, "at most 200"),
        ({"kind": "record", "source": "VIP-23", "page": 3}, "got also page"),
        ("VIP-23", "an object with a 'kind'"),
    ],
)
def test_a_malformed_basis_is_refused_with_what_is_wrong(given: object, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        Basis.parse(given)


def test_a_basis_round_trips_through_its_json_form() -> None:
    for basis in (RECORD, ASSUMED, SYNTHETIC):
        assert Basis.parse(basis.as_json()) == basis
    assert SYNTHETIC.kind is BasisKind.SYNTHETIC and "source" not in SYNTHETIC.as_json()


def test_the_stored_basis_column_holds_the_json_form(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, basis=ASSUMED, **OPERATOR)
    with poles.db.read() as conn:
        stored = conn.execute(sa.select(store.event.c.basis).where(store.event.c.hash_format == 8)).scalar_one()
    assert stored == ASSUMED.as_json()


SCENARIO = """\
scenario: provenance
workflow: poles-2008
entities: poles.csv
start: "2008-06-18T09:00"
until: "2008-12-31T23:00"
actor: Gouvernement
steps:
  - at: "2008-06-30"
    trigger: classify
    entities: [aerospace-valley]
    set: {group: 1}
    reason: Classement publié
    source: RAP-2008, CIACT-0807
  - at: "2008-07-01"
    trigger: classify
    entities: [lyonbiopole]
    set: {group: 3}
    reason: Classement publié
    source: RAP-2008
    assumed: le jour n'est pas public
  - at: "2008-07-02"
    decide: outcomes.csv
    trigger: classify
    reference: Décision du 2 juillet 2008
    reason: Classement des autres pôles
    source: RAP-2008
  - at: "2008-07-03"
    trigger: sign_contract
    entities: [aerospace-valley]
    set: {contract_start: "2009-01-01"}
    reason: Contrat signé
"""
OUTCOMES = """\
id,group,basis
minalogic,2,record: named in RAP-2008
medicen-paris-region,2,inferred: the rest of the count
system-tic-paris-region,3,synthetic: the record counts them without names
"""


def replayed_scenario(engine: Engine, tmp_path: Path, scenario: str = SCENARIO) -> None:
    (tmp_path / "poles.csv").write_bytes(POLES_CSV.read_bytes())
    (tmp_path / "outcomes.csv").write_text(OUTCOMES, encoding="utf-8")
    path = tmp_path / "provenance.yaml"
    path.write_text(scenario, encoding="utf-8")
    replay(engine, load_scenario(path, engine.workflow()))


def test_a_record_row_keeps_its_own_basis_under_a_step_that_assumes_about_other_rows(
    engine: Engine, tmp_path: Path
) -> None:
    # Given a bulk decision whose step assumes something (about its synthetic rows), and a row of the record
    scenario = SCENARIO.replace(
        "    reason: Classement des autres pôles\n    source: RAP-2008",
        "    reason: Classement des autres pôles\n    source: RAP-2008\n    assumed: les lignes fictives sont choisies",
    )
    replayed_scenario(engine, tmp_path, scenario)
    # Then the record row's event rests on the record (the step's keys, then what the row says), not the assumption
    assert basis_of(engine, "minalogic", "classify") == Basis.record("named in RAP-2008")
    # and a row whose detail names no key gets the step's keys in front
    assert with_act_basis(Basis.record("label d'un an"), Basis.assumed("x", source="VIP-23")) == Basis.record(
        "VIP-23 : label d'un an"
    )
    assert with_act_basis(None, Basis.assumed("x")) == Basis.assumed("x")


def test_a_scenarios_top_level_source_is_its_opening_imports_basis(engine: Engine, tmp_path: Path) -> None:
    # Given a scenario whose entity file is named by the record at its top
    replayed_scenario(
        engine, tmp_path, SCENARIO.replace("actor: Gouvernement\n", "actor: Gouvernement\nsource: CG-suites\n")
    )
    # Then every instance's first event (the import) rests on it
    assert basis_of(engine, "minalogic", None) == Basis.record("CG-suites")


def test_a_synthetic_cohort_enters_as_synthetic(engine: Engine, tmp_path: Path) -> None:
    # Given a replay of a generated cohort instead of the scenario's entities
    (tmp_path / "poles.csv").write_bytes(POLES_CSV.read_bytes())
    path = tmp_path / "cohort.yaml"
    path.write_text(
        SCENARIO.split('  - at: "2008-06-30"')[0] + '  - at: "2008-06-30"\n    note: rien\n', encoding="utf-8"
    )
    replay(engine, load_scenario(path, engine.workflow()), synthetic=(2, 1, 1))
    # Then their entry says they are fictitious
    with engine.db.read() as conn:
        kinds = {
            row[0]["kind"] for row in conn.execute(sa.select(store.event.c.basis).where(store.event.c.source.is_(None)))
        }
    assert kinds == {"synthetic"}


def basis_of(engine: Engine, entity: str, trigger: str) -> Basis | None:
    [event] = [e for e in events_of(engine, entity) if e.trigger == trigger]
    return event.basis


def test_a_scenarios_source_and_assumed_keys_become_its_events_basis(engine: Engine, tmp_path: Path) -> None:
    # Given a scenario whose steps name their sources, one an assumption, and an outcomes file with a basis column
    replayed_scenario(engine, tmp_path)
    # Then each event carries the basis its step (or its row) gives
    assert basis_of(engine, "aerospace-valley", "classify") == Basis.record("RAP-2008, CIACT-0807")
    assert basis_of(engine, "lyonbiopole", "classify") == Basis.assumed("le jour n'est pas public", source="RAP-2008")
    assert basis_of(engine, "minalogic", "classify") == Basis.record("named in RAP-2008")  # what its row says
    inferred = basis_of(engine, "medicen-paris-region", "classify")
    assert inferred is not None and inferred.kind is BasisKind.ASSUMED
    assert inferred.text == "déduit du dossier public (ligne 3 des données « outcomes ») : the rest of the count"
    synthetic = basis_of(engine, "system-tic-paris-region", "classify")
    assert synthetic is not None and synthetic.kind is BasisKind.SYNTHETIC
    assert "ligne 4 des données « outcomes »" in (synthetic.text or "") and "pas les noms" in (synthetic.text or "")
    # A step that says nothing of its basis records none (the act itself), in the old format
    [contract] = [e for e in events_of(engine, "aerospace-valley") if e.trigger == "sign_contract"]
    assert contract.basis is None and contract.hash_format == HASH_FORMAT
    assert verify(engine.db).ok


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("source: RAP-2008, CIACT-0807", 'source: ""', "source: '' is refused (it is empty)"),
        ("source: RAP-2008, CIACT-0807", "source: " + "K" * 201, "at most 200"),
        ("source: RAP-2008, CIACT-0807", 'source: "RAP-2008\\nX"', "control character"),
        ("    assumed: le jour n'est pas public", '    assumed: ""', "assumed: '' is refused"),
    ],
)
def test_a_step_with_a_malformed_source_is_refused_with_its_line(
    workflow: object, tmp_path: Path, old: str, new: str, message: str
) -> None:
    (tmp_path / "poles.csv").write_bytes(POLES_CSV.read_bytes())
    path = tmp_path / "broken.yaml"
    path.write_text(SCENARIO.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, workflow)  # type: ignore[arg-type]
    assert any(message in p.message and p.line for p in refused.value.problems), refused.value.problems


def test_an_outcomes_row_with_an_unknown_basis_is_refused_with_its_line(poles: Engine, tmp_path: Path) -> None:
    path = tmp_path / "outcomes.csv"
    path.write_text("id,group,basis\nminalogic,2,hearsay: someone said\n", encoding="utf-8")
    with pytest.raises(PlanRejected) as refused:
        read_outcomes(path, poles.workflow(), trigger="classify")
    [problem] = refused.value.problems
    assert problem.line == 2 and "'hearsay: someone said' is not one of record, inferred, synthetic" in problem.message


def test_the_cli_fires_with_a_source_and_history_shows_the_basis_in_french(database_url: str) -> None:
    runner = CliRunner()

    def cli(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, ["--config", str(CONFIG_FILE), "--db", database_url, *args])
        assert result.exit_code == code, result.output
        return result.output

    cli("init")
    cli("import", str(POLES_CSV), "--at", "2008-06-18")
    fire = ("fire", "enfant", "classify", "--actor", "DIACT", "--reason", "rapport", "--set", "group=3")
    assert "--source" in cli(*fire, "--source", "RAP-2008\tX", code=2)
    cli(*fire, "--assumed", "le jour n'est pas public", "--source", "RAP-2008")
    shown = cli("history", "enfant")
    assert "Hypothèse : le jour n'est pas public (source : RAP-2008)" in shown
    [_, classified] = json.loads(cli("history", "enfant", "--json"))["items"]
    assert classified["basis"] == {"kind": "assumed", "source": "RAP-2008", "text": "le jour n'est pas public"}
    assert json.loads(cli("audit", "verify", "--json"))["ok"] is True
