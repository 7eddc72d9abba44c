"""The signature step: a decision's letters wait « à signer » for their post, and only signed letters go out."""

from __future__ import annotations

import hashlib
import html
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pyhanko.pdf_utils.reader import PdfFileReader

from labelwf import (
    Database,
    Engine,
    FrozenClock,
    Runtime,
    Workflow,
    import_entities,
    load_settings,
    load_workflow,
    store,
    verify,
)
from labelwf.accounts import add_account, create_token
from labelwf.cli import EXIT_REFUSED, main
from labelwf.clock import SystemClock
from labelwf.config import Settings
from labelwf.engine.delivery import DeliverySettings, Outbox
from labelwf.engine.pdf import pdf_unavailable
from labelwf.engine.signature import Signatory, SignatureDesk
from labelwf.errors import ActionRefused, ImportRejected, WorkflowError
from labelwf.letters.certificates import create_demo_certificate, load_trusted
from labelwf.letters.dating import dated, named
from labelwf.letters.directory import COLUMNS, DEFAULT_POST, LEGACY_COLUMNS, load_directory, parse_directory
from labelwf.letters.post_certificates import PostCertificates
from labelwf.letters.render import Signers
from labelwf.letters.verification import find_in_chain
from labelwf.letters.verification import verify as verify_pdf
from labelwf.service import create_app
from labelwf.store.records import LetterStatus
from tests.conftest import POLES_CSV, ROOT
from tests.helpers import DELABEL, OPERATOR, drive, edit
from tests.test_cli import CONFIG_FILE, Cli

pytestmark = pytest.mark.skipif(pdf_unavailable() is not None, reason=f"no PDF: {pdf_unavailable()}")

TODAY = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
PASSWORD = "correct horse battery"
DIRECTORY = load_directory(ROOT / "data" / "directory.csv")
DIACT = Signatory(account="jeanne", name="Jeanne Martin", post="diact")
ACCOUNT_ARGS = ("--role", "signatory", "--post", "diact", "--display-name", "Jeanne Martin", "--password-stdin")
DATAR = Signatory(account="paul", name="Paul Durand", post="datar")


@pytest.fixture
def signed_engine(db: Database, workflow: Workflow, clock: FrozenClock) -> Engine:
    """The 2008 programme with its poles, its letters waiting for their signatory (``signature: required``)."""
    engine = Engine(db, workflow, clock=clock, signers=Signers(directory=DIRECTORY, signature=True))
    import_entities(engine, POLES_CSV, actor="import", reason="test set-up")
    return engine


@pytest.fixture
def certificates(tmp_path: Path, clock: FrozenClock) -> PostCertificates:
    """Demonstration certificates for the posts diact and datar, valid from the clock's now."""
    folder = tmp_path / "certificates"
    for post in ("diact", "datar"):
        create_demo_certificate(folder / f"{post}.p12", b"secret", when=clock.now())
        (folder / f"{post}.passphrase").write_text("secret\n", encoding="utf-8")
    return PostCertificates(folder)


def desk_of(engine: Engine, certificates: PostCertificates) -> SignatureDesk:
    return SignatureDesk(engine, certificates, directory=DIRECTORY)


def outbox_of(engine: Engine, tmp_path: Path) -> Outbox:
    return Outbox(engine.db, DeliverySettings(outbox=tmp_path / "outbox", pdf_workers=0), clock=engine.clock)


def statuses(db: Database) -> dict[str, int]:
    with db.read() as conn:
        rows = conn.execute(sa.select(store.letter.c.status, sa.func.count()).group_by(store.letter.c.status))
        return {str(status): int(n) for status, n in rows}


def test_a_decisions_letters_wait_for_the_post_the_directory_names_at_the_decisions_date(signed_engine: Engine) -> None:
    # When a pole is classified on 18 June 2008
    signed_engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    # Then its letters wait « à signer » for the DIACT, dated the day they will be signed
    with signed_engine.db.read() as conn:
        rows = conn.execute(sa.select(store.letter.c.status, store.letter.c.post, store.letter.c.body)).all()
    assert rows and {(status, post) for status, post, _ in rows} == {("to_sign", "diact")}
    assert all("le [date de la signature]" in body for _, _, body in rows)


