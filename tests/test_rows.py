"""Reading uploaded results files (CSV and XLSX) into raw rows: certsvc.issuance.rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import re
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certsvc.errors import BadFile, RowError
from certsvc.issuance.columns import (
    COLUMNS,
    COLUMNS_BY_KEY,
    DATA_SHEET_TITLE,
    EXAMPLE_ROW,
    MULTILINE_KEYS,
    max_chars,
)
from certsvc.issuance.rows import ParsedFile, read_results_file
from certsvc.models import Certificate
from certsvc.models.base import TextLimit, text_limit
from tests.conftest import HEADERS, as_row, csv_bytes

ASSETS = Path(__file__).parent / "assets" / "files"

REQUIRED = [c.key for c in COLUMNS if c.required]

# A plausible person; the reading layer does not check any of it.
PERSON: dict[str, str] = {
    "name": "王小明",
    "id_type": "居民身份证",
    "id_number": "11010519491231002X",
    "employer_uscc": "91350100M000100Y43",
    "employer_name": "福州示范机械有限公司",
    "occupation_code": "6-18-01-01",
    "work_type": "车工",
    "level": "四级/中级工",
    "issue_date": "2024-06-30",
    "route": "",
    "direct_ground": "",
    "direct_evidence": "",
    "corrects": "",
}


def person(**changes: str) -> dict[str, str]:
    return {**PERSON, **changes}


def xlsx_bytes(
    rows: Sequence[Sequence[Any]],
    header: Sequence[str] = HEADERS,
    *,
    title: str = "Sheet1",
    leading_blank_rows: int = 0,
) -> bytes:
    """An .xlsx workbook with typed cells (strings, numbers, dates, formulas)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for _ in range(leading_blank_rows):
        sheet.append([])
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read(data: bytes, filename: str = "results.csv", **kwargs: Any) -> ParsedFile:
    return read_results_file(data, filename, **kwargs)


def errors_by_row(parsed: ParsedFile) -> dict[int, list[RowError]]:
    found: dict[int, list[RowError]] = {}
    for error in parsed.errors:
        found.setdefault(error.row, []).append(error)
    return found


# --- CSV encodings and shapes ------------------------------------------------------------


def test_csv_utf8_without_bom() -> None:
    data = csv_bytes([as_row(person()), as_row(person(name="李雷"))])
    parsed = read(data)
    assert parsed.format == "csv"
    assert parsed.encoding == "utf-8"
    assert parsed.sha256 == hashlib.sha256(data).hexdigest()
    assert parsed.errors == []
    assert [r.row for r in parsed.rows] == [2, 3]
    assert dict(parsed.rows[0].values) == PERSON
    assert parsed.rows[1].values["name"] == "李雷"


def test_csv_utf8_with_bom_does_not_spoil_the_first_header() -> None:
    data = b"\xef\xbb\xbf" + csv_bytes([as_row(person())])
    parsed = read(data)
    assert parsed.encoding == "utf-8-sig"
    assert parsed.rows[0].values["name"] == "王小明"
    assert parsed.errors == []


def test_csv_gb18030_as_excel_in_china_writes_it() -> None:
    # 𠮷 is outside the BMP: a four-byte sequence in GB18030.
    names = ["欧阳娜娜", "𠮷田", "买买提·艾力"]
    data = csv_bytes([as_row(person(name=n)) for n in names], encoding="gb18030")
    parsed = read(data)
    assert parsed.encoding == "gb18030"
    assert [r.values["name"] for r in parsed.rows] == names
    assert parsed.errors == []


def test_csv_gb18030_asset_file() -> None:
    parsed = read((ASSETS / "results_gb18030.csv").read_bytes())
    assert parsed.encoding == "gb18030"
    assert [r.values["name"] for r in parsed.rows] == ["张伟", "李娜"]
    assert parsed.errors == []


def test_csv_neither_utf8_nor_gb18030_names_the_offset() -> None:
    data = csv_bytes([as_row(person())]) + b"\xff\xfe\xff oops\r\n"
    with pytest.raises(BadFile) as info:
        read(data)
    offset = len(csv_bytes([as_row(person())]))
    assert f"offset {offset}" in info.value.message
    assert "CSV UTF-8" in info.value.message


