"""Letters: formal French for every step and every pole, hostile data printed as text, reliable delivery."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from labelwf import Engine, EntityRow, FrozenClock, ImportRejected, LetterError, Workflow, import_entities, store
from labelwf.engine.delivery import DeliverySettings, Outbox, SmtpSettings, letter_paths, pdf_unavailable
from labelwf.engine.letter_context import letter_context
from labelwf.letters.letter_check import check_letter
from labelwf.letters.render import LetterRenderer
from labelwf.letters.typography import french
from labelwf.operations.importer import read_entities
from labelwf.store.records import Entity, Event
from tests.conftest import POLES_CSV
from tests.helpers import OPERATOR

GOLDEN = Path(__file__).parent / "golden"
SAMPLE_DATA = {
    "group": 2,
    "contract_start": "2009-01-01",
    "contract_end": "2012-01-01T00:00:00",
    "decision_ref": "CIADT du 11 mai 2010",
    "review_ref": "Rapport d'examen 2010",
    "class_2012": "moins_performant",
    "timer_from": "2012-01-01T00:00:00+01:00",
    "timer_to": "2013-01-01T00:00:00+01:00",
    "motif": "La nouvelle évaluation n'a pas permis de constater que le pôle répondait aux critères du label.",
}
STEP = {"decision_ref": "CIADT du 11 mai 2010", "motif": SAMPLE_DATA["motif"]}


def context_for(
    workflow: Workflow, row: EntityRow, name: str, when: datetime, contacts: tuple[dict[str, str], ...] = ()
) -> dict[str, Any]:
    """What the engine gives a step's letters (``letter_context``), for a step of the sample data."""
    event = Event(
        entity=row.id,
        workflow=workflow.name,
        seq=4,
        trigger=next((t.trigger for t in workflow.transitions if name in t.letters), "t"),  # the letter's decision
        source="a",
        dest="b",
        actor="DGCIS",
        role="operator",
        reason="note interne : délabellisation de six pôles du groupe 3",
        data=STEP,
        occurred_at=when,
        recorded_at=when,
        late_by_s=None,
        prev_hash="0" * 64,
        hash_format=5,
    )
    context = letter_context(workflow, Entity(row.id, row.name, row.attributes, contacts), event, SAMPLE_DATA)
    return context | {"reference": f"POLES-2008/{row.id}/004-1"}


def render_all(workflow: Workflow, row: EntityRow, name: str, contacts: tuple[dict[str, str], ...] = ()) -> list[Any]:
    renderer = LetterRenderer(workflow.templates, workflow)
    spec = workflow.letters[name]
    context = context_for(workflow, row, name, datetime(2010, 5, 11, 8, tzinfo=UTC), contacts)
    to = {role: workflow.recipients[role] for role in spec.to}
    return renderer.render(name, spec.template.name, spec.subject, to, list(contacts), context)


def words(text: str) -> str:
    return " ".join(text.split())


def test_every_letter_renders_for_every_pole_in_formal_french(workflow: Workflow) -> None:
    rows = read_entities(POLES_CSV, workflow)
    assert len(rows) == 71
    for name in workflow.letters:
        for row in rows:
            for letter in render_all(workflow, row, name):
                assert words(french(row.name)) in words(letter.text) and "Paris, le 11 mai 2010" in letter.text
                assert "considération" in letter.text and "note interne" not in letter.text  # never the audit reason
                assert letter.html.startswith("<!DOCTYPE html>") and "@page { size: A4" in letter.html
                assert len(letter.checksum) == 64
                found = check_letter(letter.subject, letter.text, unfavourable=workflow.letters[name].unfavourable)
                assert found == [], f"{name} to {letter.recipient.role} of {row.id}: {found}"


LETTERS = [
    "classement_groupe_1",
    "classement_groupe_2",
    "classement_groupe_3",
    "contrat_signe",
    "convocation_revue",
    "revue_satisfaisante",
    "revue_insatisfaisante",
    "fin_label_maintenu",
    "renouvellement",
    "delabellisation",
    "fin_contrat",
]


