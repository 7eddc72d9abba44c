"""Delivering letters from the outbox, after the fire committed: to a folder, and by SMTP when configured.

A letter is delivered at most once to its recipient, whatever crashes in between:

* Claiming a letter is a committed update (``status = 'sending'``, a lease in ``next_attempt_at``),
  so two daemons never take the same letter.
* Writing the files is idempotent (the same names, replaced atomically), so a claim that expired
  before anything was e-mailed is simply taken again.
* When the letter goes by e-mail, its Message-ID is fixed in the claim *before* the message is
  sent. If the process dies after sending and before recording, the letter stays ``sending``
  with a Message-ID; when its lease expires it becomes ``uncertain`` — shown to people, never
  sent again by itself (``labelwf letters`` lists them; the mail server's log tells by the ID).
* A refused or failed sending is retried with exponential backoff (``retry``) and recorded with
  its error; after ``max_attempts`` the letter is ``failed``.

PDFs, the slow part, are rendered by a pool of worker processes (``pdf_pool``) while this
process claims, checks and files the next letters; it holds at most a window of two letters
per worker, so its memory does not grow with the outbox. Files are written whole under a lock
that dies with their writer, and a sender's first round removes what killed writers left
(``outbox_files``).
"""

from __future__ import annotations

import smtplib
import ssl
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..audit.seals import letter_problem
from ..clock import Clock, SystemClock
from ..errors import ConcurrentUpdate
from ..letters.demonstration import with_mention_html, with_mention_text
from ..store import Database
from ..store import outbox as sql
from ..store.outbox import message_id as message_id  # re-exported: a letter's Message-ID
from ..store.records import SEAL_POST, BasisKind, Letter, LetterStatus
from .outbox_files import remove_leftovers
from .outbox_files import write_atomically as _write_atomically
from .pdf import _data_only as _data_only
from .pdf import _weasyprint as _weasyprint
from .pdf import pdf_unavailable as pdf_unavailable  # re-exported: delivery's callers ask it
from .pdf import render_pdf as render_pdf  # re-exported: the API renders a letter's PDF too
from .pdf_pool import PdfPool, available_cores
from .sealed_notices import SealedNotice, SealRecorder
from .signed_letters import signed_bodies

if TYPE_CHECKING:
    from ..letters.certificates import Signer
    from ..letters.signing import Timestamper

LETTER_STATUSES = tuple(status.value for status in LetterStatus)
SPECIMEN_REFUSAL = (
    "refusée : cette lettre repose sur des données fictives (SPÉCIMEN, fondement synthétique) et n'est jamais "
    "envoyée par courriel ; sans envoi par courriel, elle peut être déposée dans le dossier des lettres"
)
_UNCERTAIN_NOTE = (
    "the sender stopped after claiming this e-mail and before recording it: it may or may not have been "
    "sent; check the mail log for its Message-ID"
)


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    """Where and how to send e-mail."""

    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    sender: str = "labelwf@localhost"
    timeout: float = 30.0


@dataclass(frozen=True, kw_only=True)
class DeliverySettings:
    """Delivery: the outbox folder, SMTP (optional), retries and PDF."""

    outbox: Path
    smtp: SmtpSettings | None = None
    max_attempts: int = 8
    backoff_seconds: float = 30.0
    lease_seconds: float = 600.0
    pdf: bool = True
    timezone: tzinfo = UTC  # for the date in file names
    pdf_workers: int | None = None  # processes rendering PDFs: None, one per core; 0, this process alone
    pdfs_per_worker: int = 500  # PDFs a worker renders before a fresh one replaces it (its memory given back)

    def __post_init__(self) -> None:
        if self.pdf_workers is not None and self.pdf_workers < 0:
            workers = self.pdf_workers
            raise ValueError(f"pdf_workers must be 0 (this process), more, or None (one per core), got {workers}")
        if self.pdfs_per_worker < 1:
            raise ValueError(f"pdfs_per_worker must be at least 1, got {self.pdfs_per_worker}")


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0
    leftovers: int = 0  # temporary files of killed writers removed
    pdf_skipped: str | None = None
    notices_held: int = 0  # notices (``signature: seal``) kept back: nothing here can seal them
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        """Letters this run took from the outbox, whatever became of them."""
        return self.delivered + self.retried + self.failed + self.uncertain


