"""Reading an uploaded results file (CSV or XLSX) into raw rows of text.

A certification body uploads the assessment results of a batch as a spreadsheet: one row
per person, with the columns in :data:`~certsvc.issuance.columns.COLUMNS`. This module
tells the format from the bytes, hands them to the CSV reader (:mod:`~certsvc.issuance.csvfile`)
or the XLSX reader (:mod:`~certsvc.issuance.xlsxfile`), and turns their records into
:class:`RawRow` objects holding stripped text, one per data row, after matching the header.
It knows about files — encodings, delimiters, headers, Excel cell types, formulas, size
limits — and nothing about the domain: check digits, levels, occupations and dates are
validated by the caller.

Problems with the file as a whole raise :class:`~certsvc.errors.BadFile`; problems in one
row are collected as :class:`~certsvc.errors.RowError` in :attr:`ParsedFile.errors` so a
person sees all of them at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from certsvc.errors import BadFile, RowError
from certsvc.i18n import N_, Message, plural
from certsvc.issuance.cells import FORMULA_MESSAGE, SAVE_AS, Cell, Record, sheet_row_limit
from certsvc.issuance.columns import (
    COLUMNS,
    COLUMNS_BY_KEY,
    EXAMPLE_ROW,
    MAX_CELL_CHARS,
    MAX_EVIDENCE_CHARS,
    MULTILINE_KEYS,
    Column,
    column_letter,
    normalise_label,
)
from certsvc.issuance.csvfile import csv_records, decode_csv
from certsvc.issuance.xlsxfile import xlsx_records

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_BINARY_SIGNATURES: tuple[tuple[bytes, Message], ...] = (
    (b"%PDF", Message(N_("a PDF document"))),
    (b"\x89PNG", Message(N_("a PNG image"))),
    (b"\xff\xd8\xff", Message(N_("a JPEG image"))),
    (b"GIF8", Message(N_("a GIF image"))),
    (b"\x1f\x8b", Message(N_("a gzip archive"))),
    (b"Rar!", Message(N_("a RAR archive"))),
    (b"7z\xbc\xaf", Message(N_("a 7-Zip archive"))),
    (b"{\\rtf", Message(N_("an RTF document"))),
)
# Columns whose values are identifiers: Excel rounds numbers to 15 significant digits.
_TEXT_ONLY_KEYS = frozenset({"id_number", "employer_uscc", "corrects"})


@dataclass(frozen=True)
class RawRow:
    """One data row of the file, as text.

    ``row`` is the row number a person sees in their spreadsheet (the header is usually
    row 1, so the first data row is 2). ``values`` has one entry for every key in
    :data:`COLUMNS`; an empty cell or an absent optional column gives ``""``.
    """

    row: int
    values: Mapping[str, str]


@dataclass(frozen=True)
class ParsedFile:
    """What was read from an uploaded results file.

    ``rows`` holds every non-blank data row, including rows that have entries in ``errors``
    (so the caller can check the rest of such a row and report everything at once); a batch
    with any error must not be issued.
    """

    rows: list[RawRow]
    errors: list[RowError]
    sha256: str
    format: str  # "csv" | "xlsx"
    encoding: str | None  # CSV only: "utf-8", "utf-8-sig" or "gb18030"


def read_results_file(data: bytes, filename: str, *, max_rows: int = 10_000) -> ParsedFile:
    """Read an uploaded results file into rows of stripped text.

    The format is decided by the content (an .xlsx is a ZIP archive; anything else is read
    as CSV in UTF-8 or GB18030); the filename only matters for a file named .xlsx that is
    not a ZIP archive, which is refused as damaged rather than read as text. Raises
    :class:`BadFile` for a problem with the whole file: an unreadable format or encoding, a
    wrong header, no data rows, or more than ``max_rows`` data rows.
    """
    digest = hashlib.sha256(data).hexdigest()
    kind = _sniff_format(data, filename)
    if kind == "xlsx":
        records = xlsx_records(data, max_rows)
        encoding = None
    else:
        text, encoding = decode_csv(data)
        records = csv_records(text)
    rows, errors = _read_records(records, max_rows=max_rows)
    return ParsedFile(rows=rows, errors=errors, sha256=digest, format=kind, encoding=encoding)


# --- format ------------------------------------------------------------------------------


def _sniff_format(data: bytes, filename: str) -> str:
    """Return "xlsx" or "csv" from the file's first bytes, or raise BadFile."""
    if not data.strip():
        raise BadFile(
            N_("the file has no data rows (it is empty): fill in the template and upload it")
        )
    if data.startswith(_OLE_SIGNATURE):
        # An encrypted .xlsx is also an OLE container; tell the two apart.
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise BadFile(
                N_(
                    "the workbook is protected with a password: remove the password "
                    "(文件→信息→保护工作簿) and upload it again"
                )
            )
        raise BadFile(N_("old .xls files are not supported: save as .xlsx or CSV UTF-8"))
    if data.startswith(_ZIP_SIGNATURES):
        return "xlsx"
    for signature, what in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise BadFile(
                N_("the file is {what}, not a results file: {advice}"), what=what, advice=SAVE_AS
            )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadFile(
            N_(
                "the file is saved as Unicode text (UTF-16), which is not supported: "
                "save it as “CSV UTF-8 (逗号分隔)” and upload again"
            )
        )
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise BadFile(
            N_(
                "the .xlsx file is damaged or not an Excel workbook: open it in Excel, "
                "save it again as .xlsx and upload again"
            )
        )
    if b"\x00" in data:
        raise BadFile(
            N_("the file is not a spreadsheet or a text file (it contains NUL bytes): {advice}"),
            advice=SAVE_AS,
        )
    return "csv"


