"""Automatic checkpoints and letters checked against the chain: what someone with the database (and
even the audit key) deletes or rewrites after a checkpoint is named by ``audit verify`` with no
flag, and a rewritten letter is never shown as the frozen one."""

from __future__ import annotations

import json
import re
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient

from labelwf import EntityRow, FrozenClock, Runtime, add_entities, load_settings, store, verify
from labelwf.accounts import add_account, create_token
from labelwf.audit.checkpoint import FORMAT, _signature, read
from labelwf.audit.checkpoints import Checkpointer, CheckpointSettings, default_folder, file_name, history, newest
from labelwf.cli import EXIT_AUDIT_BROKEN, main
from labelwf.errors import CheckpointError
from labelwf.service import create_app
from tests.conftest import CONFIG_FILE, ROOT
from tests.helpers import OPERATOR

DUE = datetime(2009, 12, 31, 23, 0, tzinfo=UTC)  # 1 January 2010, midnight in Paris: the label terms end
POLES = ("enfant", "mta", "sporaltec")
PASSWORD = "correct horse battery"


@pytest.fixture
def runtime(database_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    """Three poles in group 3 on a keyed database; their label terms fall due at DUE."""
    runtime = Runtime(load_settings(CONFIG_FILE, overrides={"database": database_url}), clock=clock)
    runtime.create_audit_key()
    runtime.db.upgrade()
    rows = [EntityRow(i, name, name.title(), {}) for i, name in enumerate(POLES, start=1)]
    add_entities(runtime.engine, rows, actor="import", reason="set-up")
    for name in POLES:
        runtime.engine.fire(name, "classify", data={"group": 3}, **OPERATOR)
    yield runtime
    runtime.close()


@pytest.fixture
def swept(runtime: Runtime, clock: FrozenClock) -> Runtime:
    """The daemon has fired the three deadlines (``daemon --once`` without letters' delivery)."""
    clock.set(DUE + timedelta(minutes=1))
    assert runtime.daemon(letters=False).run_once().fired == 3
    return runtime


def cli(runtime: Runtime, *args: str) -> Any:
    base = ["--config", str(CONFIG_FILE), "--db", runtime.settings.database]
    return CliRunner().invoke(main, [*base, *args])


def ids(runtime: Runtime, entity: str) -> int:
    with runtime.db.read() as conn:
        found = conn.execute(sa.select(store.instance.c.id).where(store.instance.c.entity_id == entity))
        return int(found.scalar_one())


def delete_newest_event(runtime: Runtime, entity: str) -> None:
    """What a hostile person with the database does: the newest event, its timers and letters gone,
    the instance put back to the previous state, version and hash."""
    iid = ids(runtime, entity)
    e, t, m, i = store.event, store.timer, store.letter, store.instance
    with runtime.db.write() as conn:
        newest_event = conn.execute(sa.select(e).where(e.c.instance_id == iid).order_by(e.c.seq.desc())).mappings()
        last = next(iter(newest_event))
        previous = conn.execute(sa.select(e).where(e.c.instance_id == iid, e.c.seq == last["seq"] - 1)).mappings()
        before = next(iter(previous))
        conn.execute(m.delete().where(m.c.event_id == last["id"]))
        conn.execute(t.delete().where(t.c.armed_by_event == last["id"]))
        conn.execute(t.update().where(t.c.closed_by_event == last["id"]).values(status="pending", closed_by_event=None))
        conn.execute(e.delete().where(e.c.id == last["id"]))
        conn.execute(
            i.update()
            .where(i.c.id == iid)
            .values(state=before["dest"], version=before["seq"], last_hash=before["hash"])
        )


def test_daemon_once_writes_a_checkpoint_owner_only_in_a_folder_outside_the_checkout(swept: Runtime) -> None:
    folder = swept.checkpoint_folder
    [written] = history(folder)
    assert folder == default_folder(swept.db.display_url) and not folder.is_relative_to(ROOT)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(written.stat().st_mode) == 0o600
    taken = read(written, swept.audit_key or b"")
    assert taken.heads[("poles-2008", "enfant")][0] == 2 and taken.counts["event"] == 9
    assert json.loads(written.read_text())["labelwf_checkpoint"] == FORMAT == 2


def test_deleting_a_pole_s_newest_decision_fails_audit_verify_without_any_flag(swept: Runtime) -> None:
    assert cli(swept, "audit", "verify").exit_code == 0
    delete_newest_event(swept, "mta")
    assert verify(swept.db, key=swept.audit_key).ok  # the chain alone cannot tell
    broken = cli(swept, "audit", "verify")
    assert broken.exit_code == EXIT_AUDIT_BROKEN
    assert re.search(
        r"mta \[poles-2008\] instance row: truncated since the checkpoint of 2009-12-31T23:01:00\+00:00: "
        r"the chain ends at seq 1, the checkpoint covered it up to seq 2",
        broken.stderr,
    )
    assert "table event has 8 row(s), the checkpoint of" in broken.stderr and "counted 9" in broken.stderr


def test_a_daemon_never_writes_a_checkpoint_over_a_truncation(swept: Runtime, clock: FrozenClock) -> None:
    delete_newest_event(swept, "mta")
    swept.engine.fire("enfant", "renew", data={"decision_ref": "CIADT du 11 mai 2010"}, **OPERATOR)
    clock.advance(timedelta(hours=2))
    later = Runtime(swept.settings, clock=clock)  # a daemon started afterwards reads the folder's newest
    later.daemon(letters=False).run_once()  # it fires mta's deadline again: a new seq 2, not the sealed one
    assert later.checkpointer.refused is not None
    assert "not written: the database lost what the checkpoint of 2009-12-31T23:01:00+00:00 covered" in (
        later.checkpointer.refused
    )
    assert "mta [poles-2008] rewritten: its head at seq 2 is not the one recorded" in later.checkpointer.refused
    assert len(history(swept.checkpoint_folder)) == 1
    assert cli(swept, "audit", "verify").exit_code == EXIT_AUDIT_BROKEN
    later.close()


def test_erasing_a_whole_pole_fails_audit_verify_naming_it(swept: Runtime) -> None:
    iid = ids(swept, "sporaltec")
    with swept.db.write() as conn:
        for table in (store.letter, store.timer, store.event):
            conn.execute(table.delete().where(table.c.instance_id == iid))
        conn.execute(store.instance.delete().where(store.instance.c.id == iid))
    broken = cli(swept, "audit", "verify", "--json")
    assert broken.exit_code == EXIT_AUDIT_BROKEN
    report = json.loads(broken.stdout)
    [erased] = [b for b in report["breaks"] if b["entity"] == "sporaltec"]
    assert erased["problem"].startswith("erased: the checkpoint of 2009-12-31T23:01:00+00:00 covered 3 event(s)")
    assert any(line.startswith("table instance has 2 row(s)") for line in report["missing"])


def test_a_deleted_letter_is_named_by_the_event_that_sealed_it(swept: Runtime) -> None:
    with swept.db.write() as conn:
        first = conn.execute(sa.select(sa.func.min(store.letter.c.id))).scalar_one()
        conn.execute(store.letter.delete().where(store.letter.c.id == first))
    report = verify(swept.db, key=swept.audit_key)
    assert not report.ok and any("a letter of this event was deleted" in b.problem for b in report.breaks)


def test_no_flag_and_no_checkpoint_says_what_goes_unnoticed(runtime: Runtime) -> None:
    done = cli(runtime, "audit", "verify")
    assert done.exit_code == 0 and "no checkpoint of this database in" in done.stderr
    skipped = cli(runtime, "audit", "verify", "--no-checkpoint")
    assert skipped.exit_code == 0 and "--no-checkpoint: a deletion of the newest events" in skipped.stderr


def rewrite_letter(runtime: Runtime, **values: str) -> int:
    """Rewrite the first letter of 'enfant' in the database; return its id."""
    iid = ids(runtime, "enfant")
    with runtime.db.write() as conn:
        first = sa.select(sa.func.min(store.letter.c.id)).where(store.letter.c.instance_id == iid)
        letter_id = int(conn.execute(first).scalar_one())
        conn.execute(store.letter.update().where(store.letter.c.id == letter_id).values(**values))
    return letter_id


@pytest.mark.parametrize(
    "forged",
    [
        {"body": "Le label est retiré."},
        {"body_html": "<p>Le label est retiré.</p>"},
        {"recipient_email": "faussaire@example.org"},
    ],
    ids=["body", "html", "recipient"],
)
def test_a_rewritten_letter_fails_verify_and_is_never_shown_as_the_frozen_one(
    runtime: Runtime, clock: FrozenClock, forged: dict[str, str]
) -> None:
    letter_id = rewrite_letter(runtime, **forged)
    report = verify(runtime.db, key=runtime.audit_key)
    [altered] = report.breaks
    assert altered.entity == "enfant" and altered.problem.startswith(f"letter #{letter_id} (classement_groupe_3 to ")
    assert altered.problem.endswith(
        "altered since it was written: its content or recipient no longer matches the checksum frozen when it "
        "was written"
    )
    add_account(runtime.db, "paul", ["viewer"], now=clock.now(), author="tests", key=None, password=PASSWORD)
    token = create_token(runtime.db, "paul", "tests", now=clock.now(), author="tests", key=None)[1]
    api = TestClient(create_app(runtime))
    shown = api.get(f"/api/v1/letters/{letter_id}", headers={"Authorization": f"Bearer {token}"})
    assert shown.status_code == 409 and shown.json()["type"] == "/problems/letter-altered"
    assert "altered since it was written" in shown.json()["detail"] and "retiré" not in shown.text
    pdf = api.get(f"/api/v1/letters/{letter_id}/pdf", headers={"Authorization": f"Bearer {token}"})
    assert pdf.status_code == 409
    console = TestClient(create_app(runtime), base_url="https://testserver", follow_redirects=False)
    csrf = re.search(r'name="csrf" value="([^"]+)"', console.get("/console/login").text)
    assert csrf is not None
    signed = console.post("/console/login", data={"csrf": csrf[1], "name": "paul", "password": PASSWORD})
    assert signed.status_code == 303
    page = console.get(f"/console/letters/{letter_id}")
    assert page.status_code == 200 and re.search(r'class="error[^"]*" role="alert"', page.text)
    assert "Ce courrier a été modifié" in page.text and "retiré" not in page.text and "<iframe" not in page.text
    assert console.get(f"/console/letters/{letter_id}/html").status_code == 409


def test_an_untouched_letter_is_still_shown(runtime: Runtime, clock: FrozenClock) -> None:
    add_account(runtime.db, "paul", ["viewer"], now=clock.now(), author="tests", key=None, password=PASSWORD)
    token = create_token(runtime.db, "paul", "tests", now=clock.now(), author="tests", key=None)[1]
    api = TestClient(create_app(runtime))
    listed = api.get("/api/v1/letters", headers={"Authorization": f"Bearer {token}"}).json()["items"]
    shown = api.get(f"/api/v1/letters/{listed[0]['id']}", headers={"Authorization": f"Bearer {token}"})
    assert shown.status_code == 200 and shown.json()["body"]


def test_the_server_writes_a_checkpoint_when_it_starts(runtime: Runtime) -> None:
    assert history(runtime.checkpoint_folder) == []
    with TestClient(create_app(runtime)) as client:
        assert client.get("/healthz").status_code == 200
        [written] = history(runtime.checkpoint_folder)
    assert read(written, runtime.audit_key or b"").instances == 3


def checkpointer(runtime: Runtime, clock: FrozenClock, folder: Path, **settings: Any) -> Checkpointer:
    options = CheckpointSettings(folder=folder, **settings)
    return Checkpointer(runtime.db, runtime.audit_key, options, clock=clock)


def test_checkpoints_wait_for_the_floor_and_are_skipped_when_nothing_changed(
    runtime: Runtime, clock: FrozenClock, tmp_path: Path
) -> None:
    taker = checkpointer(runtime, clock, tmp_path / "cp", interval_seconds=3600, floor_seconds=60)
    assert taker.maybe_write() is not None
    clock.advance(timedelta(hours=2))
    assert taker.maybe_write() is None  # nothing was recorded since: no new file
    runtime.engine.fire("enfant", "start_reevaluation", **OPERATOR)
    taker.nudge()  # a batch of deadlines
    clock.advance(timedelta(seconds=30))
    assert taker.maybe_write() is not None  # the nudge, past the floor since the last try
    runtime.engine.fire("mta", "start_reevaluation", **OPERATOR)
    taker.nudge()
    clock.advance(timedelta(seconds=59))
    assert taker.maybe_write() is None  # within the floor
    clock.advance(timedelta(seconds=1))
    assert taker.maybe_write() is not None
    assert len(history(tmp_path / "cp")) == 3


def test_history_is_kept_and_the_newest_is_found_by_name_even_if_the_clock_went_back(
    runtime: Runtime, clock: FrozenClock, tmp_path: Path
) -> None:
    folder = tmp_path / "cp"
    taker = checkpointer(runtime, clock, folder)
    first = taker.write()
    runtime.engine.fire("enfant", "start_reevaluation", **OPERATOR)
    second = taker.write(clock.now() - timedelta(days=1))  # a clock set back: the name still sorts last
    assert history(folder) == [first, second] and first.name == file_name(clock.now())
    found = newest(folder, runtime.audit_key or b"", runtime.db.display_url)
    assert found is not None and found[0] == second and found[1].heads[("poles-2008", "enfant")][0] == 2
    assert newest(folder, runtime.audit_key or b"", "sqlite:///another.db") is None


def test_the_command_hook_receives_the_signed_checkpoint_on_its_stdin(
    runtime: Runtime, clock: FrozenClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPPED_TO", str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").mkdir()
    copy = "import os, sys; open(os.path.join(os.environ['SHIPPED_TO'], os.environ['LABELWF_CHECKPOINT_NAME']), 'wb')"
    command = f'{sys.executable} -c "{copy}.write(sys.stdin.buffer.read())"'
    written = checkpointer(runtime, clock, tmp_path / "cp", command=command).write()
    shipped = tmp_path / "elsewhere" / written.name
    assert shipped.read_bytes() == written.read_bytes()
    assert read(shipped, runtime.audit_key or b"").instances == 3
    failing = checkpointer(runtime, clock, tmp_path / "cp2", command=f"{sys.executable} -c 'import sys; sys.exit(3)'")
    with pytest.raises(CheckpointError, match=r"checkpoint_command .* failed \(exit 3\)"):
        failing.write()


def test_a_checkpoint_of_format_1_is_still_read(runtime: Runtime, tmp_path: Path) -> None:
    key = runtime.audit_key or b""
    body = {
        "labelwf_checkpoint": 1,
        "created_at": "2009-01-01T00:00:00+00:00",
        "database": runtime.db.display_url,
        "instances": 1,
        "events": 2,
        "heads": [["poles-2008", "enfant", 1, "a" * 64]],
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(body | {"signature": _signature(body, key)}))
    assert read(path, key).heads == {("poles-2008", "enfant"): (1, "a" * 64)}


def test_the_audit_checkpoint_command_writes_into_the_folder(runtime: Runtime) -> None:
    done = cli(runtime, "audit", "checkpoint")
    assert done.exit_code == 0, done.output
    [written] = history(runtime.checkpoint_folder)
    assert str(written) in done.stdout


def test_allow_unkeyed_says_loudly_what_it_does_not_guarantee(runtime: Runtime) -> None:
    done = cli(runtime, "audit", "verify", "--allow-unkeyed")
    assert done.exit_code == 0
    assert "WARNING: --allow-unkeyed accepted 0 event(s) hashed without the audit key" in done.stderr
    assert "NOT authenticated" in done.stderr
