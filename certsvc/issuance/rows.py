"""Reading an uploaded results file (CSV or XLSX) into raw rows of text.

A certification body uploads the assessment results of a batch as a spreadsheet: one row
per person, with the columns in :data:`COLUMNS`. This module turns the uploaded bytes into
:class:`RawRow` objects holding stripped text, one per data row. It knows about files —
encodings, delimiters, headers, Excel cell types, formulas, size limits — and nothing about
the domain: check digits, levels, occupations and dates are validated by the caller.

Problems with the file as a whole raise :class:`~certsvc.errors.BadFile`; problems in one
row are collected as :class:`~certsvc.errors.RowError` in :attr:`ParsedFile.errors` so a
person sees all of them at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from certsvc.errors import BadFile, RowError
from certsvc.issuance.columns import MULTILINE_KEYS, max_chars


@dataclass(frozen=True)
class Column:
    """One column of a results file, as the template names and explains it."""

    key: str
    label_zh: str
    label_en: str
    required: bool
    hint_zh: str
    hint_en: str

    @property
    def header(self) -> str:
        """The header the template writes, e.g. ``"证件号码 ID number"``."""
        return f"{self.label_zh} {self.label_en}"


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", "Name", True, "与证件一致的姓名", "Full name as on the ID document"),
    Column(
        "id_type",
        "证件类型",
        "ID type",
        True,
        "如：居民身份证",
        "Type of ID document, e.g. resident identity card",
    ),
    Column(
        "id_number",
        "证件号码",
        "ID number",
        True,
        "居民身份证18位，末位可为X；请设置为文本格式",
        "18 characters for a resident ID card, the last may be X; format the cells as text",
    ),
    Column(
        "employer_uscc",
        "工作单位统一社会信用代码",
        "Employer credit code",
        True,
        "工作单位的18位统一社会信用代码",
        "The employer's 18-character unified social credit code",
    ),
    Column(
        "employer_name",
        "工作单位名称",
        "Employer name",
        False,
        "选填，与营业执照一致",
        "Optional; as on the business licence",
    ),
    Column(
        "occupation_code",
        "职业编码",
        "Occupation code",
        True,
        "国家职业分类大典编码，如 6-18-01-01",
        "Code in the national occupation classification, e.g. 6-18-01-01",
    ),
    Column(
        "work_type",
        "工种/职业方向",
        "Work type",
        False,
        "选填，工种或职业方向",
        "Optional; work type or specialty within the occupation",
    ),
    Column(
        "level",
        "等级",
        "Level",
        True,
        "技能等级，如：中级工",
        "Skill level, e.g. 中级工 (level 4)",
    ),
    Column(
        "issue_date",
        "发证日期",
        "Issue date",
        False,
        "选填，格式 YYYY-MM-DD",
        "Optional; YYYY-MM-DD",
    ),
    Column(
        "route",
        "认定方式",
        "Route",
        False,
        "选填，留空为正常认定",
        "Optional; empty means regular assessment",
    ),
    Column(
        "direct_ground",
        "直接认定依据",
        "Direct-certification ground",
        False,
        "直接认定时必填，从下拉列表选择",
        "Required for direct certification; choose from the list",
    ),
    Column(
        "direct_evidence",
        "直接认定事实",
        "Evidence",
        False,
        "直接认定时填写具体事实，将在查验页面显示",
        "Facts behind a direct certification; shown when the certificate is verified",
    ),
    Column(
        "corrects",
        "更正原证书编号",
        "Corrects certificate",
        False,
        "仅更正已发证书时填写原证书编号",
        "Only when correcting an issued certificate: its number",
    ),
)

COLUMNS_BY_KEY: Mapping[str, Column] = MappingProxyType({c.key: c for c in COLUMNS})

#: The example row the CSV template ships with. A file that still contains it is refused
#: row-wise, so the example person is never issued a certificate by mistake.
EXAMPLE_ROW: Mapping[str, str] = MappingProxyType(
    {
        "name": "张三",
        "id_type": "居民身份证",
        "id_number": "11010519491231002X",  # the GB 11643 example number
        "employer_uscc": "91350100M000100Y43",  # the GB 32100 example code
        "employer_name": "示例科技有限公司",
        "occupation_code": "6-18-01-01",
        "work_type": "车工",
        "level": "中级工",
        "issue_date": "2024-06-30",
        "route": "",
        "direct_ground": "",
        "direct_evidence": "",
        "corrects": "",
    }
)

#: The name of the data sheet in the XLSX template; a workbook having it is read from it.
DATA_SHEET_TITLE = "证书数据 Results"

#: Longest text accepted in one cell; the evidence text of a direct certification may be longer.
MAX_CELL_CHARS = 500
MAX_EVIDENCE_CHARS = max_chars("direct_evidence")

# Excel's own sheet limit: a row number beyond it means a forged or broken file.
_EXCEL_MAX_ROWS = 1_048_576
# The sum of the uncompressed sizes in an .xlsx: a 10,000-row results sheet is about 10 MB;
# the cap bounds memory and parse time for forged files ("zip bombs", sheets that make
# openpyxl scan everything because they lack a <dimension>).
_XLSX_MAX_UNPACKED_MB = 64

_FORMULA_MESSAGE = "formula cells are not accepted: paste values only (选择性粘贴→数值)"
_SAVE_AS = "save it as .xlsx or as “CSV UTF-8 (逗号分隔)” and upload again"

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"{\\rtf", "an RTF document"),
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


@dataclass(frozen=True)
class _Cell:
    """One cell as read from the file, before the header says which column it is in."""

    text: str
    problem: str | None = None  # found while converting the cell, e.g. a formula
    is_number: bool = False  # a numeric spreadsheet cell: wrong for identifiers


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
        records = _xlsx_records(data, max_rows)
        encoding = None
    else:
        text, encoding = _decode_csv(data)
        records = _csv_records(text)
    rows, errors = _read_records(records, max_rows=max_rows)
    return ParsedFile(rows=rows, errors=errors, sha256=digest, format=kind, encoding=encoding)


# --- format ------------------------------------------------------------------------------


def _sniff_format(data: bytes, filename: str) -> str:
    """Return "xlsx" or "csv" from the file's first bytes, or raise BadFile."""
    if not data.strip():
        raise BadFile("the file has no data rows (it is empty): fill in the template and upload it")
    if data.startswith(_OLE_SIGNATURE):
        # An encrypted .xlsx is also an OLE container; tell the two apart.
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise BadFile(
                "the workbook is protected with a password: remove the password "
                "(文件→信息→保护工作簿) and upload it again"
            )
        raise BadFile("old .xls files are not supported: save as .xlsx or CSV UTF-8")
    if data.startswith(_ZIP_SIGNATURES):
        return "xlsx"
    for signature, what in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise BadFile(f"the file is {what}, not a results file: {_SAVE_AS}")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadFile(
            "the file is saved as Unicode text (UTF-16), which is not supported: "
            "save it as “CSV UTF-8 (逗号分隔)” and upload again"
        )
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise BadFile(
            "the .xlsx file is damaged or not an Excel workbook: open it in Excel, "
            "save it again as .xlsx and upload again"
        )
    if b"\x00" in data:
        raise BadFile(
            f"the file is not a spreadsheet or a text file (it contains NUL bytes): {_SAVE_AS}"
        )
    return "csv"