@pytest.mark.parametrize("name", LETTERS)
def test_each_letter_matches_its_golden_copy(workflow: Workflow, name: str) -> None:
    row = next(r for r in read_entities(POLES_CSV, workflow) if r.id == "pass")  # an apostrophe, several regions
    text = "\n\n".join(f"=== {m.recipient.role}: {m.subject}\n{m.text}" for m in render_all(workflow, row, name))
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("LABELWF_UPDATE_GOLDEN") == "1" or not golden.exists():
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), f"{name} changed; LABELWF_UPDATE_GOLDEN=1 accepts it"


HOSTILE = "<script>alert('x')</script> {{ 7*7 }} {% raw %}\x1b[31m\x07" + "Très long nom " * 300


def test_hostile_data_is_printed_as_text(workflow: Workflow) -> None:
    row = EntityRow(1, "hostile", HOSTILE, {"region": "<b>Bretagne</b>; Alsace"})
    for letter in render_all(workflow, row, "renouvellement"):
        assert "<script>" not in letter.html and "&lt;script&gt;alert(’x’)&lt;/script&gt;" in letter.html
        assert "<b>Bretagne</b>" not in letter.html
        if letter.recipient.role != "governance":  # the préfet's and the région's letters name the region
            assert "&lt;b&gt;Bretagne&lt;/b&gt;" in letter.html
        assert "{{ 7*7 }}" in letter.text and "49" not in letter.text.replace("2009", "")
        assert "{% raw %}" in letter.text
        assert "\x1b" not in letter.text and "\x07" not in letter.text and "\x1b" not in letter.html
        assert "Très long nom " * 3 in letter.text


INLINE = [
    "Monsieur le Président du pôle {{ entity.name }}",
    "{% set who = entity.name | upper %}{{ who }}",
    "{{ who | default('no leak') }} — {{ date_fr }}",
    "Pôle {{ entity.name }} :\n  échéance\n",
]


@pytest.mark.parametrize("name", ["Pôle\x1eséparé", "Pôle ordinaire", "{{ 7*7 }}\x1e\x1e"])
def test_inline_templates_rendered_together_read_as_rendered_alone(workflow: Workflow, name: str) -> None:
    renderer = LetterRenderer(workflow.templates)
    context = {"entity": SimpleNamespace(id="x", name=name, attributes={}), "date_fr": "1er janvier 2010"}
    together = renderer.lines(INLINE, context)
    alone = [renderer.lines([source], context)[0] for source in INLINE]
    assert together == alone
    assert together[2] == "no leak — 1er janvier 2010" and together[3].endswith(": échéance")
    assert all("\x1e" not in line for line in together)


def test_an_inline_template_that_fails_is_named(workflow: Workflow) -> None:
    renderer = LetterRenderer(workflow.templates)
    context = {"entity": SimpleNamespace(id="x", name="Pôle", attributes={})}
    with pytest.raises(LetterError) as caught:
        renderer.lines([INLINE[0], "Préfet de {{ entity.region }}", INLINE[1]], context)
    assert "Préfet de {{ entity.region }}" in str(caught.value) and "region" in str(caught.value)