def test_utf8_with_a_stray_byte_is_not_read_as_gb18030_mojibake() -> None:
    # Even-length runs of UTF-8 Chinese are valid GB18030 byte pairs, too.
    header = ["name", "id_type", "id_number", "employer_uscc", "occupation_code", "level"]
    row = ["欧阳娜娜", "身份证件", "11010519491231002X", "91350100M000100Y43", "6-18-01-01", "三级"]
    good = csv_bytes([row, ["李雷", *row[1:]]], header)
    mixed = good + ",".join(["韩梅", *row[1:]]).encode("gbk") + b"\r\n"
    assert "欧阳娜娜" not in mixed.decode("gb18030")  # it "decodes", into wrong characters
    with pytest.raises(
        BadFile, match=rf"invalid byte \(unreadable byte at offset {len(good)}, line 4"
    ):
        read(mixed)


def test_csv_with_bom_but_invalid_utf8_is_not_guessed_as_gb18030() -> None:
    data = b"\xef\xbb\xbf" + "姓名".encode("gb18030")
    with pytest.raises(BadFile, match="CSV UTF-8"):
        read(data)


def test_utf16_text_is_refused_with_advice() -> None:
    data = "\ufeff姓名\t证件号码\r\n".encode("utf-16-le")
    with pytest.raises(BadFile, match="UTF-16"):
        read(b"\xff\xfe" + data[2:])


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_csv_other_delimiters(delimiter: str) -> None:
    data = csv_bytes(
        [as_row(person(employer_name="示范, 有限公司"))], delimiter=delimiter, newline="\n"
    )
    parsed = read(data, "results.txt")
    assert parsed.errors == []
    assert parsed.rows[0].values["employer_name"] == "示范, 有限公司"


def test_csv_excel_sep_line_is_honoured_and_not_counted() -> None:
    data = b"sep=;\r\n" + csv_bytes([as_row(person())], delimiter=";")
    parsed = read(data)
    assert parsed.errors == []
    assert parsed.rows[0].row == 2


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_csv_line_endings(newline: str) -> None:
    data = csv_bytes([as_row(person()), as_row(person(name="李雷"))], newline=newline)
    parsed = read(data)
    assert [r.values["name"] for r in parsed.rows] == ["王小明", "李雷"]
    assert parsed.errors == []


def test_csv_quoted_newline_keeps_row_numbers_as_a_spreadsheet_shows_them() -> None:
    evidence = "主持攻关高精度主轴加工工艺；\r\n获省级技术能手称号"
    rows = [as_row(person(direct_evidence=evidence)), as_row(person(name="李雷"))]
    parsed = read(csv_bytes(rows))
    assert parsed.errors == []
    assert (
        parsed.rows[0].values["direct_evidence"]
        == "主持攻关高精度主轴加工工艺；\n获省级技术能手称号"
    )
    # The record spans two lines of text, but it is one spreadsheet row.
    assert [r.row for r in parsed.rows] == [2, 3]


def test_csv_line_break_in_a_quoted_cell_stays_in_its_row() -> None:
    # Refusing it in a name is validation's business (tests/test_issuance.py).
    parsed = read(csv_bytes([as_row(person(name="王\n小明")), as_row(person(name="李雷"))]))
    assert [r.values["name"] for r in parsed.rows] == ["王\n小明", "李雷"]


@pytest.mark.parametrize("bad", [b'"unterminated,field\r\n', b'"closed"early,x\r\n'])
def test_csv_broken_quotes_name_the_row(bad: bytes) -> None:
    with pytest.raises(BadFile, match=r"near row 3.*quotes"):
        read(csv_bytes([as_row(person())]) + bad)


def test_csv_literal_quotes_inside_a_value_are_kept() -> None:
    parsed = read(csv_bytes([as_row(person(employer_name='福州"示范"公司'))]))
    assert parsed.rows[0].values["employer_name"] == '福州"示范"公司'


