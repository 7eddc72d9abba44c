"""The labelwf command, driven in-process: each command, its JSON, and its exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from labelwf import store
from labelwf.cli import (
    EXIT_AUDIT_BROKEN,
    EXIT_BAD_INPUT,
    EXIT_CONFLICT,
    EXIT_NOT_FOUND,
    EXIT_NOT_INITIALISED,
    EXIT_REFUSED,
    main,
)
from labelwf.store import SCHEMA_REVISION, Database
from tests.conftest import CONFIG_FILE, POLES_CSV, ROOT
from tests.helpers import PATHS, SYSTEM


class Cli:
    """Runs ``labelwf`` against one database with the shipped configuration."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(main, ["--config", str(CONFIG_FILE), "--db", self.url, *args])
        assert result.exit_code == code, f"exit {result.exit_code} != {code}\n{result.output}\n{result.stderr}"
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def items(self, *args: str) -> list[Any]:
        """The items of a paged listing's JSON (every page, following the ``next`` cursors)."""
        page = self.json(*args)
        items = list(page["items"])
        while page["next"] is not None:
            page = self.json(*args, "--after", page["next"])
            items.extend(page["items"])
        return items


@pytest.fixture
def cli(database_url: str) -> Cli:
    runner = Cli(database_url)
    runner("init")
    runner("import", str(POLES_CSV), "--at", "2008-06-18")
    return runner


def fire_path(cli: Cli, entity: str, state: str) -> None:
    for trigger, data, who in PATHS[state]:
        sets = [arg for key, value in data.items() for arg in ("--set", f"{key}={value}")]
        if who is SYSTEM:
            pytest.skip("system triggers are the daemon's, not the operator CLI's")
        cli("fire", entity, trigger, "--actor", who["actor"], "--reason", who["reason"], *sets)


def test_init_on_a_fresh_database_then_again_says_what_it_did(database_url: str) -> None:
    cli = Cli(database_url)
    assert f"created schema revision {SCHEMA_REVISION}" in cli("init").stdout
    assert f"already at schema revision {SCHEMA_REVISION}" in cli("init").stdout


def test_listings_of_an_empty_database_say_what_would_fill_them(database_url: str) -> None:
    cli = Cli(database_url)
    cli("init")
    assert cli("list").stdout.strip() == (
        "poles-2008@1 : 0 dossier(s) — importez des entités (`labelwf import FICHIER`) ou rejouez un scénario"
        " (`labelwf replay`)"
    )
    assert cli("list", "--state", "group_1").stdout.strip() == "poles-2008@1 : 0 dossier(s) à l'état « Groupe 1 »"
    assert "0 échéance(s) en cours — une échéance est posée quand" in cli("timers").stdout
    assert "0 courrier(s) — un courrier est écrit quand" in cli("letters").stdout
    assert cli("letters", "--status", "failed").stdout.strip() == "0 courrier(s)"


def test_init_migrates_a_database_of_the_first_schema(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    db = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(ROOT / "labelwf" / "migrations"))
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.commit()
    db.dispose()
    cli = Cli(database_url)
    assert "run `labelwf init` first" in cli("list", code=EXIT_NOT_INITIALISED).stderr
    assert f"migrated from 0001 to schema revision {SCHEMA_REVISION}" in cli("init").stdout
    cli("import", str(POLES_CSV))
    cli("fire", "enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group=3")


def test_a_command_on_an_uninitialised_database_says_to_run_init(tmp_path: Path) -> None:
    result = Cli(f"sqlite:///{tmp_path / 'empty.db'}")("list", code=EXIT_NOT_INITIALISED)
    assert "run `labelwf init` first" in result.stderr


def test_list_shows_the_71_poles_and_filters_by_state(cli: Cli) -> None:
    rows = cli.items("list")
    assert len(rows) == 71 and {r["state"] for r in rows} == {"evaluated"}
    cli("fire", "enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group=3")
    assert [r["entity"] for r in cli.items("list", "--state", "group_3")] == ["enfant"]
    assert "Enfant" in cli("list", "--state", "group_3").stdout
    assert "no state 'groupe_3'" in cli("list", "--state", "groupe_3", code=EXIT_NOT_FOUND).stderr


def test_list_refuses_a_state_given_twice_instead_of_keeping_the_last(cli: Cli) -> None:
    refused = cli("list", "--state", "group_3", "--state", "evaluated", code=EXIT_BAD_INPUT)
    assert "given 2 times (group_3, evaluated); a listing takes one state" in refused.stderr


