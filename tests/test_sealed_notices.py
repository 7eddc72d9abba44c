"""Notices under the service's seal (``signature: seal``): sealed at delivery, the sealed PDF stored and its sha256
recorded once in the chain, found by ``letters verify``, saying so when a demonstration seal signed them, and
delivered once with their event once whatever kills the sender."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from labelwf import FrozenClock, Runtime, import_entities, load_settings, store, verify
from labelwf.accounts import add_account, create_token
from labelwf.engine.pdf import pdf_unavailable
from labelwf.letters.certificates import create_demo_certificate, load_trusted
from labelwf.letters.demonstration import MENTION
from labelwf.letters.verification import find_in_chain
from labelwf.letters.verification import verify as verify_pdf
from labelwf.service import create_app
from labelwf.store import Database
from labelwf.store.records import SEAL_POST
from tests.conftest import CONFIG_FILE, POLES_CSV
from tests.daemon_helpers import daemon_command
from tests.helpers import OPERATOR, edit
from tests.test_cli import Cli
from tests.test_signature_crash import release_claims, run_killed

pytestmark = pytest.mark.skipif(pdf_unavailable() is not None, reason=f"no PDF: {pdf_unavailable()}")

NOTICE = "  classement_groupe_1:\n"  # the group 1 classification's letter, declared a notice for these tests
SEALED = "(letter sealed)"


def sealed_programme(programme: Path) -> Path:
    """A copy of the shipped workflows whose group 1 classification letter goes out under the seal."""
    edit(programme / "workflows" / "poles-2008.yaml", NOTICE, NOTICE + "    signature: seal\n")
    return programme


def seal_certificate(folder: Path, when: datetime) -> None:
    create_demo_certificate(folder / "seal.p12", b"secret", when=when)
    (folder / "seal.passphrase").write_text("secret\n", encoding="utf-8")


def sealed_runtime(database_url: str, clock: FrozenClock, programme: Path) -> Runtime:
    """The service over ``programme`` with signatures required, its database at the current schema."""
    overrides = {
        "database": database_url,
        "signature": "required",
        "signature_certificates": str(programme / "certificates"),
        "workflows": str(programme / "workflows"),
        "templates": str(programme / "templates"),
        "outbox": str(programme / "outbox"),
    }
    runtime = Runtime(load_settings(CONFIG_FILE, overrides=overrides), clock=clock)
    runtime.db.upgrade()
    return runtime


@pytest.fixture
def service(database_url: str, clock: FrozenClock, programme: Path) -> Iterator[Runtime]:
    """The service with signatures required, the test workflow declaring a notice, and a demonstration seal."""
    sealed_programme(programme)
    seal_certificate(programme / "certificates", clock.now())
    runtime = sealed_runtime(database_url, clock, programme)
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    yield runtime
    runtime.close()


def letters(db: Database) -> list[sa.Row[tuple[object, ...]]]:
    lt, it = store.letter, store.instance
    query = sa.select(
        lt.c.id, lt.c.status, lt.c.post, lt.c.template, lt.c.recipient, lt.c.signed_pdf, lt.c.pdf_sha256,
        lt.c.signed_demonstration, it.c.entity_id,
    ).join(it, it.c.id == lt.c.instance_id)  # fmt: skip
    with db.read() as conn:
        return list(conn.execute(query.order_by(lt.c.id)).all())


def sealed_events(db: Database) -> list[dict[str, object]]:
    with db.read() as conn:
        query = sa.select(store.event.c.data).where(store.event.c.trigger == SEALED)
        return [dict(data) for data in conn.execute(query.order_by(store.event.c.id)).scalars()]


def test_a_notice_is_sealed_at_delivery_recorded_in_its_chain_served_and_found_by_verify(
    service: Runtime, programme: Path, clock: FrozenClock
) -> None:
    # Given a classification whose three letters are notices: they wait for no one
    service.engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    rows = letters(service.db)
    assert {(row.status, row.post) for row in rows} == {("pending", SEAL_POST)} and len(rows) == 3
    # When the outbox delivers them
    report = service.outbox.deliver_due()
    service.outbox.close()
    assert report.delivered == 3 and not report.errors
    # Then each is stored as the seal signed it, the very bytes filed, its sha256 in one chain event each
    rows, events = letters(service.db), sealed_events(service.db)
    assert {row.status for row in rows} == {"delivered"}
    assert sorted(int(str(e["letter"])) for e in events) == [row.id for row in rows]
    for row in rows:
        (pdf,) = (programme / "outbox" / row.entity_id).glob(f"*-{row.template}-{row.recipient}.pdf")
        assert pdf.read_bytes() == row.signed_pdf and hashlib.sha256(row.signed_pdf).hexdigest() == row.pdf_sha256
        (event,) = [e for e in events if e["letter"] == row.id]
        assert event["pdf_sha256"] == row.pdf_sha256 and event["post"] == SEAL_POST
        assert event["demonstration"] is True and "sans valeur juridique" in str(event["certificate"])
    assert verify(service.db).ok
    # And a demonstration seal's notice says it has no legal value, in its PDF's source and its files
    first = rows[0]
    assert first.signed_demonstration
    (text,) = (programme / "outbox" / first.entity_id).glob(f"*-{first.template}-{first.recipient}.txt")
    assert MENTION in text.read_text(encoding="utf-8")
    # And letters verify finds it in the chain, its seal valid against the seal's certificate
    trusted = load_trusted(programme / "certificates" / "seal.pem")
    verdict = verify_pdf(first.signed_pdf, [trusted], now=clock.now())
    assert verdict.intact and verdict.trusted and verdict.demonstration, verdict.problems
    match = find_in_chain(first.pdf_sha256, service.db)
    assert match.letter == first.id and "scellée du cachet du service" in match.note
    # And the API serves the sealed bytes, its text saying so too
    add_account(service.db, "marie", ["operator"], now=clock.now(), author="t", key=None)
    token = create_token(service.db, "marie", "tests", now=clock.now(), author="t", key=None)[1]
    api = TestClient(create_app(service))
    headers = {"Authorization": f"Bearer {token}"}
    served = api.get(f"/api/v1/letters/{first.id}/pdf", headers=headers)
    assert served.status_code == 200 and served.content == first.signed_pdf
    assert MENTION in api.get(f"/api/v1/letters/{first.id}", headers=headers).json()["body"]
    # And a second round seals nothing again
    assert service.outbox.deliver_due().delivered == 0 and len(sealed_events(service.db)) == 3
    service.outbox.close()


def test_a_notice_waits_for_the_seal_and_never_leaves_unsigned(
    database_url: str, clock: FrozenClock, programme: Path
) -> None:
    # Given signatures required, a workflow declaring a notice, and no seal's certificate yet
    sealed_programme(programme)
    runtime = sealed_runtime(database_url, clock, programme)
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    runtime.engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    runtime.engine.fire("vegepolys", "classify", data={"group": 2}, **OPERATOR)  # letters for a person: queued
    # When the outbox delivers what is due
    report = runtime.outbox.deliver_due()
    runtime.outbox.close()
    # Then the notices are kept back, said so, and nothing is filed
    assert report.delivered == 0 and report.notices_held == 3 and runtime.outbox.due_count() == 0
    assert {row.status for row in letters(runtime.db) if row.post == SEAL_POST} == {"pending"}
    assert not (programme / "outbox").exists() or not any((programme / "outbox").rglob("*.pdf"))
    runtime.close()
    # And once the seal's certificate is there, they go out sealed
    seal_certificate(programme / "certificates", clock.now())
    runtime = sealed_runtime(database_url, clock, programme)
    report = runtime.outbox.deliver_due()
    runtime.outbox.close()
    assert report.delivered == 3 and report.notices_held == 0
    assert all(row.signed_pdf for row in letters(runtime.db) if row.post == SEAL_POST)
    runtime.close()


def test_the_command_line_verifies_a_sealed_notice_and_finds_it_in_the_chain(
    service: Runtime, programme: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    service.outbox.deliver_due()
    service.outbox.close()
    row = letters(service.db)[0]
    pdf = next((programme / "outbox" / row.entity_id).glob(f"*-{row.template}-{row.recipient}.pdf"))
    monkeypatch.setenv("LABELWF_LOCALE", "fr")
    said = Cli(database_url)("letters", "verify", str(pdf), "--trust", str(programme / "certificates" / "seal.pem"))
    assert f"lettre {row.id}" in said.stdout and "scellée du cachet du service" in said.stdout


@pytest.mark.slow
def test_senders_killed_while_sealing_deliver_each_notice_once_with_its_event_once(
    database_url: str, clock: FrozenClock, programme: Path
) -> None:
    # Given 14 poles classified in group 1: 42 notices under the seal
    sealed_programme(programme)
    seal_certificate(programme / "certificates", datetime.now(UTC))  # the sender seals with the system's clock
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "LABELWF_SIGNATURE": "required",
        "LABELWF_SIGNATURE_CERTIFICATES": str(programme / "certificates"),
        "LABELWF_WORKFLOWS": str(programme / "workflows"),
        "LABELWF_TEMPLATES": str(programme / "templates"),
        "LABELWF_OUTBOX": str(programme / "outbox"),
    }
    overrides = {"database": database_url, "signature": "required", "workflows": env["LABELWF_WORKFLOWS"]}
    runtime = Runtime(load_settings(CONFIG_FILE, overrides=overrides), clock=clock)
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    poles = [line.split(",")[0] for line in POLES_CSV.read_text(encoding="utf-8").splitlines()[1:15]]
    for entity in poles:
        runtime.engine.fire(entity, "classify", data={"group": 1}, **OPERATOR)
    db = runtime.db
    notices = len(letters(db))
    assert notices == 42
    # When senders are killed while sealing and delivering, and started again until nothing is due
    sender = daemon_command(db.url, "--once")
    sender.remove("--no-letters")
    kills = 0
    for wanted in (2, 5, 1, 7, 3, 100, 100, 100):
        kills += run_killed(sender, env, "event=letter ", wanted)
        release_claims(db)
    subprocess.run(sender, env=env, check=True, capture_output=True, timeout=300)
    # Then each notice went out once, its file the bytes its one event recorded
    assert kills >= 2
    rows, events = letters(db), sealed_events(db)
    assert {row.status for row in rows} == {"delivered"} and len(rows) == notices
    assert sorted(int(str(e["letter"])) for e in events) == [row.id for row in rows]  # each recorded once
    assert len(sorted((programme / "outbox").glob("*/*.pdf"))) == notices
    for row in rows:
        (pdf,) = (programme / "outbox" / row.entity_id).glob(f"*-{row.template}-{row.recipient}.pdf")
        assert pdf.read_bytes() == row.signed_pdf and hashlib.sha256(row.signed_pdf).hexdigest() == row.pdf_sha256
        (event,) = [e for e in events if e["letter"] == row.id]
        assert event["pdf_sha256"] == row.pdf_sha256
    assert verify(db).ok
    runtime.close()