def test_values_are_stripped_and_absent_optional_columns_are_empty() -> None:
    header = ["姓名", "证件类型", "证件号码", "工作单位统一社会信用代码", "职业编码", "等级"]
    row = [
        "  王小明\u3000",
        " 居民身份证",
        "11010519491231002X ",
        "91350100M000100Y43",
        "6-18-01-01",
        "\t三级 ",
    ]
    parsed = read(csv_bytes([row], header))
    values = parsed.rows[0].values
    assert set(values) == {c.key for c in COLUMNS}
    assert values["name"] == "王小明"
    assert values["level"] == "三级"
    assert values["route"] == values["corrects"] == values["employer_name"] == ""


# --- header ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "style",
    ["key", "zh", "en", "header", "en_zh", "slash", "upper", "fullwidth", "star", "note", "spaces"],
)
def test_header_variants(style: str) -> None:
    def cell(key: str) -> str:
        c = COLUMNS_BY_KEY[key]
        return {
            "key": c.key,
            "zh": c.label_zh,
            "en": c.label_en,
            "header": c.header,
            "en_zh": f"{c.label_en} {c.label_zh}",
            "slash": f"{c.label_zh}/{c.label_en}",
            "upper": c.label_en.upper(),
            "fullwidth": "".join(
                chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else "\u3000" if ch == " " else ch
                for ch in c.label_en
            ),
            "star": c.label_zh + ("*" if c.required else ""),
            "note": c.label_zh + ("（必填）" if c.required else "（选填）"),
            "spaces": f"  {c.label_zh}\n{c.label_en}  ",
        }[style]

    keys = [c.key for c in COLUMNS]
    parsed = read(csv_bytes([as_row(person())], [cell(k) for k in keys]))
    assert parsed.errors == []
    assert dict(parsed.rows[0].values) == PERSON


def test_columns_may_come_in_any_order() -> None:
    keys = list(reversed(REQUIRED))
    parsed = read(csv_bytes([[PERSON[k] for k in keys]], keys))
    assert {k: parsed.rows[0].values[k] for k in keys} == {k: PERSON[k] for k in keys}


def test_unknown_column_is_named_by_its_letter_and_the_accepted_columns_listed() -> None:
    header = [*HEADERS, "备注"]
    with pytest.raises(BadFile) as info:
        read(csv_bytes([[*as_row(person()), "x"]], header))
    message = info.value.message
    assert "column N has a header" in message
    assert "备注" not in message  # the cell's text is never echoed
    assert all(c.header in message for c in COLUMNS)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_without_its_header_row_is_refused_without_echoing_the_data(kind: str) -> None:
    rows = [as_row(person(id_number="110101199003074477")), as_row(person(name="李雷"))]
    if kind == "csv":
        data, name = csv_bytes(rows[1:], rows[0]), "results.csv"
    else:
        data, name = xlsx_bytes(rows[1:], rows[0]), "results.xlsx"
    with pytest.raises(BadFile) as info:
        read(data, name)
    message = info.value.message
    assert "row 1 is not a header row" in message
    assert "first non-blank row must be the header" in message
    for value in PERSON.values():
        if value:
            assert value not in message, value
    assert "110101199003074477" not in message and "100307" not in message


def test_a_header_with_a_stray_identifier_names_only_the_column() -> None:
    header = [*HEADERS[:-1], "110101199003074477"]
    with pytest.raises(BadFile) as info:
        read(csv_bytes([as_row(person())], header))
    assert "column M has a header" in info.value.message
    assert "110101199003074477" not in info.value.message


def test_missing_required_columns_are_all_named_at_once() -> None:
    header = [c.header for c in COLUMNS if c.key not in ("id_number", "level")]
    with pytest.raises(BadFile) as info:
        read(csv_bytes([], header) + b"a,b\r\n")
    message = info.value.message
    assert "证件号码 ID number" in message
    assert "等级 Level" in message
    assert "missing" in message


def test_duplicate_column_is_refused() -> None:
    header = [*HEADERS, "ID number"]
    with pytest.raises(BadFile, match=r"duplicate column “证件号码 ID number” \(C, N\)"):
        read(csv_bytes([[*as_row(person()), "x"]], header))


