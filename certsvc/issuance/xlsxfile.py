"""Reading an XLSX results file: the data sheet, cell types, formulas, damaged archives.

The workbook is read with openpyxl in read-only mode, after the ZIP archive itself has been
checked (not a workbook, too large unpacked), and turned into numbered records of
:class:`~certsvc.issuance.cells.Cell`. Any exception of openpyxl or zipfile becomes a
:class:`~certsvc.errors.BadFile` telling the person to save the file again.
"""

from __future__ import annotations

import datetime as dt
import io
import operator
import zipfile
from collections.abc import Iterator
from typing import Any

from certsvc.errors import BadFile
from certsvc.i18n import N_, Message
from certsvc.issuance.cells import (
    FORMULA_MESSAGE,
    MAX_COLUMNS,
    MAX_SHEET_ROWS,
    SAVE_AS,
    Cell,
    Record,
)
from certsvc.issuance.columns import DATA_SHEET_TITLE, normalise_label

# The sum of the uncompressed sizes in an .xlsx: a 10,000-row results sheet is about 10 MB;
# the cap bounds memory and parse time for forged files ("zip bombs", sheets that make
# openpyxl scan everything because they lack a <dimension>).
_XLSX_MAX_UNPACKED_MB = 64
# Parse time follows the unpacked size, so beyond a small floor the archive may unpack to
# at most this many times its own size: a results workbook packs 3 to 20 times (10,000 rows:
# 0.5 MB packed, 8 MB unpacked), while a forged one (a sheet of blank styled cells,
# millions of shared strings) packs hundreds of times and would cost far more per uploaded
# megabyte than a real file.
_XLSX_UNPACKED_FLOOR_MB = 1
_XLSX_MAX_PACKING_RATIO = 50


def xlsx_records(data: bytes, max_rows: int) -> Iterator[Record]:
    """Yield (row number, cells) for each row of the data sheet of an .xlsx workbook."""
    try:
        yield from _xlsx_records_unchecked(data, max_rows)
    except BadFile:
        raise
    except Exception as exc:  # openpyxl and zipfile raise many kinds; none may escape
        raise BadFile(
            N_(
                "the .xlsx file is damaged or not an Excel workbook: {detail}; open it in "
                "Excel, save it again as .xlsx and upload again"
            ),
            detail=f"{type(exc).__name__}: {_short(str(exc))}",
        ) from exc


def _xlsx_records_unchecked(data: bytes, max_rows: int) -> Iterator[Record]:
    # Imported here: openpyxl is slow to import and CSV uploads never need it.
    from openpyxl import load_workbook

    _check_zip(data, max_rows)
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        sheet = _pick_sheet(workbook)
        sheet.reset_dimensions()  # some writers record wrong dimensions; read what is there
        # Only the first MAX_COLUMNS columns: openpyxl otherwise widens every row to its last
        # cell, and a blank cell in column XFD makes 16,384 cells of a few bytes of file.
        blank: tuple[Any, ...] | None = None
        for row_number, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS), start=1):
            if row_number > MAX_SHEET_ROWS:
                raise BadFile(
                    N_(
                        "the .xlsx file is damaged: it has rows beyond Excel's last row; "
                        "open it in Excel, save it again and upload again"
                    )
                )
            # Rows absent from the file (a gap before a far row) come as one repeated blank
            # row: recognising it again costs nothing, so a gap of a million rows is cheap.
            if row is blank:
                yield row_number, []
                continue
            values = list(map(_VALUE, row))
            end = len(values)
            if values.count(None) == end:
                blank = row
                yield row_number, []  # blank; the caller skips it
                continue
            while values[end - 1] is None:  # empty cells on the right are no cells at all
                end -= 1
            yield row_number, [_xlsx_cell(cell) for cell in row[:end]]
    finally:
        workbook.close()


_VALUE = operator.attrgetter("value")


def _check_zip(data: bytes, max_rows: int) -> None:
    """Refuse ZIP archives that are not workbooks, and ones that unpack to too much."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        if "mimetype" in names and b"opendocument" in archive.read("mimetype"):
            raise BadFile(
                N_("OpenDocument spreadsheets (.ods) are not supported: {advice}"), advice=SAVE_AS
            )
        if "xl/workbook.bin" in names:
            raise BadFile(
                N_("binary workbooks (.xlsb) are not supported: {advice}"), advice=SAVE_AS
            )
        if not any(name.startswith("xl/") for name in names):
            raise BadFile(N_("the ZIP archive is not an Excel workbook: {advice}"), advice=SAVE_AS)
        unpacked = sum(info.file_size for info in infos)
        if unpacked > _XLSX_MAX_UNPACKED_MB * 1024 * 1024:
            raise BadFile(
                N_(
                    "the .xlsx file is too large (more than {megabytes} MB unpacked): "
                    "keep only the results sheet, and split it into files of at most "
                    "{max_rows} rows"
                ),
                megabytes=_XLSX_MAX_UNPACKED_MB,
                max_rows=max_rows,
            )
        if (
            unpacked > _XLSX_UNPACKED_FLOOR_MB * 1024 * 1024
            and unpacked > _XLSX_MAX_PACKING_RATIO * len(data)
        ):
            raise BadFile(
                N_(
                    "the .xlsx file unpacks to {megabytes} MB, more than {ratio} times its "
                    "size: it holds far more empty or repeated cells than results. Copy only "
                    "the results into the template (paste values) and upload that"
                ),
                megabytes=unpacked // (1024 * 1024),
                ratio=_XLSX_MAX_PACKING_RATIO,
            )


def _pick_sheet(workbook: Any) -> Any:
    """The template's data sheet if present, else the first visible worksheet."""
    worksheets = list(workbook.worksheets)
    for sheet in worksheets:
        if normalise_label(sheet.title) == normalise_label(DATA_SHEET_TITLE):
            return sheet
    for sheet in worksheets:
        if getattr(sheet, "sheet_state", "visible") == "visible":
            return sheet
    if worksheets:
        return worksheets[0]
    raise BadFile(N_("the workbook has no worksheet: fill in the template and upload it again"))


def _xlsx_cell(cell: Any) -> Cell:
    """Turn one openpyxl read-only cell into text, noting formulas and error values."""
    value = getattr(cell, "value", None)
    data_type = getattr(cell, "data_type", None)
    if data_type == "f":  # with data_only=False; array formulas come as objects
        text = value if isinstance(value, str) else "=" + str(getattr(value, "text", ""))
        return Cell(text, FORMULA_MESSAGE)
    if data_type == "e":
        return Cell(
            str(value),
            Message(
                N_("the cell shows the error {value}: type or paste the actual value"),
                value=str(value),
            ),
        )
    if value is None:
        return Cell("")
    if isinstance(value, str):
        return Cell(value)
    if isinstance(value, bool):
        return Cell("TRUE" if value else "FALSE")
    if isinstance(value, int | float):
        return Cell(_number_text(value), is_number=True)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return Cell(value.date().isoformat())
        return Cell(value.isoformat(sep=" "))
    if isinstance(value, dt.date | dt.time):
        return Cell(value.isoformat())
    return Cell(str(value))


def _number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
