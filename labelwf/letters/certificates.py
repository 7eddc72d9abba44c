"""A post's signing certificate: a PKCS#12 file and its passphrase, loaded into a ``Signer``.

The passphrase comes from a file or an environment variable, as the audit key does, never from
a command line's value: ``read_passphrase``. The key stays in this process's memory: it never
enters the database, a log line or an error's message (``CertificateError`` names the file and
what is wrong with it, never what was read). ``create_demo_certificate`` makes a self-signed
certificate whose name says it has no legal value, and ``is_demonstration`` recognises one, so
that what is signed with it can say so. A demonstration certificate made for a post names it in
its organisational unit (« poste datar »: ``demonstration_unit``), which its name shows after the
mark (« Certificat de démonstration — sans valeur juridique — poste datar »): a common name holds
64 characters, too few for the mark and a post's key. One made before posts were named has none.
"""

from __future__ import annotations

import os
import secrets
import warnings
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from ..clock import require_aware
from ..errors import CertificateError

with warnings.catch_warnings():  # pyHanko still imports DSA, which cryptography deprecates: nothing to do here
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
    from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1, translate_pyca_cryptography_key_to_asn1
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

DEMO_MARK = "sans valeur juridique"  # in a demonstration certificate's name, and only there
DEMO_NAME = f"Certificat de démonstration — {DEMO_MARK}"
DEMO_ORGANISATION = "labelwf — démonstration"
DEMO_YEARS = 3
UNIT_LENGTH = 64  # an organisational unit's longest (RFC 5280)
PASSPHRASE_BYTES = 24  # a generated passphrase: 24 random bytes, 48 hexadecimal digits
P12_EXPECTED = "un fichier PKCS#12 (.p12, .pfx) qui contient la clé privée du poste et son certificat"

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class _KeptKeySigner(SimpleSigner):
    """pyHanko's signer, with the key parsed once: pyHanko reparses it for every signature, which
    costs an RSA key's consistency check each time (about 30 ms, more than the rest of a signature)."""

    def __init__(self, key: SigningKey, certificate: x509.Certificate) -> None:
        super().__init__(
            signing_cert=translate_pyca_cryptography_cert_to_asn1(certificate),
            signing_key=translate_pyca_cryptography_key_to_asn1(key),
            cert_registry=SimpleCertificateStore(),  # type: ignore[no-untyped-call]  # pyHanko leaves it untyped
        )
        self._key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        digest = _DIGESTS.get(digest_algorithm)
        if digest is not None and mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, PKCS1v15(), digest())
        if digest is not None and mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(digest()))
        result: bytes = super().sign_raw(data, digest_algorithm)  # any other mechanism, as pyHanko does it
        return result


_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class Signer:
    """A post's certificate and key, ready to sign; its text shows the certificate, never the key."""

    def __init__(self, path: Path, key: SigningKey, certificate: x509.Certificate) -> None:
        self.path, self.certificate = path, certificate
        self.pyhanko = _KeptKeySigner(key, certificate)  # what pyHanko signs with

    @property
    def name(self) -> str:
        """The certificate's common name (its subject as a whole when it has none)."""
        return subject_name(self.certificate)

    @property
    def demonstration(self) -> bool:
        """Whether this is a demonstration certificate (what it signs has no legal value)."""
        return is_demonstration(self.certificate)

    @property
    def demonstration_unit(self) -> str | None:
        """What a demonstration certificate was made for (« poste datar »), or None (none named, or a real one)."""
        return demonstration_unit(self.certificate)

    @property
    def valid_until(self) -> datetime:
        return self.certificate.not_valid_after_utc

    def check_valid(self, when: datetime) -> None:
        """``CertificateError`` unless the certificate is valid at ``when`` (aware)."""
        check_validity(self.certificate, self.path, require_aware(when, "when"))

    def __repr__(self) -> str:
        return f"Signer({self.name!r}, {str(self.path)!r})"