def test_a_recipient_with_a_known_contact_is_addressed_by_name(engine: Engine, tmp_path: Path) -> None:
    contacts = tmp_path / "contacts.csv"
    header = "entity,role,civility,name,address,email\n"
    row = "enfant,governance,Madame,Claire Martin,Pôle Enfant / 1 rue X / 49000 Angers,presidence@enfant.example\n"
    contacts.write_text(header + row, encoding="utf-8")
    import_entities(engine, POLES_CSV, actor="import", contacts=contacts)
    engine.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    with engine.db.read() as conn:
        letters = {m["recipient"]: m for m in conn.execute(sa.select(store.letter)).mappings()}
    governance, prefet = letters["governance"], letters["prefet"]
    assert governance["recipient_name"] == "Claire Martin"
    assert governance["recipient_email"] == "presidence@enfant.example"
    body = governance["body"]
    assert "Claire Martin\nMadame la Présidente du pôle de compétitivité Enfant\nPôle Enfant\n1 rue X" in body
    assert "\nMadame la Présidente,\n" in body and "Je vous prie d’agréer, Madame la Présidente," in body
    assert prefet["recipient_email"] is None  # unknown: addressed to the institution
    assert prefet["recipient_label"] == "Préfecture de la région Pays de la Loire"
    assert prefet["body"] == governance["body"]  # the préfet receives a copy of the letter to the pole
    copies = "Copie pour information\u00a0: Préfecture de la région Pays de la Loire\u202f; Conseil régional"
    assert copies in body


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("atlantis,governance,X,,x@y.fr", "unknown entity 'atlantis'"),
        ("enfant,ministre,X,,x@y.fr", "unknown recipient role 'ministre'"),
        ("enfant,governance,X,,not-an-address", "e-mail 'not-an-address' is not one e-mail address"),
        ('enfant,governance,X,,"a@x.fr,root"', r"e-mail 'a@x.fr,root' is not one e-mail address"),
        ("enfant,governance,X,,Jean <j@x.fr>", "give exactly one address such as contact@pole.fr"),
    ],
)
def test_bad_contacts_import_nothing(engine: Engine, tmp_path: Path, line: str, message: str) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(f"entity,role,name,address,email\n{line}\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match=message):
        import_entities(engine, POLES_CSV, actor="import", contacts=contacts)
    with engine.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(store.entity)).scalar() == 0


# -- delivery ------------------------------------------------------------------------------------


class Mailbox:
    """A real SMTP server on this machine (aiosmtpd) that can refuse the first messages."""

    def __init__(self, refuse: int = 0) -> None:
        self.messages: list[Message] = []
        self.refuse = refuse

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def mailbox() -> Any:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port  # type: ignore[attr-defined]
    yield box
    controller.stop()


@pytest.fixture
def with_contacts(engine: Engine, tmp_path: Path) -> Engine:
    contacts = tmp_path / "contacts.csv"
    rows = [
        "entity,role,name,address,email",
        "enfant,governance,Mme Claire Martin,1 rue X / Angers,presidence@enfant.example",
        "enfant,prefet,M. le Préfet,Préfecture / Nantes,prefet@loire.example",
    ]
    contacts.write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_entities(engine, POLES_CSV, actor="import", contacts=contacts)
    engine.fire("enfant", "classify", data={"group": 3}, **OPERATOR)  # 3 letters, 2 with an e-mail
    return engine


def outbox_for(engine: Engine, mailbox: Any, tmp_path: Path, clock: FrozenClock) -> Outbox:
    smtp = SmtpSettings(host="127.0.0.1", port=mailbox.port, starttls=False, sender="dgcis@labelwf.example")
    return Outbox(engine.db, DeliverySettings(outbox=tmp_path / "outbox", smtp=smtp, pdf=False), clock=clock)


def statuses(engine: Engine) -> dict[str, str]:
    with engine.db.read() as conn:
        return dict(conn.execute(sa.select(store.letter.c.recipient, store.letter.c.status)).all())


def test_a_delivery_round_asked_to_stop_leaves_the_rest_for_later(
    with_contacts: Engine, mailbox: Any, tmp_path: Path, clock: FrozenClock
) -> None:
    outbox = outbox_for(with_contacts, mailbox, tmp_path, clock)
    asked: list[bool] = []

    def after_the_first() -> bool:
        asked.append(True)
        return len(asked) > 1

    assert outbox.deliver_due(should_stop=after_the_first).delivered == 1
    assert sorted(statuses(with_contacts).values()) == ["delivered", "pending", "pending"]
    assert outbox.deliver_due().delivered == 2