def test_only_signed_letters_are_delivered_with_the_signed_bytes(
    signed_engine: Engine, certificates: PostCertificates, tmp_path: Path
) -> None:
    # Given a classification's letters waiting for their signatory
    signed_engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    outbox = outbox_of(signed_engine, tmp_path)
    # When the outbox is delivered before anyone signs: nothing goes
    assert outbox.deliver_due().delivered == 0
    waiting = [letter.id for letter in desk_of(signed_engine, certificates).queue("diact")]
    # Then once one is signed, that one alone goes out, its PDF the bytes signed
    report = desk_of(signed_engine, certificates).sign(waiting[:1], DIACT)
    assert [s.letter for s in report.signed] == waiting[:1] and not report.refused
    assert outbox.deliver_due().delivered == 1
    outbox.close()
    assert statuses(signed_engine.db) == {"delivered": 1, "to_sign": len(waiting) - 1}
    with signed_engine.db.read() as conn:
        stored = conn.execute(sa.select(store.letter.c.signed_pdf).where(store.letter.c.id == waiting[0])).scalar()
    (pdf,) = (tmp_path / "outbox" / "enfant").glob("*.pdf")
    assert pdf.read_bytes() == stored
    assert hashlib.sha256(stored).hexdigest() == report.signed[0].sha256
    assert verify(signed_engine.db).ok


def test_a_signatory_signs_fifty_letters_in_one_batch(signed_engine: Engine, certificates: PostCertificates) -> None:
    # Given more than fifty letters waiting for the DIACT
    poles = [line.split(",")[0] for line in POLES_CSV.read_text(encoding="utf-8").splitlines()[1:18]]
    for entity in poles:
        signed_engine.fire(entity, "classify", data={"group": 1}, **OPERATOR)
    desk = desk_of(signed_engine, certificates)
    batch = desk.waiting_ids("diact")[:50]
    assert len(batch) == 50
    # When the signatory signs them at once
    heard: list[tuple[int, int]] = []
    report = desk.sign(batch, DIACT, progress=lambda done, total: heard.append((done, total)))
    # Then each is signed, with its own event in its chain, and the chains verify
    assert len(report.signed) == 50 and not report.refused and heard[-1] == (50, 50)
    with signed_engine.db.read() as conn:
        events = conn.execute(sa.select(sa.func.count()).where(store.event.c.trigger == "(letter signed)")).scalar()
    assert events == 50 and verify(signed_engine.db).ok


def test_a_signatory_of_another_post_cannot_sign(signed_engine: Engine, certificates: PostCertificates) -> None:
    signed_engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    letter = desk_of(signed_engine, certificates).queue("diact")[0]
    report = desk_of(signed_engine, certificates).sign([letter.id], DATAR)
    assert not report.signed and "poste diact" in report.refused[0][1]
    with pytest.raises(ActionRefused):
        desk_of(signed_engine, certificates).send_back(letter.id, DATAR, reason="pas le mien")
    assert statuses(signed_engine.db) == {"to_sign": 3}


def test_a_letter_sent_back_keeps_its_reason_and_never_goes_out(
    signed_engine: Engine, certificates: PostCertificates, tmp_path: Path
) -> None:
    signed_engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    desk = desk_of(signed_engine, certificates)
    letter = desk.queue("diact")[0]
    event = desk.send_back(letter.id, DIACT, reason="Le groupe ne correspond pas au relevé de décisions")
    assert event.trigger == "(letter returned)" and event.reason.startswith("Le groupe")
    assert event.actor == "Jeanne Martin" and event.data["letter"] == letter.id
    outbox = outbox_of(signed_engine, tmp_path)
    assert outbox.deliver_due().delivered == 0
    outbox.close()
    assert statuses(signed_engine.db)["returned"] == 1
    assert "renvoyée" in desk.sign([letter.id], DIACT).refused[0][1]  # sent back: no longer to sign
    with pytest.raises(ActionRefused):
        desk.send_back(letter.id, DIACT, reason="encore")


