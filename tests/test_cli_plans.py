"""The programme operations' commands, driven in-process: plans, moves, migrations, entity changes."""

from __future__ import annotations

from pathlib import Path

from labelwf.cli import EXIT_BAD_INPUT, EXIT_NOT_FOUND, EXIT_REFUSED
from tests.test_cli import Cli, cli  # noqa: F401  (the fixture)

ACT = ["--reference", "Décision du 30 juin 2008", "--actor", "DGCIS", "--reason", "Classement"]


def test_decide_plan_then_run_then_show_and_list(cli: Cli) -> None:  # noqa: F811
    planned = cli.json(
        "decide",
        "plan",
        "--trigger",
        "classify",
        "--set",
        "group=1",
        "--entity",
        "mta",
        "--entity",
        "atlantis",
        "--at",
        "2008-06-30",
        *ACT,
    )
    assert planned["counts"] == {"pending": 1, "refused": 1}
    text = cli("decide", "run", str(planned["id"])).stdout
    assert "1 fait(s) maintenant" in text and "fait : 1, refusé : 1" in text
    shown = cli.json("decide", "show", str(planned["id"]))
    assert [i["status"] for i in shown["items"]] == ["done", "refused"]
    said = cli("decide", "show", str(planned["id"])).stdout  # people read the workflow's labels, ids stay in --json
    assert "(décision, terminé)" in said and "Classement" in said and "→ Groupe 1" in said and "refusé" in said
    assert "classify" not in said and "done" not in said
    listed = cli.json("decisions")
    assert listed["items"][0]["id"] == planned["id"] and listed["items"][0]["status"] == "done"
    table = cli("decisions").stdout
    assert "décision" in table and "terminé" in table and "refusé" in table and "done" not in table
    assert "[plan " in cli("history", "mta").stdout


def test_decide_plan_refuses_bad_input_with_its_exit_code(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    bad = tmp_path / "outcomes.csv"
    bad.write_text("id,colour\nmta,blue\n", encoding="utf-8")
    result = cli("decide", "plan", "--outcomes", str(bad), "--trigger", "classify", *ACT, code=EXIT_BAD_INPUT)
    assert "unknown column(s) 'colour'" in result.stderr and "outcomes.csv:1" in result.stderr
    cli("decide", "plan", "--trigger", "classify", *ACT, code=EXIT_BAD_INPUT)  # whom?
    cli("decide", "run", "999", code=EXIT_NOT_FOUND)


def test_timers_move_and_plan_move(cli: Cli) -> None:  # noqa: F811
    cli("fire", "mta", "classify", "--set", "group=1", "--actor", "a", "--reason", "r", "--at", "2008-06-30")
    cli(
        "fire",
        "mta",
        "sign_contract",
        "--set",
        "contract_start=2009-01-01",
        "--actor",
        "a",
        "--reason",
        "r",
        "--at",
        "2009-01-01",
    )
    moved = cli.json(
        "timers",
        "move",
        "mta",
        "contract_end",
        "--by",
        "+1 year",
        "--actor",
        "DATAR",
        "--reason",
        "r",
        "--at",
        "2010-05-11",
    )
    assert moved["to"].startswith("2012-12-31T23:00")
    result = cli(
        "timers",
        "move",
        "mta",
        "contract_end",
        "--to",
        "2001-01-01",
        "--actor",
        "x",
        "--reason",
        "r",
        code=EXIT_BAD_INPUT,
    )
    assert "before the instance's last event" in result.stderr
    planned = cli.json(
        "timers",
        "plan-move",
        "contract_end",
        "--by",
        "+1 month",
        "--all",
        "--reference",
        "CIADT",
        "--actor",
        "x",
        "--reason",
        "r",
    )
    assert planned["counts"]["pending"] == 1 and planned["kind"] == "timer_move"
    cli("decide", "run", str(planned["id"]))
    assert "échéance(s) en cours" in cli("timers").stdout


def test_entities_cease_and_merge(cli: Cli) -> None:  # noqa: F811
    cli("entities", "cease", "mta", "--actor", "ANCT", "--reason", "Liquidation")
    result = cli("entities", "merge", "mta", "--into", "enfant", "--actor", "x", "--reason", "r", code=EXIT_REFUSED)
    assert "final state 'ceased'" in result.stderr
    cli(
        "entities",
        "merge",
        "enfant",
        "sporaltec",
        "--into",
        "nouveau",
        "--name",
        "Nouveau pôle",
        "--actor",
        "x",
        "--reason",
        "r",
    )
    assert "Succède à enfant, sporaltec" in cli("history", "nouveau").stdout
