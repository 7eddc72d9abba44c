"""The fonts letters are printed in, shipped with labelwf: DejaVu Serif and Sans (``letters/fonts``).

A letter's layout names « DejaVu Serif » and « DejaVu Sans ». They ship inside the package (their
licence, Bitstream Vera's and public domain, allows it; ``letters/fonts/LICENSE``), so a PDF looks
the same on every machine, whether or not the system has them. Each renderer's font configuration
registers them once, through ``@font-face`` rules whose URLs (``labelwf-font:<file>``) only
``PackageFonts`` serves: the letters' URL fetcher answers those files, ``data:`` URLs, and
nothing else, so no letter reaches the network or another file of the disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

FONTS_DIR = Path(__file__).resolve().parent.parent / "letters" / "fonts"
SCHEME = "labelwf-font"
# file → (family, weight, style), as the layouts ask for them
FONT_FILES: Mapping[str, tuple[str, str, str]] = {
    "DejaVuSerif.ttf": ("DejaVu Serif", "normal", "normal"),
    "DejaVuSerif-Bold.ttf": ("DejaVu Serif", "bold", "normal"),
    "DejaVuSerif-Italic.ttf": ("DejaVu Serif", "normal", "italic"),
    "DejaVuSerif-BoldItalic.ttf": ("DejaVu Serif", "bold", "italic"),
    "DejaVuSans.ttf": ("DejaVu Sans", "normal", "normal"),
    "DejaVuSans-Bold.ttf": ("DejaVu Sans", "bold", "normal"),
    "DejaVuSans-Oblique.ttf": ("DejaVu Sans", "normal", "italic"),
}
FONT_FACES = "\n".join(
    f'@font-face {{ font-family: "{family}"; src: url({SCHEME}:{name}); font-weight: {weight}; font-style: {style}; }}'
    for name, (family, weight, style) in FONT_FILES.items()
)


@cache
def font_bytes(name: str) -> bytes:
    """The bytes of the shipped font ``name`` (read once per process)."""
    return (FONTS_DIR / name).read_bytes()


def package_font(url: str) -> bytes | None:
    """The shipped font a ``labelwf-font:<file>`` URL names, or None for any other URL."""
    scheme, _, name = url.partition(":")
    if scheme.lower() != SCHEME or name not in FONT_FILES:
        return None
    return font_bytes(name)


def letters_fetcher(weasyprint: Any) -> Any:
    """The URL fetcher of letters: the shipped fonts and ``data:`` URLs, every other URL refused."""
    if not hasattr(weasyprint, "URLFetcher"):  # pragma: no cover - WeasyPrint before 66
        return _legacy_fetcher(weasyprint)

    class PackageFonts(weasyprint.URLFetcher):  # type: ignore[misc]
        """Serves the shipped fonts and ``data:`` URLs; refuses the rest (``allowed_protocols``)."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            found = package_font(url)
            if found is not None:
                return weasyprint.urls.URLFetcherResponse(url, found, {"Content-Type": "font/ttf"})
            return super().fetch(url, headers)

    return PackageFonts(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


def _legacy_fetcher(weasyprint: Any) -> Any:  # pragma: no cover - WeasyPrint before 66
    def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        found = package_font(url)
        if found is not None:
            return {"string": found, "mime_type": "font/ttf", "redirected_url": url}
        if not url.startswith("data:"):
            raise ValueError(f"letters fetch nothing: {url!r} refused (only data: URLs and labelwf's fonts)")
        return weasyprint.default_url_fetcher(url, *args, **kwargs)

    return fetch


def register_fonts(weasyprint: Any, font_config: Any, fetcher: Any) -> None:
    """Add the shipped fonts to ``font_config`` (a WeasyPrint ``FontConfiguration``), once for its life."""
    weasyprint.CSS(string=FONT_FACES, font_config=font_config, url_fetcher=fetcher)
