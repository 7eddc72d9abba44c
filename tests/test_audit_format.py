"""The audit hash's canonical form is versioned: old events keep verifying, a changed form is caught."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import sqlalchemy as sa

from labelwf import Engine, store, verify
from labelwf.audit.hashing import HASH_FORMAT, event_hash
from labelwf.letters.render import content_checksum
from labelwf.store.records import event_from_row
from tests.conftest import ROOT
from tests.helpers import OPERATOR


def rewrite_first_event(engine: Engine, entity: str, **changes: object) -> None:
    with engine.db.write() as conn:
        iid = conn.execute(sa.select(store.instance.c.id).where(store.instance.c.entity_id == entity)).scalar_one()
        where = (store.event.c.instance_id == iid) & (store.event.c.seq == 1)
        conn.execute(store.event.update().where(where).values(**changes))


def test_new_events_name_their_hash_format_and_an_event_of_the_first_format_still_verifies(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    with poles.db.read() as conn:
        row = conn.execute(sa.select(store.event).where(store.event.c.seq == 1)).mappings().one()
    stored = event_from_row(row, "enfant", "poles-2008")
    assert stored.hash_format == HASH_FORMAT == 4 and event_hash(stored) == stored.hash
    # An event written before the format existed: hashed in format 1, and the chain continues from it.
    old = dataclasses.replace(stored, hash_format=1)
    assert event_hash(old) != stored.hash
    rewrite_first_event(poles, "enfant", hash_format=1, hash=event_hash(old))
    with poles.db.write() as conn:
        conn.execute(
            store.instance.update().where(store.instance.c.entity_id == "enfant").values(last_hash=event_hash(old))
        )
        # Its letters were frozen as letters were then: a checksum of the content only.
        m = store.letter
        for letter in conn.execute(sa.select(m).where(m.c.event_id == stored.id)).mappings().all():
            checksum = content_checksum(letter["subject"], letter["body"], letter["body_html"] or "")
            conn.execute(m.update().where(m.c.id == letter["id"]).values(checksum=checksum))
    assert verify(poles.db).ok


def test_an_event_whose_format_was_changed_no_longer_verifies(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    rewrite_first_event(poles, "enfant", hash_format=1)
    # Its letters are then checked as letters of format 1 were, and named too.
    [broken] = [b for b in verify(poles.db).breaks if not b.problem.startswith("letter #")]
    assert broken.seq == 1 and "does not match the event's content" in broken.problem
    rewrite_first_event(poles, "enfant", hash_format=99)
    assert "unknown hash format 99" in verify(poles.db).breaks[0].problem


def test_the_cli_runs_as_a_module_with_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "labelwf.cli", "letters", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0 and "List the letters of the outbox" in result.stdout
