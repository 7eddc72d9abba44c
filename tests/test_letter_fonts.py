"""The letters' fonts ship with labelwf: a PDF is printed in DejaVu wherever it is made."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest

from labelwf.engine import pdf, pdf_fonts
from labelwf.engine.pdf import pdf_unavailable, render_pdf

pytestmark = pytest.mark.skipif(pdf_unavailable() is not None, reason=str(pdf_unavailable()))

LETTER = (
    "<html><body style=\"font-family: 'DejaVu Serif'\">Lettre <b>gras</b> <i>italique</i>"
    " <span style=\"font-family: 'DejaVu Sans'\">bloc-marque</span></body></html>"
)
WANTED = {"DejaVu-Serif", "DejaVu-Serif-Bold", "DejaVu-Serif-Italic", "DejaVu-Sans"}


def fonts_of(document: bytes) -> set[str]:
    """The fonts a PDF embeds, without their subset prefix (``ABCDEF+``)."""
    found = set(re.findall(rb"/FontName\s*/([A-Za-z0-9+\-]+)", document))
    for stream in re.finditer(rb"stream\r?\n(.*?)endstream", document, re.S):
        try:
            found |= set(re.findall(rb"/FontName\s*/([A-Za-z0-9+\-]+)", zlib.decompress(stream.group(1))))
        except zlib.error:
            continue
    return {name.decode().split("+")[-1] for name in found}


def test_a_letter_is_printed_in_the_shipped_fonts() -> None:
    assert fonts_of(render_pdf(LETTER)) >= WANTED


def test_a_letter_is_printed_in_the_shipped_fonts_on_a_system_that_has_no_font(tmp_path: Path) -> None:
    # Given a fontconfig that knows no font at all (no system font directory)
    config = tmp_path / "fonts.conf"
    config.write_text(f"<?xml version='1.0'?><fontconfig><cachedir>{tmp_path}</cachedir></fontconfig>")
    script = "import sys; from labelwf.engine.pdf import render_pdf; sys.stdout.buffer.write(render_pdf(sys.argv[1]))"
    env = {**os.environ, "FONTCONFIG_FILE": str(config)}
    # When a letter is rendered there
    made = subprocess.run([sys.executable, "-c", script, LETTER], env=env, capture_output=True, check=True)
    # Then it is printed in the fonts labelwf ships, and nothing warns of an ugly output
    assert fonts_of(made.stdout) >= WANTED
    assert b"No fonts configured" not in made.stderr


def test_the_letters_fetcher_serves_exactly_the_shipped_font_files() -> None:
    name = "DejaVuSerif.ttf"
    assert pdf_fonts.package_font(f"labelwf-font:{name}") == (pdf_fonts.FONTS_DIR / name).read_bytes()
    for url in ("labelwf-font:LICENSE", "labelwf-font:../fonts/DejaVuSerif.ttf", "labelwf-font:/etc/passwd"):
        assert pdf_fonts.package_font(url) is None
    fetch = pdf._data_only(pdf._weasyprint())
    assert fetch.fetch(f"labelwf-font:{name}").read()[:4] == b"\x00\x01\x00\x00"  # a TrueType font
    for refused in ("labelwf-font:LICENSE", "file:///etc/passwd", (pdf_fonts.FONTS_DIR / name).as_uri()):
        with pytest.raises(ValueError):
            fetch.fetch(refused)


def test_a_thread_registers_the_shipped_fonts_once_for_all_its_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[Any] = []
    register = pdf.register_fonts

    def counted(weasyprint: Any, font_config: Any, fetcher: Any) -> None:
        registered.append(font_config)
        register(weasyprint, font_config, fetcher)

    monkeypatch.setattr(pdf, "register_fonts", counted)
    made: list[set[str]] = []
    worker = threading.Thread(target=lambda: made.extend(fonts_of(render_pdf(LETTER)) for _ in range(3)))
    worker.start()
    worker.join()
    assert len(registered) == 1 and all(fonts >= WANTED for fonts in made)