def test_header_is_the_first_non_blank_row() -> None:
    data = b"\r\n,,,\r\n" + csv_bytes([as_row(person())])
    parsed = read(data)
    assert parsed.rows[0].row == 4


# --- empty files and blank rows ----------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"   \r\n\r\n", b"\xef\xbb\xbf", csv_bytes([]), csv_bytes([[""] * 13, [" "] * 13])],
    ids=["empty", "whitespace", "bom-only", "header-only", "blank-rows"],
)
def test_no_data_rows(data: bytes) -> None:
    with pytest.raises(BadFile, match="no data rows"):
        read(data)


def test_blank_rows_in_the_middle_are_skipped() -> None:
    rows = [as_row(person()), [""] * 13, [], as_row(person(name="李雷"))]
    parsed = read(csv_bytes(rows))
    assert parsed.errors == []
    assert [r.row for r in parsed.rows] == [2, 5]


# --- row limits --------------------------------------------------------------------------


def test_max_rows_boundary() -> None:
    rows = [as_row(person(name=f"王{chr(0x4E00 + i)}")) for i in range(3)]
    assert len(read(csv_bytes(rows), max_rows=3).rows) == 3
    with pytest.raises(BadFile, match="more than 2 rows; split it into files of at most 2 rows"):
        read(csv_bytes(rows), max_rows=2)


@pytest.mark.slow
def test_100k_row_csv_is_refused_without_reading_to_the_end() -> None:
    header = ",".join(REQUIRED)
    line = "王{0},居民身份证,11010519491231002X,91350100M000100Y43,6-18-01-01,三级"
    # The broken last record proves the reader stopped early: reaching it is a BadFile
    # about quotes, not about the row count.
    lines = [header, *(line.format(i) for i in range(100_000)), '"never closed']
    data = "\r\n".join(lines).encode()
    started = time.monotonic()
    with pytest.raises(BadFile, match="more than 10000 rows; split it into files of at most"):
        read(data)
    assert time.monotonic() - started < 30


def big_xlsx(rows: int, *, broken_end: bool = False) -> bytes:
    """A workbook whose sheet XML is written directly (openpyxl would take too long).

    Like Excel, it records the sheet's dimension: without one, openpyxl scans the whole
    sheet while opening the workbook.
    """
    template = xlsx_bytes([])

    def cell(ref: str, text: str) -> str:
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'

    values = [PERSON[k] for k in REQUIRED]
    parts = ['<row r="1">', *(cell(f"{chr(65 + i)}1", k) for i, k in enumerate(REQUIRED)), "</row>"]
    for r in range(2, rows + 2):
        parts.append(f'<row r="{r}">')
        parts.append(cell(f"A{r}", f"王{r}"))
        parts.extend(cell(f"{chr(65 + i)}{r}", v) for i, v in enumerate(values[1:], start=1))
        parts.append("</row>")
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:F{rows + 1}"/><sheetData>'
        f"{''.join(parts)}</sheetData></worksheet>"
    )
    if broken_end:  # cut inside the last row: only a reader that gets there sees it
        sheet = sheet[: -len("</sheetData></worksheet>") - 20]
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = sheet.encode()
            target.writestr(info.filename, body)
    return out.getvalue()


@pytest.mark.slow
def test_100k_row_xlsx_is_refused_without_reading_to_the_end() -> None:
    data = big_xlsx(100_000, broken_end=True)
    started = time.monotonic()
    with pytest.raises(BadFile, match="more than 10000 rows; split it into files of at most"):
        read(data, "results.xlsx")
    assert time.monotonic() - started < 30


def test_broken_end_of_a_small_xlsx_is_damage() -> None:
    with pytest.raises(BadFile, match="damaged"):
        read(big_xlsx(20, broken_end=True), "results.xlsx")


def test_generated_big_xlsx_reads_when_under_the_limit() -> None:
    parsed = read(big_xlsx(50), "results.xlsx")
    assert len(parsed.rows) == 50
    assert parsed.errors == []


# --- formulas, numbers, dates ------------------------------------------------------------


