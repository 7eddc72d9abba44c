"""Delivery on every core in bounded memory, and nothing left behind by a killed writer.

PDFs are rendered by worker processes and filed by the sender; a temporary file is held locked
by its writer for as long as it writes, so the next sender removes a dead writer's file at
once, however young, and never a live one's.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelwf import Daemon, Engine, store
from labelwf.cli import letters as letters_cli
from labelwf.cli import main
from labelwf.engine import delivery, outbox_files, pdf
from labelwf.engine.delivery import DeliverySettings, Outbox, pdf_unavailable
from labelwf.engine.outbox_files import remove_leftovers, write_atomically
from labelwf.engine.pdf_pool import PdfPool, PdfWorkerError
from tests.conftest import CONFIG_FILE, POLES_CSV
from tests.helpers import OPERATOR

needs_pdf = pytest.mark.skipif(pdf_unavailable() is not None, reason=str(pdf_unavailable()))
LETTER = "<html><body><h1>Pôle Enfant</h1><p>Madame la Présidente, le label est maintenu.</p></body></html>"
OTHER = "<html><body><p style='font-family: serif'>Monsieur le Préfet,</p><p>Objet&nbsp;: fin.</p></body></html>"


def temporary_files(outbox: Path) -> list[Path]:
    return sorted(p for p in outbox.glob("*/.*") if p.is_file())


def killed_while_writing(target: Path) -> Path:
    """A process that opened its locked temporary file for ``target``, wrote half, and was killed."""
    script = (
        "import os, sys; from pathlib import Path; from labelwf.engine import outbox_files\n"
        "handle, temporary = outbox_files._locked_temporary(Path(sys.argv[1]))\n"
        "os.write(handle, b'%PDF-1.7 half'); print(temporary, flush=True); sys.stdin.read()\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script, str(target)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    temporary = Path(writer.stdout.readline().strip())
    assert temporary.is_file(), "the writer should have opened its temporary file"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.stdin is not None and writer.stdout is not None
    writer.stdin.close()
    writer.stdout.close()
    return temporary


def test_a_temporary_file_whose_writer_was_killed_is_removed_by_the_next_sender_however_young(
    poles: Engine, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    (outbox / "enfant").mkdir(parents=True)
    # Given a writer killed a second ago (the daemon restarted within the lease)
    leftover = killed_while_writing(outbox / "enfant" / "2009-01-01-x-region.pdf")
    assert leftover.exists() and leftover.name.endswith(outbox_files.WRITING)
    # When the next sender starts
    report = Outbox(poles.db, DeliverySettings(outbox=outbox, pdf=False), clock=poles.clock).deliver_due()
    # Then the dead writer's file is gone
    assert report.leftovers == 1
    assert temporary_files(outbox) == []


def test_a_temporary_file_that_a_live_writer_holds_is_never_removed(tmp_path: Path) -> None:
    target = tmp_path / "outbox" / "enfant" / "2009-01-01-x-region.pdf"
    target.parent.mkdir(parents=True)
    handle, temporary = outbox_files._locked_temporary(target)
    try:
        assert remove_leftovers(tmp_path / "outbox", older_than=float("inf")) == 0  # whatever its age
        assert Path(temporary).exists()
    finally:
        os.close(handle)
    assert remove_leftovers(tmp_path / "outbox", older_than=0) == 1  # its writer let go without renaming it


def test_a_writer_whose_temporary_file_a_sweeper_took_before_its_lock_writes_under_another_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "enfant" / "2009-01-01-x-region.txt"
    target.parent.mkdir()
    locks = []
    real_flock = outbox_files.fcntl.flock

    def swept_first(handle: int, operation: int) -> None:
        if not locks:  # a sweeper found the new file unlocked and removed it
            for leftover in target.parent.glob(".*"):
                leftover.unlink()
        locks.append(operation)
        real_flock(handle, operation)

    monkeypatch.setattr(outbox_files.fcntl, "flock", swept_first)
    write_atomically(target, b"complete")
    assert target.read_bytes() == b"complete" and len(locks) == 2
    assert list(target.parent.glob(".*")) == []


@needs_pdf
def test_a_letters_pdf_is_the_same_whatever_letters_were_rendered_before_it() -> None:
    alone = pdf.render_pdf(OTHER)  # the first of this thread: its font configuration is new
    pdf.render_pdf(LETTER)
    assert pdf.render_pdf(OTHER) == alone


def test_a_letter_that_declares_its_own_fonts_gets_a_font_configuration_of_its_own() -> None:
    if pdf_unavailable() is not None:
        pytest.skip(str(pdf_unavailable()))
    shared = pdf._font_configuration(LETTER)
    assert pdf._font_configuration(OTHER) is shared
    assert pdf._font_configuration("<style>@FONT-FACE { font-family: x }</style>") is not shared


@needs_pdf
def test_pdfs_rendered_by_the_workers_are_the_ones_rendered_here() -> None:
    pool = PdfPool(2, pdfs_per_worker=2)
    try:
        rendered = [pool.submit(html) for html in (LETTER, OTHER, LETTER, OTHER, LETTER)]
        assert [future.result(timeout=120) for future in rendered] == [
            pdf.render_pdf(html) for html in (LETTER, OTHER, LETTER, OTHER, LETTER)
        ]
        assert pool.workers_started >= 3  # two PDFs each, then a fresh worker
    finally:
        pool.close()
    assert not pool.running


@needs_pdf
def test_a_worker_that_dies_fails_its_letter_alone_and_the_next_letter_gets_a_fresh_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = PdfPool(1, pdfs_per_worker=10)
    try:
        assert pool.submit(LETTER).result(timeout=120).startswith(b"%PDF")
        (worker,) = pool.worker_pids()
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(PdfWorkerError, match=r"the PDF worker \(process \d+\) ended while rendering \(exit code"):
            pool.submit(LETTER).result(timeout=120)
        assert pool.submit(LETTER).result(timeout=120).startswith(b"%PDF")
        assert pool.worker_pids() != [worker]
    finally:
        pool.close()


@needs_pdf
def test_a_worker_refuses_what_is_not_html_with_the_reason_and_goes_on() -> None:
    pool = PdfPool(1, pdfs_per_worker=10)
    try:
        with pytest.raises(UnicodeEncodeError):
            pool.submit("<p>\udcff</p>").result(timeout=120)
        assert pool.submit(LETTER).result(timeout=120).startswith(b"%PDF")
    finally:
        pool.close()


@needs_pdf
def test_a_pool_dropped_without_being_closed_ends_its_workers() -> None:
    pool = PdfPool(2, pdfs_per_worker=10)
    assert all(f.result(timeout=120).startswith(b"%PDF") for f in [pool.submit(LETTER) for _ in range(4)])
    watches = [os.pidfd_open(worker) for worker in pool.worker_pids()]
    try:
        del pool
        gc.collect()
        for watch in watches:
            assert select.select([watch], [], [], 60)[0] == [watch], "a worker outlived its pool"
    finally:
        for watch in watches:
            os.close(watch)


@needs_pdf
def test_a_sender_killed_with_sigkill_leaves_no_pdf_worker_behind() -> None:
    script = (
        "from labelwf.engine.pdf_pool import PdfPool\n"
        "pool = PdfPool(1, pdfs_per_worker=10); pool.submit('<p>x</p>').result()\n"
        "print(*pool.worker_pids(), flush=True); input()\n"
    )
    sender = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert sender.stdout is not None and sender.stdin is not None
    worker = int(sender.stdout.readline())
    watch = os.pidfd_open(worker)
    try:
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=30)
        readable, _, _ = select.select([watch], [], [], 60)  # readable once the worker has ended
        assert readable == [watch], "the PDF worker outlived its sender"
    finally:
        os.close(watch)
        sender.stdin.close()
        sender.stdout.close()


@needs_pdf
def test_letters_delivered_through_the_workers_have_their_pdfs_and_are_recorded_once(
    poles: Engine, tmp_path: Path
) -> None:
    for entity in ("enfant", "mta"):
        poles.fire(entity, "classify", data={"group": 3}, **OPERATOR)  # three letters each
    outbox = Outbox(poles.db, DeliverySettings(outbox=tmp_path / "outbox", pdf_workers=2), clock=poles.clock)
    try:
        seen: list[tuple[int, str]] = []
        report = outbox.deliver_due(observer=lambda letter, outcome: seen.append((letter.id, outcome)))
    finally:
        outbox.close()
    assert report.delivered == 6 and len(seen) == 6 and {outcome for _, outcome in seen} == {"delivered"}
    assert outbox.window == 4  # at most two letters per worker in flight
    with poles.db.read() as conn:
        html = dict(conn.execute(sa.select(store.letter.c.id, store.letter.c.body_html)).all())
    filed = sorted((tmp_path / "outbox").glob("*/*.pdf"))
    assert len(filed) == 6 and temporary_files(tmp_path / "outbox") == []
    assert {p.read_bytes() for p in filed} == {pdf.render_pdf(body) for body in html.values()}
    assert outbox.deliver_due().handled == 0


@needs_pdf
def test_a_daemon_ends_its_pdf_workers_when_no_letter_is_due(poles: Engine, tmp_path: Path) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    outbox = Outbox(poles.db, DeliverySettings(outbox=tmp_path / "outbox", pdf_workers=1), clock=poles.clock)
    daemon = Daemon(poles, outbox=outbox)
    assert daemon.deliver_letters() == 3
    assert outbox._pool is not None and outbox._pool.running
    assert daemon.deliver_letters() == 0  # nothing due: the workers' memory goes back
    assert not outbox._pool.running


def test_letters_send_shows_its_progress_and_what_it_removed(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    env = {"LABELWF_OUTBOX": str(tmp_path / "outbox")}
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    assert runner.invoke(main, [*base, "init"], env=env).exit_code == 0
    assert runner.invoke(main, [*base, "import", str(POLES_CSV), "--at", "2008-06-18"], env=env).exit_code == 0
    for entity in ("enfant", "mta"):
        fire = ["fire", entity, "classify", "--set", "group=3", "--actor", "a", "--reason", "r"]
        fired = runner.invoke(main, [*base, *fire])
        assert fired.exit_code == 0, fired.output
    (tmp_path / "outbox" / "enfant").mkdir(parents=True)
    leftover = killed_while_writing(tmp_path / "outbox" / "enfant" / "2008-06-18-x-region.txt")
    monkeypatch.setattr(letters_cli, "ROUND", 2)  # a progress line every two letters
    monkeypatch.setattr(delivery, "pdf_unavailable", lambda: "PDF skipped in this test")
    sent = runner.invoke(main, [*base, "letters", "send"], env=env)
    assert sent.exit_code == 0, sent.output
    assert "delivered 6, to retry 0, failed 0" in sent.stdout
    assert "... 2/6 letter(s) handled" in sent.stderr and "letters/s" in sent.stderr
    assert "removed 1 temporary file(s) that a killed sender left" in sent.stderr
    assert not leftover.exists()
