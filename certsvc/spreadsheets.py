"""Writing CSV and XLSX files that a spreadsheet opens safely: one rule for every export.

A spreadsheet runs a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(and Excel also one that starts with a tab or carriage return before those): a holder name,
a work type, an occupation name or an audit detail typed as ``=HYPERLINK(…)`` or
``-1+cmd|…`` would run on the HR clerk's computer ("CSV injection"). Every CSV and XLSX that
certsvc writes — the batch list, the audit log, the statistics, the templates — goes through
:func:`safe_cell`, which puts an apostrophe before such text (the OWASP advice: spreadsheets
show the text, not a result). Numbers stay numbers.

An XLSX cell cannot hold most C0 control characters at all (openpyxl refuses them, and the
export would fail): they are written as U+FFFD. Entry points refuse them
(:mod:`certsvc.domain.text`); this keeps an export working for text stored before that.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import IO, Any

__all__ = ["FORMULA_STARTS", "SafeCsvWriter", "safe_cell", "xlsx_append"]

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_cell(value: object) -> object:
    """``value`` as it may go into a spreadsheet cell.

    ``"=1+1"`` -> ``"'=1+1"``; ``"-5"`` -> ``"'-5"``; ``-5`` -> ``-5``; ``None`` -> ``""``.
    """
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeCsvWriter:
    """A ``csv.writer`` (CRLF line ends, as Excel expects) whose cells pass :func:`safe_cell`."""

    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(value) for value in row])


def xlsx_append(sheet: Any, row: Iterable[Any]) -> None:
    """Append ``row`` to an openpyxl worksheet, each cell through :func:`safe_cell` and with
    the characters XLSX cannot hold replaced by U+FFFD."""
    cells = []
    for value in row:
        cell = safe_cell(value)
        cells.append(_XML_ILLEGAL.sub("\ufffd", cell) if isinstance(cell, str) else cell)
    sheet.append(cells)
