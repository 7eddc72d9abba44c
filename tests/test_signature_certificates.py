"""The posts' certificates as a running service sees them: followed when their files change, a demonstration
certificate signing for its own post only, errors that say which file and what is wrong, and ``letters verify``
without a certificate to trust."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from labelwf import FrozenClock
from labelwf.cli import EXIT_BAD_INPUT, EXIT_FAILURE, main
from labelwf.errors import CertificateError
from labelwf.letters import post_certificates
from labelwf.letters.certificates import (
    DEMO_NAME,
    Signer,
    create_demo_certificate,
    load_signer,
    load_trusted,
    read_passphrase,
)
from labelwf.letters.demo_posts import create_missing
from labelwf.letters.demonstration import CODE, certificate_is_demonstration, check_demonstration
from labelwf.letters.post_certificates import PostCertificates
from labelwf.letters.signing import sign
from labelwf.letters.verification import verify
from tests.test_signing import letter_pdf

START = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def folder(tmp_path: Path, clock: FrozenClock) -> Path:
    """The certificates of the posts datar and dgcis and of the seal, as init --demo-certificates makes them."""
    folder = tmp_path / "certificates"
    create_missing(folder, ["datar", "dgcis", "seal"], when=clock.now())
    return folder


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The certificate files the posts' certificates open (read and parse), in order."""
    seen: list[Path] = []
    real = post_certificates.load_signer

    def counting(path: Path, passphrase: bytes | None, *, when: datetime) -> Signer:
        seen.append(path)
        return real(path, passphrase, when=when)

    monkeypatch.setattr(post_certificates, "load_signer", counting)
    return seen


def _replace(folder: Path, post: str, clock: FrozenClock, *, unit: str | None = None) -> None:
    """Another certificate in ``post``'s file, with its own passphrase, its times set apart from the old one's."""
    before = (folder / f"{post}.p12").stat().st_mtime_ns
    for suffix in (".p12", ".pem", ".passphrase"):
        (folder / post).with_suffix(suffix).unlink()
    (folder / f"{post}.passphrase").write_text("un autre secret\n", encoding="utf-8")
    create_demo_certificate(folder / f"{post}.p12", b"un autre secret", when=clock.now(), unit=unit)
    os.utime(folder / f"{post}.p12", ns=(before + 1_000_000_000, before + 1_000_000_000))


def test_a_posts_certificate_is_opened_once_while_its_files_stay_as_they_are(
    folder: Path, clock: FrozenClock, opened: list[Path]
) -> None:
    certificates = PostCertificates(folder)
    first = certificates.signer("datar", when=clock.now())
    clock.advance(timedelta(hours=1))
    assert certificates.signer("datar", when=clock.now()) is first
    assert opened == [folder / "datar.p12"]  # read and parsed once: the later uses only look at the files


def test_a_certificate_replaced_under_a_running_service_is_the_one_it_signs_with(
    folder: Path, clock: FrozenClock, opened: list[Path]
) -> None:
    certificates = PostCertificates(folder)
    first = certificates.signer("datar", when=clock.now())
    # When the post's file is replaced by another certificate (and its passphrase with it)
    _replace(folder, "datar", clock, unit="poste datar")
    clock.advance(timedelta(minutes=1))
    # Then the next signature uses the new one, and the one after that reads nothing again
    second = certificates.signer("datar", when=clock.now())
    assert second is not first and second.certificate != first.certificate
    assert certificates.signer("datar", when=clock.now()) is second
    assert opened == [folder / "datar.p12", folder / "datar.p12"]


def test_a_passphrase_file_changed_opens_the_certificate_again(
    folder: Path, clock: FrozenClock, opened: list[Path]
) -> None:
    certificates = PostCertificates(folder)
    certificates.signer("datar", when=clock.now())
    secret = folder / "datar.passphrase"
    secret.write_text("pas le bon\n", encoding="utf-8")
    with pytest.raises(CertificateError) as refused:
        certificates.signer("datar", when=clock.now())
    assert refused.value.problem.startswith("mot de passe refusé") and str(folder / "datar.p12") in str(refused.value)


def test_a_certificate_removed_under_a_running_service_is_refused_naming_its_file(
    folder: Path, clock: FrozenClock
) -> None:
    certificates = PostCertificates(folder)
    certificates.signer("datar", when=clock.now())
    (folder / "datar.p12").unlink()
    with pytest.raises(CertificateError) as refused:
        certificates.signer("datar", when=clock.now())
    assert refused.value.source == f"certificat {folder / 'datar.p12'}"
    assert refused.value.problem == "fichier introuvable" and "PKCS#12" in refused.value.expected
    assert certificates.seal(when=clock.now()) is not None  # the other posts sign on


def test_a_demonstration_certificate_names_its_post_and_still_says_it_has_no_legal_value(
    folder: Path, clock: FrozenClock
) -> None:
    certificates = PostCertificates(folder)
    datar, seal = certificates.signer("datar", when=clock.now()), certificates.seal(when=clock.now())
    assert datar.name == f"{DEMO_NAME} — poste datar" and datar.demonstration
    assert datar.demonstration_unit == "poste datar"
    assert seal is not None and seal.name == f"{DEMO_NAME} — cachet du service" and seal.demonstration
    # What the signature step records of it is still seen as a demonstration certificate's
    assert certificate_is_demonstration(datar.name)
    assert check_demonstration("Le préfet", datar.name)[0].code == CODE
    # And a letter it signed says which post signed it
    signed = sign(letter_pdf(), datar, when=clock.now())
    verdict = verify(signed, [load_trusted(folder / "datar.pem")], now=clock.now())
    assert verdict.valid and verdict.signer == f"{DEMO_NAME} — poste datar" and verdict.demonstration


