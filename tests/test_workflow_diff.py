"""`workflows diff`: what changed between two versions of a workflow, and the live instances each change touches."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from labelwf import Database, Engine, EntityRow, FrozenClock, add_entities, load_workflow
from labelwf.cli import EXIT_BAD_INPUT, EXIT_NOT_FOUND, main
from labelwf.store import reads
from labelwf.workflow.definition import Workflow
from labelwf.workflow.diff import Changed, Kind, diff, diff_json, touched
from tests.conftest import ROOT
from tests.helpers import drive

TIMER_V1 = (
    'Sous contrat de performance\n    timers:\n      - {name: contract_end, label: "Fin du contrat de performance", '
    'at: data.contract_end, default: "2012'
)
TIMER_V2 = TIMER_V1.replace('"2012', '"2013')
SUBJECT_V1 = "échéance du contrat de performance et prochaine évaluation"
SUBJECT_V2 = "fin du contrat de performance"
WITHDRAWN = "  withdrawn:\n    description: Retiré du programme\n    final: true\n"
WITHDRAW = "  - {trigger: withdraw, source: [group_3, evaluated], dest: withdrawn, requires: [decision_ref]}\n"


def edited(folder: Path, version: int, *replacements: tuple[str, str]) -> Path:
    """The shipped workflow as version ``version``, with each (old, new) text replaced exactly once."""
    text = (ROOT / "workflows" / "poles-2008.yaml").read_text(encoding="utf-8")
    for old, new in (("\nversion: 1\n", f"\nversion: {version}\n"), *replacements):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = folder / f"poles-2008-v{version}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Workflow, Workflow, Path]:
    """Version 1 as shipped; version 2 adds a state and a transition into it, moves one timer, renames a letter."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copy(ROOT / "workflows" / "poles-2008.yaml", folder / "poles-2008.yaml")
    v2 = edited(
        folder,
        2,
        ("\nstates:\n", "\nstates:\n" + WITHDRAWN),
        ("\ntransitions:\n", "\ntransitions:\n" + WITHDRAW),
        (TIMER_V1, TIMER_V2),
        (SUBJECT_V1, SUBJECT_V2),
    )
    templates = ROOT / "templates"
    return load_workflow(folder / "poles-2008.yaml", templates), load_workflow(v2, templates), folder


@pytest.fixture
def live(db: Database, clock: FrozenClock, versions: tuple[Workflow, Workflow, Path]) -> Engine:
    """On version 1: 'a' and 'b' evaluated, 'c' in group_3, 'd' under contract, 'e' under contract with
    a review; on version 2: 'f' evaluated (not counted: the counts are version 1's)."""
    v1, v2, _ = versions
    old = Engine(db, v1, clock=clock)
    rows = [EntityRow(i + 2, entity, entity.upper(), {}) for i, entity in enumerate("abcde")]
    add_entities(old, rows, actor="import", reason="phase 2")
    for entity, state in (("c", "group_3"), ("d", "contract"), ("e", "contract_watch")):
        drive(old, entity, state)
    engine = Engine(db, [v1, v2], clock=clock)
    add_entities(engine, [EntityRow(7, "f", "F", {})], actor="import", reason="later")
    return engine


def test_the_diff_finds_exactly_the_state_the_transition_the_timer_and_the_letter_changed(
    versions: tuple[Workflow, Workflow, Path],
) -> None:
    v1, v2, _ = versions
    found = diff(v1, v2)
    assert (found.a, found.b, found.total, found.empty) == ("poles-2008@1", "poles-2008@2", 4, False)
    assert [(c.kind, c.name, c.changes, c.states) for c in found.states] == [
        (Kind.ADDED, "withdrawn", (), ("withdrawn",))
    ]
    assert [(c.kind, c.trigger, c.sources, c.dest, c.states) for c in found.transitions] == [
        (Kind.ADDED, "withdraw", ("evaluated", "group_3"), "withdrawn", ("evaluated", "group_3"))
    ]
    assert [(c.kind, c.name, c.state, c.timer, c.changes) for c in found.timers] == [
        (
            Kind.CHANGED,
            "contract.contract_end",
            "contract",
            "contract_end",
            (Changed("default", "2012-01-01T00:00:00", "2013-01-01T00:00:00"),),
        )
    ]
    (letter,) = found.letters
    assert (letter.kind, letter.name, [c.what for c in letter.changes]) == (Kind.CHANGED, "fin_contrat", ["subject"])
    assert str(letter.changes[0].before).endswith(SUBJECT_V1) and str(letter.changes[0].after).endswith(SUBJECT_V2)
    assert letter.states == ("contract", "contract_watch", "funding_revised", "review")  # end_contract's sources
    assert (found.settings, found.fields, found.attributes) == ((), (), ())


