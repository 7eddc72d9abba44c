"""Who acted, and what each event sealed: the principal beside the actor, the daemon's identity kept
to the daemon, and every letter's checksum in the record of the event that queued it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelwf import Database, Engine, EntityRow, FrozenClock, add_entities, load_workflow, store, verify
from labelwf.cli import main
from labelwf.engine.decision import Request
from labelwf.engine.delivery import DeliverySettings, Outbox
from labelwf.errors import ReservedIdentity
from labelwf.letters.render import letter_checksum
from tests.conftest import CONFIG_FILE, ROOT
from tests.helpers import OPERATOR

KEY = bytes(range(32))


@pytest.fixture
def keyed(db: Database, clock: FrozenClock) -> Engine:
    engine = Engine(
        db,
        load_workflow(ROOT / "workflows" / "poles-2008.yaml"),
        clock=clock,
        audit_key=KEY,
        principal="alice@poste-12",
    )
    add_entities(engine, [EntityRow(1, "enfant", "Enfant", {})], actor="import", reason="t")
    return engine


def events(engine: Engine) -> list[sa.RowMapping]:
    with engine.db.read() as conn:
        return list(conn.execute(sa.select(store.event).order_by(store.event.c.id)).mappings())


def test_every_event_records_the_principal_beside_the_claimed_actor_and_seals_it(keyed: Engine) -> None:
    keyed.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    assert [(e["actor"], e["principal"]) for e in events(keyed)] == [
        ("import", "alice@poste-12"),
        (OPERATOR["actor"], "alice@poste-12"),
    ]
    with keyed.db.write() as conn:  # who authenticated cannot be changed afterwards
        conn.execute(store.event.update().where(store.event.c.seq == 1).values(principal="bob@poste-3"))
    [broken] = verify(keyed.db, key=KEY).breaks
    assert broken.seq == 1 and "does not match the event's content" in broken.problem


def test_a_request_names_its_own_principal_over_the_engines(keyed: Engine) -> None:
    request = Request(entity="enfant", trigger="classify", data={"group": 1}, principal="carol (api)", **OPERATOR)
    with keyed.db.write() as conn:
        keyed.apply(conn, request)
    assert events(keyed)[-1]["principal"] == "carol (api)"


@pytest.mark.parametrize(
    ("claim", "field"),
    [({"role": "system"}, "role 'system'"), ({"actor": "labelwf-daemon"}, "actor 'labelwf-daemon'")],
)
def test_no_caller_acts_as_the_daemon(keyed: Engine, claim: dict[str, str], field: str) -> None:
    request = Request(entity="enfant", trigger="classify", data={"group": 1}, **{"actor": "x", "reason": "y", **claim})
    with pytest.raises(ReservedIdentity) as refused, keyed.db.write() as conn:
        keyed.apply(conn, request)
    assert f"{field} is reserved to labelwf's daemon" in str(refused.value)
    assert len(events(keyed)) == 1  # nothing written


def test_the_cli_refuses_the_daemons_name_and_records_the_os_user(database_url: str) -> None:
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    runner = CliRunner()
    runner.invoke(main, [*base, "init"])
    runner.invoke(main, [*base, "import", str(ROOT / "data" / "poles_2008.csv")])
    fire = [*base, "fire", "enfant", "classify", "--set", "group=3", "--reason", "rapport"]
    refused = runner.invoke(main, [*fire, "--actor", "labelwf-daemon"])
    assert refused.exit_code != 0 and "reserved to labelwf's daemon" in refused.stderr
    assert runner.invoke(main, [*fire, "--actor", "dgcis-agent"]).exit_code == 0
    shown = runner.invoke(main, [*base, "history", "enfant", "--json"])
    last = json.loads(shown.stdout)["items"][-1]
    assert last["actor"] == "dgcis-agent" and "@" in last["principal"]


def test_each_letters_checksum_is_sealed_in_its_event(keyed: Engine) -> None:
    keyed.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    with keyed.db.read() as conn:
        letters = conn.execute(sa.select(store.letter.c.checksum, store.letter.c.event_id)).all()
    event = events(keyed)[-1]
    assert len(letters) == 3 and {c for c, _ in letters} == set(event["letters"])
    assert {e for _, e in letters} == {event["id"]}


def test_a_letter_rewritten_with_a_recomputed_checksum_is_refused_before_delivery(
    keyed: Engine, tmp_path: Path
) -> None:
    keyed.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    with keyed.db.write() as conn:  # a new address, and the checksum recomputed to match it
        letter = conn.execute(sa.select(store.letter).where(store.letter.c.recipient == "prefet")).mappings().one()
        forged = letter_checksum(letter["subject"], letter["body"], letter["body_html"], "M. X", "ailleurs", "")
        conn.execute(
            store.letter.update()
            .where(store.letter.c.id == letter["id"])
            .values(recipient_name="M. X", recipient_address="ailleurs", recipient_email=None, checksum=forged)
        )
    outbox = Outbox(keyed.db, DeliverySettings(outbox=tmp_path / "out", pdf=False), clock=keyed.clock, audit_key=KEY)
    report = outbox.deliver_due()
    assert (report.delivered, report.failed) == (2, 1)
    assert "its checksum is not one that its event" in report.errors[0]
    # ... and sealing the forged checksum into the event too breaks the event's keyed hash
    with keyed.db.write() as conn:
        conn.execute(
            store.letter.update().where(store.letter.c.id == letter["id"]).values(status="pending", attempts=0)
        )
        event = conn.execute(sa.select(store.event).where(store.event.c.id == letter["event_id"])).mappings().one()
        sealed = [forged if c == letter["checksum"] else c for c in event["letters"]]
        conn.execute(store.event.update().where(store.event.c.id == event["id"]).values(letters=sealed))
    report = outbox.deliver_due()
    assert report.failed == 1 and "does not verify with the audit key" in report.errors[0]
    assert not verify(keyed.db, key=KEY).ok
    assert not list((tmp_path / "out").glob("*/*prefet*"))


def test_a_decision_dated_earlier_than_its_recording_is_shown_as_backdated(database_url: str) -> None:
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    runner = CliRunner()
    runner.invoke(main, [*base, "init"])
    runner.invoke(main, [*base, "import", str(ROOT / "data" / "poles_2008.csv"), "--at", "2008-06-18"])
    fire = [*base, "fire", "enfant", "classify", "--set", "group=3", "--actor", "a", "--reason", "r"]
    assert runner.invoke(main, [*fire, "--at", "2008-07-01"]).exit_code == 0
    shown = runner.invoke(main, [*base, "history", "enfant"])
    assert "antidaté" in shown.stdout