def test_a_workflow_asked_by_name_that_is_not_loaded_lists_the_names_loaded(cli: Cli) -> None:
    refused = cli("--workflow", "poles-2008@1", "list", code=EXIT_NOT_FOUND)
    assert "no workflow 'poles-2008@1'" in refused.stderr
    assert "a workflow name without @version; loaded: poles-2008" in refused.stderr


@pytest.mark.parametrize("state", [s for s, path in PATHS.items() if all(w is not SYSTEM for *_, w in path)])
def test_each_operator_path_of_the_programme_runs_through_the_cli(cli: Cli, state: str) -> None:
    fire_path(cli, "iar", state)
    assert cli.json("show", "iar")["state"] == state


def test_fire_prints_the_step_its_timers_and_letters(cli: Cli) -> None:
    classify = ("vegepolys", "classify", "--actor", "dgcis", "--reason", "rapport", "--set", "group=2")
    out = cli("fire", *classify, "--at", "2008-06-30").stdout
    assert "« Classement » — Évalué → Groupe 2 (version 1)" in out and "3 courrier(s) à envoyer" in out
    data = cli.json(
        "fire",
        "vegepolys",
        "sign_contract",
        "--actor",
        "a",
        "--reason",
        "r",
        "--set",
        "contract_start=2009-01-01",
        "--at",
        "2009-01-05",
    )
    assert data["dest"] == "contract_watch"
    assert data["occurred_at"] == "2009-01-04T23:00:00+00:00"
    assert {t["name"] for t in data["timers_armed"]} == {"review_18_months", "contract_end"}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["enfant", "renew", "--actor", "a", "--reason", "r"],
            EXIT_REFUSED,
            "trigger 'renew' is not allowed in state 'evaluated' of 'enfant'; allowed: classify",
        ),
        (["atlantis", "classify", "--actor", "a", "--reason", "r"], EXIT_NOT_FOUND, "no instance 'atlantis'"),
        (
            ["enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group=4"],
            EXIT_BAD_INPUT,
            "must be one of 1, 2, 3, got '4'",
        ),
        (["enfant", "classify", "--actor", "a", "--reason", "r"], EXIT_BAD_INPUT, "requires data: group"),
        (
            ["enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group"],
            EXIT_BAD_INPUT,
            "expected key=value, got 'group'",
        ),
        (
            ["enfant", "classify", "--actor", "a", "--reason", "", "--set", "group=1"],
            EXIT_BAD_INPUT,
            "needs a non-empty reason",
        ),
        (["enfant", "classify", "--actor", "a"], EXIT_BAD_INPUT, "Missing option '--reason'"),
        (
            ["enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group=1", "--at", "11/05/2010"],
            EXIT_BAD_INPUT,
            "malformed date-time '11/05/2010'",
        ),
        (
            ["enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group=1", "--expect-version", "3"],
            EXIT_CONFLICT,
            "expected version 3, found 0",
        ),
    ],
)
def test_a_refused_fire_exits_with_its_code_and_says_why(cli: Cli, args: list[str], code: int, message: str) -> None:
    result = cli("fire", *args, code=code)
    assert message in result.stderr
    assert cli.json("show", "enfant")["version"] == 0


def test_a_timer_trigger_is_refused_to_the_operator_cli(cli: Cli) -> None:
    cli("fire", "enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group=3")
    result = cli("fire", "enfant", "end_label_term", "--actor", "a", "--reason", "r", code=EXIT_REFUSED)
    assert "reserved to role(s) system; got role 'operator'" in result.stderr


def test_show_lists_allowed_triggers_timers_and_letters(cli: Cli) -> None:
    cli("fire", "enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group=3")
    info = cli.json("show", "enfant")
    assert [a["trigger"] for a in info["allowed"]] == ["classify_2012", "end_label_term", "start_reevaluation"]
    assert info["timers"] == [
        {"name": "label_term", "trigger": "end_label_term", "due_at": "2009-12-31T23:00:00+00:00", "catch_up": "fire"}
    ]
    assert [m["recipient"] for m in info["letters"]] == ["governance", "prefet", "region"]
    text = cli("show", "enfant").stdout
    assert "état : Groupe 3" in text and "01/01/2010 00:00" in text and "Terme du label maintenu" in text
    assert "Préfet de région" in text and "à envoyer" in text and "group_3" not in text
    assert "no instance 'x'" in cli("show", "x", code=EXIT_NOT_FOUND).stderr
    delabel = ["--set", "decision_ref=CIADT du 11 mai 2010", "--set", "motif=Critères du label non remplis."]
    for trigger, data in (("start_reevaluation", []), ("delabel", delabel)):
        cli("fire", "enfant", trigger, "--actor", "a", "--reason", "r", *data)
    assert "état : Label retiré (état final)" in cli("show", "enfant").stdout