def test_a_version_compared_with_itself_or_with_the_same_file_reloaded_has_no_change(
    versions: tuple[Workflow, Workflow, Path],
) -> None:
    v1, v2, folder = versions
    for a, b in ((v1, v1), (v2, v2), (v1, load_workflow(folder / "poles-2008.yaml", ROOT / "templates"))):
        found = diff(a, b)
        assert (found.empty, found.total) == (True, 0)
        assert diff_json(found, {})["empty"] is True


def test_the_reverse_diff_removes_what_the_forward_one_adds(versions: tuple[Workflow, Workflow, Path]) -> None:
    v1, v2, _ = versions
    back = diff(v2, v1)
    assert [(c.kind, c.name) for c in back.states] == [(Kind.REMOVED, "withdrawn")]
    assert [(c.kind, c.trigger) for c in back.transitions] == [(Kind.REMOVED, "withdraw")]
    assert back.timers[0].changes == (Changed("default", "2013-01-01T00:00:00", "2012-01-01T00:00:00"),)


def test_changes_within_transitions_fields_letters_attributes_and_settings(
    versions: tuple[Workflow, Workflow, Path],
) -> None:
    v1, _, folder = versions
    v3 = edited(
        folder,
        3,
        ("title: Suites de l'évaluation 2008", "title: Suites de l’évaluation 2008"),
        (
            "source: [reevaluation, awaiting_decision], dest: renewed, requires: [decision_ref],",
            "source: [awaiting_decision, reevaluation], dest: renewed, requires: [decision_ref], roles: [operator, x],",
        ),
        ("    label: Rapport d'examen\n", "    label: Rapport de l'examen\n"),
        (
            "    to: [governance, prefet]\n    copies: true\n  revue_satisfaisante",
            "    to: [governance]\n  revue_satisfaisante",
        ),
        ("  theme:\n", "  theme: {choices: [santé, numérique]}\n"),
        ("  source:\n", ""),
    )
    found = diff(v1, load_workflow(v3, ROOT / "templates"))
    assert [(c.what, c.after) for c in found.settings] == [
        ("title", "Suites de l’évaluation 2008 des pôles de compétitivité")
    ]
    (renew,) = found.transitions  # the sources are a set: listed in another order, the same transition
    assert (renew.kind, renew.name, renew.changes) == (
        Kind.CHANGED,
        "renew: awaiting_decision, reevaluation → renewed",
        (Changed("roles", ("operator",), ("operator", "x")),),
    )
    (review_ref,) = found.fields
    assert (review_ref.name, review_ref.changes[0].what) == ("review_ref", "label")
    assert review_ref.states == ("review",)  # review_satisfactory and review_unsatisfactory take it
    (letter,) = found.letters
    assert (letter.name, [(c.what, c.after) for c in letter.changes]) == (
        "convocation_revue",
        [("to", ("governance",)), ("copies", False)],
    )
    assert [(c.kind, c.name, [x.what for x in c.changes], c.states) for c in found.attributes] == [
        (Kind.CHANGED, "theme", ["choices"], None),
        (Kind.REMOVED, "source", [], None),
    ]
    assert touched(found.attributes[0], {"review": 3}) is None
    assert (found.states, found.timers) == ((), ())


def test_touched_counts_the_version_1_instances_in_the_states_each_change_concerns(
    live: Engine, versions: tuple[Workflow, Workflow, Path]
) -> None:
    v1, v2, _ = versions
    with live.db.read() as conn:
        counts = reads.state_counts_of_version(conn, "poles-2008", 1)
        assert reads.state_counts_of_version(conn, "poles-2008", 2) == {"evaluated": 1}
    assert counts == {"evaluated": 2, "group_3": 1, "contract": 1, "contract_watch": 1}
    found = diff(v1, v2)
    assert [touched(c, counts) for c in (*found.states, *found.transitions, *found.timers, *found.letters)] == [
        0,  # withdrawn: a new state holds no instance of version 1
        3,  # withdraw: from evaluated (a, b) and group_3 (c); f is on version 2
        1,  # contract.contract_end: d
        2,  # fin_contrat: sent from contract (d) and contract_watch (e), among others
    ]


