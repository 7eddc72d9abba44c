"""Checkpoints: what a signed checkpoint covered cannot be rewritten, truncated or erased unnoticed,
not even by someone who holds the audit key."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelwf import Database, Engine, EntityRow, FrozenClock, add_entities, load_workflow, store, verify
from labelwf.audit.checkpoint import read, take, write
from labelwf.audit.hashing import event_hash
from labelwf.cli import EXIT_AUDIT_BROKEN, EXIT_BAD_INPUT, main
from labelwf.errors import CheckpointError
from labelwf.store.records import event_from_row
from tests.conftest import CONFIG_FILE, ROOT
from tests.helpers import OPERATOR

KEY = bytes(range(32))


@pytest.fixture
def keyed(db: Database, clock: FrozenClock) -> Engine:
    engine = Engine(db, load_workflow(ROOT / "workflows" / "poles-2008.yaml"), clock=clock, audit_key=KEY)
    rows = [EntityRow(i, name, name.title(), {}) for i, name in enumerate(("enfant", "mta", "sporaltec"), start=1)]
    add_entities(engine, rows, actor="import", reason="t")
    for row in rows:
        engine.fire(row.id, "classify", data={"group": 3}, **OPERATOR)
    return engine


@pytest.fixture
def saved(keyed: Engine, tmp_path: Path) -> Path:
    path = tmp_path / "checkpoint.json"
    write(take(keyed.db, keyed.clock.now()), path, KEY)
    return path


def instance_id(db: Database, entity: str) -> int:
    with db.read() as conn:
        return int(
            conn.execute(sa.select(store.instance.c.id).where(store.instance.c.entity_id == entity)).scalar_one()
        )


def against(db: Database, path: Path) -> list[str]:
    return [str(b) for b in verify(db, key=KEY, checkpoint=read(path, KEY).heads).breaks]


def test_an_untouched_database_verifies_against_its_checkpoint_and_later_events_are_fine(
    keyed: Engine, saved: Path
) -> None:
    keyed.fire("enfant", "start_reevaluation", **OPERATOR)  # the chain grows after the checkpoint
    report = verify(keyed.db, key=KEY, checkpoint=read(saved, KEY).heads)
    assert report.ok and report.checkpoint == 3
    body = json.loads(saved.read_text())
    assert (body["instances"], body["events"]) == (3, 6)


def test_truncation_is_detected_even_with_the_instance_row_made_consistent(keyed: Engine, saved: Path) -> None:
    iid = instance_id(keyed.db, "mta")
    with keyed.db.write() as conn:  # drop the classification, and point the instance at the creation event
        conn.execute(store.letter.delete().where(store.letter.c.instance_id == iid))
        conn.execute(store.timer.delete().where(store.timer.c.instance_id == iid))
        conn.execute(store.event.delete().where(store.event.c.instance_id == iid, store.event.c.seq == 1))
        first = conn.execute(sa.select(store.event.c.hash).where(store.event.c.instance_id == iid)).scalar_one()
        conn.execute(
            store.instance.update()
            .where(store.instance.c.id == iid)
            .values(version=0, last_hash=first, state="evaluated")
        )
    assert verify(keyed.db, key=KEY).ok  # the chain alone cannot tell
    [broken] = against(keyed.db, saved)
    assert broken.startswith("mta [poles-2008]") and "truncated since the checkpoint" in broken


def test_erasure_of_an_instance_is_detected(keyed: Engine, saved: Path) -> None:
    iid = instance_id(keyed.db, "sporaltec")
    with keyed.db.write() as conn:
        for table in (store.letter, store.timer, store.event):
            conn.execute(table.delete().where(table.c.instance_id == iid))
        conn.execute(store.instance.delete().where(store.instance.c.id == iid))
    assert verify(keyed.db, key=KEY).ok
    [broken] = against(keyed.db, saved)
    assert "sporaltec [poles-2008]" in broken and "erased: the checkpoint covered 2 event(s)" in broken


def test_a_rewrite_by_someone_holding_the_key_is_detected(keyed: Engine, saved: Path) -> None:
    iid = instance_id(keyed.db, "enfant")
    with keyed.db.write() as conn:  # change a reason and recompute every hash, with the key
        rows = conn.execute(sa.select(store.event).where(store.event.c.instance_id == iid).order_by("seq")).mappings()
        previous = "0" * 64
        for row in list(rows):
            reason = "autre motif" if row["seq"] == 1 else row["reason"]
            forged = dataclasses.replace(event_from_row(row, "enfant", "poles-2008"), prev_hash=previous, reason=reason)
            previous = event_hash(forged, KEY)
            conn.execute(
                store.event.update()
                .where(store.event.c.id == row["id"])
                .values(reason=reason, prev_hash=forged.prev_hash, hash=previous)
            )
        conn.execute(store.instance.update().where(store.instance.c.id == iid).values(last_hash=previous))
    assert verify(keyed.db, key=KEY).ok
    [broken] = against(keyed.db, saved)
    assert "enfant [poles-2008] event" in broken and "rewritten since the checkpoint" in broken


def test_a_checkpoint_edited_or_signed_with_another_key_is_refused(keyed: Engine, saved: Path) -> None:
    body = json.loads(saved.read_text())
    body["heads"] = [h for h in body["heads"] if h[1] != "sporaltec"]
    saved.write_text(json.dumps(body))
    with pytest.raises(CheckpointError, match="signature does not verify with the audit key"):
        read(saved, KEY)
    for text in ("", "[1, 2", '{"labelwf_checkpoint": 9}'):
        saved.write_text(text)
        with pytest.raises(CheckpointError):
            read(saved, KEY)


def test_the_cli_writes_a_checkpoint_never_over_a_file_and_verifies_against_it(
    database_url: str, tmp_path: Path
) -> None:
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    runner = CliRunner()
    runner.invoke(main, [*base, "init"])
    runner.invoke(main, [*base, "import", str(ROOT / "data" / "poles_2008.csv")])
    path = tmp_path / "cp.json"
    written = runner.invoke(main, [*base, "audit", "checkpoint", "-o", str(path)])
    assert written.exit_code == 0 and "71 instance(s), 71 event(s), signed" in written.stdout
    again = runner.invoke(main, [*base, "audit", "checkpoint", "-o", str(path)])
    assert again.exit_code == EXIT_BAD_INPUT and "never overwritten" in again.stderr
    verified = runner.invoke(main, [*base, "audit", "verify", "--checkpoint", str(path)])
    assert verified.exit_code == 0 and "its 71 instance(s) still pass through the heads" in verified.stdout
    db = Database(database_url)
    with db.write() as conn:
        conn.execute(store.event.delete().where(store.event.c.seq == 0, store.event.c.id == 1))
    db.dispose()
    broken = runner.invoke(main, [*base, "audit", "verify", "--checkpoint", str(path), "--json"])
    assert broken.exit_code == EXIT_AUDIT_BROKEN and not json.loads(broken.stdout)["ok"]


def test_a_checkpoint_needs_the_audit_key(database_url: str, tmp_path: Path) -> None:
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    runner = CliRunner()
    runner.invoke(main, [*base, "init"])
    (tmp_path / "audit.key").unlink()
    refused = runner.invoke(main, [*base, "audit", "checkpoint", "-o", str(tmp_path / "cp.json")])
    assert refused.exit_code == EXIT_BAD_INPUT and "the audit key, which signs a checkpoint" in refused.stderr


def test_the_cli_exports_the_trail_as_json_lines_whose_hashes_chain(database_url: str, tmp_path: Path) -> None:
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    runner = CliRunner()
    runner.invoke(main, [*base, "init"])
    runner.invoke(main, [*base, "import", str(ROOT / "data" / "poles_2008.csv")])
    path = tmp_path / "trail.jsonl"
    written = runner.invoke(main, [*base, "audit", "export", "-o", str(path)])
    assert written.exit_code == 0 and "71 event(s) exported" in written.stdout
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 71 and all(x["prev_hash"] == "0" * 64 and x["hash_format"] == 5 for x in lines)
    assert not list(tmp_path.glob(".*partial"))
    again = runner.invoke(main, [*base, "audit", "export", "-o", str(path)])
    assert again.exit_code == EXIT_BAD_INPUT and "never overwritten" in again.stderr
    nowhere = runner.invoke(main, [*base, "audit", "export", "-o", str(tmp_path / "no" / "such.jsonl")])
    assert nowhere.exit_code == EXIT_BAD_INPUT and "is not a folder" in nowhere.stderr
    unknown = runner.invoke(main, [*base, "audit", "export", "--entity", "nope"])
    assert unknown.exit_code != 0 and "no instance 'nope'" in unknown.stderr
    one = runner.invoke(main, [*base, "audit", "export", "--entity", "enfant"])
    assert [json.loads(x)["entity"] for x in one.stdout.splitlines()] == ["enfant"]
