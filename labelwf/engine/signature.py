"""The signature step: a post's signatory reviews the letters waiting for it, signs them, or sends one back.

A decision's letters that need a signature wait « à signer » (``to_sign``) for the post the dated
directory names (``signing_post``); delivery never claims them. Signing a letter:

1. writes the signature's day into its frozen text and HTML (``letters.dating``: the day from the
   injected clock in the programme's zone; nothing else of the letter is read again);
2. renders that HTML as a PDF and signs it (PAdES) with the post's certificate;
3. in one transaction, records the signature as a chain event on the letter's instance (the signed
   PDF's sha256, the day, the post, the signatory) and stores the signed PDF, the letter now
   pending delivery, guarded by its status (a letter signed twice at once is signed once).

The letter's frozen row stays the one its decision's event sealed; the signed PDF is the
artefact delivered, byte for byte, and its sha256 is in the chain (``letters verify`` finds it).
Sending a letter back records the signatory's reason in the chain and keeps it from delivery.
Each letter of a batch is its own transaction: a batch cut short leaves its signed letters signed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..audit.seals import letter_problem
from ..errors import ActionRefused, CertificateError, LabelwfError, LetterAltered, NotFound, SignatureRefused
from ..i18n import DEFAULT_LOCALE, say
from ..letters.certificates import Signer
from ..letters.dating import dated, named
from ..letters.demonstration import STAMP_NOTE, with_mention_html, with_mention_text
from ..letters.directory import Directory
from ..letters.post_certificates import PostCertificates
from ..letters.signing import Timestamper, VisibleSignature, sign
from ..message import N_, Message
from ..store import fires as fires_sql
from ..store import signatures as sql
from ..store.records import Event, Letter, LetterStatus
from ..store.trail import sealed_letter
from .chain import chain_action
from .decision import require_justification
from .fire import Engine
from .pdf import pdf_unavailable
from .pdf_field import render_with_field

SIGNATORY = "signatory"  # the role recorded in a signature's event
_VERBS = {"sign": N_("sign"), "review": N_("review"), "return": N_("send back")}  # what a refusal says was refused
_TO_SIGN = N_("a letter waiting for a signature")
_LISTED = N_("`labelwf letters to-sign` lists them")


@dataclass(frozen=True, kw_only=True)
class Signatory:
    """Who signs: the account, the name recorded as the actor, the post it signs for, who authenticated."""

    account: str
    name: str
    post: str
    principal: str | None = None


@dataclass(frozen=True)
class Signed:
    """One letter signed: its id, the signed PDF's sha256, when, and the chain event's sequence number."""

    letter: int
    sha256: str
    signed_at: datetime
    seq: int


@dataclass
class SignReport:
    """What a batch did: the letters signed, and those refused with the reason (in French; ``errors``
    keeps each refusal's error, ``reasons`` says them in another language)."""

    signed: list[Signed] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    errors: list[tuple[int, LabelwfError]] = field(default_factory=list)

    def refuse(self, letter: int, error: LabelwfError) -> None:
        """``letter`` not signed, for ``error``."""
        self.refused.append((letter, say(error, DEFAULT_LOCALE)))
        self.errors.append((letter, error))

    def reasons(self, locale: str) -> list[tuple[int, str]]:
        """Each letter refused, with why in ``locale`` (``labelwf.i18n``)."""
        return [(letter, say(error, locale)) for letter, error in self.errors]


class SignatureDesk:
    """A signatory's desk over ``engine``'s database: the queue of a post, signing, sending back."""

    def __init__(
        self,
        engine: Engine,
        certificates: PostCertificates,
        *,
        directory: Directory | None = None,
        timestamp: Timestamper | None = None,
    ) -> None:
        self.engine, self.certificates = engine, certificates
        self.directory, self.timestamp = directory, timestamp

    # -- reading ---------------------------------------------------------------------------------

    def queue(self, post: str | None, *, limit: int = 100, after: int | None = None) -> list[Letter]:
        """The letters waiting for ``post`` (None: every post's), oldest first, ``limit`` at most."""
        with self.engine.db.read() as conn:
            return sql.waiting(conn, post, limit=limit, after=after)

    def count(self, post: str | None) -> int:
        """How many letters wait for ``post`` (None: for every post)."""
        with self.engine.db.read() as conn:
            return sql.count_waiting(conn, post)

    def waiting_ids(self, post: str) -> list[int]:
        """The ids of every letter waiting for ``post``, oldest first (``--all``: the batch is frozen here)."""
        with self.engine.db.read() as conn:
            return sql.waiting_ids(conn, post)

    def review(self, letter_id: int, signatory: Signatory) -> Letter:
        """A letter of ``signatory``'s post waiting for it, with its frozen text and HTML, checked against its seal."""
        letter, _ = self._to_sign(letter_id, signatory, "review")
        return letter

    def signable(self, letter_id: int, signatory: Signatory) -> Letter:
        """The letter, if ``signatory`` may sign it now; else raises why, in the words ``sign`` would refuse it."""
        letter, _ = self._to_sign(letter_id, signatory, "sign")
        return letter

    def signer(self, post: str) -> Signer:
        """``post``'s certificate as it would sign now (``Signer.demonstration``: a letter will say it has no
        legal value); ``CertificateError`` when the post cannot sign yet, saying why."""
        return self.certificates.signer(post, when=self.engine.clock.now())

    # -- signing ---------------------------------------------------------------------------------

    def sign(
        self,
        letter_ids: Sequence[int],
        signatory: Signatory,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> SignReport:
        """Sign each letter of ``letter_ids`` (one transaction each); those that cannot be are reported, not raised.

        ``CertificateError`` (nothing more signed) when the post has no usable certificate.
        ``progress(done, total)`` hears of each letter handled.
        """
        unavailable = pdf_unavailable()
        if unavailable is not None:
            problem = N_("no PDF can be made here (%(why)s)", why=unavailable)
            raise SignatureRefused(N_("the letters"), problem, N_("WeasyPrint and Pango installed"))
        signer: Signer | None = None  # opened at the first letter this signatory may sign
        report = SignReport()
        for done, letter_id in enumerate(dict.fromkeys(letter_ids), 1):
            try:
                letter, sealing = self._to_sign(letter_id, signatory, "sign")
                if signer is None:
                    signer = self.certificates.signer(signatory.post, when=self.engine.clock.now())
                report.signed.append(self._sign_one(letter, sealing, signatory, signer))
            except CertificateError:
                raise  # the post cannot sign at all: said once, not per letter
            except LabelwfError as refused:
                report.refuse(letter_id, refused)
            if progress is not None:
                progress(done, len(letter_ids))
        return report

    def _sign_one(self, letter: Letter, sealing: Event, signatory: Signatory, signer: Signer) -> Signed:
        wf = self.engine.workflow(sealing.workflow)
        now = self.engine.clock.now()
        html = named(dated(letter.html or "", now, wf.timezone), signatory.name, is_html=True)
        text = named(dated(letter.text or "", now, wf.timezone), signatory.name, is_html=False)
        demonstration = signer.demonstration  # what it signs has no legal value: the letter says so
        if demonstration:
            html, text = with_mention_html(html), with_mention_text(text)
        rendered, field = render_with_field(html)
        visible = None
        if field is not None:  # the layout's empty box: the signature shows there, with name and title
            page, box = field
            visible = VisibleSignature(
                page=page,
                box=box,
                signatory=signatory.name,
                title=self._title(signatory.post, sealing),
                note=STAMP_NOTE if demonstration else "",
            )
        pdf = sign(
            rendered,
            signer,
            when=now,
            reason=f"Signature de la lettre {letter.id} : {letter.subject}"[:200],
            location=wf.letterhead.place,
            visible=visible,
            timestamp=self.timestamp,
        )
        sha = hashlib.sha256(pdf).hexdigest()
        day = now.astimezone(wf.timezone).date().isoformat()
        with self.engine.db.write() as conn:
            current = fires_sql.load_instance(conn, letter.entity, sealing.workflow)
            if current is None:  # pragma: no cover - a letter's instance is never deleted
                raise NotFound("instance", letter.entity)
            signed = sql.mark_signed(
                conn,
                letter.id,
                signed_at=now,
                pdf=pdf,
                sha256=sha,
                demonstration=demonstration,
                signed_by=signatory.name,
            )
            if not signed:
                raise _refused("sign", letter, N_("it was signed or sent back meanwhile"), _TO_SIGN)
            data = {
                "letter": letter.id,
                "template": letter.template,
                "recipient": letter.recipient.role,
                "post": signatory.post,
                "signed_on": day,
                "pdf_sha256": sha,
                "text_sha256": hashlib.sha256(f"{text}\n{html}".encode()).hexdigest(),
                "certificate": signer.name,
            }
            if demonstration:
                data["demonstration"] = True
            event, _ = chain_action(
                self.engine,
                conn,
                current,
                action="letter signed",
                data=data,
                actor=signatory.name,
                role=SIGNATORY,
                reason=f"signature de la lettre {letter.id} ({letter.template})",
                principal=signatory.principal or signatory.account,
            )
        return Signed(letter.id, sha, now, event.seq)

    def _title(self, post: str, sealing: Event) -> str:
        """The signature's title of ``post`` at the decision's date, as the directory gives it, else the post."""
        if self.directory is not None:
            day = sealing.occurred_at.date()
            rows = [row for row in self.directory.rows if row.post_key == post and row.in_force(day)]
            if rows:
                return rows[0].signatory
        return f"poste {post}"

    def send_back(self, letter_id: int, signatory: Signatory, *, reason: str) -> Event:
        """Send a letter of ``signatory``'s post back, with ``reason``: never delivered; one chain event."""
        require_justification(f"letter {letter_id}", "letter returned", signatory.name, reason, letter=letter_id)
        letter, sealing = self._to_sign(letter_id, signatory, "return")
        with self.engine.db.write() as conn:
            current = fires_sql.load_instance(conn, letter.entity, sealing.workflow)
            if current is None:  # pragma: no cover - a letter's instance is never deleted
                raise NotFound("instance", letter.entity)
            if not sql.mark_returned(conn, letter.id):
                raise _refused("return", letter, N_("it was signed or sent back meanwhile"), _TO_SIGN)
            data = {"letter": letter.id, "template": letter.template, "recipient": letter.recipient.role}
            event, _ = chain_action(
                self.engine,
                conn,
                current,
                action="letter returned",
                data=data | {"post": signatory.post},
                actor=signatory.name,
                role=SIGNATORY,
                reason=reason,
                principal=signatory.principal or signatory.account,
            )
        return event

    def _to_sign(self, letter_id: int, signatory: Signatory, action: str) -> tuple[Letter, Event]:
        """The letter (bodies loaded) and its sealing event, if it waits for ``signatory``'s post and is intact."""
        if not 0 < letter_id < 2**63:
            raise NotFound("letter", letter_id, _LISTED)
        with self.engine.db.read() as conn:
            found = sealed_letter(conn, letter_id)
        if found is None:
            raise NotFound("letter", letter_id, _LISTED)
        letter, sealing = found
        if letter.status is not LetterStatus.TO_SIGN:
            raise _refused(action, letter, _status(letter.status), _TO_SIGN)
        if letter.post != signatory.post:
            waits = N_("it waits for the signature of the post %(post)s", post=letter.post)
            raise _refused(action, letter, waits, N_("a letter of the post %(post)s", post=signatory.post))
        problem = letter_problem(letter, sealing, self.engine.audit_key)
        if problem is not None:
            raise LetterAltered(letter.id, letter.entity, problem)
        return letter, sealing


def _refused(action: str, letter: Letter, found: Message, expected: Message) -> ActionRefused:
    """``action`` (sign, review, return) refused on ``letter``: what it is, what was expected, in any language."""
    recipient = letter.recipient.label or letter.recipient.role
    subject = N_(
        "letter %(letter)s (%(template)s to %(recipient)s, %(entity)s)",
        letter=letter.id,
        template=letter.template,
        recipient=recipient,
        entity=letter.entity,
    )
    said = N_(
        "cannot %(action)s %(subject)s: %(found)s; expected %(expected)s",
        action=_VERBS[action],
        subject=subject,
        found=found,
        expected=expected,
    )
    return ActionRefused(action, str(subject), str(found), expected, said)


def _status(status: LetterStatus) -> Message:
    if status is LetterStatus.RETURNED:
        return N_("it was sent back by its signatory")
    return N_("it is already signed or needs no signature (%(status)s)", status=status.value)
