"""One cell as a file reader hands it on, and the advice every reader gives.

The CSV reader (:mod:`certsvc.issuance.csvfile`) and the XLSX reader
(:mod:`certsvc.issuance.xlsxfile`) both turn a file into numbered records of :class:`Cell`;
:mod:`certsvc.issuance.rows` then reads the header and the rows from those records.
"""

from __future__ import annotations

from dataclasses import dataclass

from certsvc.i18n import N_, Message

FORMULA_MESSAGE = Message(N_("formula cells are not accepted: paste values only (选择性粘贴→数值)"))
#: The advice closing many messages about a file that cannot be read (its ``{advice}``).
SAVE_AS = Message(N_("save it as .xlsx or as “CSV UTF-8 (逗号分隔)” and upload again"))

#: The columns a reader hands on: the template's 13, with room for extra columns a person
#: added (their headers are reported as unknown). A spreadsheet row can reach column XFD
#: (16,384 cells) from a few bytes of file, so nothing beyond this column is read.
MAX_COLUMNS = 64
#: Excel's own sheet limit: a row number beyond it means a forged or broken file.
MAX_SHEET_ROWS = 1_048_576
#: How long a sheet may be, blank rows included, per data row it may hold: every row costs
#: time to look at, and a few bytes of XLSX can make a million blank rows (one cell in the
#: last row), so the length a file may have follows the rows it may carry.
SHEET_ROWS_PER_DATA_ROW = 10


def sheet_row_limit(max_rows: int) -> int:
    """How many rows, blank ones included, a file carrying ``max_rows`` data rows may have."""
    return min(MAX_SHEET_ROWS, SHEET_ROWS_PER_DATA_ROW * max_rows + 100)


#: Numbered records of cells: (row number as a spreadsheet shows it, the cells of that row).
Record = tuple[int, list["Cell"]]


@dataclass(frozen=True)
class Cell:
    """One cell as read from the file, before the header says which column it is in."""

    text: str
    problem: Message | None = None  # found while converting the cell, e.g. a formula
    is_number: bool = False  # a numeric spreadsheet cell: wrong for identifiers
