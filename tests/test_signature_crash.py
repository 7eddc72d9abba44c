"""A signatory's batch and the sender killed with -9 at any point: each letter goes out once, signed, with
the very bytes its signatory signed; an unsigned letter never goes out."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from labelwf import Engine, FrozenClock, Workflow, import_entities, store, verify
from labelwf.accounts import add_account
from labelwf.engine.pdf import pdf_unavailable
from labelwf.letters.certificates import create_demo_certificate
from labelwf.letters.directory import load_directory
from labelwf.letters.render import Signers
from labelwf.store import Database
from tests.conftest import CONFIG_FILE, POLES_CSV, ROOT
from tests.daemon_helpers import daemon_command, read_lines
from tests.helpers import OPERATOR

pytestmark = pytest.mark.skipif(pdf_unavailable() is not None, reason=f"no PDF: {pdf_unavailable()}")

POLES = 14  # three letters each: 42 letters for the DIACT


@pytest.fixture
def waiting(db: Database, workflow: Workflow, clock: FrozenClock, tmp_path: Path) -> tuple[Engine, dict[str, str]]:
    """42 letters waiting for the DIACT, its certificate, its signatory's account, and the service's environment."""
    engine = Engine(
        db,
        workflow,
        clock=clock,
        signers=Signers(directory=load_directory(ROOT / "data" / "directory.csv"), signature=True),
    )
    import_entities(engine, POLES_CSV, actor="import", reason="test set-up")
    poles = [line.split(",")[0] for line in POLES_CSV.read_text(encoding="utf-8").splitlines()[1 : POLES + 1]]
    for entity in poles:
        engine.fire(entity, "classify", data={"group": 1}, **OPERATOR)
    now = datetime.now(UTC)  # the commands sign with the system's clock
    create_demo_certificate(tmp_path / "certificates" / "diact.p12", b"secret", when=now)
    add_account(db, "jeanne", ["signatory"], now=now, author="t", key=None, display_name="Jeanne Martin", post="diact")
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "LABELWF_SIGNATURE": "required",
        "LABELWF_SIGNATURE_CERTIFICATES": str(tmp_path / "certificates"),
        "LABELWF_SIGNATURE_PASSPHRASE_DIACT": "secret",
        "LABELWF_OUTBOX": str(tmp_path / "outbox"),
    }
    return engine, env


def sign_command(url: str) -> list[str]:
    config = ["--config", str(CONFIG_FILE), "--db", url]
    return [sys.executable, "-m", "labelwf.cli", *config, "letters", "sign", "--all", "--account", "jeanne", "--yes"]


def run_killed(command: list[str], env: dict[str, str], marker: str, lines: int) -> bool:
    """Run ``command`` and kill it with -9 once ``lines`` of its stderr hold ``marker``; whether it was killed."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    killed = read_lines(proc, marker, lines) >= lines and proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=300)
    assert proc.stderr is not None
    proc.stderr.close()
    return killed


def count(db: Database, *where: sa.ColumnElement[bool]) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(store.letter).where(*where)).scalar() or 0)


def release_claims(db: Database) -> None:
    """Time passes for a killed sender's claims (the test moves it): the next sender takes them again."""
    with db.write() as conn:
        conn.execute(
            store.letter.update()
            .where(store.letter.c.status == "sending")
            .values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC))
        )


@pytest.mark.slow
def test_a_signatory_and_a_sender_killed_deliver_each_letter_once_with_its_signed_bytes(
    waiting: tuple[Engine, dict[str, str]], tmp_path: Path
) -> None:
    engine, env = waiting
    db = engine.db
    letters = count(db)
    assert letters == 3 * POLES and count(db, store.letter.c.status == "to_sign") == letters
    # Given a signatory's batch killed after its first twenty letters (enough for several senders to be
    # killed mid-delivery below, even when a busy machine lets each deliver more before its kill lands)
    assert run_killed(sign_command(db.url), env, "lettre(s) traitée(s)", 2)
    signed_first = count(db, store.letter.c.pdf_sha256.is_not(None))
    assert 20 <= signed_first < letters
    # When senders are killed while delivering, and started again until nothing is due
    sender = daemon_command(db.url, "--once")
    sender.remove("--no-letters")
    kills = 0
    for wanted in (2, 5, 1, 7, 3, 100, 100, 100):
        kills += run_killed(sender, env, "event=letter ", wanted)
        release_claims(db)
    # Then what was delivered is what was signed, and nothing unsigned went out
    assert kills >= 2
    assert count(db, store.letter.c.status == "delivered") == signed_first
    assert count(db, store.letter.c.status == "to_sign") == letters - signed_first
    # When the rest is signed and delivered
    subprocess.run(sign_command(db.url), env=env, check=True, capture_output=True, timeout=300)
    subprocess.run(sender, env=env, check=True, capture_output=True, timeout=300)
    # Then each letter went out once, its PDF the bytes signed and recorded in its chain
    with db.read() as conn:
        rows = conn.execute(
            sa.select(
                store.letter.c.id,
                store.letter.c.status,
                store.letter.c.attempts,
                store.letter.c.signed_pdf,
                store.letter.c.pdf_sha256,
                store.letter.c.template,
                store.letter.c.recipient,
                store.instance.c.entity_id,
            ).join(store.instance, store.instance.c.id == store.letter.c.instance_id)
        ).all()
        signed_events = conn.execute(
            sa.select(sa.func.count()).where(store.event.c.trigger == "(letter signed)")
        ).scalar()
    assert {row.status for row in rows} == {"delivered"} and signed_events == letters
    pdfs = sorted((tmp_path / "outbox").glob("*/*.pdf"))
    assert len(pdfs) == letters  # each filed once, under its own name
    for row in rows:
        (pdf,) = (tmp_path / "outbox" / row.entity_id).glob(f"*-{row.template}-{row.recipient}.pdf")
        assert pdf.read_bytes() == row.signed_pdf
        assert hashlib.sha256(row.signed_pdf).hexdigest() == row.pdf_sha256
    assert verify(db).ok
