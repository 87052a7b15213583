"""One cell as a file reader hands it on, and the advice every reader gives.

The CSV reader (:mod:`certsvc.issuance.csvfile`) and the XLSX reader
(:mod:`certsvc.issuance.xlsxfile`) both turn a file into numbered records of :class:`Cell`;
:mod:`certsvc.issuance.rows` then reads the header and the rows from those records.
"""

from __future__ import annotations

from dataclasses import dataclass

FORMULA_MESSAGE = "formula cells are not accepted: paste values only (选择性粘贴→数值)"
SAVE_AS = "save it as .xlsx or as “CSV UTF-8 (逗号分隔)” and upload again"

#: Numbered records of cells: (row number as a spreadsheet shows it, the cells of that row).
Record = tuple[int, list["Cell"]]


@dataclass(frozen=True)
class Cell:
    """One cell as read from the file, before the header says which column it is in."""

    text: str
    problem: str | None = None  # found while converting the cell, e.g. a formula
    is_number: bool = False  # a numeric spreadsheet cell: wrong for identifiers