def subject_name(certificate: x509.Certificate) -> str:
    """A certificate subject's common name, or its whole subject when it has none; a demonstration
    certificate's followed by what it was made for (« … — sans valeur juridique — poste datar »)."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = str(names[0].value) if names else certificate.subject.rfc4514_string()
    unit = demonstration_unit(certificate)
    return name if unit is None else f"{name} — {unit}"


def demonstration_unit(certificate: x509.Certificate) -> str | None:
    """The organisational unit of a demonstration certificate (the post it was made for), else None."""
    if not is_demonstration(certificate):
        return None
    units = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return str(units[0].value) if units else None


def is_demonstration(certificate: x509.Certificate) -> bool:
    """Whether ``certificate`` says it has no legal value (its common name or organisation holds ``DEMO_MARK``)."""
    oids = (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME)
    values = [str(a.value) for oid in oids for a in certificate.subject.get_attributes_for_oid(oid)]
    return any(DEMO_MARK in value.casefold() for value in values)


def check_validity(certificate: x509.Certificate, path: Path, when: datetime) -> None:
    """``CertificateError`` when ``certificate`` (read from ``path``) is expired or not yet valid at ``when``."""
    source = f"certificat {path}"
    renew = "un certificat en cours de validité : demandez-en un nouveau à l'autorité de certification"
    if when > certificate.not_valid_after_utc:
        raise CertificateError(source, f"certificat expiré le {_day(certificate.not_valid_after_utc)}", renew)
    if when < certificate.not_valid_before_utc:
        raise CertificateError(
            source, f"certificat valable seulement à partir du {_day(certificate.not_valid_before_utc)}", renew
        )


def _day(instant: datetime) -> str:
    return instant.strftime("%d/%m/%Y")


def read_passphrase(
    *, file: Path | None = None, env: str | None = None, environ: Mapping[str, str] | None = None
) -> bytes:
    """A certificate's passphrase, from ``file`` (its first line) or the environment variable ``env``: one of them.

    ``CertificateError`` names the file or the variable when it is missing or empty, never its content.
    """
    if (file is None) == (env is None):
        raise CertificateError(
            "mot de passe du certificat",
            "il faut une source et une seule" + (" (fichier et variable donnés)" if file else ""),
            "un fichier (--passphrase-file) ou une variable d'environnement (--passphrase-env), pas sur la ligne",
        )
    if env is not None:
        value = (os.environ if environ is None else environ).get(env)
        if not value:
            raise CertificateError(
                f"variable d'environnement {env}",
                "absente ou vide",
                "le mot de passe du certificat dans cette variable",
            )
        return value.encode("utf-8")
    assert file is not None
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CertificateError(
            f"fichier de mot de passe {file}", "introuvable", "un fichier qui contient le mot de passe du certificat"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CertificateError(
            f"fichier de mot de passe {file}", f"illisible ({type(exc).__name__})", "un fichier texte lisible (UTF-8)"
        ) from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise CertificateError(
            f"fichier de mot de passe {file}", "vide", "le mot de passe du certificat sur sa première ligne"
        )
    return lines[0].encode("utf-8")


def load_signer(path: Path, passphrase: bytes | None, *, when: datetime) -> Signer:
    """The signer of the PKCS#12 file ``path``, checked valid at ``when`` (aware: the injected clock's now).

    ``CertificateError`` for a missing or unreadable file, one that is not PKCS#12, a wrong passphrase,
    a file without a private key or certificate, a key that is not the certificate's, an unsupported
    key, an expired certificate.
    """
    source = f"certificat {path}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CertificateError(source, "fichier introuvable", P12_EXPECTED) from None
    except OSError as exc:
        raise CertificateError(source, f"fichier illisible ({type(exc).__name__})", P12_EXPECTED) from None
    try:
        with warnings.catch_warnings():  # a damaged file read as BER, a negative serial: refused below or kept
            warnings.simplefilter("ignore")
            key, certificate, _others = pkcs12.load_key_and_certificates(data, passphrase)
    except (ValueError, TypeError):
        raise CertificateError(source, *_why_unreadable(data, passphrase)) from None
    if certificate is None:
        raise CertificateError(source, "le fichier ne contient aucun certificat", P12_EXPECTED)
    if key is None:
        raise CertificateError(source, "le fichier ne contient pas de clé privée (un certificat seul)", P12_EXPECTED)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateError(
            source, f"clé {type(key).__name__} non prise en charge", "une clé RSA ou ECDSA (courbe NIST)"
        )
    if _public(key.public_key()) != _public(certificate.public_key()):
        raise CertificateError(source, "la clé privée n'est pas celle du certificat", P12_EXPECTED)
    check_validity(certificate, path, require_aware(when, "when"))
    return Signer(path, key, certificate)


def _public(key: CertificatePublicKeyTypes) -> bytes:
    """A public key's SubjectPublicKeyInfo (DER), to compare two keys."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _why_unreadable(data: bytes, passphrase: bytes | None) -> tuple[str, str]:
    """Why ``data`` could not be opened: not PKCS#12 at all (or its structure damaged), a passphrase
    missing, a damaged content that the passphrase opens in part, or a wrong passphrase."""
    parts = _parts(data)
    if parts is None:
        return "ce n'est pas un fichier PKCS#12 (ou sa structure est abîmée)", P12_EXPECTED
    if passphrase is None:
        return "le fichier est protégé et aucun mot de passe n'a été donné", "son mot de passe (fichier ou variable)"
    if any(_opens(part, passphrase) for part in parts):
        return (
            "fichier abîmé : le mot de passe en ouvre une partie, mais son contrôle d'intégrité échoue",
            "le fichier tel que l'autorité de certification l'a délivré (une copie intacte)",
        )
    return "mot de passe refusé : il n'ouvre pas ce fichier", "le mot de passe de ce certificat"