def test_xlsx_formula_cell_is_a_row_error() -> None:
    row = as_row(person())
    row[REQUIRED.index("level") + 2] = '=IF(1,"三级","")'  # level is column H
    parsed = read(xlsx_bytes([row]), "results.xlsx")
    [error] = parsed.errors
    assert (error.row, error.column) == (2, "level")
    assert "formula cells are not accepted" in error.message
    assert "选择性粘贴→数值" in error.message
    assert error.message.startswith("Level: ")


def test_csv_formula_injection_is_a_row_error_but_leading_minus_is_not() -> None:
    rows = [
        as_row(person(employer_name='=HYPERLINK("http://x","y")')),
        as_row(person(name="李雷", work_type="-")),
        as_row(person(name="韩梅梅", direct_evidence="+ 技术攻关 @车间")),
    ]
    parsed = read(csv_bytes(rows))
    [error] = parsed.errors
    assert (error.row, error.column) == (2, "employer_name")
    assert "formula" in error.message


def test_xlsx_numeric_id_number_asks_for_text_format() -> None:
    row: list[Any] = as_row(person())
    row[2] = 110105194912310020  # what Excel keeps of an ID typed as a number
    parsed = read(xlsx_bytes([row]), "results.xlsx")
    [error] = parsed.errors
    assert (error.row, error.column) == (2, "id_number")
    assert "15 digits" in error.message
    assert "text" in error.message
    assert parsed.rows[0].values["id_number"].isdigit()  # digits, rounded, no ".0"


def test_xlsx_numbers_and_dates_become_plain_text() -> None:
    row: list[Any] = as_row(person())
    row[7] = 3  # level
    row[8] = dt.datetime(2024, 6, 30)  # issue date, a real date cell
    row[6] = 2.5  # work type, whatever it means
    row[5] = 6.0
    parsed = read(xlsx_bytes([row]), "results.xlsx")
    values = parsed.rows[0].values
    assert parsed.errors == []
    assert (values["level"], values["issue_date"]) == ("3", "2024-06-30")
    assert (values["work_type"], values["occupation_code"]) == ("2.5", "6")


def test_xlsx_date_only_cell() -> None:
    row: list[Any] = as_row(person())
    row[8] = dt.date(2023, 1, 5)
    parsed = read(xlsx_bytes([row]), "results.xlsx")
    assert parsed.rows[0].values["issue_date"] == "2023-01-05"


def test_xlsx_error_cell_is_a_row_error() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(as_row(person()))
    sheet["E2"].value = "#N/A"
    sheet["E2"].data_type = "e"
    buffer = io.BytesIO()
    workbook.save(buffer)
    [error] = read(buffer.getvalue(), "r.xlsx").errors
    assert (error.row, error.column) == (2, "employer_name")
    assert "#N/A" in error.message


def test_xlsx_rows_are_numbered_as_excel_shows_them() -> None:
    data = xlsx_bytes([as_row(person()), [], as_row(person(name="李雷"))], leading_blank_rows=2)
    parsed = read(data, "results.xlsx")
    assert parsed.format == "xlsx"
    assert parsed.encoding is None
    assert [r.row for r in parsed.rows] == [4, 6]


def test_xlsx_with_wrong_dimension_is_read_in_full() -> None:
    data = xlsx_bytes([as_row(person()), as_row(person(name="李雷"))])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                # openpyxl writes `<dimension ref="A1:M3" />` or, with lxml, without the space.
                body = re.sub(rb'<dimension ref="A1:M3"\s*/>', b'<dimension ref="A1:B2"/>', body)
                assert b'"A1:B2"' in body
            dst.writestr(info.filename, body)
    parsed = read(out.getvalue(), "results.xlsx")
    assert [r.values["name"] for r in parsed.rows] == ["王小明", "李雷"]


def test_xlsx_prefers_the_template_sheet_then_the_first_visible_one() -> None:
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "说明"
    notes.append(["请在第二个工作表填写"])
    data_sheet = workbook.create_sheet(DATA_SHEET_TITLE)
    data_sheet.append(HEADERS)
    data_sheet.append(as_row(person()))
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read(buffer.getvalue(), "r.xlsx").rows[0].values["name"] == "王小明"

    data_sheet.title = "Data"
    notes.sheet_state = "hidden"
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read(buffer.getvalue(), "r.xlsx").rows[0].values["name"] == "王小明"


