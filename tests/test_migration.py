"""Migrations of live instances to the next workflow version, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from labelwf import Engine, FrozenClock, verify
from labelwf.engine.deadlines import fire_due
from labelwf.errors import PlanRejected
from labelwf.operations import plans
from labelwf.operations.importer import import_entities
from labelwf.operations.migration import load_migration, plan_migration
from labelwf.store import Database, fires, reads
from labelwf.store.records import Instance, ItemStatus
from labelwf.workflow.loader import load_workflow
from tests.conftest import POLES_CSV, ROOT, START

PARIS = ZoneInfo("Europe/Paris")
WHO = {"actor": "Gouvernement", "reason": "Phase 3 : reconduction sans nouvelle candidature"}

MIGRATION = """\
migration: phase-2-extended
workflow: poles-2008
from: 1
to: 2
states:
  evaluated: evaluated
  group_1: group_1
  group_2: group_2
  group_3: group_3
  contract: contract
  contract_watch: contract_watch
  review: review
  funding_revised: funding_revised
  reevaluation: reevaluation
  awaiting_decision: awaiting_decision
  renewed: renewed
  delabeled: null
timers:
  contract_end: recompute
"""


@pytest.fixture
def two_versions(tmp_path: Path, db: Database) -> Engine:
    """Version 1 and a version 2 whose contracts end a year later; the poles on version 1."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copy(ROOT / "workflows" / "poles-2008.yaml", folder / "poles-2008.yaml")
    text = (folder / "poles-2008.yaml").read_text(encoding="utf-8")
    v2 = text.replace("\nversion: 1\n", "\nversion: 2\n").replace(
        'default: "2012-01-01T00:00"', 'default: "2013-01-01T00:00"'
    )
    (folder / "poles-2008-v2.yaml").write_text(v2, encoding="utf-8")
    templates = ROOT / "templates"
    first = load_workflow(folder / "poles-2008.yaml", templates)
    engine = Engine(db, [first], clock=FrozenClock(START))
    import_entities(engine, POLES_CSV, actor="import", reason="test set-up")
    return Engine(db, [first, load_workflow(folder / "poles-2008-v2.yaml", templates)], clock=engine.clock)


def instance(engine: Engine, entity: str) -> Instance:
    with engine.db.read() as conn:
        found = fires.load_instance(conn, entity, "poles-2008")
    assert found is not None
    return found


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "migration.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_migration_keeps_or_recomputes_each_timer_as_its_plan_said(two_versions: Engine, tmp_path: Path) -> None:
    engine = two_versions
    engine.fire("mta", "classify", actor="dgcis", reason="r", data={"group": 1})
    engine.fire("mta", "sign_contract", actor="dgcis", reason="r", data={"contract_start": "2009-01-01"})
    engine.fire("enfant", "classify", actor="dgcis", reason="r", data={"group": 3})
    report = plan_migration(engine, load_migration(write(tmp_path, MIGRATION), engine), **WHO)
    by = {i.entity: i for i in report.items}
    assert len(by) == 71 and report.batch.counts == {"pending": 71}
    mta = {t["name"]: t for t in by["mta"].preview["timers"]}
    assert mta["contract_end"]["how"] == "recomputed"
    assert datetime.fromisoformat(mta["contract_end"]["was"]) == datetime(2012, 1, 1, tzinfo=PARIS)
    assert datetime.fromisoformat(mta["contract_end"]["due"]) == datetime(2013, 1, 1, tzinfo=PARIS)
    enfant = {t["name"]: t for t in by["enfant"].preview["timers"]}
    assert enfant["label_term"]["how"] == "kept"
    # Nothing migrated by the plan
    assert instance(engine, "mta").workflow_version == 1
    done = plans.run(engine, report.batch.id)
    assert done.done == 71
    migrated = instance(engine, "mta")
    assert (migrated.workflow_version, migrated.state) == (2, "contract")
    with engine.db.read() as conn:
        (timer,) = [t for t in reads.timers_of(conn, migrated) if t.name == "contract_end"]
        last = reads.history(conn, migrated, limit=100).items[-1]
    assert timer.due_at == datetime(2013, 1, 1, tzinfo=PARIS)
    assert last.trigger == "(migrated)" and last.data["from_version"] == 1 and last.batch == report.batch.id
    assert verify(engine.db).ok
    # The old deadline no longer fires; the new one does, in version 2
    assert fire_due(engine, now=datetime(2012, 6, 1, tzinfo=PARIS)).fired == 1  # enfant's kept label_term
    assert instance(engine, "mta").state == "contract"
    assert fire_due(engine, now=datetime(2013, 1, 1, tzinfo=PARIS)).fired == 1
    assert instance(engine, "mta").state == "evaluation_due"


def test_an_unmapped_state_is_refused_per_instance_and_null_leaves_it(two_versions: Engine, tmp_path: Path) -> None:
    engine = two_versions
    engine.fire("mta", "classify", actor="dgcis", reason="r", data={"group": 1})
    text = MIGRATION.replace("  group_1: group_1\n", "")
    report = plan_migration(engine, load_migration(write(tmp_path, text), engine), **WHO)
    (refused,) = [i for i in report.items if i.status is ItemStatus.REFUSED]
    assert refused.entity == "mta" and "state 'group_1' of poles-2008@1 is not mapped" in refused.preview["refused"]
    plans.run(engine, report.batch.id)
    assert instance(engine, "mta").workflow_version == 1 and instance(engine, "enfant").workflow_version == 2


def test_an_instance_changed_after_the_plan_is_not_migrated(two_versions: Engine, tmp_path: Path) -> None:
    engine = two_versions
    report = plan_migration(engine, load_migration(write(tmp_path, MIGRATION), engine), **WHO)
    engine.fire("mta", "classify", actor="dgcis", reason="r", data={"group": 1})
    done = plans.run(engine, report.batch.id)
    assert (done.done, done.changed) == (70, 1) and instance(engine, "mta").workflow_version == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.replace("to: 2", "to: 9"), "poles-2008@9"),
        (lambda t: t.replace("  review: review\n", "  review: nowhere\n"), ":12: 'nowhere' is not a state of"),
        (lambda t: t.replace("  contract_end: recompute", "  contract_end: sometimes"), "keep or recompute"),
        (lambda t: t + "colour: blue\n", "unknown key 'colour'"),
        (lambda t: t.replace("from: 1", "from: one"), "from must be a version number"),
        (lambda t: t + "data: {set: {group: seven}}\n", "set: "),
    ],
)
def test_a_bad_migration_file_is_refused_whole_with_its_line(
    two_versions: Engine, tmp_path: Path, change: object, expected: str
) -> None:
    assert callable(change)
    with pytest.raises(PlanRejected, match=expected):
        load_migration(write(tmp_path, change(MIGRATION)), two_versions)