def letter_paths(
    outbox: Path, entity: str, occurred: datetime, template: str, recipient: str, zone: tzinfo = UTC
) -> dict[str, Path]:
    """``outbox/<entity>/<local date>-<template>-<recipient>.{txt,html,pdf}``, each checked to stay inside ``outbox``.

    Raises ``OSError`` for a path that would leave it (an entity id or letter name that came in
    around the checks where they enter): the letter's delivery fails with that reason.
    """
    stem = f"{occurred.astimezone(zone).date().isoformat()}-{template}-{recipient}"
    root = outbox.resolve()
    paths = {kind: outbox / entity / f"{stem}.{kind}" for kind in ("txt", "html", "pdf")}
    for path in paths.values():
        if "\x00" in str(path) or not path.resolve().is_relative_to(root) or path.resolve().parent == root:
            raise OSError(f"refusing to write {str(path)!r}: outside the outbox folder {root}")
    return paths


@dataclass(frozen=True)
class _InFlight:
    """A claimed, checked letter being filed by an I/O thread (its PDF rendered by a worker meanwhile)."""

    letter: Letter
    filing: Future[None]
    sealed: Future[bytes] | None = None  # a notice's PDF as the seal signed it, recorded when delivered
    sealed_at: datetime | None = None


class Outbox:
    """Delivers the letters of one database; ``close()`` ends its PDF workers."""

    def __init__(
        self,
        db: Database,
        settings: DeliverySettings,
        *,
        clock: Clock | None = None,
        audit_key: bytes | None = None,
        seal: Signer | None = None,
        timestamp: Timestamper | None = None,
        recorder: SealRecorder | None = None,
    ) -> None:
        """``audit_key``: with it, a letter's checksum is also checked to be the one its keyed event sealed.

        ``seal``: the service's seal, which signs the notices (``signature: seal``) as they are delivered;
        ``timestamp``: the authority that timestamps its signatures (PAdES B-T), or None (B-B);
        ``recorder``: stores a sealed notice's PDF and records its sha256 in its chain as it is marked
        delivered (``sealed_notices.NoticeRecorder``, given by the runtime; None: neither)."""
        self.db, self.settings = db, settings
        self._seal, self._timestamp, self._recorder = seal, timestamp, recorder
        self.clock: Clock = clock or SystemClock()
        self._key = audit_key
        self._swept = False  # leftovers of killed writes removed (once per Outbox)
        workers = available_cores() if settings.pdf_workers is None else settings.pdf_workers
        self._pool = PdfPool(workers, pdfs_per_worker=settings.pdfs_per_worker) if workers else None
        # Letters in flight at once: two per worker keep each busy while this process claims the
        # next and files the last; memory holds this many letters, whatever the outbox holds.
        self.window = 2 * max(workers, 1)
        self._filers: ThreadPoolExecutor | None = None  # file writes and e-mails: their waits overlap

    def deliver_due(
        self,
        *,
        limit: int = 200,
        should_stop: Callable[[], bool] | None = None,
        observer: Callable[[Letter, str], None] | None = None,
    ) -> DeliveryReport:
        """Deliver the letters that are due (new, or due for a retry); return what happened.

        ``should_stop()`` is asked before each letter is claimed (a daemon asked to stop does not
        finish the round, only the letters it already claimed); ``observer(letter, outcome)``
        hears of each letter handled (``delivered``, ``retry``, ``failed``). The first round of
        an ``Outbox`` removes the temporary files that senders killed while writing left behind.
        Letters are claimed a window at a time (one transaction), filed by I/O threads while
        their PDFs are rendered by the workers, and recorded delivered together as they finish.
        """
        report = DeliveryReport()
        if not self._swept:
            self._swept = True
            report.leftovers = self.remove_leftovers()
        self._expire_leases(report)
        reason = pdf_unavailable() if self.settings.pdf else "PDF disabled"
        report.pdf_skipped = reason
        held = self._held_post(reason)
        if held is not None:
            with self.db.read() as conn:
                report.notices_held = sql.count_held(conn, held)
        due = deque(self._due(limit, held))
        window: deque[_InFlight] = deque()
        while True:
            taken: list[int] = []
            while due and len(window) + len(taken) < self.window:
                if should_stop is not None and should_stop():
                    due.clear()  # the letters claimed already are finished; the others wait for a later round
                    break
                taken.append(due.popleft())
            for claimed in self._claim_all(taken):
                started = self._start(claimed, report, make_pdf=reason is None)
                if isinstance(started, str):  # refused before anything was filed
                    if observer is not None:
                        observer(claimed, started)
                else:
                    window.append(started)
            if not window:
                break
            # Settle the letters at the head that are filed; wait for the first when nothing more can be claimed.
            if not taken or len(window) >= self.window:
                window[0].filing.exception()
            finished = []
            while window and window[0].filing.done():
                finished.append(window.popleft())
            self._settle(finished, report, observer)
        return report

    def close(self) -> None:
        """End the PDF workers and the I/O threads, if any run (the next round starts them again)."""
        if self._pool is not None:
            self._pool.close()
        filers, self._filers = self._filers, None
        if filers is not None:
            filers.shutdown(wait=True)

    def remove_leftovers(self) -> int:
        """Remove the temporary files of writes that never finished; return how many were removed.

        A file whose writer's lock is free (the writer died) goes at once, whatever its age; a
        hidden file of the older form, written without a lock, once older than a lease.
        """
        oldest = self.clock.now().timestamp() - self.settings.lease_seconds  # file times are wall-clock times
        return remove_leftovers(self.settings.outbox, older_than=oldest)

    def due_count(self) -> int:
        """How many letters wait to be delivered now (not the notices this outbox cannot seal)."""
        reason = pdf_unavailable() if self.settings.pdf else "PDF disabled"
        with self.db.read() as conn:
            return sql.count_due(conn, self.clock.now(), held_post=self._held_post(reason))

    def _held_post(self, pdf_skipped: str | None) -> str | None:
        """``SEAL_POST`` when the notices must wait: no seal to sign them, or no PDF to sign (no decision's
        letter leaves unsigned); else None."""
        return SEAL_POST if self._seal is None or pdf_skipped is not None else None

    def _due(self, limit: int, held_post: str | None) -> list[int]:
        with self.db.read() as conn:
            return sql.due_letters(conn, self.clock.now(), limit, held_post=held_post)

    def _expire_leases(self, report: DeliveryReport) -> None:
        """Letters left ``sending`` by a process that died: files-only ones are retried, e-mailed ones uncertain."""
        now = self.clock.now()
        with self.db.read() as conn:  # the daemon asks twice a second: take the write lock only when needed
            if not sql.has_expired_claims(conn, now):
                return
        with self.db.write() as conn:
            report.uncertain += sql.expire_claims(conn, now, _UNCERTAIN_NOTE)

    def _claim(self, letter_id: int) -> Letter | None:
        lease = self.clock.now() + timedelta(seconds=self.settings.lease_seconds)
        with self.db.write() as conn:
            return sql.claim_letter(conn, letter_id, lease_until=lease, by_mail=self.settings.smtp is not None)

    def _claim_all(self, letter_ids: list[int]) -> list[Letter]:
        """Claim these letters in one transaction; those another sender took first are left out."""
        if not letter_ids:
            return []
        lease = self.clock.now() + timedelta(seconds=self.settings.lease_seconds)
        by_mail = self.settings.smtp is not None
        with self.db.write() as conn:
            claimed = [sql.claim_letter(conn, i, lease_until=lease, by_mail=by_mail) for i in letter_ids]
        return [letter for letter in claimed if letter is not None]

    def tampered(self, letter: Letter) -> str | None:
        """Why a claimed letter must not be delivered (changed in the database since it was queued), or None.

        Its subject, bodies and recipient must match its checksum, and the checksum must be one
        that its audit event sealed (authenticated with the audit key when the event is keyed):
        ``seals.letter_problem``, the check every reader of a letter makes. A letter resting on a
        synthetic fact (a specimen) is never e-mailed (``SPECIMEN_REFUSAL``); filed only, it may be.
        """
        with self.db.read() as conn:
            event = sql.queuing_event(conn, letter.id)
        problem = letter_problem(letter, event, self._key)
        synthetic = event.basis is not None and event.basis.kind is BasisKind.SYNTHETIC
        if problem is None and synthetic and letter.message_id is not None:
            return SPECIMEN_REFUSAL
        return problem

    def _start(self, letter: Letter, report: DeliveryReport, *, make_pdf: bool) -> _InFlight | str:
        """Check a claimed letter, hand its PDF to a worker and its filing to an I/O thread; or refuse it."""
        problem = self.tampered(letter)
        if problem is not None:
            error = f"refused: {problem} (changed in the database since); not delivered, never retried"
            error = problem if problem == SPECIMEN_REFUSAL else error
            with self.db.write() as conn:
                sql.mark_failed(conn, letter, error, None)
            report.failed += 1
            report.errors.append(f"letter {letter.id}: {error}")
            return "failed"
        pdf: Future[bytes] | None = None
        sealed, sealed_at = None, None
        if letter.signed_pdf is not None:  # signed by its signatory: those bytes are the letter, never rendered again
            pdf = Future()
            pdf.set_result(letter.signed_pdf)
            letter = signed_bodies(letter, self.settings.timezone)
        else:
            seal = self._seal if make_pdf and letter.html and letter.post == SEAL_POST else None
            if seal is not None and seal.demonstration:  # what a demonstration seal signs says it has no legal value
                letter = replace(
                    letter, text=with_mention_text(letter.text or ""), html=with_mention_html(letter.html or "")
                )
            pdf = self._render(letter.html) if make_pdf and letter.html else None
            if pdf is not None and seal is not None:
                sealed_at = self.clock.now()
                pdf = sealed = self._sealed(pdf, sealed_at)
        if self._filers is None:
            self._filers = ThreadPoolExecutor(max_workers=self.window, thread_name_prefix="letters-filing")
        return _InFlight(letter, self._filers.submit(self._file, letter, pdf), sealed, sealed_at)

    def _sealed(self, rendered: Future[bytes], when: datetime) -> Future[bytes]:
        """A notice's PDF signed with the service's seal once rendered (signed in the filing thread)."""
        seal = self._seal
        assert seal is not None
        sealed: Future[bytes] = Future()

        def done(made: Future[bytes]) -> None:
            from ..letters.signing import sign  # pyHanko, loaded only where a seal signs

            try:
                signed = sign(made.result(), seal, when=when, reason="Cachet du service", timestamp=self._timestamp)
                sealed.set_result(signed)
            except Exception as exc:  # the notice's failure alone: retried like any filing error
                sealed.set_exception(exc)

        rendered.add_done_callback(done)
        return sealed

    def _render(self, html: str) -> Future[bytes]:
        if self._pool is not None:
            return self._pool.submit(html)
        rendered: Future[bytes] = Future()  # no workers: rendered here, now
        try:
            rendered.set_result(render_pdf(html))
        except Exception as exc:
            rendered.set_exception(exc)
        return rendered

    def _file(self, letter: Letter, pdf: Future[bytes] | None) -> None:
        """File a letter's text, HTML and PDF (once rendered), and e-mail it if it goes by e-mail (an I/O thread)."""
        paths = letter_paths(
            self.settings.outbox,
            letter.entity,
            letter.occurred_at,
            letter.template,
            letter.recipient.role,
            self.settings.timezone,
        )
        _write_atomically(paths["txt"], (letter.text or "").encode("utf-8"))
        _write_atomically(paths["html"], (letter.html or "").encode("utf-8"))
        rendered = pdf.result() if pdf is not None else None
        if rendered is not None:
            _write_atomically(paths["pdf"], rendered)
        if letter.message_id is not None:
            assert self.settings.smtp is not None
            self._send(self.settings.smtp, letter, rendered)

    def _settle(
        self, finished: list[_InFlight], report: DeliveryReport, observer: Callable[[Letter, str], None] | None
    ) -> None:
        """Record filed letters delivered (one transaction) and failed ones for a retry; tell the observer."""
        outcomes: list[tuple[Letter, str]] = []
        filed = []
        for flying in finished:
            problem = flying.filing.exception()
            if problem is None and flying.sealed is not None and self._recorder is not None:
                self._record_sealed(flying)  # its own transaction: delivered and recorded together
                report.delivered += 1
                outcomes.append((flying.letter, "delivered"))
            elif problem is None:
                filed.append(flying.letter)
            else:  # a file, the PDF, its worker, the mail server, a header: this letter's failure alone
                outcomes.append((flying.letter, self._failed(flying.letter, problem, report)))
        if filed:
            with self.db.write() as conn:
                now = self.clock.now()
                for letter in filed:
                    sql.mark_delivered(conn, letter, now)
            report.delivered += len(filed)
            outcomes.extend((letter, "delivered") for letter in filed)
        if observer is not None:
            for letter, outcome in outcomes:
                observer(letter, outcome)

    def _record_sealed(self, flying: _InFlight, tries: int = 3) -> None:
        """Mark a sealed notice delivered with its sealed PDF and its chain event, in one transaction.

        A decision on its instance meanwhile has the chain read again (``tries`` times in all); any other
        error is raised as a failure to record a plain letter delivered is: the notice stays claimed and
        its lease's end decides (filed again and sealed again, or uncertain when it was e-mailed)."""
        assert self._recorder is not None and self._seal is not None
        assert flying.sealed is not None and flying.sealed_at is not None
        notice = SealedNotice(
            flying.letter, flying.sealed.result(), flying.sealed_at, self._seal.name, self._seal.demonstration
        )
        for attempt in range(1, tries + 1):
            try:
                with self.db.write() as conn:
                    self._recorder(conn, notice)
                    sql.mark_delivered(conn, flying.letter, self.clock.now())
                return
            except ConcurrentUpdate:
                if attempt == tries:
                    raise

    def _failed(self, letter: Letter, exc: BaseException, report: DeliveryReport) -> str:
        attempts = letter.attempts
        final = attempts >= self.settings.max_attempts
        delay = timedelta(seconds=self.settings.backoff_seconds * 2 ** (attempts - 1))
        error = f"attempt {attempts}: {type(exc).__name__}: {exc}"
        # What is stored is shown to operators and API clients: a file error names no server path
        # there (the sender's own report, its log, keeps it).
        stored = error
        if isinstance(exc, OSError) and exc.filename:
            stored = f"attempt {attempts}: {type(exc).__name__}: {exc.strerror} (a file of the outbox folder)"
        with self.db.write() as conn:
            sql.mark_failed(conn, letter, stored, None if final else self.clock.now() + delay)
        report.errors.append(f"letter {letter.id}: {error}")
        if final:
            report.failed += 1
            return "failed"
        report.retried += 1
        return "retry"

    def _send(self, smtp: SmtpSettings, letter: Letter, pdf: bytes | None) -> None:
        role = letter.recipient.role
        message = EmailMessage()
        message["From"] = smtp.sender
        message["To"] = letter.recipient.email
        message["Subject"] = letter.subject
        message["Date"] = format_datetime(self.clock.now())
        message["Message-ID"] = letter.message_id
        message["X-Labelwf-Reference"] = f"letter {letter.id} ({letter.template}, {role})"
        message.set_content(letter.text or "")
        if letter.html:
            message.add_alternative(letter.html, subtype="html")
        if pdf is not None:
            message.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{letter.template}-{role}.pdf")
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            client.ehlo()
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(message)
