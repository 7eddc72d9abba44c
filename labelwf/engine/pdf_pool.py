"""PDFs rendered in a bounded pool of worker processes, so delivery uses the cores it has.

WeasyPrint is pure Python above Pango: one process renders one PDF at a time, whatever the
cores. The sender hands each letter's HTML to a pool of worker processes (one per core it may
use, by default) and files the PDFs they return. Each worker renders at most
``pdfs_per_worker`` PDFs and is then replaced by a fresh one, so whatever a rendering leaves in
a worker's memory is given back, and the delivering processes stay within a bound however many
letters the outbox holds.

A worker is a plain child process (``pdf_worker``) fed through its standard input, not a
``multiprocessing`` pool: it needs nothing of the sender's main module, and it ends when its
input ends, so a sender killed with SIGKILL leaves no worker behind.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import weakref
from concurrent.futures import Future
from pathlib import Path
from typing import IO

from .pdf_worker import ERROR, LENGTH, read_exactly

_Job = tuple[str, "Future[bytes]"]
_WORKER = "from labelwf.engine.pdf_worker import main; main()"  # not -m: the package imports the module first
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # where ``labelwf`` is importable from


class PdfWorkerError(Exception):
    """Raised when a worker could not render a letter's PDF (its error), or ended while rendering it."""


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # pragma: no cover - systems without affinity


class _Worker:
    """One worker process and how many PDFs it rendered."""

    def __init__(self) -> None:
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": _PACKAGE_ROOT + (os.pathsep + path if path else "")}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self.rendered = 0

    def render(self, html: str) -> bytes:
        requests, answers = self._streams()
        data = html.encode("utf-8")
        try:
            requests.write(LENGTH.pack(len(data)) + data)
            requests.flush()
            header = read_exactly(answers, 1 + LENGTH.size)
            payload = None if header is None else read_exactly(answers, LENGTH.unpack(header[1:])[0])
        except OSError:  # its end of the pipe closed: it died
            header = payload = None
        if header is None or payload is None:
            code = self.process.wait()
            pid = self.process.pid
            raise PdfWorkerError(f"the PDF worker (process {pid}) ended while rendering (exit code {code})")
        self.rendered += 1
        if header[0] == ERROR:
            raise PdfWorkerError(payload.decode("utf-8", "replace"))
        return payload

    def _streams(self) -> tuple[IO[bytes], IO[bytes]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        return self.process.stdin, self.process.stdout

    def end(self) -> None:
        """Close its input (it ends after the PDF in hand) and wait for it."""
        requests, answers = self._streams()
        with contextlib.suppress(OSError):  # it died already: its pipe is broken
            requests.close()
        answers.close()
        self.process.wait()


class _Feeders:
    """The threads that feed the workers, and what they share; they hold no reference to the pool,
    so a pool dropped without ``close()`` is collected and its finaliser ends them."""

    def __init__(self, workers: int, pdfs_per_worker: int) -> None:
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.pdfs_per_worker = pdfs_per_worker
        self.serving: dict[int, _Worker] = {}  # each feeder's worker, by the feeder's number
        self.started = 0  # worker processes started so far (replacements included)
        self.threads = [
            threading.Thread(target=self.feed, args=(n,), name=f"pdf-worker-{n}", daemon=True) for n in range(workers)
        ]
        for thread in self.threads:
            thread.start()

    def end(self) -> None:
        """Let the workers finish what was asked of them, then end them."""
        for _ in self.threads:
            self.jobs.put(None)
        if threading.current_thread() not in self.threads:
            for thread in self.threads:
                thread.join()

    def feed(self, number: int) -> None:
        """One thread per worker: hands it jobs one at a time, and replaces it when it is spent or dead."""
        worker: _Worker | None = None
        try:
            while (job := self.jobs.get()) is not None:
                html, future = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    if worker is not None and worker.rendered >= self.pdfs_per_worker:
                        worker.end()  # its memory given back; a fresh one takes the next letters
                        worker = None
                    if worker is None:
                        worker = self.serving[number] = _Worker()
                        self.started += 1  # one feeder at a time: the GIL keeps the count
                    future.set_result(worker.render(html))
                except Exception as exc:  # this letter's failure alone; the sender records it
                    future.set_exception(exc)
                    if worker is not None and worker.process.poll() is not None:
                        worker.end()
                        worker = None  # it died: the next letter starts another
        finally:
            self.serving.pop(number, None)
            if worker is not None:
                worker.end()


class PdfPool:
    """Worker processes that turn letters' HTML into PDFs; started on first use, ``close()`` ends them."""

    def __init__(self, workers: int, *, pdfs_per_worker: int) -> None:
        """``workers`` processes at most, each replaced after ``pdfs_per_worker`` PDFs."""
        if workers < 1:
            raise ValueError(f"PDF workers must be at least 1, got {workers}")
        if pdfs_per_worker < 1:
            raise ValueError(f"PDFs per worker must be at least 1, got {pdfs_per_worker}")
        self.workers, self.pdfs_per_worker = workers, pdfs_per_worker
        self._feeders: _Feeders | None = None
        self._ending: weakref.finalize[[], PdfPool] | None = None
        self._started_before = 0

    def submit(self, html: str) -> Future[bytes]:
        """Render ``html`` in a worker; the future holds the PDF, or a ``PdfWorkerError`` saying why not."""
        if self._feeders is None:
            self._feeders = _Feeders(self.workers, self.pdfs_per_worker)
            self._ending = weakref.finalize(self, self._feeders.end)  # dropped without close(): ended all the same
        future: Future[bytes] = Future()
        self._feeders.jobs.put((html, future))
        return future

    @property
    def running(self) -> bool:
        """Whether worker processes may be alive (started and not closed)."""
        return self._feeders is not None

    @property
    def workers_started(self) -> int:
        """Worker processes started so far, replacements included."""
        return self._started_before + (self._feeders.started if self._feeders is not None else 0)

    def close(self) -> None:
        """End the workers once the PDFs asked of them are rendered; the next ``submit`` starts new ones."""
        feeders, self._feeders = self._feeders, None
        if feeders is not None and self._ending is not None:
            self._ending()  # runs feeders.end once
            self._started_before += feeders.started

    def worker_pids(self) -> list[int]:
        """The process ids of the workers alive now."""
        serving = list(self._feeders.serving.values()) if self._feeders is not None else []
        return sorted(w.process.pid for w in serving if w.process.poll() is None)