def test_history_lists_every_event_with_who_and_why(cli: Cli) -> None:
    cli("fire", "enfant", "classify", "--actor", "alice", "--reason", "rapport BCG", "--set", "group=3")
    events = cli.items("history", "enfant")
    assert [(e["seq"], e["trigger"], e["actor"], e["reason"]) for e in events] == [
        (0, None, "import", f"import of {POLES_CSV.name}"),
        (1, "classify", "alice", "rapport BCG"),
    ]
    assert "alice" in cli("history", "enfant").stdout


def test_audit_verify_passes_then_names_a_tampered_event(cli: Cli) -> None:
    cli("fire", "enfant", "classify", "--actor", "alice", "--reason", "r", "--set", "group=3")
    assert cli.json("audit", "verify")["ok"] is True
    assert "audit trail intact: 72 events in 71 instances" in cli("audit", "verify").stdout
    assert "audit trail intact: 2 events in 1 instances" in cli("audit", "verify", "--entity", "enfant").stdout
    assert "no instance 'nope'" in cli("audit", "verify", "--entity", "nope", code=EXIT_NOT_FOUND).stderr
    db = Database(cli.url)
    with db.write() as conn:
        conn.execute(store.event.update().where(store.event.c.trigger == "classify").values(actor="mallory"))
    db.dispose()
    result = cli("audit", "verify", code=EXIT_AUDIT_BROKEN)
    assert "enfant [poles-2008] event #" in result.stderr and "(seq 1)" in result.stderr


def test_diagram_shows_every_state_with_live_counts(cli: Cli) -> None:
    cli("fire", "enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group=3")
    mermaid = cli("diagram").stdout
    assert mermaid.startswith("stateDiagram-v2")
    assert "evaluated : evaluated (70)" in mermaid and "group_3 : group_3 (1)" in mermaid
    assert "group_3 --> awaiting_decision : end_label_term ⏱" in mermaid
    dot = cli("diagram", "--format", "dot", "--no-counts").stdout
    assert dot.startswith('digraph "poles-2008@1"') and 'delabeled [label="delabeled", peripheries=2]' in dot


def test_timers_lists_pending_deadlines(cli: Cli) -> None:
    cli("fire", "enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group=3")
    rows = cli.items("timers")
    assert [(r["entity"], r["name"]) for r in rows] == [("enfant", "label_term")]
    assert cli.items("timers", "--due-before", "2009-12-31") == []
    assert "malformed" in cli("timers", "--due-before", "demain", code=EXIT_BAD_INPUT).stderr


def test_import_of_a_bad_file_names_each_line_and_imports_nothing(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,budget\nx,X,1\n", encoding="utf-8")
    assert "unknown column(s) 'budget'" in cli("import", str(bad), code=EXIT_BAD_INPUT).stderr
    again = cli("import", str(POLES_CSV), code=EXIT_BAD_INPUT).stderr
    assert (
        "nothing imported (71 problems)" in again
        and "poles_2008.csv:2: id 'aerospace-valley' is already imported" in again
    )
    assert len(cli.items("list")) == 71


def test_import_with_contacts_addresses_the_letters_by_name(database_url: str, tmp_path: Path) -> None:
    cli = Cli(database_url)
    cli("init")
    missing = cli("import", str(POLES_CSV), "--contacts", str(tmp_path / "nope.csv"), code=EXIT_BAD_INPUT)
    assert "nope.csv: file not found" in missing.stderr
    assert cli.items("list") == []
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "entity,role,name,address,email\nenfant,governance,Mme Claire Martin,1 rue X / Angers,p@enfant.example\n",
        encoding="utf-8",
    )
    cli("import", str(POLES_CSV), "--contacts", str(contacts))
    cli("fire", "enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group=3")
    [letter] = [m for m in cli.items("letters", "--pole", "enfant") if m["recipient"] == "governance"]
    text = cli("letters", "show", str(letter["id"])).stdout
    assert "Mme Claire Martin" in text and "1 rue X" in text and "Angers" in text


