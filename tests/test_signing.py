"""PAdES signatures of letters: the certificates, signing, verification, and their commands."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from labelwf.cli import EXIT_BAD_INPUT, EXIT_FAILURE, main
from labelwf.clock import SystemClock
from labelwf.engine.pdf import pdf_unavailable, render_pdf
from labelwf.errors import CertificateError, ConfigError, SignatureRefused
from labelwf.letters.certificates import (
    DEMO_NAME,
    create_demo_certificate,
    is_demonstration,
    load_signer,
    load_trusted,
    read_passphrase,
)
from labelwf.letters.signing import VisibleSignature, sign, timestamp_url, timestamper
from labelwf.letters.verification import find_in_chain, verify

WHEN = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)  # the injected clock's now
PASSPHRASE = b"correct horse battery staple 42"


def letter_pdf() -> bytes:
    """A letter's PDF: WeasyPrint's when Pango is here, else a minimal one-page PDF written by hand."""
    if pdf_unavailable() is None:
        return render_pdf("<h1>Délabellisation</h1><p>Le pôle « Enfant » perd son label.</p>")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length 0 >>\nstream\n\nendstream",
    ]
    out, offsets = io.BytesIO(b"%PDF-1.7\n"), []
    out.seek(0, io.SEEK_END)
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demonstration certificate valid from shortly before WHEN, for three years."""
    path = tmp_path_factory.mktemp("certificates") / "demo.p12"
    create_demo_certificate(path, PASSPHRASE, when=WHEN - timedelta(days=1))
    return path


@pytest.fixture(scope="module")
def signed(demo: Path) -> bytes:
    signer = load_signer(demo, PASSPHRASE, when=WHEN)
    return sign(letter_pdf(), signer, when=WHEN, reason="Décision de délabellisation", location="Paris")


def test_a_signed_letter_validates_with_its_signer_and_signing_time(demo: Path, signed: bytes) -> None:
    verdict = verify(signed, [load_trusted(demo.with_suffix(".pem"))], now=WHEN + timedelta(hours=1))
    assert verdict.valid, verdict.problems
    assert (verdict.intact, verdict.whole_document, verdict.trusted) == (True, True, True)
    assert verdict.signer == DEMO_NAME
    assert verdict.signed_at == WHEN  # the injected clock's, not the system's
    assert verdict.demonstration and not verdict.timestamped
    assert verdict.problems == ()


def test_the_signing_time_is_the_one_given_even_years_from_the_system_clock(tmp_path: Path) -> None:
    # Given a certificate of 2011 and a letter signed on 15 December 2011
    then = datetime(2011, 12, 15, 10, 0, tzinfo=UTC)
    create_demo_certificate(tmp_path / "old.p12", PASSPHRASE, when=then)
    signed = sign(letter_pdf(), load_signer(tmp_path / "old.p12", PASSPHRASE, when=then), when=then)
    # Then the signature says 2011, and validates at that moment
    verdict = verify(signed, [load_trusted(tmp_path / "old.pem")], now=then + timedelta(days=1))
    assert verdict.signed_at == then and verdict.valid