def test_a_demonstration_certificate_copied_to_another_posts_file_is_refused(folder: Path, clock: FrozenClock) -> None:
    # Given the DGCIS's demonstration certificate copied over the DATAR's, with its passphrase
    for suffix in (".p12", ".passphrase"):
        shutil.copyfile((folder / "dgcis").with_suffix(suffix), (folder / "datar").with_suffix(suffix))
    certificates = PostCertificates(folder)
    # Then it refuses to sign for the DATAR, saying for which post it was made and what would be right
    with pytest.raises(CertificateError) as refused:
        certificates.signer("datar", when=clock.now())
    assert refused.value.source == f"certificat {folder / 'datar.p12'}"
    assert refused.value.problem == (
        "certificat de démonstration fait pour le « poste dgcis », ouvert pour le « poste datar »"
    )
    assert "retirez datar.p12 et datar.pem" in refused.value.expected
    assert "init --demo-certificates" in refused.value.expected
    assert certificates.signer("dgcis", when=clock.now()).demonstration_unit == "poste dgcis"
    # And the seal's certificate does not sign for a post either
    for suffix in (".p12", ".passphrase"):
        shutil.copyfile((folder / "seal").with_suffix(suffix), (folder / "dgcis").with_suffix(suffix))
    with pytest.raises(CertificateError) as sealed:
        certificates.signer("dgcis", when=clock.now())
    assert "« cachet du service », ouvert pour le « poste dgcis »" in sealed.value.problem


def test_a_demonstration_certificate_made_before_posts_were_named_still_signs_as_one(
    tmp_path: Path, clock: FrozenClock
) -> None:
    create_demo_certificate(tmp_path / "datar.p12", b"secret", when=clock.now())  # as certificates demo makes it
    (tmp_path / "datar.passphrase").write_text("secret\n", encoding="utf-8")
    signer = PostCertificates(tmp_path).signer("datar", when=clock.now())
    assert signer.name == DEMO_NAME and signer.demonstration and signer.demonstration_unit is None


def test_a_missing_passphrase_names_both_the_file_and_the_variable(folder: Path, clock: FrozenClock) -> None:
    (folder / "datar.passphrase").unlink()
    with pytest.raises(CertificateError) as refused:
        PostCertificates(folder, environ={}).signer("datar", when=clock.now())
    secret, variable = folder / "datar.passphrase", "LABELWF_SIGNATURE_PASSPHRASE_DATAR"
    assert refused.value.problem == (
        f"ni fichier {secret} à côté du certificat, ni variable d'environnement {variable} (absente ou vide)"
    )
    assert str(secret) in refused.value.expected and variable in refused.value.expected
    signer = PostCertificates(folder, environ={variable: "x"})
    with pytest.raises(CertificateError) as wrong:  # the variable is read when the file is not there
        signer.signer("datar", when=clock.now())
    assert wrong.value.problem.startswith("mot de passe refusé")


def test_a_damaged_certificate_file_is_told_from_a_wrong_passphrase(folder: Path, clock: FrozenClock) -> None:
    path = folder / "datar.p12"
    passphrase = read_passphrase(file=folder / "datar.passphrase")
    data = path.read_bytes()
    # One byte changed inside the file's enciphered content, then in its structure's first bytes
    for at, problem in ((len(data) // 2, "fichier abîmé"), (0, "ce n'est pas un fichier PKCS#12")):
        damaged = bytearray(data)
        damaged[at] ^= 0x01
        path.write_bytes(bytes(damaged))
        with pytest.raises(CertificateError) as refused:
            load_signer(path, passphrase, when=clock.now())
        assert refused.value.problem.startswith(problem), refused.value.problem
        assert "mot de passe refusé" not in refused.value.problem
    # And the intact file with a wrong passphrase still says the passphrase is refused
    path.write_bytes(data)
    with pytest.raises(CertificateError) as wrong:
        load_signer(path, b"pas le bon", when=clock.now())
    assert wrong.value.problem.startswith("mot de passe refusé")


def test_verify_without_a_certificate_to_trust_says_intact_and_not_checked(folder: Path, tmp_path: Path) -> None:
    # Given a letter signed with the DATAR's demonstration certificate today
    now = datetime.now(UTC)
    signer = load_signer(folder / "datar.p12", read_passphrase(file=folder / "datar.passphrase"), when=now)
    pdf = tmp_path / "lettre.pdf"
    pdf.write_bytes(sign(letter_pdf(), signer, when=now))
    # When it is verified without --trust
    verdict = verify(pdf.read_bytes(), [], now=now)
    assert verdict.intact and not verdict.trust_checked and verdict.intact_unchecked and not verdict.valid
    assert verdict.problems == ()
    said = CliRunner().invoke(main, ["letters", "verify", str(pdf)])
    # Then it says the letter is intact and that its certificate was not checked, with its own exit code
    assert said.exit_code == EXIT_BAD_INPUT, said.output
    assert f"{pdf} : signature intacte, certificat non vérifié" in said.output
    assert "certificat : non vérifié — donnez --trust FICHIER.pem, par exemple le .pem du poste" in said.output
    assert "NON VALIDE" not in said.output and "aucune des autorités" not in said.output
    assert "poste datar" in said.output
    # And given another post's certificate to trust, it is not recognised: exit 1
    other = CliRunner().invoke(main, ["letters", "verify", str(pdf), "--trust", str(folder / "dgcis.pem")])
    assert other.exit_code == EXIT_FAILURE and "certificat : non reconnu" in other.output
    assert "NON VALIDE" in other.output and "aucune des autorités de confiance données" in other.output
    as_json = CliRunner().invoke(main, ["letters", "verify", str(pdf), "--json"])
    assert as_json.exit_code == EXIT_BAD_INPUT and '"trust_checked": false' in as_json.output