def test_workflows_validate_reports_problems_with_file_and_line(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(main, ["workflows", "validate", str(ROOT / "workflows" / "poles-2008.yaml")])
    assert good.exit_code == 0 and "ok (poles-2008@1, 17 states, 16 transitions)" in good.stdout
    broken = tmp_path / "workflows" / "broken.yaml"
    broken.parent.mkdir()
    broken.write_text(
        "workflow: x\nversion: 1\ntimezone: Europe/Paris\ninitial: a\nstates:\n  a: {}\n"
        "transitions:\n  - {trigger: go, source: a, dest: b}\n"
    )
    result = runner.invoke(main, ["workflows", "validate", str(broken)])
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"{broken}:8: transition 'go' has unknown dest state 'b'" in result.stderr


def test_a_database_that_cannot_be_reached_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--db", "postgresql://127.0.0.1:1/nowhere", "list"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "cannot use" in result.stderr and "127.0.0.1:1" in result.stderr
    result = CliRunner().invoke(main, ["--db", "mysql://x/y", "list"])
    assert result.exit_code == EXIT_BAD_INPUT and "a sqlite:/// or postgresql:// URL" in result.stderr


def test_help_explains_the_exit_codes() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "4 refused (transition or action)" in result.stdout and "LABELWF_DATABASE" in result.stdout


def test_entity_names_are_stored_as_given(cli: Cli) -> None:
    db = Database(cli.url)
    with db.read() as conn:
        name = conn.execute(sa.select(store.entity.c.name).where(store.entity.c.id == "vegepolys")).scalar()
    db.dispose()
    assert name == "Végépolys"


def test_with_json_an_error_is_json_too_with_its_fields_and_exit_code(cli: Cli) -> None:
    result = cli("fire", "enfant", "renew", "--actor", "a", "--reason", "r", "--json", code=EXIT_REFUSED)
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "InvalidTransition" and error["exit_code"] == EXIT_REFUSED
    assert (error["state"], error["allowed"]) == ("evaluated", ["classify", "classify_2012", "label"])
    assert "is not allowed in state 'evaluated'" in result.stderr
    missing = json.loads(cli("show", "atlantis", "--json", code=EXIT_NOT_FOUND).stdout)["error"]
    assert (missing["type"], missing["key"]) == ("NotFound", "atlantis")


@pytest.mark.parametrize(
    ("args", "option", "says"),
    [
        (["fire", "enfant", "classify", "--actor", "a", "--reason", "r", "--at", "yesterday"], "--at", "yesterday"),
        (["list", "--limit", "0"], "--limit", "0 is not in the range"),
        (["fire", "enfant", "classify", "--actor", "a"], "--reason", "Missing option '--reason'"),
        (["nosuchcommand"], None, "No such command 'nosuchcommand'"),
        (["list", "--bogus"], None, "--bogus"),
        (
            ["fire", "enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group=1", "--set", "group=2"],
            "--set",
            "'group' is given twice ('1' and '2')",
        ),
    ],
)
def test_with_json_a_usage_error_is_json_too(cli: Cli, args: list[str], option: str | None, says: str) -> None:
    result = cli(*args, "--json", code=EXIT_BAD_INPUT)
    error = json.loads(result.stdout)["error"]
    assert (error["type"], error["exit_code"], error["option"]) == ("UsageError", EXIT_BAD_INPUT, option)
    assert says in error["message"] and says in result.stderr


def test_with_json_a_workflow_errors_problems_are_a_list_of_objects(cli: Cli, tmp_path: Path) -> None:
    # Given a configuration whose workflow file is broken: every command fails to load it
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "bad.yaml").write_text("workflow: x\nversion: 1\ninitial: a\nstates: {a: {}}\ntransitions: 3\n")
    config = tmp_path / "config.yaml"
    config.write_text(
        CONFIG_FILE.read_text(encoding="utf-8").replace("workflows: workflows", f"workflows: {workflows}")
    )
    result = cli.runner.invoke(main, ["--config", str(config), "--db", cli.url, "list", "--json"])
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "WorkflowError" and isinstance(error["problems"], list) and error["problems"]
    assert all({"file", "line", "message"} <= set(problem) for problem in error["problems"]), error["problems"]