def _parts(data: bytes) -> list[bytes] | None:
    """Each part of a PKCS#12 file (its key, its certificates) as a file of its own without integrity
    check, to try the passphrase on it alone; None when ``data`` does not have PKCS#12's structure.

    A wrong passphrase opens no part; a file with a byte changed and the right one opens a part at
    least (the integrity check covers the whole file, each part is enciphered on its own)."""
    from asn1crypto import cms
    from asn1crypto import pkcs12 as asn1_pkcs12

    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        if pfx["auth_safe"]["content_type"].native != "data":
            return None
        contents = list(asn1_pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native, strict=True))
        return [
            asn1_pkcs12.Pfx(
                {
                    "version": "v3",
                    "auth_safe": cms.ContentInfo(
                        {"content_type": "data", "content": asn1_pkcs12.AuthenticatedSafe([part]).dump()}
                    ),
                }
            ).dump()
            for part in contents
        ]
    except (ValueError, TypeError, KeyError):
        return None


def _opens(part: bytes, passphrase: bytes) -> bool:
    """Whether ``passphrase`` opens this part of a PKCS#12 file (see ``_parts``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pkcs12.load_key_and_certificates(part, passphrase)
    except (ValueError, TypeError):
        return False
    return True


def create_demo_certificate(
    path: Path, passphrase: bytes, *, when: datetime, years: int = DEMO_YEARS, unit: str | None = None
) -> Signer:
    """Write a self-signed demonstration PKCS#12 to ``path`` (mode 0600) and its certificate alone,
    PEM, beside it (``.pem``: what a reader trusts to verify); return its signer.

    Its name says it has no legal value (``DEMO_NAME``); ``unit`` (« poste datar ») says what it is
    made for, in its organisational unit; valid from ``when`` (aware) for ``years``.
    ``CertificateError`` when either file exists already (nothing is overwritten).
    """
    when = require_aware(when, "when")
    if unit is not None and not 0 < len(unit) <= UNIT_LENGTH:
        raise CertificateError(
            f"certificat {path}", f"« {unit} » : {len(unit)} caractères", f"au plus {UNIT_LENGTH} caractères"
        )
    pem = path.with_suffix(".pem")
    for target in (path, pem):
        if target.exists():
            raise CertificateError(
                f"certificat {target}", "existe déjà", "un chemin libre : aucun certificat n'est écrasé"
            )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, DEMO_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEMO_ORGANISATION),
            *([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit)] if unit else []),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(when - timedelta(minutes=5))
        .not_valid_after(when + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    encryption = serialization.BestAvailableEncryption(passphrase)
    friendly = subject_name(certificate).encode("utf-8")
    data = pkcs12.serialize_key_and_certificates(friendly, key, certificate, None, encryption)
    _write_new(path, data, 0o600)
    _write_new(pem, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return Signer(path, key, certificate)


def new_passphrase() -> str:
    """A random passphrase for a demonstration certificate (hexadecimal)."""
    return secrets.token_hex(PASSPHRASE_BYTES)


def write_passphrase(file: Path, passphrase: str) -> None:
    """Write ``passphrase`` to a new ``file``, readable by its owner only."""
    _write_new(file, (passphrase + "\n").encode("utf-8"), 0o600)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)


def load_trusted(path: Path) -> x509.Certificate:
    """A certificate to trust, from a PEM or DER file (``CertificateError`` if it holds none)."""
    source = f"certificat de confiance {path}"
    try:
        data = path.read_bytes()
    except OSError as exc:
        problem = "fichier introuvable" if isinstance(exc, FileNotFoundError) else f"illisible ({type(exc).__name__})"
        raise CertificateError(source, problem, "un certificat X.509 (PEM ou DER)") from None
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateError(source, "ce n'est pas un certificat X.509", "un certificat X.509 (PEM ou DER)") from None
