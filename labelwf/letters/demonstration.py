"""A letter signed with a demonstration certificate says so: it has no legal value.

A demonstration certificate (``certificates.is_demonstration``: made by ``certificates demo`` or
``init --demo-certificates``) lets a service try the signature step; what it signs must not pass
for a decision. The signature step writes ``MENTION`` into the letter as it is signed: in its
HTML under the box of the visible signature (so in its PDF, on the signature's page), at the end
of its text, and in the visible signature's box itself. ``with_mention`` does it from the frozen
bodies, as ``dating.dated`` writes the day: the letter as shown and delivered is the frozen one,
its day and this mark (``Letter.signed_demonstration``), never live data.

``check_demonstration`` is the checker's rule: a letter whose signature a demonstration
certificate made, whose text does not say so (``demonstration-non-signalee``).
"""

from __future__ import annotations

from .letter_check import Finding

MENTION = "Signé avec un certificat de démonstration, sans valeur juridique"
STAMP_NOTE = "Certificat de démonstration,\nsans valeur juridique"  # the visible box's lines (narrow)
HTML_CLASS = "mention-demonstration"
_FIELD = '<div class="champ-signature" id="signature-field"></div>'
CODE = "demonstration-non-signalee"


def with_mention_text(text: str) -> str:
    """A letter's plain text with ``MENTION`` as its last paragraph (once)."""
    if MENTION in text:
        return text
    return text.rstrip("\n") + f"\n\n{MENTION}\n"


def with_mention_html(html: str) -> str:
    """A letter's HTML with ``MENTION`` under the visible signature's box (else before ``</body>``; once)."""
    if MENTION in html:
        return html
    paragraph = f'<p class="{HTML_CLASS}">{MENTION}</p>'
    if _FIELD in html:
        head, _, tail = html.rpartition(_FIELD)
        return head + _FIELD + paragraph + tail
    head, found, tail = html.rpartition("</body>")
    return head + paragraph + found + tail if found else html + paragraph


def certificate_is_demonstration(name: str | None) -> bool:
    """Whether a certificate's recorded name (a signature event's ``certificate``) is a demonstration one's."""
    from .certificates import DEMO_MARK  # pyHanko loads only where letters are signed or checked signed

    return name is not None and DEMO_MARK in name.casefold()


def check_demonstration(text: str, certificate: str | None) -> list[Finding]:
    """A finding when ``certificate`` (the name recorded with the letter's signature; None: unsigned) is a
    demonstration certificate's and the signed ``text`` does not say it has no legal value."""
    if not certificate_is_demonstration(certificate) or MENTION in " ".join(text.split()):
        return []
    message = (
        f"lettre signée avec un certificat de démonstration ({certificate}) qui ne le dit pas : elle porte "
        f"« {MENTION} », ou se signe avec le certificat du poste délivré par une autorité de certification"
    )
    return [Finding(CODE, message, "")]