# --- rows --------------------------------------------------------------------------------


# For each position in the header: the column key, or None for a column without a header.
_Layout = list[str | None]


def _read_records(
    records: Iterable[Record], *, max_rows: int
) -> tuple[list[RawRow], list[RowError]]:
    """Find the header, then turn the data records into RawRows and RowErrors."""
    layout: _Layout | None = None
    rows: list[RawRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, ...], int] = {}
    length_limit = sheet_row_limit(max_rows)
    for row_number, cells in records:
        if row_number > length_limit:
            raise BadFile(
                N_(
                    "the file reaches row {row}: a file of at most {max_rows} rows may be at "
                    "most {length_limit} rows long, blank rows included; delete the empty rows "
                    "below or between the data and upload again"
                ),
                row=f"{row_number:,}",
                max_rows=max_rows,
                length_limit=f"{length_limit:,}",
            )
        if all(not _clean(cell.text) for cell in cells):
            continue  # blank rows are skipped wherever they are
        if layout is None:
            layout = _read_header(cells, row_number)
            continue
        if len(rows) >= max_rows:
            raise BadFile(
                N_(
                    "the file has more than {max_rows} rows; split it into files of at most "
                    "{max_rows} rows"
                ),
                max_rows=max_rows,
            )
        row, row_errors = _read_row(row_number, cells, layout)
        key = tuple(row.values[c.key] for c in COLUMNS)
        if key in seen:
            row_errors.append(
                RowError.of(
                    row_number,
                    "",
                    N_("same as row {first}: delete one of the two"),
                    first=seen[key],
                )
            )
        else:
            seen[key] = row_number
        if _is_example(row.values):
            row_errors.append(
                RowError.of(
                    row_number,
                    "",
                    N_(
                        "this is the template's example row ({name}): delete it and enter "
                        "real results"
                    ),
                    name=EXAMPLE_ROW["name"],
                )
            )
        rows.append(row)
        errors.extend(row_errors)
    if not rows:
        raise BadFile(
            N_(
                "the file has no data rows: fill in one row per person under the header "
                "and upload it again"
            )
        )
    return rows, errors


def _read_row(row_number: int, cells: list[Cell], layout: _Layout) -> tuple[RawRow, list[RowError]]:
    values = dict.fromkeys(COLUMNS_BY_KEY, "")
    errors: list[RowError] = []
    for position, cell in enumerate(cells):
        key = layout[position] if position < len(layout) else None
        text = _clean(cell.text)
        if key is None:
            if text:
                errors.append(
                    RowError.of(
                        row_number,
                        "",
                        N_(
                            "column {letter} has a value but no header: move the value into "
                            "the right column or delete it"
                        ),
                        letter=column_letter(position),
                    )
                )
            continue
        values[key] = text
        label = _label(key)
        if cell.problem is not None:
            errors.append(
                RowError.of(
                    row_number, key, N_("{column}: {problem}"), column=label, problem=cell.problem
                )
            )
        elif cell.is_number and key in _TEXT_ONLY_KEYS:
            errors.append(
                RowError.of(
                    row_number,
                    key,
                    N_(
                        "{column}: the cell holds a number, and Excel keeps only 15 digits of "
                        "a number: format the column as text (设置单元格格式→文本) and type "
                        "the value again"
                    ),
                    column=label,
                )
            )
        elif text.startswith("="):
            errors.append(
                RowError.of(
                    row_number,
                    key,
                    N_("{column}: {problem}"),
                    column=label,
                    problem=FORMULA_MESSAGE,
                )
            )
        errors.extend(_length_problems(row_number, key, text))
        # Control characters are not this module's business: validate_rows refuses them.
        if key in MULTILINE_KEYS:
            values[key] = text.replace("\r\n", "\n").replace("\r", "\n")
    return RawRow(row=row_number, values=MappingProxyType(values)), errors


