"""A letter's PDF signed with a post's certificate: PAdES baseline B-B, or B-T with a timestamp authority.

``sign`` adds one signature covering the whole document, dated ``when`` (the injected clock's
now, written in the signature dictionary as its signing time: pyHanko would read the system
clock), with an optional visible field: a box holding the signatory's name and title, placed by
the caller on a page. With a ``Timestamper`` (an RFC 3161 authority's URL, see ``timestamper``),
the signature also carries the authority's timestamp: baseline B-T.

The visible field's text is written in a PDF standard font (Courier, the Latin-1 characters of
French; typographic quotes and dashes become their plain forms): embedding an OpenType font
costs about 70 ms a signature, six times the signature itself.
"""

from __future__ import annotations

import io
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning

from ..clock import require_aware
from ..config import timestamp_authority_url
from ..errors import SignatureRefused
from .certificates import Signer

with warnings.catch_warnings():  # pyHanko still imports DSA, which cryptography deprecates: nothing to do here
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign import fields, signers, timestamps
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.signers.pdf_signer import PdfSigner, PdfSigningSession
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError
    from pyhanko.stamp import TextStampStyle

PARIS = ZoneInfo("Europe/Paris")
FIELD_NAME = "Signature"
STAMP_TEXT = "Signé par %(signatory)s\n%(title)s\nle %(date)s"
RESERVE_MARGIN = 8192  # bytes of a B-B signature beyond its certificates: attributes, the signature value

Timestamper = timestamps.TimeStamper


@dataclass(frozen=True, kw_only=True)
class VisibleSignature:
    """Where the signature shows, and what it says: ``page`` (0 the first, -1 the last), ``box``
    (left, bottom, right, top, in points from the page's bottom left), the signatory's name and title, and
    a ``note`` under them (a demonstration certificate's: it has no legal value), if any."""

    page: int
    box: tuple[int, int, int, int]
    signatory: str
    title: str
    note: str = ""

    def __post_init__(self) -> None:
        left, bottom, right, top = self.box
        if not (left < right and bottom < top and min(self.box) >= 0):
            raise SignatureRefused(
                "la signature visible",
                f"cadre {self.box!r} impossible",
                "(gauche, bas, droite, haut) en points, positifs, gauche < droite et bas < haut",
            )


def timestamp_url(value: str | None) -> str | None:
    """A timestamp authority's URL from the configuration (``None`` or empty: no timestamp, baseline B-B).

    ``ConfigError`` for anything but an http:// or https:// URL with a host: the setting's own check.
    """
    return timestamp_authority_url("signature_timestamp_url", value) or None


def timestamper(url: str | None) -> Timestamper | None:
    """The timestamp authority at ``url`` (checked by ``timestamp_url``), or None when there is none."""
    checked = timestamp_url(url)
    return None if checked is None else timestamps.HTTPTimeStamper(checked)


def sign(
    pdf: bytes,
    signer: Signer,
    *,
    when: datetime,
    reason: str | None = None,
    location: str | None = None,
    field_name: str = FIELD_NAME,
    visible: VisibleSignature | None = None,
    timestamp: Timestamper | None = None,
    zone: tzinfo = PARIS,
) -> bytes:
    """``pdf`` with a PAdES signature by ``signer`` dated ``when`` (aware), covering the whole document.

    ``CertificateError`` when the certificate is not valid at ``when``; ``SignatureRefused`` when
    ``pdf`` is not a PDF that can be signed (or already has a field named ``field_name``).
    """
    when = require_aware(when, "when")
    signer.check_valid(when)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )
    spec = None
    style = None
    params: dict[str, Any] | None = None
    if visible is not None:
        spec = fields.SigFieldSpec(field_name, on_page=visible.page, box=visible.box)
        stamp = STAMP_TEXT + "\n%(note)s" if visible.note else STAMP_TEXT
        style = TextStampStyle(stamp_text=stamp, border_width=1)
        day = when.astimezone(zone).strftime("%d/%m/%Y à %H:%M")
        params = {"signatory": latin(visible.signatory), "title": latin(visible.title), "date": day}
        if visible.note:
            params["note"] = latin(visible.note)
    dated = _DatedSigner(meta, signer.pyhanko, when=when, timestamper=timestamp, stamp_style=style, new_field_spec=spec)
    reserve = None if timestamp is not None else _reserve(signer)  # with a timestamp, pyHanko measures it
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        out = dated.sign_pdf(writer, bytes_reserved=reserve, appearance_text_params=params)
    except TimestampRequestError as exc:  # the authority did not answer, or not with a token
        raise SignatureRefused(
            "l'autorité d'horodatage",
            _first_line(exc),
            "une autorité qui répond à signature_timestamp_url, ou ce réglage vide (signature sans horodatage)",
        ) from None
    except (PdfError, SigningError, ValueError) as exc:
        raise SignatureRefused(
            "ce PDF", _first_line(exc), "un PDF lisible, sans champ de signature de ce nom"
        ) from None
    signed: bytes = out.getvalue()
    return signed


class _DatedSigner(PdfSigner):
    """pyHanko's PDF signer, its signing time given (pyHanko would take the system clock's)."""

    def __init__(self, *args: Any, when: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._when = when

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._when
        return session


def _reserve(signer: Signer) -> int:
    """Bytes to reserve for a B-B signature (hexadecimal: twice its size), without signing a dummy to measure it."""
    certificate = signer.certificate.public_bytes(serialization.Encoding.DER)
    return 2 * (len(certificate) + RESERVE_MARGIN)


def latin(text: str) -> str:
    """``text`` in the characters a PDF standard font shows (Latin-1): typographic quotes, dashes and
    spaces as their plain forms, ligatures spelt out, any other character as '?'."""
    return "".join(_latin_char(c) for c in text.translate(_PLAIN))


def _latin_char(c: str) -> str:
    if " " <= c <= "~" or "\u00a1" <= c <= "\u00ff":
        return c
    base = unicodedata.normalize("NFKD", c)[:1]  # a letter with a diacritic Latin-1 lacks: the letter
    return base if " " <= base <= "~" else "?"


_PLAIN = str.maketrans(
    {"’": "'", "‘": "'", "“": '"', "”": '"', "—": "-", "–": "-", "\u202f": " ", "\u00a0": " ", "œ": "oe", "Œ": "OE"}
)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
