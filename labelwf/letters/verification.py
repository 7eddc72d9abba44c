"""What a signed letter's PDF proves: ``verify`` gives its ``Verdict``, with pyHanko's validation.

A PDF is valid when its last signature is intact (not a byte changed since it was signed, the
signature cryptographically sound), covers the whole file (nothing added after it), and was made
with a certificate that one of the trust roots given vouches for, valid at the moment of the
check. Given no trust root, the certificate is not checked (``trust_checked`` false): the verdict
says whether the PDF is intact, never valid, and does not count that as a problem. A
demonstration certificate is said to be one: what it signed has no legal value.
``find_in_chain`` finds the letter in the audit chain by the PDF's sha256.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from ..clock import require_aware
from ..store import Database, signatures
from ..store.records import SEAL_POST
from .certificates import is_demonstration, subject_name

with warnings.catch_warnings():  # pyHanko still imports DSA, which cryptography deprecates: nothing to do here
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
    from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext


@dataclass(frozen=True, kw_only=True)
class ChainMatch:
    """The signed PDF's place in the audit chain: the letter it is (``letter``), or why none was looked up."""

    looked_up: bool
    letter: int | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """What a PDF's last signature proves; ``problems`` says in French what keeps it from being valid."""

    sha256: str
    signatures: int
    intact: bool = False
    whole_document: bool = False
    trusted: bool = False
    trust_checked: bool = False
    signer: str | None = None
    signed_at: datetime | None = None
    timestamped: bool = False
    demonstration: bool = False
    problems: tuple[str, ...] = ()
    chain: ChainMatch | None = None

    @property
    def valid(self) -> bool:
        """Signed, intact, covering the whole document, by a trusted certificate."""
        return self.signatures > 0 and self.intact and self.whole_document and self.trusted

    @property
    def intact_unchecked(self) -> bool:
        """Signed, intact and covering the whole document, its certificate checked against no trust root."""
        return self.signatures > 0 and self.intact and self.whole_document and not self.trust_checked

    def as_json(self) -> dict[str, Any]:
        """The verdict for ``--json``: its fields, ``valid``, and the chain's answer."""
        chain = self.chain
        return {
            "valid": self.valid,
            "sha256": self.sha256,
            "signatures": self.signatures,
            "intact": self.intact,
            "whole_document": self.whole_document,
            "trusted": self.trusted,
            "trust_checked": self.trust_checked,
            "signer": self.signer,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "timestamped": self.timestamped,
            "demonstration": self.demonstration,
            "problems": list(self.problems),
            "chain": None
            if chain is None
            else {"looked_up": chain.looked_up, "letter": chain.letter, "note": chain.note},
        }


def verify(pdf: bytes, trust_roots: Sequence[x509.Certificate], *, now: datetime) -> Verdict:
    """The verdict on ``pdf``'s last signature, its certificate checked against ``trust_roots`` at ``now``
    (aware: the injected clock's now; none given: not checked). Fetches nothing (no revocation list, no OCSP)."""
    now = require_aware(now, "now")
    digest, checked = hashlib.sha256(pdf).hexdigest(), bool(trust_roots)
    try:
        embedded = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        what = "ce PDF est illisible : modifié ou abîmé" if pdf.startswith(b"%PDF") else "ce fichier n'est pas un PDF"
        return Verdict(sha256=digest, signatures=0, trust_checked=checked, problems=(f"{what} ({_line(exc)})",))
    if not embedded:
        unsigned = ("ce PDF ne porte aucune signature",)
        return Verdict(sha256=digest, signatures=0, trust_checked=checked, problems=unsigned)
    signature = embedded[-1]
    roots = [translate_pyca_cryptography_cert_to_asn1(root) for root in trust_roots]
    context = ValidationContext(trust_roots=roots, moment=now, allow_fetching=False)
    try:
        certificate = x509.load_der_x509_certificate(signature.signer_cert.dump())
        status = validate_pdf_signature(signature, context)
    except (SignatureValidationError, PdfError, ValueError, KeyError) as exc:  # a signature altered to nonsense
        problem = f"le document ou sa signature a été modifié : la signature ne peut être vérifiée ({_line(exc)})"
        return Verdict(sha256=digest, signatures=len(embedded), trust_checked=checked, problems=(problem,))
    signer, demonstration = subject_name(certificate), is_demonstration(certificate)
    intact = bool(status.intact and status.valid)
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    trusted = bool(status.trusted)
    problems = []
    if not intact:
        problems.append("le document a été modifié depuis sa signature (ou la signature est altérée)")
    if not whole:
        problems.append("la signature ne couvre pas tout le fichier : des octets y ont été ajoutés après elle")
    if intact and not trusted and checked:  # an altered signature is never trusted: its alteration is the news
        problems.append(
            "le certificat du signataire n'est reconnu par aucune des autorités de confiance données"
            " (ou n'est pas valide à la date de la vérification)"
        )
    return Verdict(
        sha256=digest,
        signatures=len(embedded),
        intact=intact,
        whole_document=whole,
        trusted=trusted,
        trust_checked=checked,
        signer=signer,
        signed_at=status.signer_reported_dt,
        timestamped=status.timestamp_validity is not None,
        demonstration=demonstration,
        problems=tuple(problems),
    )


def find_in_chain(sha256: str, db: Database | None = None) -> ChainMatch:
    """The letter whose signed PDF has this sha256, as the audit chain recorded its signature.

    The signature step stores a letter's signed PDF and its sha256, and records that sha256 in
    the chain event of the signature (``engine.signature``): a match is a letter whose stored
    sha256 is this one *and* whose signature event, in its instance's chain, holds it. Without a
    database (``db`` None) nothing is looked up.
    """
    if db is None:
        return ChainMatch(looked_up=False, note="recherche indisponible : aucune base de données n'est ouverte")
    with db.read() as conn:
        for letter in signatures.letters_of_pdf(conn, sha256):
            instance = signatures.instance_of_letter(conn, letter.id)
            recorded = None if instance is None else signatures.signature_event(conn, instance, letter.id, sha256)
            if recorded is not None:
                seq, _ = recorded
                done = "scellée du cachet du service" if letter.post == SEAL_POST else "signée"
                day = f", {done} le {letter.signed_at:%d/%m/%Y}" if letter.signed_at else ""
                note = f"lettre {letter.id} ({letter.template}, {letter.entity}){day} : événement n° {seq} de sa chaîne"
                return ChainMatch(looked_up=True, letter=letter.id, note=note)
    return ChainMatch(looked_up=True, note="aucune lettre signée de cette base n'a cette empreinte")


def _line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