def _length_problems(row_number: int, key: str, text: str) -> list[RowError]:
    limit = MAX_EVIDENCE_CHARS if key == "direct_evidence" else MAX_CELL_CHARS
    if len(text) <= limit:
        return []
    return [
        RowError.of(
            row_number,
            key,
            N_(
                "{column}: the text is {length} characters long; at most {limit} are "
                "accepted: shorten it"
            ),
            column=_label(key),
            length=len(text),
            limit=limit,
        )
    ]


def _is_example(values: Mapping[str, str]) -> bool:
    return all(values[k] == EXAMPLE_ROW[k] for k in ("name", "id_number", "employer_uscc"))


def _clean(text: str) -> str:
    """Strip whitespace (including full-width spaces) and stray zero-width characters."""
    return text.strip().strip("\u200b\ufeff").strip()


def _label(key: str) -> Message:
    return COLUMNS_BY_KEY[key].label


# --- header ------------------------------------------------------------------------------


def _aliases(column: Column) -> Iterator[str]:
    yield column.key
    yield column.label_zh
    yield column.label_en
    yield column.label_zh + column.label_en
    yield column.label_en + column.label_zh


_HEADER_NAMES: Mapping[str, str] = MappingProxyType(
    {normalise_label(alias): c.key for c in COLUMNS for alias in _aliases(c)}
)


def _read_header(cells: Sequence[Cell], row_number: int) -> _Layout:
    """Map each header cell to a column key; raise BadFile listing every problem at once.

    An unknown header cell is named by its column letter only, never by its text: in a file
    without its header row, the "header" is a person's row — a name and an ID number — and
    an error message travels further than the file (screens, logs, e-mails to support).
    """
    layout: _Layout = []
    unknown: list[str] = []
    duplicates: list[str] = []  # “header” (B, E): the columns that repeat a header
    first_seen: dict[str, int] = {}
    for position, cell in enumerate(cells):
        text = _clean(cell.text)
        if not text:
            layout.append(None)
            continue
        key = _HEADER_NAMES.get(normalise_label(text))
        if key is None:
            unknown.append(column_letter(position))
            layout.append(None)
        elif key in first_seen:
            duplicates.append(
                f"“{COLUMNS_BY_KEY[key].header}” "
                f"({column_letter(first_seen[key])}, {column_letter(position)})"
            )
            layout.append(None)
        else:
            first_seen[key] = position
            layout.append(key)
    accepted = Message(
        N_("The accepted columns are: {required}; optional: {optional}."),
        required="; ".join(c.header for c in COLUMNS if c.required),
        optional="; ".join(c.header for c in COLUMNS if not c.required),
    )
    if not first_seen:
        # Not one header recognised: most likely the header row was deleted and this is data.
        raise BadFile(
            N_(
                "row {row} is not a header row: none of its cells names a column. The first "
                "non-blank row must be the header: insert the template's header row above "
                "the data and upload again. {accepted}"
            ),
            row=row_number,
            accepted=accepted,
        )
    missing = [c.header for c in COLUMNS if c.required and c.key not in first_seen]
    problems = _header_problems(unknown, duplicates, missing)
    if problems is not None:
        raise BadFile(
            N_(
                "the header in row {row} is not right: {problems} {accepted} Start from the "
                "template if in doubt."
            ),
            row=row_number,
            problems=problems,
            accepted=accepted,
        )
    return layout


def _header_problems(
    unknown: list[str], duplicates: list[str], missing: list[str]
) -> Message | None:
    """Each kind of problem as one sentence; several are chained with ``{first} {then}``."""
    problems: list[Message] = []
    if unknown:
        problems.append(
            plural(
                "column {columns} has a header that is not one of the accepted columns: "
                "rename the header to one of them, or delete the column.",
                "columns {columns} have a header that is not one of the accepted columns: "
                "rename the headers to accepted ones, or delete the columns.",
                len(unknown),
                columns=", ".join(unknown),
            )
        )
    if duplicates:
        problems.append(
            plural(
                "duplicate column {columns}: keep only one of each.",
                "duplicate columns {columns}: keep only one of each.",
                len(duplicates),
                columns=", ".join(duplicates),
            )
        )
    if missing:
        problems.append(
            plural(
                "required column missing: {columns}: add it.",
                "required columns missing: {columns}: add them.",
                len(missing),
                columns=", ".join(f"“{m}”" for m in missing),
            )
        )
    if not problems:
        return None
    chained = problems[0]
    for then in problems[1:]:
        chained = Message(N_("{first} {then}"), first=chained, then=then)
    return chained
