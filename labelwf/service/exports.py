"""A list as French Excel opens it: CSV in UTF-8 with a BOM and ``;`` separators, or XLSX (openpyxl).

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is neutralised
with a leading apostrophe: a spreadsheet would read it as a formula (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Font

Cell = str | date | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutral(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def as_csv(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """The rows as CSV: BOM, ``;``, dates as JJ/MM/AAAA."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutral(h) for h in headers])
    for row in rows:
        writer.writerow(
            ["" if c is None else c.strftime("%d/%m/%Y") if isinstance(c, date) else neutral(c) for c in row]
        )
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def as_xlsx(title: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """The rows as one XLSX sheet: a bold header row, dates as dates, columns as wide as their text."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = title[:31]
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(h) for h in headers]
    for row in rows:
        sheet.append([neutral(c) if isinstance(c, str) else c for c in row])
        for i, c in enumerate(row):
            widths[i] = max(widths[i], 10 if isinstance(c, date) else len(c or ""))
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, date):
                cell.number_format = "DD/MM/YYYY"
    for i, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + i)].width = min(60, width + 2)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
