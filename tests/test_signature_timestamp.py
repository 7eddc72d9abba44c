"""A timestamp authority in the configuration (``signature_timestamp_url``): signatures become PAdES B-T."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1, translate_pyca_cryptography_key_to_asn1
from pyhanko.pdf_utils.reader import PdfFileReader

from labelwf import Database, Engine, FrozenClock, Runtime, Workflow, import_entities, load_settings, store
from labelwf.engine.pdf import pdf_unavailable
from labelwf.engine.signature import Signatory, SignatureDesk
from labelwf.errors import ConfigError, SignatureRefused
from labelwf.i18n import say
from labelwf.letters.certificates import create_demo_certificate, load_signer
from labelwf.letters.directory import load_directory
from labelwf.letters.post_certificates import PostCertificates
from labelwf.letters.render import Signers
from labelwf.letters.signing import sign, timestamper, timestamps  # pyHanko's timestamps, as labelwf imports it
from tests.conftest import POLES_CSV, ROOT
from tests.helpers import OPERATOR
from tests.test_signing import WHEN, letter_pdf

URL = "https://horodatage.example.fr/tsa"


@pytest.mark.parametrize("bad", ["ftp://horodatage.example.fr", "horodatage.example.fr", "https://", "https://a b"])
def test_the_setting_is_an_http_url_or_nothing_and_a_bad_one_says_what_is_right(bad: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(None, env={"LABELWF_SIGNATURE_TIMESTAMP_URL": bad})
    said = say(refused.value, "fr")
    assert "signature_timestamp_url" in said and bad in said
    assert "l'URL http:// ou https:// d'une autorité d'horodatage RFC 3161, ou rien" in said
    assert load_settings(None, env={}).signature_timestamp_url == ""
    assert load_settings(None, env={"LABELWF_SIGNATURE_TIMESTAMP_URL": f" {URL} "}).signature_timestamp_url == URL


def test_the_signature_desk_and_the_seal_get_the_configured_authority_and_none_without_it() -> None:
    with_url = Runtime(load_settings(None, env={"LABELWF_SIGNATURE_TIMESTAMP_URL": URL}))
    authority = with_url.signature_desk.timestamp
    assert isinstance(authority, timestamps.HTTPTimeStamper) and authority.url == URL  # nothing is asked of it here
    assert Runtime(load_settings(None, env={})).signature_desk.timestamp is None


def test_an_authority_that_does_not_answer_refuses_the_signature_saying_so(tmp_path: Path) -> None:
    create_demo_certificate(tmp_path / "demo.p12", b"secret", when=WHEN)
    signer = load_signer(tmp_path / "demo.p12", b"secret", when=WHEN)
    silent = timestamper("http://127.0.0.1:9/tsa")  # nothing listens on the discard port of this machine
    with pytest.raises(SignatureRefused) as refused:
        sign(letter_pdf(), signer, when=WHEN, timestamp=silent)
    assert "l'autorité d'horodatage" in str(refused.value) and "signature_timestamp_url" in str(refused.value)


def _authority(clock: FrozenClock) -> timestamps.DummyTimeStamper:
    """A timestamp authority answering in this process (its own certificate, RFC 3161 tokens, no network)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Autorité d'horodatage de test")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(clock.now() - timedelta(days=1))
        .not_valid_after(clock.now() + timedelta(days=365))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    return timestamps.DummyTimeStamper(
        tsa_cert=translate_pyca_cryptography_cert_to_asn1(certificate),
        tsa_key=translate_pyca_cryptography_key_to_asn1(key),
        fixed_dt=clock.now(),
    )


@pytest.mark.skipif(pdf_unavailable() is not None, reason=f"no PDF: {pdf_unavailable()}")
def test_a_letter_signed_with_an_authority_carries_its_timestamp_b_t(
    db: Database, workflow: Workflow, clock: FrozenClock, tmp_path: Path
) -> None:
    directory = load_directory(ROOT / "data" / "directory.csv")
    engine = Engine(db, workflow, clock=clock, signers=Signers(directory=directory, signature=True))
    import_entities(engine, POLES_CSV, actor="import", reason="test set-up")
    engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    folder = tmp_path / "certificates"
    create_demo_certificate(folder / "diact.p12", b"secret", when=clock.now())
    (folder / "diact.passphrase").write_text("secret\n", encoding="utf-8")
    certificates = PostCertificates(folder)
    signatory = Signatory(account="jeanne", name="Jeanne Martin", post="diact")
    timestamped = SignatureDesk(engine, certificates, directory=directory, timestamp=_authority(clock))
    first, second = (letter.id for letter in timestamped.queue("diact")[:2])
    # With an authority: B-T, the signature carries the authority's token
    assert timestamped.sign([first], signatory).signed
    # Without: B-B
    assert SignatureDesk(engine, certificates, directory=directory).sign([second], signatory).signed
    with db.read() as conn:
        rows = conn.execute(store.letter.select().where(store.letter.c.id.in_([first, second]))).mappings().all()
    tokens = {}
    for row in rows:
        (signature,) = PdfFileReader(io.BytesIO(row["signed_pdf"]), strict=False).embedded_signatures
        unsigned = signature.signer_info["unsigned_attrs"].native or []
        tokens[row["id"]] = any(a["type"] == "signature_time_stamp_token" for a in unsigned)
    assert tokens == {first: True, second: False}
