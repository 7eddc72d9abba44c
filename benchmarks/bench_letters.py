"""Letters: rendered and stored inside fires, and PDFs made off the fire path.

* Inside fires: N poles classified (group 1: three letters each, text + HTML, one transaction per
  fire, SQLite WAL + synchronous=FULL) — letters stored per second — beside the same N fires on a
  copy of the workflow whose classification sends no letter, measured in the same run: the
  difference is what the letters cost a fire.
* PDFs: the stored HTML of M letters turned into PDFs by WeasyPrint, one process, per second.

    python benchmarks/bench_letters.py                 # N = 2,000 fires, M = 100 PDFs
    python benchmarks/bench_letters.py --n 5000 --pdfs 300
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from labelwf import Database, Engine, EntityRow, add_entities, load_workflow, store  # noqa: E402
from labelwf.engine.delivery import pdf_unavailable, render_pdf  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="fires (default 2,000)")
    parser.add_argument("--pdfs", type=int, default=100, help="PDFs to make (default 100)")
    args = parser.parse_args()
    if args.n < 1 or args.pdfs < 0:
        parser.error("--n must be positive and --pdfs at least 0")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copytree(ROOT / "templates", folder / "templates")
        (folder / "workflows").mkdir()
        with_letters = folder / "workflows" / "poles-2008.yaml"
        text = (ROOT / "workflows" / "poles-2008.yaml").read_text(encoding="utf-8")
        with_letters.write_text(text, encoding="utf-8")
        silent = folder / "workflows" / "poles-2008-silent.yaml"
        silent.write_text(text.replace("letters: [classement_groupe_1]}", "}"), encoding="utf-8")
        quiet_s, none, _ = fires(folder, silent, args.n)
        loud_s, letters, html = fires(folder, with_letters, args.n)
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
    if args.pdfs:
        reason = pdf_unavailable()
        if reason:
            print(reason)
            return
        render_pdf(html[0])  # warm up (fonts)
        start = time.perf_counter()
        for i in range(args.pdfs):
            render_pdf(html[i % len(html)])
        seconds = time.perf_counter() - start
        print(
            f"PDFs from the stored HTML (WeasyPrint, one process): {args.pdfs / seconds:,.1f} letters/s per core, "
            f"{1000 * seconds / args.pdfs:.0f} ms each"
        )


if __name__ == "__main__":
    main()
