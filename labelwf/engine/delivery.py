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
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from ..audit.seals import letter_problem
from ..clock import Clock, SystemClock
from ..store import Database
from ..store import outbox as sql
from ..store.outbox import message_id as message_id  # re-exported: a letter's Message-ID
from ..store.records import Letter, LetterStatus

LETTER_STATUSES = tuple(status.value for status in LetterStatus)
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


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0
    pdf_skipped: str | None = None
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


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # letters are personal data: names too
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _weasyprint() -> Any:
    """Import WeasyPrint. Without HarfBuzz's subsetter it warns (DeprecationWarning) that a future
    version will need it, and works: a note for whoever installs it, not an error here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
        import weasyprint
    return weasyprint


def render_pdf(html: str) -> bytes:
    """The PDF of a letter's HTML (A4, the letter's own print stylesheet), with WeasyPrint.

    It fetches nothing: every URL but ``data:`` (images and fonts inlined in the template) is
    refused, so a template's ``<img src=http://…>``, ``@import`` or ``<link href=file:///…>``
    neither reaches the network nor embeds a local file; WeasyPrint leaves the resource out.
    """
    weasyprint = _weasyprint()
    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=_data_only(weasyprint)).write_pdf()
    return pdf


def _data_only(weasyprint: Any) -> Any:
    """A WeasyPrint URL fetcher that serves ``data:`` URLs and refuses every other."""
    if hasattr(weasyprint, "URLFetcher"):  # WeasyPrint 66 and later
        return weasyprint.URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)

    def fetch(url: str, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - older WeasyPrint
        if not url.startswith("data:"):
            raise ValueError(f"letters fetch nothing: {url!r} refused (only data: URLs)")
        return weasyprint.default_url_fetcher(url, *args, **kwargs)

    return fetch


def pdf_unavailable() -> str | None:
    """Why PDFs cannot be made here (WeasyPrint or its system libraries missing), or None."""
    try:
        _weasyprint()
    except (ImportError, OSError) as exc:
        return f"PDF skipped: WeasyPrint cannot load ({str(exc).splitlines()[0]}); install pango (see README)"
    return None


class Outbox:
    """Delivers the letters of one database."""

    def __init__(
        self,
        db: Database,
        settings: DeliverySettings,
        *,
        clock: Clock | None = None,
        audit_key: bytes | None = None,
    ) -> None:
        """``audit_key``: with it, a letter's checksum is also checked to be the one its keyed event sealed."""
        self.db, self.settings = db, settings
        self.clock: Clock = clock or SystemClock()
        self._key = audit_key
        self._swept = False  # leftovers of killed writes removed (once per Outbox)

    def deliver_due(
        self,
        *,
        limit: int = 200,
        should_stop: Callable[[], bool] | None = None,
        observer: Callable[[Letter, str], None] | None = None,
    ) -> DeliveryReport:
        """Deliver the letters that are due (new, or due for a retry); return what happened.

        ``should_stop()`` is asked before each letter (a daemon asked to stop does not finish the
        round); ``observer(letter, outcome)`` hears of each letter handled (``delivered``,
        ``retry``, ``failed``). The first round of an ``Outbox`` removes the temporary files that
        a sender killed while writing left behind.
        """
        report = DeliveryReport()
        if not self._swept:
            self._swept = True
            self.remove_leftovers()
        self._expire_leases(report)
        reason = pdf_unavailable() if self.settings.pdf else "PDF disabled"
        report.pdf_skipped = reason
        for letter_id in self._due(limit):
            if should_stop is not None and should_stop():
                break
            claimed = self._claim(letter_id)
            if claimed is not None:
                outcome = self._deliver(claimed, report, make_pdf=reason is None)
                if observer is not None:
                    observer(claimed, outcome)
        return report

    def remove_leftovers(self) -> int:
        """Remove the hidden temporary files (``.<name>.<random>``) of writes that never finished,
        older than a lease (no live sender still writes them); return how many were removed."""
        root = self.settings.outbox
        if not root.is_dir():
            return 0
        oldest = self.clock.now().timestamp() - self.settings.lease_seconds  # file times are wall-clock times
        removed = 0
        for leftover in root.glob("*/.*.*"):
            try:
                if leftover.is_file() and not leftover.is_symlink() and leftover.stat().st_mtime < oldest:
                    leftover.unlink()
                    removed += 1
            except OSError:
                continue  # gone already, or not ours to remove: the next start tries again
        return removed

    def due_count(self) -> int:
        """How many letters wait to be delivered now."""
        with self.db.read() as conn:
            return sql.count_due(conn, self.clock.now())

    def _due(self, limit: int) -> list[int]:
        with self.db.read() as conn:
            return sql.due_letters(conn, self.clock.now(), limit)

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

    def tampered(self, letter: Letter) -> str | None:
        """Why a claimed letter must not be delivered (changed in the database since it was queued), or None.

        Its subject, bodies and recipient must match its checksum, and the checksum must be one
        that its audit event sealed (authenticated with the audit key when the event is keyed):
        ``seals.letter_problem``, the check every reader of a letter makes.
        """
        with self.db.read() as conn:
            event = sql.queuing_event(conn, letter.id)
        return letter_problem(letter, event, self._key)

    def _deliver(self, letter: Letter, report: DeliveryReport, *, make_pdf: bool) -> str:
        problem = self.tampered(letter)
        if problem is not None:
            error = f"refused: {problem} (changed in the database since); not delivered, never retried"
            with self.db.write() as conn:
                sql.mark_failed(conn, letter, error, None)
            report.failed += 1
            report.errors.append(f"letter {letter.id}: {error}")
            return "failed"
        try:
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
            pdf = render_pdf(letter.html) if make_pdf and letter.html else None
            if pdf is not None:
                _write_atomically(paths["pdf"], pdf)
            if letter.message_id is not None:
                assert self.settings.smtp is not None
                self._send(self.settings.smtp, letter, pdf)
        except Exception as exc:  # a file, the PDF, the mail server, a header: this letter's failure alone
            return self._failed(letter, exc, report)
        with self.db.write() as conn:
            sql.mark_delivered(conn, letter, self.clock.now())
        report.delivered += 1
        return "delivered"

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