def invoke(versions: tuple[Workflow, Workflow, Path], database_url: str, tmp_path: Path, *args: str) -> Result:
    config = tmp_path / "config.yaml"
    config.write_text(f"workflows: {versions[2]}\ntemplates: {ROOT / 'templates'}\n", encoding="utf-8")
    return CliRunner().invoke(main, ["--config", str(config), "--db", database_url, "workflows", "diff", *args])


def test_the_cli_prints_each_change_with_its_sign_and_the_instances_it_touches(
    live: Engine, versions: tuple[Workflow, Workflow, Path], database_url: str, tmp_path: Path
) -> None:
    result = invoke(versions, database_url, tmp_path, "poles-2008@1", "poles-2008@2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("poles-2008@1 → poles-2008@2: 4 change(s); counts of the 5 instance(s) on poles-2008@1\n")
    for sign, name, count in (
        ("+", "withdrawn", 0),
        ("+", "withdraw: evaluated, group_3 → withdrawn", 3),
        ("~", "contract.contract_end", 1),
        ("~", "fin_contrat", 2),
    ):
        assert re.search(rf"^{re.escape(sign)}\s+{re.escape(name)}\s+{count}\s", out, re.MULTILINE), (name, out)
    assert re.search(r"default: 2012-01-01T00:00:00 →\s+2013-01-01T00:00:00", out)  # the column may wrap
    assert "fields" not in out and "attributes" not in out  # sections without a change are left out
    bare = invoke(versions, database_url, tmp_path, "poles-2008@1", "poles-2008")  # a bare name: the latest
    assert bare.stdout == out
    same = invoke(versions, database_url, tmp_path, "poles-2008@2", "poles-2008@2")
    assert same.stdout == "poles-2008@2 → poles-2008@2: no change\n"


def test_the_cli_json_is_the_whole_diff_with_counts(
    live: Engine, versions: tuple[Workflow, Workflow, Path], database_url: str, tmp_path: Path
) -> None:
    result = invoke(versions, database_url, tmp_path, "poles-2008@1", "poles-2008@2", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["a"], payload["b"], payload["empty"], payload["counted_on"]) == (
        "poles-2008@1",
        "poles-2008@2",
        False,
        "poles-2008@1",
    )
    (transition,) = payload["transitions"]
    assert transition == {
        "kind": "added",
        "name": "withdraw: evaluated, group_3 → withdrawn",
        "changes": [],
        "states": ["evaluated", "group_3"],
        "trigger": "withdraw",
        "sources": ["evaluated", "group_3"],
        "dest": "withdrawn",
        "instances": 3,
    }
    (timer,) = payload["timers"]
    assert timer["changes"] == [{"what": "default", "before": "2012-01-01T00:00:00", "after": "2013-01-01T00:00:00"}]
    assert (timer["state"], timer["instances"]) == ("contract", 1)
    assert [(c["name"], c["instances"]) for c in payload["states"] + payload["letters"]] == [
        ("withdrawn", 0),
        ("fin_contrat", 2),
    ]
    assert payload["fields"] == payload["attributes"] == payload["settings"] == []


def test_an_unknown_version_names_those_loaded_and_a_malformed_one_is_bad_input(
    live: Engine, versions: tuple[Workflow, Workflow, Path], database_url: str, tmp_path: Path
) -> None:
    unknown = invoke(versions, database_url, tmp_path, "poles-2008@1", "poles-2008@9")
    assert unknown.exit_code == EXIT_NOT_FOUND
    assert "no workflow 'poles-2008@9'; loaded: " in unknown.stderr
    assert "poles-2008@1" in unknown.stderr and "poles-2008@2" in unknown.stderr  # in the order they loaded
    assert invoke(versions, database_url, tmp_path, "other", "poles-2008").exit_code == EXIT_NOT_FOUND
    malformed = invoke(versions, database_url, tmp_path, "poles-2008@two", "poles-2008")
    assert malformed.exit_code == EXIT_BAD_INPUT


def test_the_help_gives_an_example() -> None:
    result = CliRunner().invoke(main, ["workflows", "diff", "--help"])
    assert result.exit_code == 0
    assert "labelwf workflows diff poles-2008@1 poles-2008@2" in result.stdout
