"""Letters resting on an assumed fact say so; letters resting on synthetic data are specimens, marked
on every page and never e-mailed."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa

from labelwf import Engine, FrozenClock, import_entities, store, verify
from labelwf.engine.delivery import SPECIMEN_REFUSAL, DeliverySettings, Outbox, SmtpSettings
from labelwf.engine.pdf import pdf_unavailable
from labelwf.store.records import Basis
from tests.conftest import POLES_CSV
from tests.helpers import OPERATOR

SPECIMEN = "SPÉCIMEN — données fictives"
SYNTHETIC = Basis.synthetic("pôle inventé : le dossier public donne un nombre, pas les noms")
ASSUMED = Basis.assumed("le jour de la décision n'est pas public")


def letters_of(engine: Engine) -> list[sa.Row]:
    with engine.db.read() as conn:
        query = sa.select(store.letter.c.recipient, store.letter.c.body, store.letter.c.body_html)
        return list(conn.execute(query.order_by(store.letter.c.id)).all())


def test_a_letter_resting_on_an_assumed_fact_carries_a_visible_note(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, basis=ASSUMED, **OPERATOR)
    for _, text, html in letters_of(poles):
        assert "repose sur un fait supposé" in text and "le jour de la décision" in text.replace("\n", " ")
        assert "repose sur un fait supposé" in html and SPECIMEN not in text + html


def test_a_letter_of_the_record_carries_no_mark(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, basis=Basis.record("RAP-2008"), **OPERATOR)
    for _, text, html in letters_of(poles):
        assert "supposé" not in text and SPECIMEN not in text + html


def test_a_synthetic_letter_is_marked_at_its_top_and_bottom_and_its_seal_covers_the_mark(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, basis=SYNTHETIC, **OPERATOR)
    for _, text, html in letters_of(poles):
        lines = [line for line in text.splitlines() if line.strip()]
        assert SPECIMEN in lines[0] and SPECIMEN in lines[-1]
        assert 'class="specimen"' in html and SPECIMEN in html
    # The mark is in the sealed body: removing it is a change the trail detects
    with poles.db.write() as conn:
        conn.execute(store.letter.update().values(body=sa.func.replace(store.letter.c.body, SPECIMEN, "")))
    assert any("altered since it was written" in b.problem for b in verify(poles.db).breaks)


@pytest.mark.skipif(pdf_unavailable() is not None, reason="WeasyPrint is not installed")
def test_the_specimen_mark_is_on_every_page_of_a_long_letters_pdf(poles: Engine) -> None:
    import weasyprint

    poles.fire("enfant", "classify", data={"group": 3}, basis=SYNTHETIC, **OPERATOR)
    html = letters_of(poles)[0].body_html
    long = html.replace('<div class="corps">', '<div class="corps">' + "<p>Paragraphe de remplissage.</p>" * 80)
    pages = weasyprint.HTML(string=long).render().pages
    assert len(pages) >= 2
    for page in pages:  # the fixed mark is laid out on each page (on two lines: its words)
        shown = " ".join(_texts(page._page_box))
        assert "SPÉCIMEN —" in shown and "données fictives" in shown


def _texts(box: object) -> list[str]:
    found = [str(getattr(box, "text", ""))]
    for child in getattr(box, "children", ()):
        found.extend(_texts(child))
    return found


def test_the_sender_refuses_to_email_a_synthetic_letter_and_files_the_others(
    engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    # Given a synthetic decision whose letters go to recipients with and without an e-mail
    contacts = tmp_path / "contacts.csv"
    row = "enfant,governance,Mme Claire Martin,1 rue X / Angers,presidence@enfant.example"
    contacts.write_text(f"entity,role,name,address,email\n{row}\n", encoding="utf-8")
    import_entities(engine, POLES_CSV, actor="import", contacts=contacts)
    engine.fire("enfant", "classify", data={"group": 3}, basis=SYNTHETIC, **OPERATOR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens: an attempt to send would fail otherwise
    smtp = SmtpSettings(host="127.0.0.1", port=closed_port, starttls=False, timeout=5)
    settings = DeliverySettings(outbox=tmp_path / "outbox", smtp=smtp, pdf=False)
    # When the sender runs
    report = Outbox(engine.db, settings, clock=clock).deliver_due()
    # Then the letter with an e-mail is refused for good, with the reason in French; the others are filed
    with engine.db.read() as conn:
        rows = conn.execute(sa.select(store.letter.c.recipient, store.letter.c.status, store.letter.c.last_error)).all()
    by_role = {recipient: (status, error) for recipient, status, error in rows}
    assert by_role["governance"] == ("failed", SPECIMEN_REFUSAL)
    assert "données fictives" in SPECIMEN_REFUSAL and "jamais" in SPECIMEN_REFUSAL
    assert {status for role, (status, _) in by_role.items() if role != "governance"} == {"delivered"}
    assert report.failed == 1 and report.retried == 0
    assert not list((tmp_path / "outbox" / "enfant").glob("*governance*"))