def test_content_decides_the_format_not_the_extension() -> None:
    parsed = read(xlsx_bytes([as_row(person())]), "results.csv")
    assert parsed.format == "xlsx"


def test_text_named_xlsx_is_refused() -> None:
    with pytest.raises(BadFile, match="damaged or not an Excel workbook"):
        read(csv_bytes([as_row(person())]), "results.xlsx")


# --- per-row problems --------------------------------------------------------------------


def test_duplicate_rows_name_the_earlier_row() -> None:
    rows = [as_row(person()), as_row(person(name="李雷")), as_row(person())]
    parsed = read(csv_bytes(rows))
    [error] = parsed.errors
    assert (error.row, error.column) == (4, "")
    assert "same as row 2" in error.message
    assert len(parsed.rows) == 3  # rows with errors are still returned


def test_duplicate_detection_ignores_surrounding_whitespace() -> None:
    rows = [as_row(person()), as_row(person(name=" 王小明 "))]
    assert "same as row 2" in read(csv_bytes(rows)).errors[0].message


def test_extra_cells_beyond_the_header() -> None:
    rows = [[*as_row(person()), "多出来的"], [*as_row(person(name="李雷")), "", ""]]
    parsed = read(csv_bytes(rows))
    [error] = parsed.errors  # empty trailing cells (as Excel writes them) are fine
    assert error.row == 2
    assert "column N" in error.message
    assert "no header" in error.message


def test_value_under_an_empty_header_cell() -> None:
    header = [*HEADERS[:4], "", *HEADERS[4:]]
    row = as_row(person())
    parsed = read(csv_bytes([[*row[:4], "x", *row[4:]]], header))
    [error] = parsed.errors
    assert "column E" in error.message
    assert parsed.rows[0].values["employer_name"] == PERSON["employer_name"]


def test_too_long_cell() -> None:
    rows = [
        as_row(person(employer_name="长" * 501)),
        as_row(person(name="李雷", direct_evidence="事" * 1500)),
        as_row(person(name="韩梅梅", direct_evidence="事" * 2001)),
    ]
    parsed = read(csv_bytes(rows))
    assert [(e.row, e.column) for e in parsed.errors] == [
        (2, "employer_name"),
        (4, "direct_evidence"),
    ]
    assert "501 characters" in parsed.errors[0].message


def test_control_characters_are_left_to_validation() -> None:
    # validate_rows refuses them for every route into signing (tests/test_issuance.py).
    parsed = read(csv_bytes([as_row(person(name="王\u202e小明", employer_name="示范\t公司"))]))
    assert parsed.errors == []
    assert parsed.rows[0].values["name"] == "王\u202e小明"


def test_the_template_example_row_is_refused() -> None:
    parsed = read(csv_bytes([as_row(EXAMPLE_ROW)]))
    [error] = parsed.errors
    assert "example row" in error.message


def test_errors_carry_row_and_column_label() -> None:
    rows = [as_row(person()), as_row(person(name="李雷", corrects="=A1"))]
    [error] = read(csv_bytes(rows)).errors
    assert str(error).startswith("row 3, column corrects: Corrects certificate: ")


# --- not a results file at all -----------------------------------------------------------


def test_old_xls_is_refused_with_advice() -> None:
    with pytest.raises(BadFile) as info:
        read((ASSETS / "legacy.xls").read_bytes(), "results.xls")
    assert info.value.message == "old .xls files are not supported: save as .xlsx or CSV UTF-8"


def test_password_protected_workbook() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512) + "EncryptedPackage".encode("utf-16-le")
    with pytest.raises(BadFile, match="password"):
        read(data, "results.xlsx")


@pytest.mark.parametrize(
    "data",
    [
        random.Random(7).randbytes(4096),
        b"%PDF-1.7\n" + bytes(100),
        b"\x89PNG\r\n\x1a\n" + bytes(100),
        b"\x00\x01\x02name,id\r\n",
    ],
    ids=["random", "pdf", "png", "nul"],
)
def test_binary_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(BadFile):
        read(data, "results.csv")