def test_a_backdated_decision_signed_today_is_dated_today_and_takes_effect_at_its_date(
    signed_engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    # Given a pole awaiting its decision, delabelled today with a decision of 15 December 2010
    drive(signed_engine, "enfant", "awaiting_decision")
    clock.set(TODAY)
    signed_engine.fire("enfant", "delabel", data=DELABEL, at=datetime(2010, 12, 15, 10, tzinfo=UTC), **OPERATOR)
    folder = tmp_path / "today"
    create_demo_certificate(folder / "datar.p12", b"secret", when=TODAY)
    (folder / "datar.passphrase").write_text("secret\n", encoding="utf-8")
    desk = desk_of(signed_engine, PostCertificates(folder))
    # Then its letters wait for the DATAR, the post of 2010 that took the decision, its signatory's name to come
    waiting = [letter for letter in desk.queue("datar") if letter.template == "delabellisation"]
    assert waiting and "[nom du signataire]" in (desk.review(waiting[0].id, DATAR).text or "")
    # When it is signed today
    report = desk.sign([waiting[0].id], DATAR)
    # Then the signed letter is dated today, cites the decision's date, and takes effect on it
    delivered = outbox_of(signed_engine, tmp_path)
    delivered.deliver_due()
    delivered.close()
    (text,) = (tmp_path / "outbox" / "enfant").glob("*.txt")
    body = " ".join(text.read_text(encoding="utf-8").replace("\u00a0", " ").replace("\u202f", " ").split())
    assert "le 7 décembre 2026" in body and "[date de la signature]" not in body
    assert "Décision du 15 décembre 2010" in body
    assert "prend effet le 15 décembre 2010" in body
    # And its signature block names who signed it (the directory names no one for the DATAR of 2010)
    assert "Pour le Premier ministre et par délégation, Paul Durand Le délégué interministériel" in body
    assert "[nom du signataire]" not in body and "nom non donné" not in body
    (page,) = (tmp_path / "outbox" / "enfant").glob("*.html")
    assert "Paul Durand<br>" in page.read_text(encoding="utf-8")
    # And its PDF validates, is found in the chain by its sha256, and one byte changed fails
    (pdf_file,) = (tmp_path / "outbox" / "enfant").glob("*.pdf")
    pdf = pdf_file.read_bytes()
    trusted = [load_trusted(folder / "datar.pem")]
    verdict = verify_pdf(pdf, trusted, now=TODAY)
    assert verdict.valid and verdict.demonstration
    (signature,) = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    left, bottom, right, top = (float(v) for v in signature.sig_field["/Rect"])
    assert right - left > 100 and top - bottom > 50  # visible, in the layout's box for it
    match = find_in_chain(verdict.sha256, signed_engine.db)
    assert match.looked_up and match.letter == report.signed[0].letter
    changed = bytearray(pdf)
    changed[len(pdf) // 3] ^= 0x01
    assert not verify_pdf(bytes(changed), trusted, now=TODAY).valid
    assert find_in_chain(hashlib.sha256(bytes(changed)).hexdigest(), signed_engine.db).letter is None
    assert verify(signed_engine.db).ok


def test_letters_of_a_replay_or_with_signatures_off_go_out_as_written(
    signed_engine: Engine, workflow: Workflow, clock: FrozenClock
) -> None:
    # Signatures off: delivered as written
    Engine(signed_engine.db, workflow, clock=clock).fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    # Signatures required, but the engine writes history (a replay's): its letters never wait
    history = signed_engine.with_clock(clock, history=True)
    history.fire("pass", "classify", data={"group": 1}, **OPERATOR)
    assert statuses(signed_engine.db) == {LetterStatus.PENDING.value: 6}


def test_signatures_are_required_by_default_and_in_the_shipped_configurations(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no setting of the environment (the tests' own turns them off)
    monkeypatch.delenv("LABELWF_SIGNATURE")
    assert Settings().signature == "required"
    for shipped in ("config.yaml", "programme.yaml"):
        assert load_settings(ROOT / shipped).signature == "required", shipped
    # When an operator decides with the shipped configuration
    cli = Cli(database_url)
    cli("init")
    cli("import", str(POLES_CSV), "--reason", "set-up")
    fired = cli("fire", "vegepolys", "classify", "--set", "group=2", "--actor", "DGCIS", "--reason", "Rapport")
    # Then its letters wait for their signatory, the command says so, and delivery sends none of them
    assert "3 courrier(s) à signer avant envoi" in fired.stdout
    sent = cli("letters", "send")
    assert "delivered 0," in sent.stdout
    assert {item["status"] for item in cli.items("letters", "--pole", "vegepolys")} == {"to_sign"}


def test_a_workflow_declaring_an_unknown_signature_is_refused_naming_what_is_allowed(programme: Path) -> None:
    declared = "    to: [governance, prefet, region]"
    edit(programme / "workflows" / "poles-2008.yaml", declared, declared + "\n    signature: stamp")
    with pytest.raises(WorkflowError) as refused:
        load_workflow(programme / "workflows" / "poles-2008.yaml", programme / "templates")
    assert "signature 'stamp' is not one of person, seal" in str(refused.value)


def test_the_command_line_signs_fifty_letters_with_one_confirmation(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a service that requires signatures, a post's certificate and its signatory's account
    folder = tmp_path / "certificates"
    create_demo_certificate(folder / "diact.p12", b"secret", when=SystemClock().now())
    monkeypatch.setenv("LABELWF_SIGNATURE_PASSPHRASE_DIACT", "secret")
    monkeypatch.setenv("LABELWF_SIGNATURE", "required")
    monkeypatch.setenv("LABELWF_SIGNATURE_CERTIFICATES", str(folder))
    monkeypatch.setenv("LABELWF_OUTBOX", str(tmp_path / "outbox"))
    cli = Cli(database_url)
    cli("init")
    cli("import", str(POLES_CSV), "--at", "2008-06-18")
    poles = [line.split(",")[0] for line in POLES_CSV.read_text(encoding="utf-8").splitlines()[1:18]]
    for entity in poles:
        cli("fire", entity, "classify", "--set", "group=1", "--at", "2008-06-18", "--actor", "DIACT", "--reason", "r")
    added = cli.runner.invoke(
        main,
        ["--config", str(CONFIG_FILE), "--db", database_url, "users", "add", "jeanne", *ACCOUNT_ARGS],
        input="un mot de passe assez long\n",
    )
    assert added.exit_code == 0, added.output
    listed = cli.json("letters", "to-sign", "--account", "jeanne")
    assert listed["post"] == "diact" and listed["waiting"] == 51
    assert "lettre(s) à signer du poste diact" in cli("letters", "to-sign", "--account", "jeanne").stdout
    ids = [str(item["id"]) for item in listed["items"][:50]]
    # When the signatory signs fifty of them, answering one question
    signed = cli.runner.invoke(
        main,
        ["--config", str(CONFIG_FILE), "--db", database_url, "letters", "sign", *ids, "--account", "jeanne"],
        input="y\n",
    )
    # Then all fifty are signed after a single confirmation, with their progress shown
    assert signed.exit_code == 0, signed.output
    assert signed.output.count("Signer 50 lettre(s) du poste diact en tant que Jeanne Martin ?") == 1
    assert "50 lettre(s) signée(s) par Jeanne Martin" in signed.output and "50/50" in signed.stderr
    assert cli.json("letters", "to-sign", "--post", "diact")["waiting"] == 1
    # And the last one sent back is refused to anyone, with its reason in the chain
    last = str(listed["items"][50]["id"]) if len(listed["items"]) > 50 else None
    assert last is not None
    returned = cli("letters", "return", last, "--account", "jeanne", "--reason", "Erreur de groupe")
    assert "renvoyée par Jeanne Martin : Erreur de groupe" in returned.stdout
    refused = cli("letters", "sign", last, "--account", "jeanne", "--yes", code=EXIT_REFUSED)
    assert "renvoyée" in refused.stderr


@pytest.fixture
def signing_service(database_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[tuple[Runtime, dict[str, str]]]:
    """The service with signatures required, the DIACT's certificate, and an account per kind of person."""
    folder = tmp_path / "certificates"
    create_demo_certificate(folder / "diact.p12", b"secret", when=clock.now())
    (folder / "diact.passphrase").write_text("secret\n", encoding="utf-8")
    overrides = {"database": database_url, "signature": "required", "signature_certificates": str(folder)}
    runtime = Runtime(load_settings(CONFIG_FILE, overrides=overrides), clock=clock)
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    tokens = {}
    for name, roles, entity, post in (
        ("marie", ["operator"], None, None),
        ("jeanne", ["signatory"], None, "diact"),
        ("paul", ["signatory"], None, "datar"),
        ("gouv-enfant", ["stakeholder"], "enfant", None),
    ):
        add_account(
            runtime.db,
            name,
            roles,
            now=clock.now(),
            author="t",
            key=None,
            entity=entity,
            post=post,
            password=PASSWORD,
            display_name="Jeanne Martin" if name == "jeanne" else "",
        )
        tokens[name] = create_token(runtime.db, name, "tests", now=clock.now(), author="t", key=None)[1]
    yield runtime, tokens
    runtime.close()


def test_the_api_signs_for_the_callers_post_only_and_stakeholders_see_signed_letters_only(
    signing_service: tuple[Runtime, dict[str, str]],
) -> None:
    runtime, tokens = signing_service
    api = TestClient(create_app(runtime))

    def as_(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    # Given a classification whose three letters wait for the DIACT
    runtime.engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    # Then the stakeholder sees none of them, nor any by its id
    assert api.get("/api/v1/letters", headers=as_("gouv-enfant")).json()["items"] == []
    queue = api.get("/api/v1/signatures", headers=as_("jeanne")).json()
    assert queue["post"] == "diact" and queue["waiting"] == 3
    ids = [item["id"] for item in queue["items"]]
    assert api.get(f"/api/v1/letters/{ids[0]}", headers=as_("gouv-enfant")).status_code == 404
    # And an operator has no queue; a signatory of another post signs none of them
    assert api.get("/api/v1/signatures", headers=as_("marie")).status_code == 403
    other = api.post("/api/v1/signatures", json={"letters": ids}, headers=as_("paul")).json()
    assert other["signed"] == [] and all("post diact" in r["reason"] for r in other["refused"])  # LABELWF_LOCALE=en
    back = api.post(f"/api/v1/letters/{ids[0]}/return", json={"reason": "non"}, headers=as_("paul"))
    assert back.status_code == 409 and back.headers["content-type"].startswith("application/problem+json")
    # When the DIACT's signatory signs the three at once
    done = api.post("/api/v1/signatures", json={"letters": ids}, headers=as_("jeanne")).json()
    assert [s["letter"] for s in done["signed"]] == ids and done["refused"] == []
    # Then the PDF served is the signed one, and the stakeholder now reads its own letter
    pdf = api.get(f"/api/v1/letters/{ids[0]}/pdf", headers=as_("jeanne"))
    assert hashlib.sha256(pdf.content).hexdigest() == done["signed"][0]["pdf_sha256"]
    seen = api.get("/api/v1/letters", headers=as_("gouv-enfant")).json()["items"]
    assert seen and {letter["status"] for letter in seen} == {"pending"}
    read = api.get(f"/api/v1/letters/{seen[0]['id']}", headers=as_("gouv-enfant")).json()
    assert "Paris, le 18 juin 2008" in read["body"] and "[date de la signature]" not in read["body_html"]
    stakeholder, _ = console_of(runtime, "gouv-enfant")
    archive = zipfile.ZipFile(io.BytesIO(stakeholder.get("/console/instances/enfant/letters.zip").content))
    (inside,) = archive.namelist()
    assert hashlib.sha256(archive.read(inside)).hexdigest() == seen[0]["pdf_sha256"]
    again = api.post(f"/api/v1/letters/{ids[1]}/return", json={"reason": "trop tard"}, headers=as_("jeanne"))
    assert again.status_code == 409


def console_of(runtime: Runtime, name: str) -> tuple[TestClient, str]:
    """A client signed in through the console's form, and its session's CSRF token."""
    client = TestClient(create_app(runtime), base_url="https://testserver", follow_redirects=False)
    login = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text)
    assert login is not None
    signed = client.post("/console/login", data={"csrf": login[1], "name": name, "password": PASSWORD})
    assert signed.status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/console", follow_redirects=True).text)
    assert csrf is not None
    return client, csrf[1]


def test_the_console_signs_a_batch_after_one_confirmation_and_sends_a_letter_back(
    signing_service: tuple[Runtime, dict[str, str]],
) -> None:
    runtime, _ = signing_service
    # Given two decisions, one taken in the console, which says where its letters wait
    operator, operator_csrf = console_of(runtime, "marie")
    form = {"csrf": operator_csrf, "trigger": "classify", "field_group": "1", "reason": "Rapport 2008", "version": "0"}
    assert operator.post("/console/instances/enfant/fire", data=form).status_code == 303
    decided = html.unescape(operator.get("/console/instances/enfant").text)
    assert "Décision enregistrée" in decided and "3 courrier(s) attendent leur signataire" in decided
    runtime.engine.fire("pass", "classify", data={"group": 1}, **OPERATOR)
    client, csrf = console_of(runtime, "jeanne")
    # Given the signatory's page: six letters, and the link to it in the menu
    listing = html.unescape(client.get("/console/signatures").text)
    assert "6 lettre(s) attendent votre signature" in listing and 'href="/console/signatures">À signer' in listing
    ids = [int(i) for i in re.findall(r'name="letter" value="(\d+)"', listing)]
    assert len(ids) == 6
    # When one is reviewed, then sent back with a reason
    review = html.unescape(client.get(f"/console/signatures/{ids[0]}").text)
    assert "le [date de la signature]" in review and "Renvoyer" in review
    back = client.post(f"/console/signatures/{ids[0]}/return", data={"csrf": csrf, "reason": "Erreur de groupe"})
    assert back.status_code == 303 and back.headers["location"] == "/console/signatures"
    assert f"Lettre {ids[0]} renvoyée" in html.unescape(client.get("/console/signatures").text)
    # And the rest are chosen with « Tout signer »: one confirmation page names them all
    confirm = html.unescape(client.get("/console/signatures/confirm?all=oui").text)
    assert "Signer 5 lettre(s) du poste diact en tant que Jeanne Martin" in confirm
    frozen = re.findall(r'name="letter" value="(\d+)"', confirm)
    assert [int(i) for i in frozen] == ids[1:]
    unconfirmed = client.post("/console/signatures/sign", data={"csrf": csrf, "letter": frozen})
    assert unconfirmed.status_code == 303 and "/confirm" in unconfirmed.headers["location"]
    signed = client.post("/console/signatures/sign", data={"csrf": csrf, "letter": frozen, "confirm": "oui"})
    # Then the five are signed, said once after the redirect, and none waits any longer
    assert signed.status_code == 303 and signed.headers["location"] == "/console/signatures"
    after = html.unescape(client.get("/console/signatures").text)
    assert "5 lettre(s) signée(s)." in after and "0 lettre(s) attendent" in after
    assert "signée(s)" not in html.unescape(client.get("/console/signatures").text)  # a reload says nothing again
    assert statuses(runtime.db) == {"pending": 5, "returned": 1}
    # And someone who is no signatory is refused the page
    assert operator.get("/console/signatures").status_code == 403


def test_the_directory_names_each_rows_post_and_a_file_without_posts_still_loads() -> None:
    # The shipped directory: the DATAR signs the review of 15 December 2010, the Prime Minister a label of 2023
    assert (DIRECTORY.at("revue", date(2010, 12, 15)) or pytest.fail()).post_key == "datar"
    assert (DIRECTORY.at("labellisation", date(2023, 3, 27)) or pytest.fail()).post_key == "premier-ministre"
    # A file of the older form (no post column) loads, its rows signed by the default post
    legacy = ",".join(LEGACY_COLUMNS) + "\nrevue,2010-01-01,,l'État,le ministre,m,A B,,VIP-23,,\n"
    assert parse_directory(legacy).rows[0].post_key == DEFAULT_POST
    # A bad post key is refused, naming it and what a key is
    bad = ",".join(COLUMNS) + "\nrevue,2010-01-01,,l'État,le ministre,m,A B,,VIP-23,,,Le Ministre\n"
    with pytest.raises(ImportRejected) as refused:
        parse_directory(bad, "directory.csv")
    assert "post 'Le Ministre' is invalid" in refused.value.problems[0].message


def test_the_signatorys_name_is_written_in_as_text_and_escaped_in_html() -> None:
    hostile = "Jeanne <script>alert(1)</script> & [date de la signature]"
    assert named("Par [nom du signataire].", hostile, is_html=False) == f"Par {hostile}."
    shown = named("<p>[nom du signataire]</p>", hostile, is_html=True)
    assert "<script>" not in shown and "&lt;script&gt;" in shown and "&amp;" in shown
    # written in after the day (as signing does): a name holding the day's mark stays as it was typed
    assert named(dated("[nom du signataire]", TODAY, UTC), hostile, is_html=False) == hostile
