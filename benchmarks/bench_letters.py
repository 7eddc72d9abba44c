"""Letters: rendered and stored inside fires, and PDFs made off the fire path.

* Inside fires: N poles classified (group 1: three letters each, text + HTML, one transaction per
  fire, SQLite WAL + synchronous=FULL) — letters stored per second — beside the same N fires on a
  copy of the workflow whose classification sends no letter, measured in the same run: the
  difference is what the letters cost a fire.
* PDFs: the stored HTML of M letters turned into PDFs by WeasyPrint, one process, per second:
  as delivery rendered them before (a new font configuration per PDF) and as it does now (one
  per process), in the same run.
* Delivery (``--deliver``): for each size, that many letters with their PDFs delivered by
  ``labelwf letters send`` in a process of its own, as an operator runs it: letters per second,
  CPU per letter of the whole delivering tree (the sender and its PDF workers), the peak
  resident memory of that tree (sampled every 0.1 s, the sum over its processes) and of its
  largest process; the peaks of the sizes are compared in the same run (flat memory: the same
  peak whatever the outbox holds). The ratio to the one-process PDF rate of the same run says
  how much of the machine delivery uses.

    python benchmarks/bench_letters.py                 # N = 2,000 fires, M = 100 PDFs
    python benchmarks/bench_letters.py --n 5000 --pdfs 300
    python benchmarks/bench_letters.py --n 300 --deliver 1500,6000
    python benchmarks/bench_letters.py --n 300 --deliver 6000,60000   # about half an hour on 2 cores
    python benchmarks/bench_letters.py --n 2000 --pdfs 0 --dated

* Signed letters (``--sign N``): N of the PDFs above signed (PAdES B-B, a visible box with the
  signatory's name and title, a demonstration certificate, RSA 2048), one process, CPU time:
  milliseconds per signature, then letters rendered and signed per second per core beside the
  unsigned PDFs' figure of the same run, and their ratio (the target: at least 20 signed letters/s
  per core). Then the whole signature step: N letters waiting « à signer » signed by the library
  (``SignatureDesk.sign``: each read and checked against its seal, dated, rendered, signed, its chain
  event and signed PDF written in a transaction of its own), CPU milliseconds per letter.

    python benchmarks/bench_letters.py --n 300 --pdfs 100 --sign 200

* Dated lookups (``--dated``): the same N fires with letters, dated 1 June 2010 while the clock reads
  2017, on poles that have three versions each (a name of 2012 and a region of 2016 recorded
  after the one registered: the fire reads the version in force then), beside the same backdated
  fires on poles that never changed and the same fires dated now (no lookup at all), in the same
  run: the ratio is what a dated lookup costs a letter (the budget: at most 10%).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from datetime import UTC, datetime  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from labelwf import Database, Engine, EntityRow, FrozenClock, add_entities, load_workflow, store  # noqa: E402
from labelwf.engine.delivery import pdf_unavailable, render_pdf  # noqa: E402
from labelwf.engine.pdf import _data_only, _weasyprint  # noqa: E402
from labelwf.engine.signature import Signatory, SignatureDesk  # noqa: E402
from labelwf.letters.certificates import create_demo_certificate, load_signer  # noqa: E402
from labelwf.letters.directory import DEFAULT_POST  # noqa: E402
from labelwf.letters.post_certificates import PostCertificates  # noqa: E402
from labelwf.letters.render import Signers  # noqa: E402
from labelwf.letters.signing import VisibleSignature, sign  # noqa: E402
from labelwf.operations.entity_versions import change_entity  # noqa: E402


def fires(folder: Path, workflow_file: Path, n: int) -> tuple[float, int, list[str]]:
    """Classify n poles in group 1, one fire per transaction; return seconds, letters stored, some HTML."""
    db = Database(f"sqlite:///{folder / (workflow_file.stem + '.db')}")
    db.upgrade()
    engine = Engine(db, load_workflow(workflow_file, folder / "templates"))
    rows = [
        EntityRow(i, f"pole-{i:05d}", f"Pôle d'essai n° {i}", {"region": "Bretagne; Pays de la Loire"})
        for i in range(n)
    ]
    add_entities(engine, rows, actor="bench", reason="letters benchmark")
    start = time.perf_counter()
    for row in rows:
        engine.fire(row.id, "classify", data={"group": 1}, actor="bench", reason="Rapport d'évaluation 2008")
    seconds = time.perf_counter() - start
    with db.read() as conn:
        letters = conn.execute(sa.select(sa.func.count()).select_from(store.letter)).scalar() or 0
        html = list(conn.execute(sa.select(store.letter.c.body_html).limit(400)).scalars())
    db.dispose()
    return seconds, int(letters), html


def dated_fires(folder: Path, workflow_file: Path, n: int, how: str) -> float:
    """Classify n poles (group 1, three letters each), one fire per transaction, the clock at 2017;
    ``how``: ``versions`` (each pole has three versions, fires dated 2010), ``backdated`` (no version,
    fires dated 2010) or ``now`` (no version, fires dated now). Return the seconds of the fires."""
    clock = FrozenClock(datetime(2009, 1, 1, 9, tzinfo=UTC))
    db = Database(f"sqlite:///{folder / f'dated-{how}.db'}")
    db.upgrade()
    engine = Engine(db, load_workflow(workflow_file, folder / "templates"), clock=clock)
    rows = [EntityRow(i, f"pole-{i:05d}", f"Pôle d'essai n° {i}", {"region": "Midi-Pyrénées"}) for i in range(n)]
    add_entities(engine, rows, actor="bench", reason="letters benchmark")
    clock.set(datetime(2017, 1, 10, 9, tzinfo=UTC))
    if how == "versions":
        for row in rows:
            for day, change, since in ((2, {"name": f"Pôle n° {row.id}"}, 2012), (3, {"region": "Occitanie"}, 2016)):
                change_entity(
                    engine,
                    row.id,
                    change,
                    actor="bench",
                    reason="benchmark",
                    at=datetime(2009, 1, day, 9, tzinfo=UTC),
                    valid_from=datetime(since, 1, 1, tzinfo=UTC),
                )
    when = None if how == "now" else datetime(2010, 6, 1, 9, tzinfo=UTC)
    start = time.perf_counter()
    for row in rows:
        engine.fire(row.id, "classify", data={"group": 1}, actor="bench", reason="Rapport d'évaluation", at=when)
    seconds = time.perf_counter() - start
    db.dispose()
    return seconds


def dated(folder: Path, workflow_file: Path, n: int) -> None:
    """The fires of ``--dated``, in the same run, and what the lookup costs them."""
    found = {how: dated_fires(folder, workflow_file, n, how) for how in ("now", "backdated", "versions")}
    print(f"{n:,} fires with 3 letters each, the clock at 2017 (dated lookups)")
    for how, said in (
        ("now", "dated now (no lookup):"),
        ("backdated", "dated 2010, no version:"),
        ("versions", "dated 2010, 3 versions:"),
    ):
        seconds = found[how]
        print(
            f"  {said:<28} {n / seconds:>8,.0f} fires/s   {1000 * seconds / n:.3f} ms/fire "
            f"({3 * n / seconds:,.0f} letters/s; x{seconds / found['now']:.3f} the fire dated now)"
        )
    print(f"  3 versions against none, both backdated: x{found['versions'] / found['backdated']:.3f}")


def render_pdf_afresh(html: str) -> bytes:
    """A PDF as delivery made it before: WeasyPrint loading a new font configuration each time."""
    weasyprint = _weasyprint()
    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=_data_only(weasyprint)).write_pdf()
    return pdf


def pdf_rates(html: list[str], count: int) -> dict[str, float]:
    """CPU milliseconds per PDF in this process, the former way and the current one, alternated."""
    render_pdf(html[0])  # warm up (fonts)
    render_pdf_afresh(html[0])
    spent = {"afresh": 0.0, "shared": 0.0}
    for i in range(count):
        for name, render in (("afresh", render_pdf_afresh), ("shared", render_pdf)):
            start = time.process_time()
            render(html[i % len(html)])
            spent[name] += time.process_time() - start
    return {name: 1000 * seconds / count for name, seconds in spent.items()}


def signing_ms(html: list[str], count: int) -> float:
    """CPU milliseconds per signature of a rendered letter (PAdES B-B, visible box), in this process."""
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        create_demo_certificate(Path(tmp) / "demo.p12", b"bench", when=now)
        signer = load_signer(Path(tmp) / "demo.p12", b"bench", when=now)
    pdfs = [render_pdf(page) for page in html[:20]]
    box = VisibleSignature(page=-1, box=(330, 40, 560, 110), signatory="Jeanne Dupont", title="Préfète de région")
    sign(pdfs[0], signer, when=now, visible=box)  # warm up
    start = time.process_time()
    for i in range(count):
        sign(pdfs[i % len(pdfs)], signer, when=now, visible=box, reason="Décision", location="Paris")
    return 1000 * (time.process_time() - start) / count


def signature_step(folder: Path, workflow_file: Path, count: int) -> tuple[float, float]:
    """CPU and wall milliseconds per letter signed through the whole step (``SignatureDesk.sign``): the
    frozen letter read and checked against its seal, dated, rendered, PAdES-signed, its chain event and
    its signed PDF written in one transaction each (SQLite WAL, synchronous=FULL), ``count`` letters."""
    db = Database(f"sqlite:///{folder / 'signature-step.db'}")
    db.upgrade()
    now = datetime.now(UTC)
    engine = Engine(db, load_workflow(workflow_file, folder / "templates"), signers=Signers(signature=True))
    poles = -(-count // 3)  # three letters each
    rows = [EntityRow(i, f"signe-{i:05d}", f"Pôle signé n° {i}", {"region": "Bretagne"}) for i in range(poles)]
    add_entities(engine, rows, actor="bench", reason="signature benchmark")
    for row in rows:
        engine.fire(row.id, "classify", data={"group": 1}, actor="bench", reason="Rapport d'évaluation 2008")
    certificates = folder / "certificates"
    create_demo_certificate(certificates / f"{DEFAULT_POST}.p12", b"bench", when=now)
    (certificates / f"{DEFAULT_POST}.passphrase").write_text("bench\n", encoding="utf-8")
    desk = SignatureDesk(engine, PostCertificates(certificates))
    signatory = Signatory(account="bench", name="Jeanne Dupont", post=DEFAULT_POST)
    ids = desk.waiting_ids(DEFAULT_POST)[:count]
    desk.sign(ids[:1], signatory)  # warm up: the certificate opened, the fonts loaded
    cpu, wall = time.process_time(), time.perf_counter()
    report = desk.sign(ids[1:], signatory)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert len(report.signed) == len(ids) - 1 and not report.refused, report.refused[:1]
    db.dispose()
    return 1000 * cpu / len(report.signed), 1000 * wall / len(report.signed)


def prepared_outbox(folder: Path, letters: int) -> Path:
    """A database with ``letters`` letters waiting (three per pole classified in group 1)."""
    folder.mkdir()
    shutil.copytree(ROOT / "templates", folder / "templates")
    (folder / "workflows").mkdir()
    workflow = folder / "workflows" / "poles-2008.yaml"
    workflow.write_text((ROOT / "workflows" / "poles-2008.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    fires(folder, workflow, -(-letters // 3))
    return folder / "poles-2008.db"


def tree_rss_mb(root: int) -> tuple[float, float]:
    """The resident memory of ``root`` and its descendants: their sum and the largest, in MB."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grown = {root}, True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    sizes = []
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm") as statm:
                sizes.append(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20)
        except (OSError, IndexError, ValueError):
            continue
    return sum(sizes), max(sizes, default=0.0)


