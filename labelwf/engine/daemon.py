"""The daemon: wakes when a deadline falls due and fires it through the engine.

APScheduler (3.x, in-memory) only decides *when* to wake: at the next due instant, and at least
every ``poll_seconds`` to see timers armed by other processes (an operator's CLI, another
daemon). The database decides *what* fires (``deadlines.fire_due``), so a restart, a crash or
a second daemon never loses or doubles a deadline. Ticks never overlap; each drains what is due
in bounded batches and checks for a stop request between batches, so SIGTERM stops cleanly.
After batches that recorded something, and at its interval, a ``Checkpointer`` writes a signed
checkpoint of the trail in a job of its own (``--once``: after the sweep and the letters).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import logs
from ..audit.checkpoints import Checkpointer
from ..clock import SystemClock
from ..store.records import Letter, Timer
from .deadlines import Outcome, SweepReport, fire_due, next_due
from .delivery import Outbox
from .fire import Engine
from .fired import Fired

log = logging.getLogger("labelwf.daemon")
LETTERS_PER_ROUND = 200  # letters one delivery round takes from the outbox
LETTERS_EVERY_SECONDS = 1.0  # how often a serving daemon looks for letters to deliver (at least)
CHECKPOINT_LOOK_SECONDS = 5.0  # how often a serving daemon asks whether a checkpoint is due (two indexed looks)


@dataclass(frozen=True, kw_only=True)
class DaemonSettings:
    """How the daemon polls and batches."""

    poll_seconds: float = 0.5
    batch_size: int = 200
    grace_seconds: float = 300.0
    # A timer whose fire fails is retried after 30 s, then 60 s, 120 s … at most an hour apart
    # (until a restart): the error is logged once per attempt, and the daemon does not spin on it.
    retry_first_seconds: float = 30.0
    retry_max_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if self.poll_seconds <= 0:
            raise ValueError(f"poll_seconds must be > 0, got {self.poll_seconds}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.grace_seconds < 0:
            raise ValueError(f"grace_seconds must be >= 0, got {self.grace_seconds}")
        if not 0 < self.retry_first_seconds <= self.retry_max_seconds:
            first, longest = self.retry_first_seconds, self.retry_max_seconds
            raise ValueError(f"retry delays must satisfy 0 < first <= max, got first {first}, max {longest}")


def log_event(event: str, **fields: Any) -> None:
    """Write one structured log line of the daemon: ``event`` and its fields."""
    logs.log_event(log, event, **fields)


class Daemon:
    """Fires due timers of one engine, now (``run_once``) or whenever they fall due (``serve``)."""

    def __init__(
        self,
        engine: Engine,
        settings: DaemonSettings | None = None,
        *,
        outbox: Outbox | None = None,
        checkpointer: Checkpointer | None = None,
    ) -> None:
        """``checkpointer``: signed checkpoints after batches of deadlines and at its interval (none without)."""
        self.engine = engine
        self.outbox = outbox
        self.checkpointer = checkpointer
        self.settings = settings or DaemonSettings()
        self._stop = threading.Event()
        self._wall = SystemClock()  # APScheduler sleeps in real time, whatever clock the engine reads
        self._tick_lock = threading.Lock()
        self._retries: dict[int, tuple[datetime, int]] = {}  # failed timer → (retry not before, failures)

    def _held(self, now: datetime) -> set[int]:
        """Failed timers whose next attempt is not yet due."""
        return {timer for timer, (retry_at, _) in self._retries.items() if retry_at > now}

    def stop(self) -> None:
        """Ask the daemon to stop after the batch in progress."""
        self._stop.set()

    def _observe(self, outcome: Outcome, timer: Timer, fired: Fired | None, note: str) -> None:
        fields: dict[str, Any] = {
            "entity": timer.entity,
            "workflow": timer.workflow,
            "timer": timer.name,
            "trigger": timer.trigger,
            "due": timer.due_at,
        }
        if fired is not None:
            fields.update(dest=fired.dest, version=fired.version, late_s=round(fired.late_by_s or 0.0, 3))
        if note:
            fields["note"] = note
        if outcome is Outcome.FAILED:
            failures = self._retries.get(timer.id, (None, 0))[1] + 1
            delay = min(self.settings.retry_first_seconds * 2 ** (failures - 1), self.settings.retry_max_seconds)
            self._retries[timer.id] = (self.engine.clock.now() + timedelta(seconds=delay), failures)
            fields.update(failures=failures, retry_in_s=round(delay))
            logs.log_event(log, outcome.value, level=logging.ERROR, **fields)
        else:
            self._retries.pop(timer.id, None)
            log_event(outcome.value, **fields)

    def tick(self, now: datetime | None = None) -> SweepReport:
        """Fire everything due at ``now`` (default: the engine's clock), in batches, unless asked to stop."""
        with self._tick_lock:
            return self._sweep(now)

    def _sweep(self, now: datetime | None) -> SweepReport:
        held = self._held(now or self.engine.clock.now())
        retrying = set(self._retries) - held
        report = fire_due(
            self.engine,
            now=now,
            batch_size=self.settings.batch_size,
            grace=timedelta(seconds=self.settings.grace_seconds),
            observer=self._observe,
            should_stop=self._stop.is_set,
            hold=held,
        )
        # A failed timer due for its retry that this sweep did not meet was closed meanwhile (an
        # operator moved the instance): forget it. One that failed again keeps its backoff.
        for timer in retrying - set(report.failed_ids):
            self._retries.pop(timer, None)
        if report.closed and self.checkpointer is not None:
            self.checkpointer.nudge()  # written by its own job (or after --once), outside the tick lock
        if report.closed or report.failed:
            log_event(
                "sweep",
                fired=report.fired,
                obsolete=report.obsolete,
                skipped=report.skipped,
                failed=report.failed,
                batches=report.batches,
                max_late_s=round(report.max_late_s, 3),
            )
        return report

    def deliver_letters(self, *, limit: int = LETTERS_PER_ROUND) -> int:
        """Deliver one round of due letters (if the daemon has an outbox); return how many it handled.

        One log line per letter, and one per round that did something. Delivery never runs under the tick lock: a round
        of PDFs takes seconds, and deadlines must not wait for it.
        """
        if self.outbox is None:
            return 0
        started = time.monotonic()
        sent = self.outbox.deliver_due(limit=limit, should_stop=self._stop.is_set, observer=_log_letter)
        seconds = time.monotonic() - started
        if sent.leftovers:
            log_event("leftovers", removed=sent.leftovers, outbox=str(self.outbox.settings.outbox))
        for error in sent.errors:
            logs.log_event(log, "letter_failed", level=logging.WARNING, error=error)
        if sent.handled:
            log_event(
                "letters",
                delivered=sent.delivered,
                retried=sent.retried,
                failed=sent.failed,
                uncertain=sent.uncertain,
                pdf=sent.pdf_skipped or "yes",
                notices_held=sent.notices_held,
                seconds=round(seconds, 3),
                per_s=round(sent.handled / seconds, 1) if seconds > 0 else None,
            )
        else:
            self.outbox.close()  # nothing to deliver: the PDF workers' memory goes back until letters come
        return sent.handled

    def run_once(self) -> SweepReport:
        """Fire what is due now, then deliver the letters due, and return (``labelwf daemon --once``)."""
        report = self.tick()
        try:
            while self.deliver_letters() >= LETTERS_PER_ROUND and not self._stop.is_set():
                pass  # a full round: more may be due (a retried letter waits for its backoff, so this ends)
        finally:
            if self.outbox is not None:
                self.outbox.close()
        self.checkpoint()
        return report

    def checkpoint(self) -> None:
        """Write a signed checkpoint if one is due (``Checkpointer.maybe_write``); never under the tick lock."""
        if self.checkpointer is not None:
            self.checkpointer.maybe_write()

    def serve(self, *, on_idle: Callable[[], None] | None = None) -> None:
        """Run until ``stop()``: wake at each due instant and every ``poll_seconds``.

        ``on_idle`` is called after each tick that left nothing due (tests use it to stop).
        """
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
        )

        def wake() -> None:
            if self._stop.is_set() or not self._tick_lock.acquire(blocking=False):
                return  # another wake-up is already draining
            try:
                self._sweep(None)
                # Read the retry state under the lock: another wake-up's sweep may be changing it.
                held = self._held(self.engine.clock.now())
                retry = min((self._retries[timer][0] for timer in held), default=None)
            finally:
                self._tick_lock.release()
            upcoming = next_due(self.engine, excluding=held)
            if retry is not None and (upcoming is None or retry < upcoming):
                upcoming = retry
            if upcoming is not None and not self._stop.is_set():
                # The database stays the record; this only sets the alarm clock.
                when = max(upcoming, self._wall.now())
                scheduler.add_job(wake, "date", run_date=when, id="wake", replace_existing=True)
            if on_idle is not None and (upcoming is None or upcoming > self.engine.clock.now()):
                on_idle()

        log_event(
            "started",
            database=self.engine.db.display_url,
            poll_s=self.settings.poll_seconds,
            batch_size=self.settings.batch_size,
        )
        scheduler.add_job(
            wake, "interval", seconds=self.settings.poll_seconds, id="poll", next_run_time=self._wall.now()
        )
        if self.outbox is not None:  # letters go out on their own thread, after the fires that wrote them
            scheduler.add_job(
                self.deliver_letters,
                "interval",
                seconds=max(self.settings.poll_seconds, LETTERS_EVERY_SECONDS),
                id="letters",
                next_run_time=self._wall.now(),
            )
        if self.checkpointer is not None and self.checkpointer.enabled:  # its own thread: a checkpoint reads only
            look = min(CHECKPOINT_LOOK_SECONDS, self.checkpointer.settings.floor_seconds)
            scheduler.add_job(
                self.checkpoint, "interval", seconds=look, id="checkpoint", next_run_time=self._wall.now()
            )
        scheduler.start()
        try:
            self._stop.wait()
        finally:
            scheduler.shutdown(wait=True)  # drains the tick in progress
            if self.outbox is not None:
                self.outbox.close()
            self.checkpoint()  # the last batches, if the floor allows
            log_event("stopped")


def _log_letter(letter: Letter, outcome: str) -> None:
    log_event(
        "letter",
        id=letter.id,
        entity=letter.entity,
        template=letter.template,
        recipient=letter.recipient.role,
        outcome=outcome,
    )
