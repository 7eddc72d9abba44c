"""``labelwf list --search``: the console's search on the command line (same matches, filters, pages
with the count), and the instance commands' tables in the workflow's labels and French dates."""

from __future__ import annotations

import pytest

from labelwf.cli import EXIT_BAD_INPUT, EXIT_NOT_FOUND
from tests.test_cli import Cli


@pytest.fixture
def cli(database_url: str) -> Cli:
    from tests.test_cli import POLES_CSV

    runner = Cli(database_url)
    runner("init")
    runner("import", str(POLES_CSV), "--at", "2008-06-18")
    runner("fire", "enfant", "classify", "--actor", "a", "--reason", "r", "--set", "group=3", "--at", "2008-06-30")
    return runner


@pytest.mark.parametrize("text", ["vege", "Végépolys", "VEGEPOLYS"])
def test_search_finds_a_pole_whatever_the_case_and_accents(cli: Cli, text: str) -> None:
    assert [i["entity"] for i in cli.items("list", "--search", text)] == ["vegepolys"]
    shown = cli("list", "--search", text).stdout
    assert "1 dossier(s) trouvé(s)" in shown and "Végépolys" in shown and "Évalué" in shown


def test_search_filters_by_state_region_deadline_and_lateness(cli: Cli) -> None:
    assert [i["entity"] for i in cli.items("list", "--search", "enf", "--state", "group_3")] == ["enfant"]
    assert cli.items("list", "--search", "enf", "--state", "group_1") == []
    bretagne = cli.items("list", "--region", "Bretagne")
    assert bretagne and all("Bretagne" in i["region"] for i in bretagne)
    [due] = cli.items("list", "--due-before", "2010-06-01")
    assert due["entity"] == "enfant" and due["next_due"] == "2009-12-31T23:00:00+00:00"
    assert cli.items("list", "--due-before", "2009-06-01") == []
    assert [i["entity"] for i in cli.items("list", "--late")] == ["enfant"]  # the test clock is past 2010
    text = cli("list", "--late").stdout
    assert "01/01/2010 00:00" in text and "Groupe 3" in text and "group_3" not in text


def test_search_pages_both_ways_with_the_total_and_a_command_for_the_next(cli: Cli) -> None:
    every = [i["entity"] for i in cli.items("list", "--search", "pole")]
    first = cli.json("list", "--search", "pole", "--limit", "3")
    assert first["total"] == len(every) > 3 and first["more"] == len(every) - 3
    assert [i["entity"] for i in first["items"]] == every[:3]
    shown = cli("list", "--search", "pole", "--limit", "3").stdout
    assert f"1 à 3 sur {len(every)}" in shown and f"{len(every) - 3} de plus : labelwf list --search pole" in shown
    backwards = [i["entity"] for i in cli.items("list", "--search", "pole", "--sort", "name", "--desc")]
    assert len(backwards) == len(every) and backwards[0] != every[0]


def test_a_search_without_result_says_so_and_bad_filters_say_what_is_right(cli: Cli) -> None:
    assert "aucun dossier ne correspond à cette recherche" in cli("list", "--search", "zzzz").stdout
    assert "no state 'groupe_3'" in cli("list", "--search", "x", "--state", "groupe_3", code=EXIT_NOT_FOUND).stderr
    assert "malformed" in cli("list", "--due-before", "demain", code=EXIT_BAD_INPUT).stderr
    assert "cursor" in cli("list", "--search", "pole", "--after", "nope", code=EXIT_BAD_INPUT).stderr
    assert "add --search" in cli("list", "--desc", code=EXIT_BAD_INPUT).stderr


def test_history_and_timers_read_in_labels_and_french_dates(cli: Cli) -> None:
    history = cli("history", "enfant").stdout
    assert "historique de enfant : 2 événement(s)" in history
    assert "#1   30/06/2008 00:00 (antidaté" in history and "Classement : Évalué → Groupe 3" in history
    assert "a (agent" in history
    assert "Groupe attribué à l'issue de l'évaluation de 2008 : 3" in history and "classify" not in history
    timers = cli("timers").stdout
    assert "1 échéance(s) en cours" in timers and "Terme du label maintenu" in timers and "01/01/2010" in timers
    assert cli.items("timers")[0]["trigger"] == "end_label_term"  # --json keeps the ids
