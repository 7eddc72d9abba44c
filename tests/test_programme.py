"""The whole programme replayed, 2008 → 2026: its chain verifies and its counts are the record's."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelwf import Engine, ScenarioError, load_workflows, store, verify
from labelwf.cli import main
from labelwf.scenarios.replay import ReplayReport, replay
from labelwf.scenarios.scenario import load_scenario
from labelwf.store.database import Database
from labelwf.workflow.definition import Workflow
from tests.conftest import ROOT

PROGRAMME = ROOT / "programme" / "scenarios" / "programme-2008-2026.yaml"
WORKFLOWS = [ROOT / "workflows", ROOT / "programme" / "workflows"]


@pytest.fixture(scope="module")
def workflows() -> list[Workflow]:
    return load_workflows(WORKFLOWS, ROOT / "templates")


@pytest.fixture
def programme(db: Database, workflows: list[Workflow]) -> tuple[Engine, ReplayReport]:
    engine = Engine(db, workflows)
    return engine, replay(engine, load_scenario(PROGRAMME, workflows))


def moment(report: ReplayReport, kind: str, what: str) -> Counter[str]:
    found = [m for m in report.timeline if m.kind == kind and what in m.what]
    assert len(found) == 1, [m.what for m in report.timeline if m.kind == kind]
    return found[0].dests


def test_the_replay_of_2008_to_2026_verifies_and_ends_with_the_record_s_counts(
    programme: tuple[Engine, ReplayReport],
) -> None:
    engine, report = programme
    assert verify(engine.db).ok
    with engine.db.read() as conn:
        classes = Counter(
            row.data["class_2012"]
            for row in conn.execute(sa.select(store.event.c.data).where(store.event.c.trigger == "classify_2012"))
        )
    # 71 poles in 2012: 20 très performants, 35 performants, 16 moins performants
    assert classes == {"tres_performant": 20, "performant": 35, "moins_performant": 16}
    # every live pole carried over to phase 3 without re-applying
    assert moment(report, "migrate", "phase-3") == {"phase_3": 71}
    # five mergers: 71 → 66 poles when phase 3 ends
    assert moment(report, "timer", "phase_3_end") == {"phase_3_ended": 66}
    # 5 February 2019: 56 labelled, 48 to the end of phase IV and 8 for one year
    assert moment(report, "decide", "phase_4_2019") == {"labelled": 48, "labelled_one_year": 8}
    # 27 March 2023: 55 labelled in four classes (47 + 4 + 2 + 2), one refusal
    decided = moment(report, "decide", "phase_5_2023")
    assert decided == {"labelled": 47, "labelled_two_years": 6, "labelled_one_year": 2, "refused": 1}
    assert report.by_workflow["poles-2008"]["merged"] == 9
    assert {k: v for k, v in report.by_workflow["poles-2019"].items() if v} == {
        "phase_ended": 54,
        "ceased": 1,
        "merged": 1,
    }


def test_every_event_of_a_bulk_act_carries_its_plan_and_a_merged_pole_names_its_successor(
    programme: tuple[Engine, ReplayReport],
) -> None:
    engine, report = programme
    plans = {m.plan for m in report.timeline if m.plan is not None}
    assert len(plans) == 6  # two deadline moves, three decisions, one migration
    with engine.db.read() as conn:
        classified = conn.execute(
            sa.select(store.event.c.batch_id).where(store.event.c.trigger == "classify_2012")
        ).scalars()
        assert set(classified) <= plans and None not in set(classified)
        ended = conn.execute(
            sa.select(store.event.c.data)
            .join(store.instance, store.instance.c.id == store.event.c.instance_id)
            .where(store.instance.c.entity_id == "fibres-grand-est", store.event.c.dest == "merged")
        ).scalar_one()
    assert "fibres-energivie" in str(ended)


def test_a_programme_step_that_names_a_missing_file_or_version_is_refused_with_its_line(
    tmp_path: Path, workflows: list[Workflow]
) -> None:
    text = PROGRAMME.read_text(encoding="utf-8")
    broken = text.replace("publish: poles-2019@1", "publish: poles-2019@7").replace(
        "decide: ../../data/phase_4_2019.csv", "decide: ../../data/missing.csv"
    )
    scenario = tmp_path / "programme" / "scenarios" / "broken.yaml"
    scenario.parent.mkdir(parents=True)
    scenario.write_text(broken, encoding="utf-8")
    for name in ("data",):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "programme" / "migrations").symlink_to(ROOT / "programme" / "migrations")
    with pytest.raises(ScenarioError) as refused:
        load_scenario(scenario, workflows)
    messages = [f"{p.line}: {p.message}" for p in refused.value.problems]
    assert any("poles-2019@7" in m and "is not a loaded" in m for m in messages), messages
    assert any("missing.csv" in m and "no such file" in m for m in messages), messages
    assert all(p.line for p in refused.value.problems)


def test_the_cli_replays_the_programme_with_its_own_configuration(tmp_path: Path) -> None:
    config = ["--config", str(ROOT / "programme.yaml"), "--db", f"sqlite:///{tmp_path / 'p.db'}"]
    runner = CliRunner(env={"LABELWF_AUDIT_KEY_FILE": str(tmp_path / "audit.key")})
    assert runner.invoke(main, [*config, "init"]).exit_code == 0
    result = runner.invoke(main, [*config, "replay"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "decide   phase_4_2019.csv (poles-2019) → labelled ×48, labelled_one_year ×8" in out
    assert "final count per state of poles-2023:" in out and "ASSUMED: " in out
    assert runner.invoke(main, [*config, "audit", "verify"]).exit_code == 0