def test_one_changed_byte_fails_verification(demo: Path, signed: bytes) -> None:
    altered = bytearray(signed)
    altered[len(letter_pdf()) // 2] ^= 0x01  # inside the letter's content, which the signature covers
    verdict = verify(bytes(altered), [load_trusted(demo.with_suffix(".pem"))], now=WHEN)
    assert not verdict.valid and not verdict.intact
    assert any("modifié" in p for p in verdict.problems)


def test_a_changed_byte_in_the_signature_itself_fails_verification(demo: Path, signed: bytes) -> None:
    altered = bytearray(signed)
    altered[len(signed) // 3] ^= 0x01  # in the signature's value, a hexadecimal string
    verdict = verify(bytes(altered), [load_trusted(demo.with_suffix(".pem"))], now=WHEN)
    assert not verdict.valid and any("modifié" in p for p in verdict.problems)


def test_bytes_added_after_the_signature_are_seen(demo: Path, signed: bytes) -> None:
    verdict = verify(signed + b"\n% added\n", [load_trusted(demo.with_suffix(".pem"))], now=WHEN)
    assert not verdict.valid and not verdict.whole_document


def test_an_untrusted_certificate_leaves_the_letter_intact_but_not_valid(signed: bytes, tmp_path: Path) -> None:
    create_demo_certificate(tmp_path / "other.p12", PASSPHRASE, when=WHEN - timedelta(days=1))
    verdict = verify(signed, [load_trusted(tmp_path / "other.pem")], now=WHEN)
    assert verdict.intact and verdict.trust_checked and not verdict.trusted and not verdict.valid
    assert any("n'est reconnu par aucune" in p for p in verdict.problems)
    unchecked = verify(signed, [], now=WHEN)  # no authority given: not checked, which is no problem of the letter
    assert unchecked.intact and not unchecked.trust_checked and not unchecked.valid and unchecked.problems == ()


def test_an_unsigned_pdf_and_a_file_that_is_no_pdf_are_not_valid() -> None:
    assert verify(letter_pdf(), [], now=WHEN).problems == ("ce PDF ne porte aucune signature",)
    verdict = verify(b"ceci n'est pas un PDF", [], now=WHEN)
    assert not verdict.valid and "n'est pas un PDF" in verdict.problems[0]


def test_a_visible_signature_shows_the_signatory_in_its_box(demo: Path) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    signer = load_signer(demo, PASSPHRASE, when=WHEN)
    box = VisibleSignature(page=-1, box=(340, 60, 560, 130), signatory="Jeanne Dupont", title="Préfète de région")
    signed = sign(letter_pdf(), signer, when=WHEN, visible=box)
    field = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0].sig_field
    assert [float(v) for v in field["/Rect"]] == [340, 60, 560, 130]
    appearance = field["/AP"]["/N"].get_object().data
    assert b"Jeanne Dupont" in appearance or b"Jeanne Dupont" in _xobjects(field["/AP"]["/N"].get_object())
    assert verify(signed, [load_trusted(demo.with_suffix(".pem"))], now=WHEN).valid


def _xobjects(stream: object) -> bytes:
    """The content of the appearance's nested form XObjects (pyHanko draws the stamp's text in one)."""
    resources = stream["/Resources"]  # type: ignore[index]
    return b"".join(x.get_object().data for x in resources.get("/XObject", {}).values())


def test_a_signature_box_that_is_no_box_is_refused() -> None:
    with pytest.raises(SignatureRefused) as refused:
        VisibleSignature(page=0, box=(560, 60, 340, 130), signatory="J. Dupont", title="Préfète")
    assert "(560, 60, 340, 130)" in str(refused.value)


def test_a_wrong_passphrase_says_so_without_the_passphrases(demo: Path) -> None:
    with pytest.raises(CertificateError) as refused:
        load_signer(demo, b"not the passphrase", when=WHEN)
    assert refused.value.problem.startswith("mot de passe refusé")
    assert str(demo) in str(refused.value)
    assert b"not the passphrase".decode() not in str(refused.value)
    assert PASSPHRASE.decode() not in str(refused.value)


def test_certificate_files_that_cannot_sign_are_named_with_what_is_expected(demo: Path, tmp_path: Path) -> None:
    # Given a missing file, a file that is not PKCS#12, and a PKCS#12 with a certificate but no key
    cert_only = tmp_path / "cert-only.p12"
    certificate = load_trusted(demo.with_suffix(".pem"))
    cert_only.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"x", None, None, [certificate], serialization.BestAvailableEncryption(PASSPHRASE)
        )
    )
    (tmp_path / "text.p12").write_text("bonjour")
    cases = {
        tmp_path / "missing.p12": "fichier introuvable",
        tmp_path / "text.p12": "ce n'est pas un fichier PKCS#12",
        cert_only: "aucun certificat",
    }
    for path, problem in cases.items():
        with pytest.raises(CertificateError) as refused:
            load_signer(path, PASSPHRASE, when=WHEN)
        assert problem in refused.value.problem and str(path) in str(refused.value) and "PKCS#12" in str(refused.value)


def test_an_expired_certificate_is_refused_with_its_end_date(demo: Path) -> None:
    later = WHEN + timedelta(days=365 * 4)
    with pytest.raises(CertificateError) as refused:
        load_signer(demo, PASSPHRASE, when=later)
    assert "certificat expiré le" in refused.value.problem
    signer = load_signer(demo, PASSPHRASE, when=WHEN)
    with pytest.raises(CertificateError):
        sign(letter_pdf(), signer, when=later)


def test_the_demonstration_certificate_says_it_has_no_legal_value(demo: Path) -> None:
    signer = load_signer(demo, PASSPHRASE, when=WHEN)
    assert "sans valeur juridique" in signer.name and signer.demonstration
    assert is_demonstration(signer.certificate)