def test_letters_are_filed_and_mailed_with_their_headers(
    with_contacts: Engine, mailbox: Any, tmp_path: Path, clock: FrozenClock
) -> None:
    report = outbox_for(with_contacts, mailbox, tmp_path, clock).deliver_due()
    assert (report.delivered, report.retried) == (3, 0)
    assert statuses(with_contacts) == {"governance": "delivered", "prefet": "delivered", "region": "delivered"}
    assert sorted(m["To"] for m in mailbox.messages) == ["prefet@loire.example", "presidence@enfant.example"]
    message = next(m for m in mailbox.messages if m["To"] == "presidence@enfant.example")
    assert message["From"] == "dgcis@labelwf.example"
    assert message["Subject"] == "Pôle Enfant\u00a0: maintien du label jusqu’à la fin de l’année 2009"
    assert message["Message-ID"].startswith("<letter-") and message["Message-ID"].endswith("@labelwf>")
    kinds = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in kinds and "text/html" in kinds
    paths = letter_paths(
        tmp_path / "outbox", "enfant", datetime(2008, 6, 18, 8, tzinfo=UTC), "classement_groupe_3", "region"
    )
    assert "Conseil régional des Pays de la Loire" in paths["txt"].read_text(encoding="utf-8")
    assert outbox_for(with_contacts, mailbox, tmp_path, clock).deliver_due().delivered == 0  # once


def test_a_refused_letter_is_retried_with_backoff_and_delivered_once(
    with_contacts: Engine, mailbox: Any, tmp_path: Path, clock: FrozenClock
) -> None:
    mailbox.refuse = 1
    outbox = outbox_for(with_contacts, mailbox, tmp_path, clock)
    first = outbox.deliver_due()
    assert (first.delivered, first.retried) == (2, 1)
    with with_contacts.db.read() as conn:
        waiting = conn.execute(sa.select(store.letter).where(store.letter.c.status == "retry")).mappings().one()
    assert "451" in waiting["last_error"] and waiting["attempts"] == 1
    assert waiting["next_attempt_at"] == clock.now() + timedelta(seconds=30)
    assert outbox.deliver_due().delivered == 0  # not before its time
    clock.advance(timedelta(seconds=31))
    assert outbox.deliver_due().delivered == 1
    assert len(mailbox.messages) == 2 and set(statuses(with_contacts).values()) == {"delivered"}


def test_a_crash_between_sending_and_recording_never_sends_twice(
    with_contacts: Engine, mailbox: Any, tmp_path: Path, clock: FrozenClock
) -> None:
    outbox = outbox_for(with_contacts, mailbox, tmp_path, clock)
    with with_contacts.db.read() as conn:
        letter_id = conn.execute(
            sa.select(store.letter.c.id).where(store.letter.c.recipient == "governance")
        ).scalar_one()
    # The process claims the letter and sends it, then dies before recording anything.
    claimed = outbox._claim(letter_id)
    assert claimed is not None
    outbox._send(outbox.settings.smtp, claimed, None)  # type: ignore[arg-type]
    assert len(mailbox.messages) == 1
    # A restarted sender, once the claim's lease has expired:
    clock.advance(timedelta(minutes=11))
    report = outbox.deliver_due()
    assert report.uncertain == 1
    assert len(mailbox.messages) == 2  # the two other letters; the governance one was not sent again
    assert statuses(with_contacts)["governance"] == "uncertain"
    assert sum(1 for m in mailbox.messages if m["To"] == "presidence@enfant.example") == 1


def test_a_letter_that_keeps_failing_ends_failed_with_its_error(
    with_contacts: Engine, tmp_path: Path, clock: FrozenClock
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens there
    smtp = SmtpSettings(host="127.0.0.1", port=closed_port, starttls=False, timeout=5)
    outbox = Outbox(
        with_contacts.db, DeliverySettings(outbox=tmp_path / "o", smtp=smtp, pdf=False, max_attempts=2), clock=clock
    )
    assert outbox.deliver_due().retried == 2
    clock.advance(timedelta(minutes=5))
    assert outbox.deliver_due().failed == 2
    with with_contacts.db.read() as conn:
        error = conn.execute(sa.select(store.letter.c.last_error).where(store.letter.c.status == "failed")).scalar()
    assert "attempt 2" in error and "ConnectionRefusedError" in error


@pytest.mark.skipif(pdf_unavailable() is not None, reason=str(pdf_unavailable()))
def test_a_filed_letter_has_its_pdf(poles: Engine, tmp_path: Path, clock: FrozenClock) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    outbox = Outbox(poles.db, DeliverySettings(outbox=tmp_path / "outbox"), clock=clock)
    assert outbox.deliver_due().delivered == 3
    pdf = next((tmp_path / "outbox" / "enfant").glob("*-governance.pdf")).read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5000
