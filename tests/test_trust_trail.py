"""The whole trail verified as one: the administrative acts pinned by the checkpoints like the
instances' chains, the same verification in the CLI, the API and the console, and an API event
naming the token it was made with."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelwf import FrozenClock, Runtime
from labelwf.accounts import create_token, set_roles
from labelwf.audit import admin_chain
from labelwf.cli import main
from labelwf.store.schema import admin_event, admin_head
from tests.conftest import CONFIG_FILE
from tests.test_trust_admin import acting, bearer, client, keyed_runtime, sign_in


@pytest.fixture
def runtime(database_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    runtime = keyed_runtime(database_url, clock)
    yield runtime
    runtime.close()


def audit(runtime: Runtime, *args: str) -> tuple[int, str]:
    done = CliRunner().invoke(main, ["--config", str(CONFIG_FILE), "--db", runtime.settings.database, "audit", *args])
    return done.exit_code, done.output


def rewrite_act_with_the_key(runtime: Runtime, seq: int, **changes: object) -> None:
    """What the audit key's holder can do: change an act, recompute its keyed hash and every hash
    after it, and move the head, so that the chain alone verifies."""
    chain = admin_chain.history(runtime.db)
    prev = chain[seq - 2].hash if seq > 1 else admin_chain.GENESIS
    with runtime.db.write() as conn:
        for act in chain[seq - 1 :]:
            fields = {name: getattr(act, name) for name in act.__slots__}
            fields |= (changes if act.seq == seq else {}) | {"prev_hash": prev, "hash": ""}
            rewritten = admin_chain.AdminEvent(**fields)  # type: ignore[arg-type]
            prev = admin_chain.admin_hash(rewritten, runtime.audit_key)
            conn.execute(admin_event.update().where(admin_event.c.seq == act.seq).values(**(fields | {"hash": prev})))
        conn.execute(admin_head.update().values(seq=chain[-1].seq, last_hash=prev))


def test_an_administrative_act_rewritten_with_the_key_is_caught_by_the_newest_checkpoint(
    runtime: Runtime, clock: FrozenClock
) -> None:
    # Given a token issued by root, and a checkpoint of the folder taken after it
    create_token(runtime.db, "root", "script", **acting(runtime))
    assert audit(runtime, "checkpoint")[0] == 0
    # When the key's holder rewrites who issued it, every hash recomputed with the key
    rewrite_act_with_the_key(runtime, 2, author="someone else")
    assert admin_chain.verify(runtime.db, key=runtime.audit_key).ok  # the chain alone cannot tell
    # Then `audit verify`, with no flag, names the act against the checkpoint
    code, said = audit(runtime, "verify")
    assert code == 6 and "administrative acts, act #2: rewritten since the checkpoint of" in said, said


def test_acts_recorded_after_a_checkpoint_still_pass_through_the_act_it_pinned(
    runtime: Runtime, clock: FrozenClock
) -> None:
    create_token(runtime.db, "root", "script", **acting(runtime))
    assert audit(runtime, "checkpoint")[0] == 0
    clock.advance(timedelta(minutes=5))
    set_roles(runtime.db, "root", ["admin", "supervisor"], **acting(runtime))
    code, said = audit(runtime, "verify")
    assert code == 0 and "administrative acts intact: 3 act(s)" in said, said
    # and the newest acts deleted with the head moved back to the pinned one are named too
    clock.advance(timedelta(minutes=5))
    assert audit(runtime, "checkpoint")[0] == 0
    with runtime.db.write() as conn:
        pinned = conn.execute(sa.select(admin_event.c.hash).where(admin_event.c.seq == 2)).scalar_one()
        conn.execute(admin_event.delete().where(admin_event.c.seq == 3))
        conn.execute(admin_head.update().values(seq=2, last_hash=pinned))
    code, said = audit(runtime, "verify")
    assert code == 6 and "truncated since the checkpoint of" in said and "it recorded #3" in said, said


def test_a_checkpointer_writes_again_when_only_an_administrative_act_happened(
    runtime: Runtime, clock: FrozenClock
) -> None:
    checkpointer = runtime.checkpointer
    assert checkpointer.write() is not None
    clock.advance(timedelta(hours=2))
    assert checkpointer.maybe_write() is None  # nothing recorded since: no new file
    create_token(runtime.db, "root", "script", **acting(runtime))
    clock.advance(timedelta(hours=2))
    written = checkpointer.maybe_write()
    assert written is not None and checkpointer.latest is not None
    assert checkpointer.latest.admin_head == (2, admin_chain.history(runtime.db)[-1].hash)


def test_the_api_and_the_console_verify_the_administrative_acts_against_the_checkpoint(runtime: Runtime) -> None:
    # Given a supervisor's token, a checkpoint, then the newest act deleted with the head moved back
    set_roles(runtime.db, "root", ["admin", "supervisor"], **acting(runtime))
    _, token = create_token(runtime.db, "root", "script", **acting(runtime))
    assert audit(runtime, "checkpoint")[0] == 0
    answer = client(runtime).get("/api/v1/audit/verify", headers=bearer(token)).json()
    assert answer["ok"] and answer["admin"]["events"] == 3 and answer["checkpoint"]["created_at"]
    with runtime.db.write() as conn:
        kept = conn.execute(sa.select(admin_event.c.hash).where(admin_event.c.seq == 2)).scalar_one()
        conn.execute(admin_event.delete().where(admin_event.c.seq == 3))
        conn.execute(admin_head.update().values(seq=2, last_hash=kept))
    # Then the API says the trail is not intact, and why
    answer = client(runtime).get("/api/v1/audit/verify", headers=bearer(token)).json()
    assert not answer["ok"] and "truncated since the checkpoint" in answer["admin"]["breaks"][0]["problem"]
    # And so does the console
    browser, _ = sign_in(runtime, "root")
    page = browser.get("/console/audit/verification").text  # a read, which writes nothing: a GET
    assert "Journal altéré" in page and "truncated since the checkpoint" in page


def test_the_console_says_when_no_checkpoint_was_compared(runtime: Runtime) -> None:
    browser, _ = sign_in(runtime, "root")
    page = browser.get("/console/audit/verification").text  # a read, which writes nothing: a GET
    assert "Aucun point de contrôle comparé" in page


def test_an_api_event_names_the_token_it_was_made_with(runtime: Runtime) -> None:
    token_id, token = create_token(runtime.db, "root", "script", **acting(runtime))
    done = client(runtime).post(
        "/api/v1/instances/enfant/transitions",
        headers=bearer(token) | {"If-Match": '"0"'},
        json={"trigger": "classify", "reason": "évaluation 2008", "fields": {"group": 3}},
    )
    assert done.status_code == 201, done.text
    history = client(runtime).get("/api/v1/instances/enfant/history", headers=bearer(token)).json()["items"]
    principal = history[-1]["principal"]
    assert re.match(rf"^root \(token {token_id}; request [0-9a-f-]+\)$", principal), principal
    [issued] = [a for a in admin_chain.history(runtime.db) if a.subject == f"token {token_id}"]
    assert issued.author == "root (tests)"


def test_a_replay_reset_after_the_daemon_ran_erases_it_and_archives_the_checkpoints_that_covered_it(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    base = ["--config", str(CONFIG_FILE), "--db", f"sqlite:///{tmp_path / 'replayed.db'}"]
    assert runner.invoke(main, [*base, "init"]).exit_code == 0
    assert runner.invoke(main, [*base, "replay", "--reset"]).exit_code == 0
    # Given the daemon's deadlines after the replay, and the checkpoint it wrote of them
    swept = runner.invoke(main, [*base, "daemon", "--once", "--no-letters"])
    assert swept.exit_code == 0 and "fired 14" in swept.output, swept.output
    folder = next((tmp_path / "state").rglob("labelwf-checkpoint-*.json")).parent
    # When the replay is run again: the daemon is nobody, so the reset is not refused
    again = runner.invoke(main, [*base, "replay", "--reset"])
    assert again.exit_code == 0, again.output
    assert "1 checkpoint(s) of the erased database archived in" in again.stderr
    # Then the checkpoints that covered the erased content are kept aside, and the trail verifies
    assert not list(folder.glob("labelwf-checkpoint-*.json"))
    assert len(list(folder.glob("archived-*/labelwf-checkpoint-*.json"))) == 1
    verified = runner.invoke(main, [*base, "audit", "verify"])
    assert verified.exit_code == 0 and "no checkpoint of this database" in verified.stderr, verified.output
