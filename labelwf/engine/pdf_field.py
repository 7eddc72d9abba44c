"""Where a letter's layout leaves the box of its visible signature, found while its PDF is made.

The shared layout draws an empty box (``id="signature-field"``) under the signatory's name and
title; its place on the page depends on the letter's length. ``render_with_field`` lays the
letter out once with WeasyPrint, finds that box in the laid-out pages, and writes the PDF from
the same layout: the signature is then placed exactly in the box, on its page.
"""

from __future__ import annotations

from .pdf import _data_only, _font_configuration, _weasyprint

FIELD_ID = "signature-field"
POINTS_PER_PX = 0.75  # WeasyPrint lays out in CSS pixels (96 per inch); PDF coordinates are points (72)

Field = tuple[int, tuple[int, int, int, int]]  # the page (0 the first) and the box (left, bottom, right, top), points


def render_with_field(html: str, field_id: str = FIELD_ID) -> tuple[bytes, Field | None]:
    """The PDF of ``html`` and where the element ``field_id`` lies in it (its last occurrence), or None."""
    weasyprint = _weasyprint()
    document = weasyprint.HTML(string=html, url_fetcher=_data_only(weasyprint)).render(
        font_config=_font_configuration(html)
    )
    found: Field | None = None
    for number, page in enumerate(document.pages):
        for box in page._page_box.descendants():  # WeasyPrint gives its laid-out boxes no public API
            element = getattr(box, "element", None)
            if element is not None and element.get("id") == field_id:
                x, y = box.border_box_x(), box.border_box_y()
                width, height = box.border_width(), box.border_height()
                bottom = page.height - y - height
                points = (x, bottom, x + width, bottom + height)
                left, low, right, top = (round(value * POINTS_PER_PX) for value in points)
                found = (number, (left, low, right, top))
    pdf: bytes = document.write_pdf()
    return pdf, found