def test_damaged_xlsx_asset() -> None:
    with pytest.raises(BadFile, match="damaged or not an Excel workbook"):
        read((ASSETS / "damaged.xlsx").read_bytes(), "results.xlsx")


def test_truncated_xlsx() -> None:
    data = xlsx_bytes([as_row(person())])
    for cut in (10, len(data) // 2, len(data) - 30):
        with pytest.raises(BadFile, match="damaged or not an Excel workbook"):
            read(data[:cut], "results.xlsx")


def test_zip_that_is_not_a_workbook() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("results.csv", csv_bytes([as_row(person())]))
    with pytest.raises(BadFile, match="not an Excel workbook"):
        read(buffer.getvalue(), "results.zip")


def test_workbook_with_broken_xml() -> None:
    data = xlsx_bytes([as_row(person())])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body[: len(body) // 2]
            dst.writestr(info.filename, body)
    with pytest.raises(BadFile, match="damaged"):
        read(out.getvalue(), "results.xlsx")


def test_zip_bomb_is_refused_before_unpacking() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<" + b" " * (80 * 1024 * 1024))
    assert len(buffer.getvalue()) < 200_000
    with pytest.raises(BadFile, match="too large"):
        read(buffer.getvalue(), "results.xlsx")


def test_ods_is_refused_with_advice() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<x/>")
    with pytest.raises(BadFile, match=r"\.ods"):
        read(buffer.getvalue(), "results.ods")


# --- property: nothing but BadFile escapes ----------------------------------------------


def read_or_badfile(data: bytes, filename: str) -> None:
    try:
        parsed = read_results_file(data, filename, max_rows=50)
    except BadFile as exc:
        assert exc.message
        return
    assert parsed.rows
    assert all(set(r.values) == set(COLUMNS_BY_KEY) for r in parsed.rows)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048), st.sampled_from(["r.csv", "r.xlsx", "r.txt"]))
def test_arbitrary_bytes_raise_only_badfile(data: bytes, filename: str) -> None:
    read_or_badfile(data, filename)


HEADER_BYTES = ",".join(HEADERS).encode() + b"\r\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1024))
def test_arbitrary_bytes_after_a_valid_header_raise_only_badfile(tail: bytes) -> None:
    read_or_badfile(HEADER_BYTES + tail, "r.csv")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.text(max_size=20), max_size=15), max_size=10))
def test_arbitrary_text_rows_raise_only_badfile(rows: list[list[str]]) -> None:
    read_or_badfile(csv_bytes(rows, encoding="utf-8"), "r.csv")


SMALL_XLSX = xlsx_bytes([as_row(PERSON)])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(SMALL_XLSX) - 1), st.binary(min_size=1, max_size=8))
def test_corrupted_xlsx_raises_only_badfile(position: int, junk: bytes) -> None:
    data = SMALL_XLSX[:position] + junk + SMALL_XLSX[position + len(junk) :]
    read_or_badfile(data, "r.xlsx")


# --- work follows content (issue #13): absurd dimensions are refused or not read ----------


