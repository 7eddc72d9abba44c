"""An operator's retry or resolution of a letter that could not be delivered: audited, on both backends."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from labelwf import Engine, FrozenClock, import_entities, store, verify
from labelwf.engine import queries
from labelwf.engine.actions import resolve_letter, retry_letter
from labelwf.engine.delivery import DeliverySettings, Outbox, SmtpSettings
from labelwf.errors import ActionRefused, MissingJustification, NotFound, ReservedIdentity
from labelwf.store import outbox as outbox_sql
from tests.conftest import POLES_CSV
from tests.helpers import OPERATOR


@pytest.fixture
def failing(engine: Engine, tmp_path: Path, clock: FrozenClock) -> Engine:
    """Three letters of one fire: two to e-mail addresses no server takes (failed), one only filed."""
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "entity,role,name,address,email\n"
        "enfant,governance,Mme Claire Martin,1 rue X / Angers,presidence@enfant.example\n"
        "enfant,prefet,M. le Préfet,Préfecture / Nantes,prefet@loire.example\n",
        encoding="utf-8",
    )
    import_entities(engine, POLES_CSV, actor="import", contacts=contacts)
    engine.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    outbox(engine, tmp_path, clock).deliver_due()
    return engine


def outbox(engine: Engine, tmp_path: Path, clock: FrozenClock) -> Outbox:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens there
    smtp = SmtpSettings(host="127.0.0.1", port=closed_port, starttls=False, timeout=5)
    settings = DeliverySettings(outbox=tmp_path / "outbox", smtp=smtp, pdf=False, max_attempts=1)
    return Outbox(engine.db, settings, clock=clock)


def letters(engine: Engine) -> dict[str, tuple[int, str]]:
    with engine.db.read() as conn:
        rows = conn.execute(sa.select(store.letter.c.recipient, store.letter.c.id, store.letter.c.status)).all()
    return {recipient: (letter_id, status) for recipient, letter_id, status in rows}


def last_event(engine: Engine) -> sa.RowMapping:
    with engine.db.read() as conn:
        return conn.execute(sa.select(store.event).order_by(store.event.c.id.desc()).limit(1)).mappings().one()


def test_a_failed_letter_retried_is_queued_again_and_the_retry_is_a_chain_event(failing: Engine) -> None:
    found = letters(failing)
    assert found["governance"][1] == "failed" and found["region"][1] == "delivered"
    before = queries.find(failing, "enfant").version
    event = retry_letter(
        failing, found["governance"][0], actor="marie", reason="adresse corrigée", principal="marie (token)"
    )
    assert event.trigger == "(letter retried)" and event.source == event.dest
    assert letters(failing)["governance"][1] == "pending"
    assert queries.find(failing, "enfant").version == before + 1
    stored = last_event(failing)
    assert stored["principal"] == "marie (token)" and stored["reason"] == "adresse corrigée"
    assert stored["data"]["letter"] == found["governance"][0] and stored["data"]["was"] == "failed"
    assert verify(failing.db).ok


def test_an_uncertain_letter_is_resolved_as_delivered_once(failing: Engine, clock: FrozenClock, tmp_path: Path) -> None:
    letter_id = letters(failing)["prefet"][0]
    retry_letter(failing, letter_id, **OPERATOR)
    with failing.db.write() as conn:  # a sender claims it, then dies before recording anything
        outbox_sql.claim_letter(conn, letter_id, lease_until=clock.now() + timedelta(minutes=10), by_mail=True)
    clock.advance(timedelta(minutes=11))
    assert outbox(failing, tmp_path, clock).deliver_due().uncertain == 1
    resolve_letter(failing, letter_id, actor="marie", reason="le préfet confirme la réception")
    assert letters(failing)["prefet"][1] == "delivered"
    assert last_event(failing)["trigger"] == "(letter resolved as delivered)"
    with pytest.raises(ActionRefused, match="it is delivered; expected uncertain"):
        resolve_letter(failing, letter_id, **OPERATOR)
    assert verify(failing.db).ok


def test_an_action_that_does_not_apply_writes_nothing(failing: Engine) -> None:
    found = letters(failing)
    version = queries.find(failing, "enfant").version
    with pytest.raises(ActionRefused, match=r"cannot retry letter .* it is delivered; expected failed or uncertain"):
        retry_letter(failing, found["region"][0], **OPERATOR)
    with pytest.raises(ActionRefused, match="expected uncertain"):
        resolve_letter(failing, found["governance"][0], **OPERATOR)
    with pytest.raises(NotFound):
        retry_letter(failing, 999_999, **OPERATOR)
    with pytest.raises(MissingJustification):
        retry_letter(failing, found["governance"][0], actor="marie", reason="  ")
    with pytest.raises(ReservedIdentity):
        retry_letter(failing, found["governance"][0], actor="labelwf-daemon", reason="x")
    assert queries.find(failing, "enfant").version == version
    assert letters(failing)["governance"][1] == "failed"