def deliver(folder: Path, database: Path, letters: int) -> dict[str, float]:
    """Run ``labelwf letters send`` over the prepared outbox; its rate, CPU and peak memory."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LABELWF_DATABASE": f"sqlite:///{database}",
        "LABELWF_WORKFLOWS": str(folder / "workflows"),
        "LABELWF_TEMPLATES": str(folder / "templates"),
        "LABELWF_OUTBOX": str(folder / "outbox"),
        "LABELWF_AUDIT_KEY_FILE": str(folder / "audit.key"),
        "LABELWF_CHECKPOINTS": str(folder / "checkpoints"),
    }
    command = [sys.executable, "-m", "labelwf.cli", "letters", "send"]
    peaks = {"tree": 0.0, "largest": 0.0}
    start = time.perf_counter()
    sender = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            tree, largest = tree_rss_mb(sender.pid)
            peaks["tree"], peaks["largest"] = max(peaks["tree"], tree), max(peaks["largest"], largest)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = sender.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the sender and the workers it waited for
    if sender.returncode != 0 or f"delivered {letters}," not in stdout:
        raise SystemExit(f"letters send failed ({sender.returncode}):\n{stdout}\n{stderr[-2000:]}")
    pdfs = len(list((folder / "outbox").glob("*/*.pdf")))
    if pdfs != letters:
        raise SystemExit(f"{pdfs} PDFs filed for {letters} letters")
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, **peaks}


def delivery(sizes: list[int], reference_ms: float) -> None:
    """Deliver each size in turn, each in a fresh database; print the rates and the peaks side by side."""
    cores = len(os.sched_getaffinity(0))
    print(f"delivery by `labelwf letters send` (SQLite WAL + FULL, PDFs on {cores} cores), same run:")
    peaks = []
    for letters in sizes:
        letters = 3 * -(-letters // 3)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "run"
            database = prepared_outbox(folder, letters)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            load = os.getloadavg()[0]
            ran = deliver(folder, database, letters)
            load = max(load, os.getloadavg()[0])
        cpu_ms = 1000 * (ran["cpu"] - (before.ru_utime + before.ru_stime)) / letters
        peaks.append(ran["tree"])
        print(
            f"  {letters:>7,} letters: {letters / ran['seconds']:6.1f} letters/s ({ran['seconds']:.0f} s, load "
            f"average up to {load:.1f}); {cpu_ms:.1f} ms CPU per letter (tree), x{cpu_ms / reference_ms:.2f} the PDF "
            f"alone, so {cores * 1000 / cpu_ms:.0f} letters/s on {cores} idle cores; peak RSS {ran['tree']:.0f} MB "
            f"(tree), {ran['largest']:.0f} MB (largest process)"
        )
    if len(peaks) > 1:
        print(f"  peak RSS, largest size / smallest: x{peaks[-1] / peaks[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="fires (default 2,000)")
    parser.add_argument("--pdfs", type=int, default=100, help="PDFs to make (default 100)")
    parser.add_argument(
        "--deliver",
        default="",
        metavar="SIZES",
        help="letters to deliver with their PDFs, comma-separated sizes, each in its own run (e.g. 1500,6000)",
    )
    parser.add_argument("--dated", action="store_true", help="also measure dated lookups (see above)")
    parser.add_argument("--sign", type=int, default=0, metavar="N", help="also sign N PDFs (see above; default 0)")
    args = parser.parse_args()
    if args.n < 1 or args.pdfs < 0 or args.sign < 0:
        parser.error("--n must be positive, --pdfs and --sign at least 0")
    try:
        sizes = [int(size) for size in args.deliver.split(",") if size.strip()]
    except ValueError:
        parser.error(f"--deliver takes sizes separated by commas, like 1500,6000; got {args.deliver!r}")
    if any(size < 1 for size in sizes):
        parser.error(f"--deliver sizes must be positive, got {args.deliver!r}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copytree(ROOT / "templates", folder / "templates")
        (folder / "workflows").mkdir()
        with_letters = folder / "workflows" / "poles-2008.yaml"
        text = (ROOT / "workflows" / "poles-2008.yaml").read_text(encoding="utf-8")
        with_letters.write_text(text, encoding="utf-8")
        silent = folder / "workflows" / "poles-2008-silent.yaml"
        silent.write_text(text.replace(", letters: [classement_groupe_1]", ""), encoding="utf-8")
        quiet_s, none, _ = fires(folder, silent, args.n)
        loud_s, letters, html = fires(folder, with_letters, args.n)
        if args.dated:
            dated(folder, with_letters, args.n)
        step = signature_step(folder, with_letters, args.sign + 1) if args.sign and not pdf_unavailable() else None
    assert none == 0 and letters == 3 * args.n, (none, letters)
    print(f"{args.n:,} fires on SQLite (WAL, synchronous=FULL), one transaction each")
    print(f"  without letters:         {args.n / quiet_s:>8,.0f} fires/s   {1000 * quiet_s / args.n:.3f} ms/fire")
    print(
        f"  with 3 letters each:     {args.n / loud_s:>8,.0f} fires/s   {1000 * loud_s / args.n:.3f} ms/fire "
        f"(x{loud_s / quiet_s:.2f} the fire without letters)"
    )
    print(
        f"  letters rendered (text + HTML) and stored: {letters / loud_s:,.0f} letters/s; "
        f"{1000 * (loud_s - quiet_s) / letters:.3f} ms per letter"
    )
    if args.pdfs or sizes or args.sign:
        reason = pdf_unavailable()
        if reason:
            print(reason)
            return
        ms = pdf_rates(html, max(args.pdfs, 20))
        print(
            f"PDFs from the stored HTML (WeasyPrint, one process, CPU time): {ms['shared']:.1f} ms each, "
            f"{1000 / ms['shared']:,.1f} letters/s per core; with a new font configuration each "
            f"(delivery before): {ms['afresh']:.1f} ms (x{ms['afresh'] / ms['shared']:.2f})"
        )
        if args.sign:
            signed = signing_ms(html, args.sign)
            both = ms["shared"] + signed
            print(
                f"signed letters ({args.sign:,} signatures, PAdES B-B with a visible box, one process, CPU time): "
                f"{signed:.1f} ms per signature ({1000 / signed:,.1f} signatures/s per core); rendered and signed: "
                f"{1000 / both:,.1f} letters/s per core, against {1000 / ms['shared']:,.1f} unsigned "
                f"(x{both / ms['shared']:.2f} the time of an unsigned PDF)"
            )
        if step is not None:
            cpu_ms, wall_ms = step
            print(
                f"the signature step ({args.sign:,} letters signed by SignatureDesk, one transaction each: seal "
                f"checked, dated, laid out, PAdES B-B in its box, chain event and signed PDF stored; SQLite WAL, "
                f"synchronous=FULL): {cpu_ms:.1f} ms CPU per letter, {1000 / cpu_ms:,.1f} letters/s per core "
                f"({1000 / wall_ms:,.1f} letters/s wall), against {1000 / ms['shared']:,.1f} unsigned PDFs/s"
            )
        if sizes:
            delivery(sizes, ms["shared"])


if __name__ == "__main__":
    main()
