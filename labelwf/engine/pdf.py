"""A letter's PDF, made from its frozen HTML by WeasyPrint; it fetches nothing.

A WeasyPrint rendering without a font configuration loads fontconfig's configuration and fonts
anew, a third of a letter's time, and never gives that memory back (about 0.25 MB a PDF, so a
sender of 6,000 letters grew past a gigabyte). ``render_pdf`` keeps one configuration per
thread and renders every letter with it: the same bytes, a third faster, in flat memory. A
letter whose HTML declares its own fonts (``@font-face``) gets a configuration of its own, so
that no letter's fonts are seen by the letters rendered after it. Every configuration holds the
fonts shipped with labelwf (``pdf_fonts``), registered once when it is made.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

from .pdf_fonts import letters_fetcher, register_fonts

_FONTS = threading.local()  # this thread's WeasyPrint FontConfiguration, made on first use


def _weasyprint() -> Any:
    """Import WeasyPrint. Without HarfBuzz's subsetter it warns (DeprecationWarning) that a future
    version will need it, and works: a note for whoever installs it, not an error here. On a system
    without fonts it warns that the output will be ugly: not so for letters, which bring theirs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="No fonts configured", category=UserWarning)
        import weasyprint
    return weasyprint


def _font_configuration(html: str) -> Any:
    """The fonts to render ``html`` with: this thread's shared configuration, or a new one for a letter
    with its own; either holds the shipped fonts."""
    from weasyprint.text.fonts import FontConfiguration

    weasyprint = _weasyprint()
    fetcher = _data_only(weasyprint)
    if "@font-face" in html.lower():
        own = FontConfiguration()
        register_fonts(weasyprint, own, fetcher)
        return own
    shared = getattr(_FONTS, "configuration", None)
    if shared is None:
        shared = FontConfiguration()
        register_fonts(weasyprint, shared, fetcher)
        _FONTS.configuration = shared
    return shared


def render_pdf(html: str) -> bytes:
    """The PDF of a letter's HTML (A4, the letter's own print stylesheet), with WeasyPrint.

    It fetches nothing: every URL but ``data:`` (images and fonts inlined in the template) and
    the fonts shipped with labelwf (``labelwf-font:``) is refused, so a template's
    ``<img src=http://…>``, ``@import`` or ``<link href=file:///…>`` neither reaches the network
    nor embeds a local file; WeasyPrint leaves the resource out.
    """
    weasyprint = _weasyprint()
    document = weasyprint.HTML(string=html, url_fetcher=_data_only(weasyprint))
    pdf: bytes = document.write_pdf(font_config=_font_configuration(html))
    return pdf


def _data_only(weasyprint: Any) -> Any:
    """This thread's URL fetcher of letters (``pdf_fonts.letters_fetcher``: ``data:`` URLs and the
    shipped fonts, every other URL refused), made once."""
    fetcher = getattr(_FONTS, "fetcher", None)
    if fetcher is None:
        fetcher = _FONTS.fetcher = letters_fetcher(weasyprint)
    return fetcher


def pdf_unavailable() -> str | None:
    """Why PDFs cannot be made here (WeasyPrint or its system libraries missing), or None."""
    try:
        _weasyprint()
    except (ImportError, OSError) as exc:
        return f"PDF skipped: WeasyPrint cannot load ({str(exc).splitlines()[0]}); install pango (see README)"
    return None