# --- CSV ---------------------------------------------------------------------------------


def _decode_csv(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes as UTF-8 (with or without BOM) or GB18030, or raise BadFile."""
    encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as utf8_error:
        if encoding == "utf-8-sig" or _mostly_utf8(data):
            # UTF-8 with a stray byte: GB18030 would "succeed" and turn every name into
            # other, wrong characters, so refuse instead of guessing.
            raise _undecodable(data, utf8_error, "UTF-8 text with an invalid byte") from None
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            raise _undecodable(data, utf8_error, "neither UTF-8 nor GB18030 text") from None


def _mostly_utf8(data: bytes) -> bool:
    """True when valid non-ASCII UTF-8 characters outnumber the invalid bytes."""
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    valid = sum(1 for ch in text if ch > "\x7f") - invalid
    return valid > invalid


def _undecodable(data: bytes, error: UnicodeDecodeError, what: str) -> BadFile:
    offset = error.start
    line = data.count(b"\n", 0, offset) + 1
    return BadFile(
        f"the file is {what} (unreadable byte at offset {offset}, line {line}): "
        "open it in Excel and save it as “CSV UTF-8 (逗号分隔)”, or as .xlsx"
    )


def _csv_records(text: str) -> Iterator[tuple[int, list[_Cell]]]:
    """Yield (row number, cells) for each CSV record, blank ones included."""
    text = _strip_sep_line(text)
    # strict: a quote left open would otherwise swallow the rest of the file into one cell.
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_detect_delimiter(text), strict=True
    )
    row_number = 0
    try:
        for record in reader:
            row_number += 1
            yield row_number, [_Cell(value) for value in record]
    except csv.Error as exc:
        raise BadFile(
            f"the CSV file cannot be read near row {row_number + 1}: {exc}; "
            f"check the quotes in that row, or {_SAVE_AS}"
        ) from None


def _strip_sep_line(text: str) -> str:
    """Drop Excel's optional first line ``sep=;``: Excel hides it, so rows keep their numbers."""
    match = re.match(r"sep=[,;\t][ \t]*(\r\n|\n|\r)", text)
    return text if match is None else text[match.end() :]


def _detect_delimiter(text: str) -> str:
    """Pick comma, tab or semicolon: whichever occurs most in the first non-blank line."""
    for line in text.splitlines():
        if line.strip(" \t,;"):
            counts = {d: _count_unquoted(line, d) for d in (",", "\t", ";")}
            best = max(counts, key=lambda d: counts[d])
            return best if counts[best] > 0 else ","
    return ","


def _count_unquoted(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


# --- XLSX --------------------------------------------------------------------------------


def _xlsx_records(data: bytes, max_rows: int) -> Iterator[tuple[int, list[_Cell]]]:
    """Yield (row number, cells) for each row of the data sheet of an .xlsx workbook."""
    try:
        yield from _xlsx_records_unchecked(data, max_rows)
    except BadFile:
        raise
    except Exception as exc:  # openpyxl and zipfile raise many kinds; none may escape
        raise BadFile(
            "the .xlsx file is damaged or not an Excel workbook: "
            f"{type(exc).__name__}: {_short(str(exc))}; open it in Excel, save it again "
            "as .xlsx and upload again"
        ) from exc


def _xlsx_records_unchecked(data: bytes, max_rows: int) -> Iterator[tuple[int, list[_Cell]]]:
    # Imported here: openpyxl is slow to import and CSV uploads never need it.
    from openpyxl import load_workbook

    _check_zip(data, max_rows)
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        sheet = _pick_sheet(workbook)
        sheet.reset_dimensions()  # some writers record wrong dimensions; read what is there
        for row_number, row in enumerate(sheet.iter_rows(), start=1):
            if row_number > _EXCEL_MAX_ROWS:
                raise BadFile(
                    "the .xlsx file is damaged: it has rows beyond Excel's last row; "
                    "open it in Excel, save it again and upload again"
                )
            yield row_number, [_xlsx_cell(cell) for cell in row]
    finally:
        workbook.close()


def _check_zip(data: bytes, max_rows: int) -> None:
    """Refuse ZIP archives that are not workbooks, and ones that unpack to too much."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        if "mimetype" in names and b"opendocument" in archive.read("mimetype"):
            raise BadFile(f"OpenDocument spreadsheets (.ods) are not supported: {_SAVE_AS}")
        if "xl/workbook.bin" in names:
            raise BadFile(f"binary workbooks (.xlsb) are not supported: {_SAVE_AS}")
        if not any(name.startswith("xl/") for name in names):
            raise BadFile(f"the ZIP archive is not an Excel workbook: {_SAVE_AS}")
        if sum(info.file_size for info in infos) > _XLSX_MAX_UNPACKED_MB * 1024 * 1024:
            raise BadFile(
                f"the .xlsx file is too large (more than {_XLSX_MAX_UNPACKED_MB} MB unpacked): "
                "keep only the results sheet, and split it into files of at most "
                f"{max_rows} rows"
            )


def _pick_sheet(workbook: Any) -> Any:
    """The template's data sheet if present, else the first visible worksheet."""
    worksheets = list(workbook.worksheets)
    for sheet in worksheets:
        if _normalise(sheet.title) == _normalise(DATA_SHEET_TITLE):
            return sheet
    for sheet in worksheets:
        if getattr(sheet, "sheet_state", "visible") == "visible":
            return sheet
    if worksheets:
        return worksheets[0]
    raise BadFile("the workbook has no worksheet: fill in the template and upload it again")


def _xlsx_cell(cell: Any) -> _Cell:
    """Turn one openpyxl read-only cell into text, noting formulas and error values."""
    value = getattr(cell, "value", None)
    data_type = getattr(cell, "data_type", None)
    if data_type == "f":  # with data_only=False; array formulas come as objects
        text = value if isinstance(value, str) else "=" + str(getattr(value, "text", ""))
        return _Cell(text, _FORMULA_MESSAGE)
    if data_type == "e":
        return _Cell(
            str(value), f"the cell shows the error {value}: type or paste the actual value"
        )
    if value is None:
        return _Cell("")
    if isinstance(value, str):
        return _Cell(value)
    if isinstance(value, bool):
        return _Cell("TRUE" if value else "FALSE")
    if isinstance(value, int | float):
        return _Cell(_number_text(value), is_number=True)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return _Cell(value.date().isoformat())
        return _Cell(value.isoformat(sep=" "))
    if isinstance(value, dt.date | dt.time):
        return _Cell(value.isoformat())
    return _Cell(str(value))


def _number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


# --- rows --------------------------------------------------------------------------------


# For each position in the header: the column key, or None for a column without a header.
_Layout = list[str | None]


def _read_records(
    records: Iterable[tuple[int, list[_Cell]]], *, max_rows: int
) -> tuple[list[RawRow], list[RowError]]:
    """Find the header, then turn the data records into RawRows and RowErrors."""
    layout: _Layout | None = None
    rows: list[RawRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, ...], int] = {}
    for row_number, cells in records:
        if all(not _clean(cell.text) for cell in cells):
            continue  # blank rows are skipped wherever they are
        if layout is None:
            layout = _read_header(cells, row_number)
            continue
        if len(rows) >= max_rows:
            raise BadFile(
                f"the file has more than {max_rows} rows; "
                f"split it into files of at most {max_rows} rows"
            )
        row, row_errors = _read_row(row_number, cells, layout)
        key = tuple(row.values[c.key] for c in COLUMNS)
        if key in seen:
            row_errors.append(
                RowError(row_number, "", f"same as row {seen[key]}: delete one of the two")
            )
        else:
            seen[key] = row_number
        if _is_example(row.values):
            row_errors.append(
                RowError(
                    row_number,
                    "",
                    f"this is the template's example row ({EXAMPLE_ROW['name']}): "
                    "delete it and enter real results",
                )
            )
        rows.append(row)
        errors.extend(row_errors)
    if not rows:
        raise BadFile(
            "the file has no data rows: fill in one row per person under the header "
            "and upload it again"
        )
    return rows, errors


def _read_row(
    row_number: int, cells: list[_Cell], layout: _Layout
) -> tuple[RawRow, list[RowError]]:
    values = dict.fromkeys(COLUMNS_BY_KEY, "")
    errors: list[RowError] = []
    for position, cell in enumerate(cells):
        key = layout[position] if position < len(layout) else None
        text = _clean(cell.text)
        if key is None:
            if text:
                errors.append(
                    RowError(
                        row_number,
                        "",
                        f"column {_column_letter(position)} has a value but no header: "
                        "move the value into the right column or delete it",
                    )
                )
            continue
        values[key] = text
        label = _label(key)
        if cell.problem is not None:
            errors.append(RowError(row_number, key, f"{label}: {cell.problem}"))
        elif cell.is_number and key in _TEXT_ONLY_KEYS:
            errors.append(
                RowError(
                    row_number,
                    key,
                    f"{label}: the cell holds a number, and Excel keeps only 15 digits of a "
                    "number: format the column as text (设置单元格格式→文本) and type the "
                    "value again",
                )
            )
        elif text.startswith("="):
            errors.append(RowError(row_number, key, f"{label}: {_FORMULA_MESSAGE}"))
        errors.extend(_length_problems(row_number, key, text))
        # Control characters are not this module's business: validate_rows refuses them.
        if key in MULTILINE_KEYS:
            values[key] = text.replace("\r\n", "\n").replace("\r", "\n")
    return RawRow(row=row_number, values=MappingProxyType(values)), errors


def _length_problems(row_number: int, key: str, text: str) -> list[RowError]:
    limit = MAX_EVIDENCE_CHARS if key == "direct_evidence" else MAX_CELL_CHARS
    if len(text) <= limit:
        return []
    message = f"the text is {len(text)} characters long; at most {limit} are accepted: shorten it"
    return [RowError(row_number, key, f"{_label(key)}: {message}")]


def _is_example(values: Mapping[str, str]) -> bool:
    return all(values[k] == EXAMPLE_ROW[k] for k in ("name", "id_number", "employer_uscc"))


def _clean(text: str) -> str:
    """Strip whitespace (including full-width spaces) and stray zero-width characters."""
    return text.strip().strip("\u200b\ufeff").strip()


def _label(key: str) -> str:
    return COLUMNS_BY_KEY[key].header


def _column_letter(position: int) -> str:
    """Spreadsheet column letters for a 0-based position: 0 -> A, 26 -> AA."""
    letters = ""
    number = position + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- header ------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    """Fold a header for matching: width, case, spaces, "/", BOM, "*" and "(notes)" ignored."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[(\[【][^)\]】]*[)\]】]", "", text)
    # "/" too: "姓名/Name" and "工种 职业方向" are how people retype a header.
    return re.sub(r"[\s*_\-/\u200b\ufeff]", "", text)


def _aliases(column: Column) -> Iterator[str]:
    yield column.key
    yield column.label_zh
    yield column.label_en
    yield column.label_zh + column.label_en
    yield column.label_en + column.label_zh


_HEADER_NAMES: Mapping[str, str] = MappingProxyType(
    {_normalise(alias): c.key for c in COLUMNS for alias in _aliases(c)}
)


def _read_header(cells: Sequence[_Cell], row_number: int) -> _Layout:
    """Map each header cell to a column key; raise BadFile listing every problem at once.

    An unknown header cell is named by its column letter only, never by its text: in a file
    without its header row, the "header" is a person's row — a name and an ID number — and
    an error message travels further than the file (screens, logs, e-mails to support).
    """
    layout: _Layout = []
    unknown: list[str] = []
    duplicates: list[str] = []
    first_seen: dict[str, int] = {}
    for position, cell in enumerate(cells):
        text = _clean(cell.text)
        if not text:
            layout.append(None)
            continue
        key = _HEADER_NAMES.get(_normalise(text))
        if key is None:
            unknown.append(_column_letter(position))
            layout.append(None)
        elif key in first_seen:
            duplicates.append(
                f"“{COLUMNS_BY_KEY[key].header}” (columns "
                f"{_column_letter(first_seen[key])} and {_column_letter(position)})"
            )
            layout.append(None)
        else:
            first_seen[key] = position
            layout.append(key)
    accepted = "; ".join(c.header + ("" if c.required else " (optional)") for c in COLUMNS)
    if not first_seen:
        # Not one header recognised: most likely the header row was deleted and this is data.
        raise BadFile(
            f"row {row_number} is not a header row: none of its cells names a column. "
            "The first non-blank row must be the header: insert the template's header row "
            f"above the data and upload again. The accepted columns are: {accepted}."
        )
    missing = [c.header for c in COLUMNS if c.required and c.key not in first_seen]
    problems = _header_problems(unknown, duplicates, missing)
    if problems:
        raise BadFile(
            f"the header in row {row_number} is not right: {' '.join(problems)} "
            f"The accepted columns are: {accepted}. Start from the template if in doubt."
        )
    return layout


def _header_problems(unknown: list[str], duplicates: list[str], missing: list[str]) -> list[str]:
    problems: list[str] = []
    if unknown:
        problems.append(
            f"column(s) {', '.join(unknown)} have a header that is not one of the accepted "
            "columns: rename the header to one of them, or delete the column."
        )
    if duplicates:
        problems.append(f"duplicate column(s) {', '.join(duplicates)}: keep only one of each.")
    if missing:
        quoted = ", ".join(f"“{m}”" for m in missing)
        problems.append(f"required column(s) missing: {quoted}: add them.")
    return problems