def test_a_certificate_that_does_not_say_so_is_not_a_demonstration_one() -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Préfecture de la région Bretagne")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(WHEN)
        .not_valid_after(WHEN + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    assert not is_demonstration(certificate)


def test_neither_key_nor_passphrase_appears_in_logs_or_errors(
    demo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    signer = load_signer(demo, PASSPHRASE, when=WHEN)
    signed = sign(letter_pdf(), signer, when=WHEN)
    verify(signed, [], now=WHEN)
    texts = [caplog.text, repr(signer), str(vars(signer))]
    for attempt in (b"wrong", None):
        with pytest.raises(CertificateError) as refused:
            load_signer(demo, attempt, when=WHEN)
        texts += [str(refused.value), repr(refused.value.__cause__), repr(refused.value.__context__)]
    key_pem = signer.pyhanko._key.private_bytes(  # the key's own text, to look for
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_line = key_pem.decode().splitlines()[5]
    for text in texts:
        assert PASSPHRASE.decode() not in text and key_line not in text and "PRIVATE KEY" not in text


def test_a_passphrase_comes_from_a_file_or_a_variable_named_when_missing(tmp_path: Path) -> None:
    (tmp_path / "passphrase").write_text("s3cret\n")
    assert read_passphrase(file=tmp_path / "passphrase") == b"s3cret"
    assert read_passphrase(env="SIGNING_PASS", environ={"SIGNING_PASS": "s3cret"}) == b"s3cret"
    with pytest.raises(CertificateError) as missing:
        read_passphrase(env="SIGNING_PASS", environ={})
    assert "SIGNING_PASS" in str(missing.value)
    with pytest.raises(CertificateError) as absent:
        read_passphrase(file=tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(absent.value)
    with pytest.raises(CertificateError):
        read_passphrase()


def test_a_timestamp_authority_is_an_http_url_or_nothing() -> None:
    assert timestamp_url(None) is None and timestamp_url("  ") is None and timestamper("") is None
    assert timestamp_url("https://horodatage.example.fr/tsa") == "https://horodatage.example.fr/tsa"
    assert timestamper("http://tsa.example.fr") is not None
    for bad in ("ftp://tsa.example.fr", "tsa.example.fr", "https://"):
        with pytest.raises(ConfigError) as refused:
            timestamp_url(bad)
        assert refused.value.value == bad and "http://" in refused.value.expected


def test_the_chain_lookup_says_it_is_not_available_yet() -> None:
    match = find_in_chain("0" * 64)
    assert not match.looked_up and match.letter is None and "recherche indisponible" in match.note


def test_the_commands_create_a_demo_certificate_and_verify_what_it_signed(tmp_path: Path) -> None:
    # Given a demonstration certificate made by the command
    runner = CliRunner()
    made = runner.invoke(main, ["certificates", "demo", str(tmp_path / "demo.p12")])
    assert made.exit_code == 0, made.output
    assert "sans valeur juridique" in made.output
    checked = runner.invoke(
        main,
        ["certificates", "check", str(tmp_path / "demo.p12"), "--passphrase-file", str(tmp_path / "demo.passphrase")],
    )
    assert checked.exit_code == 0 and "démonstration" in checked.output, checked.output
    # When a letter is signed with it
    passphrase = read_passphrase(file=tmp_path / "demo.passphrase")
    now = SystemClock().now()
    signed = sign(letter_pdf(), load_signer(tmp_path / "demo.p12", passphrase, when=now), when=now)
    (tmp_path / "lettre.pdf").write_bytes(signed)
    # Then `letters verify` says who signed, that it is intact and has no legal value
    trust = ["--trust", str(tmp_path / "demo.pem")]
    good = runner.invoke(main, ["letters", "verify", str(tmp_path / "lettre.pdf"), *trust])
    assert good.exit_code == 0, good.output
    assert "signature valide" in good.output and "intacte" in good.output
    assert "aucune valeur juridique" in good.output and DEMO_NAME in good.output
    assert "chaîne d'audit : recherche indisponible" in good.output
    # And without the certificate to trust, it is intact, its certificate not checked, said without a traceback
    untrusted = runner.invoke(main, ["letters", "verify", str(tmp_path / "lettre.pdf")])
    assert untrusted.exit_code == EXIT_BAD_INPUT and "certificat : non vérifié" in untrusted.output
    assert "Traceback" not in untrusted.output
    # And one changed byte makes it exit non-zero with a French message
    altered = bytearray(signed)
    altered[len(letter_pdf()) // 2] ^= 0x01
    (tmp_path / "modifiee.pdf").write_bytes(bytes(altered))
    bad = runner.invoke(main, ["letters", "verify", str(tmp_path / "modifiee.pdf"), *trust])
    assert bad.exit_code == EXIT_FAILURE
    assert "NON VALIDE" in bad.output and "modifié" in bad.output
    as_json = runner.invoke(main, ["letters", "verify", str(tmp_path / "modifiee.pdf"), *trust, "--json"])
    assert as_json.exit_code == EXIT_FAILURE and '"intact": false' in as_json.output


def test_the_check_command_refuses_a_wrong_passphrase_with_exit_2(demo: Path, tmp_path: Path) -> None:
    (tmp_path / "wrong").write_text("pas le bon\n")
    result = CliRunner().invoke(
        main, ["certificates", "check", str(demo), "--passphrase-file", str(tmp_path / "wrong")]
    )
    assert result.exit_code == EXIT_BAD_INPUT
    assert "mot de passe refusé" in result.output and "pas le bon" not in result.output
