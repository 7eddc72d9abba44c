"""A letter signed with a demonstration certificate says it has no legal value; the checker flags one that does not."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from pyhanko.pdf_utils.reader import PdfFileReader

from labelwf import Database, Engine, FrozenClock, Workflow, import_entities, store
from labelwf.cli import EXIT_FAILURE
from labelwf.engine.delivery import DeliverySettings, Outbox
from labelwf.engine.pdf import pdf_unavailable
from labelwf.engine.queries import get_letter
from labelwf.engine.signature import Signatory, SignatureDesk
from labelwf.engine.signed_letters import signed_bodies
from labelwf.letters.certificates import DEMO_NAME, create_demo_certificate
from labelwf.letters.demonstration import CODE, MENTION, check_demonstration, with_mention_html, with_mention_text
from labelwf.letters.directory import load_directory
from labelwf.letters.post_certificates import PostCertificates
from labelwf.letters.render import Signers
from tests.conftest import POLES_CSV, ROOT
from tests.helpers import OPERATOR
from tests.test_cli import Cli

pytestmark = pytest.mark.skipif(pdf_unavailable() is not None, reason=f"no PDF: {pdf_unavailable()}")

DIRECTORY = load_directory(ROOT / "data" / "directory.csv")
DIACT = Signatory(account="jeanne", name="Jeanne Martin", post="diact")


@pytest.fixture
def signed_letter(db: Database, workflow: Workflow, clock: FrozenClock, tmp_path: Path) -> tuple[Engine, int]:
    """A classification's letter signed by the DIACT with a demonstration certificate."""
    engine = Engine(db, workflow, clock=clock, signers=Signers(directory=DIRECTORY, signature=True))
    import_entities(engine, POLES_CSV, actor="import", reason="test set-up")
    engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    folder = tmp_path / "certificates"
    create_demo_certificate(folder / "diact.p12", b"secret", when=clock.now())
    (folder / "diact.passphrase").write_text("secret\n", encoding="utf-8")
    desk = SignatureDesk(engine, PostCertificates(folder), directory=DIRECTORY)
    first = desk.queue("diact")[0].id
    report = desk.sign([first], DIACT)
    assert [s.letter for s in report.signed] == [first]
    return engine, first


def _one_line(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def test_a_letter_signed_with_a_demonstration_certificate_says_so_in_text_html_pdf_and_box(
    signed_letter: tuple[Engine, int], tmp_path: Path
) -> None:
    engine, letter_id = signed_letter
    # The letter as shown (API, console) says it, under the signature's box in its HTML
    shown = signed_bodies(get_letter(engine.db, letter_id), engine.workflows[0].timezone)
    assert MENTION in _one_line(shown.text or "")
    assert 'id="signature-field"></div><p class="mention-demonstration">' + MENTION in (shown.html or "")
    # The letter as delivered says it too: its text file, and its signed PDF's visible signature
    outbox = Outbox(engine.db, DeliverySettings(outbox=tmp_path / "outbox", pdf_workers=0), clock=engine.clock)
    assert outbox.deliver_due().delivered == 1
    outbox.close()
    (text,) = (tmp_path / "outbox" / "enfant").glob("*.txt")
    assert MENTION in _one_line(text.read_text(encoding="utf-8"))
    (pdf,) = (tmp_path / "outbox" / "enfant").glob("*.pdf")
    (signature,) = PdfFileReader(io.BytesIO(pdf.read_bytes()), strict=False).embedded_signatures
    appearance = signature.sig_field["/AP"]["/N"]
    assert b"sans valeur juridique" in appearance.data
    assert b"Certificat de d\xe9monstration" in appearance.data or b"Certificat de d\\351monstration" in (
        appearance.data
    )
    # And its signature's chain event records it
    with engine.db.read() as conn:
        data = conn.execute(
            sa.select(store.event.c.data).where(store.event.c.trigger == "(letter signed)")
        ).scalar_one()
    assert data["demonstration"] is True and data["certificate"] == DEMO_NAME


def test_letters_check_flags_a_demonstration_signature_that_does_not_say_so(
    signed_letter: tuple[Engine, int], database_url: str
) -> None:
    engine, letter_id = signed_letter
    cli = Cli(database_url)

    def demonstration_findings(code: int) -> list[str]:
        result = cli("letters", "check", "--json", code=code)
        reported = {item["id"]: item["findings"] for item in json.loads(result.stdout)["letters"]}
        return [f["code"] for f in reported.get(letter_id, []) if f["code"] == CODE]

    # A letter signed as it is now says so: nothing to flag
    assert demonstration_findings(0) == []
    # One signed before letters said so (its mark missing) is flagged
    with engine.db.write() as conn:
        conn.execute(store.letter.update().where(store.letter.c.id == letter_id).values(signed_demonstration=None))
    assert demonstration_findings(EXIT_FAILURE) == [CODE]


def test_the_mention_is_written_once_and_only_for_a_demonstration_certificate() -> None:
    html = '<body><div class="champ-signature" id="signature-field"></div><p>Copie</p></body>'
    once = with_mention_html(html)
    assert with_mention_html(once) == once and once.index(MENTION) < once.index("Copie")
    assert with_mention_html("<body><p>x</p></body>").endswith(f"{MENTION}</p></body>")
    assert with_mention_text(with_mention_text("Le préfet\n")) == f"Le préfet\n\n{MENTION}\n"
    assert check_demonstration("Le préfet", DEMO_NAME)[0].code == CODE
    assert "ne le dit pas" in check_demonstration("Le préfet", DEMO_NAME)[0].message
    assert check_demonstration(with_mention_text("Le préfet"), DEMO_NAME) == []
    assert check_demonstration("Le préfet", "Préfecture de région — signature") == []
    assert check_demonstration("Le préfet", None) == []
