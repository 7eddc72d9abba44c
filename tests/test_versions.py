"""Two versions of one workflow loaded at once: every read and fire speaks the instance's own version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from labelwf import Engine, EntityRow, FrozenClock, InvalidTransition, add_entities, load_workflow, verify
from labelwf.cli import main
from labelwf.engine import queries
from labelwf.workflow.definition import Workflow
from tests.conftest import ROOT
from tests.helpers import OPERATOR

# Version 2 of the programme lets a pole still in 'evaluated' postpone its classification.
POSTPONE = "  - {trigger: postpone, source: evaluated, dest: evaluated, requires: [], roles: [operator]}\n"


def write_version_2(folder: Path) -> Path:
    text = (ROOT / "workflows" / "poles-2008.yaml").read_text(encoding="utf-8")
    assert "\nversion: 1\n" in text and "\ntransitions:\n" in text
    text = text.replace("\nversion: 1\n", "\nversion: 2\n", 1).replace(
        "\ntransitions:\n", "\ntransitions:\n" + POSTPONE
    )
    path = folder / "poles-2008-v2.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Workflow, Workflow, Path]:
    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copy(ROOT / "workflows" / "poles-2008.yaml", folder / "poles-2008.yaml")
    v2 = write_version_2(folder)
    templates = ROOT / "templates"
    return load_workflow(folder / "poles-2008.yaml", templates), load_workflow(v2, templates), folder


@pytest.fixture
def mixed(db: object, clock: FrozenClock, versions: tuple[Workflow, Workflow, Path]) -> Engine:
    """'enfant' runs on version 1 (created before version 2 was loaded), 'mta' on version 2."""
    v1, v2, _ = versions
    old = Engine(db, v1, clock=clock)  # type: ignore[arg-type]
    add_entities(old, [EntityRow(2, "enfant", "Enfant", {})], actor="import", reason="phase 2")
    engine = Engine(db, [v1, v2], clock=clock)  # type: ignore[arg-type]
    add_entities(engine, [EntityRow(3, "mta", "Mer Atlantique", {})], actor="import", reason="later")
    return engine


def test_a_version_1_instance_speaks_version_1_and_a_version_2_instance_version_2(mixed: Engine) -> None:
    # Given both versions loaded, when each instance is shown
    old, new = queries.describe(mixed, "enfant"), queries.describe(mixed, "mta")
    # Then each lists the triggers of its own version
    first = ["classify", "classify_2012", "label"]
    assert (old.instance.key, [a.trigger for a in old.allowed]) == ("poles-2008@1", first)
    assert (new.instance.key, [a.trigger for a in new.allowed]) == ("poles-2008@2", [*first, "postpone"])
    listed = {i.entity.id: i.key for i in queries.list_instances(mixed).items}
    assert listed == {"enfant": "poles-2008@1", "mta": "poles-2008@2"}


def test_firing_works_on_both_versions_and_refuses_what_the_instance_version_lacks(mixed: Engine) -> None:
    mixed.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    mixed.fire("mta", "postpone", **OPERATOR)
    with pytest.raises(InvalidTransition) as refused:
        mixed.fire("enfant", "start_reevaluation", **OPERATOR)  # fine: group_3 takes it
        mixed.fire("enfant", "postpone", **OPERATOR)
    # version 1's, from reevaluation
    assert refused.value.allowed == ["classify_2012", "delabel", "end_label_term", "renew"]
    history = queries.history(mixed, "enfant").items
    assert [e.trigger for e in history] == [None, "classify", "start_reevaluation"]
    assert [e.trigger for e in queries.history(mixed, "mta").items] == [None, "postpone"]
    assert verify(mixed.db).ok


def test_the_cli_shows_each_instance_in_its_own_version(
    mixed: Engine, versions: tuple[Workflow, Workflow, Path], database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"workflows: {versions[2]}\ntemplates: {ROOT / 'templates'}\n", encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config), "--db", database_url]
    shown = runner.invoke(main, [*base, "show", "enfant"])
    assert shown.exit_code == 0, shown.output
    assert "poles-2008@1" in shown.stdout and "postpone" not in shown.stdout
    assert "postpone" in runner.invoke(main, [*base, "show", "mta"]).stdout
    fired = runner.invoke(main, [*base, "fire", "mta", "postpone", "--actor", "a", "--reason", "r"])
    assert fired.exit_code == 0 and "Évalué → Évalué (version 1)" in fired.stdout
    listed = runner.invoke(main, [*base, "list"])
    assert "poles-2008@1, poles-2008@2 : 2 dossier(s)" in listed.stdout