def xlsx_with_sheet_xml(rows_xml: str) -> bytes:
    """A template-headed workbook whose data rows are the given raw sheet XML."""
    template = xlsx_bytes([])
    header = "".join(
        f'<c r="{openpyxl.utils.get_column_letter(i + 1)}1" t="inlineStr"><is><t>{h}</t></is></c>'
        for i, h in enumerate(HEADERS)
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData><row r="1">{header}</row>{rows_xml}</sheetData></worksheet>'
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = sheet.encode()
            target.writestr(info.filename, body)
    return out.getvalue()


def inline_row(number: int, values: Sequence[str], extra: str = "") -> str:
    cells = "".join(
        f'<c r="{openpyxl.utils.get_column_letter(i + 1)}{number}" t="inlineStr">'
        f"<is><t>{v}</t></is></c>"
        for i, v in enumerate(values)
        if v
    )
    return f'<row r="{number}">{cells}{extra}</row>'


def test_xlsx_cells_beyond_column_bl_are_not_read() -> None:
    # A styled blank cell in column XFD makes openpyxl widen the row to 16,384 cells, and
    # a value there cannot belong to any column: only the first 64 columns are read.
    rows = [
        inline_row(2, as_row(PERSON), extra='<c r="XFD2" s="0"/>'),
        inline_row(
            3, as_row(person(name="李雷")), extra='<c r="XFD3" t="inlineStr"><is><t>x</t></is></c>'
        ),
        *(f'<row r="{r}"><c r="XFD{r}" s="0"/></row>' for r in range(4, 200)),
    ]
    parsed = read(xlsx_with_sheet_xml("".join(rows)), "results.xlsx")
    assert [r.values["name"] for r in parsed.rows] == ["王小明", "李雷"]
    assert parsed.errors == []
    assert all(len(r.values) == len(COLUMNS) for r in parsed.rows)


def test_xlsx_value_in_column_bl_is_still_read_and_reported() -> None:
    parsed = read(
        xlsx_with_sheet_xml(
            inline_row(2, as_row(PERSON), extra='<c r="BL2" t="inlineStr"><is><t>x</t></is></c>')
        ),
        "results.xlsx",
    )
    assert [e.message for e in parsed.errors] == [
        "column BL has a value but no header: move the value into the right column or delete it"
    ]


def test_xlsx_far_row_after_a_gap_is_read_within_ten_rows_per_data_row() -> None:
    parsed = read(xlsx_with_sheet_xml(inline_row(500, as_row(PERSON))), "results.xlsx", max_rows=50)
    assert [r.row for r in parsed.rows] == [500]


def test_xlsx_far_row_after_a_million_row_gap_is_refused() -> None:
    # One cell in Excel's last row makes a million blank rows out of a few bytes.
    data = xlsx_with_sheet_xml(inline_row(1_048_576, as_row(PERSON)))
    assert len(data) < 10_000
    with pytest.raises(BadFile, match=r"reaches row 100,101: .* at most 100,100 rows long"):
        read(data, "results.xlsx")


def test_xlsx_that_unpacks_far_beyond_its_size_is_refused() -> None:
    # Millions of shared strings pack into a few kilobytes and cost seconds to parse.
    template = xlsx_bytes([as_row(PERSON)])
    strings = b"<si><t>x</t></si>" * 100_000
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
        target.writestr(
            "xl/sharedStrings.xml",
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + strings
            + b"</sst>",
        )
    assert len(out.getvalue()) < 30_000
    with pytest.raises(BadFile, match="more than 50 times its size"):
        read(out.getvalue(), "results.xlsx")


def test_csv_value_beyond_column_bl_refuses_the_file() -> None:
    data = csv_bytes([as_row(PERSON), [*as_row(person(name="李雷")), *[""] * 60, "x"]])
    with pytest.raises(BadFile, match=r"row 3 has values beyond column BL \(column 64\)"):
        read(data)


def test_csv_trailing_separators_of_any_length_are_nothing() -> None:
    header = ",".join(HEADERS)
    line = ",".join(as_row(PERSON))
    data = f"{header}\n{line}{',' * 200_000}\n{',' * 500_000}\n".encode()
    parsed = read(data)
    assert [r.values["name"] for r in parsed.rows] == ["王小明"]
    assert parsed.errors == []


def test_csv_longer_than_ten_lines_per_data_row_is_refused() -> None:
    data = (",".join(HEADERS) + "\n" + ",".join(as_row(PERSON)) + "\n" + "\n" * 600).encode()
    assert len(read(data, max_rows=60).rows) == 1
    with pytest.raises(BadFile, match=r"reaches row 601: a file of at most 50 rows"):
        read(data, max_rows=50)


def test_text_limits_come_from_the_certificate_columns() -> None:
    """Length and line-break rules are declared once, on the columns that store the text."""
    assert text_limit(Certificate.direct_evidence) == TextLimit(2000, multiline=True)
    assert text_limit(Certificate.holder_name) == TextLimit(50)
    assert {"direct_evidence"} == MULTILINE_KEYS
    assert [max_chars(k) for k in ("name", "employer_name", "work_type")] == [50, 200, 100]
    with pytest.raises(LookupError):
        text_limit(Certificate.number)  # not text a person writes
