"""The blank results templates: certsvc.issuance.template."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import openpyxl
import pytest

from certsvc.errors import BadFile
from certsvc.issuance.columns import COLUMNS, DATA_SHEET_TITLE, EXAMPLE_ROW, template_choices
from certsvc.issuance.rows import read_results_file
from certsvc.issuance.template import (
    INSTRUCTIONS_SHEET_TITLE,
    LISTS_SHEET_TITLE,
    template_csv,
    template_xlsx,
)

LEVELS = [
    "五级/初级工",
    "四级/中级工",
    "三级/高级工",
    "二级/技师",
    "一级/高级技师",
    "特级技师",
    "首席技师",
]
GROUNDS = ["重大工艺技术难题", "重大质量问题", "省部级以上奖项", "师带徒成效"]
# Long enough (> 255 characters in all) to need the hidden list sheet.
OCCUPATIONS = [f"6-18-01-{i:02d} 示例职业{i}" for i in range(1, 40)]
CHOICES = {
    "level": LEVELS,
    "id_type": ["居民身份证", "护照", "港澳居民来往内地通行证"],
    "route": ["正常认定", "直接认定"],
    "direct_ground": GROUNDS,
    "occupation_code": OCCUPATIONS,
}

FILLED = {
    "name": "王小明",
    "id_type": "居民身份证",
    "id_number": "11010519491231002X",
    "employer_uscc": "91350100M000100Y43",
    "employer_name": "福州示范机械有限公司",
    "occupation_code": "6-18-01-01",
    "work_type": "车工",
    "level": "四级/中级工",
    "issue_date": "2024-06-30",
    "route": "直接认定",
    "direct_ground": "重大质量问题",
    "direct_evidence": "解决主轴加工精度问题",
    "corrects": "",
}


def load(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data))


# --- CSV ---------------------------------------------------------------------------------


def test_csv_template_is_utf8_with_bom_header_and_example() -> None:
    data = template_csv()
    assert data.startswith(b"\xef\xbb\xbf")
    header, example = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert header == [c.header for c in COLUMNS]
    assert example == [EXAMPLE_ROW[c.key] for c in COLUMNS]
    assert b"\r\n" in data


def test_csv_template_example_is_refused_until_replaced() -> None:
    parsed = read_results_file(template_csv(), "template.csv")
    assert parsed.encoding == "utf-8-sig"
    [error] = parsed.errors
    assert "example row" in error.message


def test_csv_template_filled_reads_without_errors() -> None:
    text = template_csv().decode("utf-8-sig")
    header = text.splitlines()[0]
    row = ",".join(FILLED[c.key] for c in COLUMNS)
    data = ("\r\n".join([header, row]) + "\r\n").encode("utf-8-sig")
    parsed = read_results_file(data, "filled.csv")
    assert parsed.errors == []
    assert dict(parsed.rows[0].values) == FILLED


def test_csv_template_example_values_are_plausible() -> None:
    # The example must be something the validator would accept, or it teaches a mistake.
    assert len(EXAMPLE_ROW["id_number"]) == 18
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    code = EXAMPLE_ROW["employer_uscc"]
    total = sum(chars.index(c) * pow(3, i, 31) for i, c in enumerate(code[:17]))
    assert chars[(31 - total % 31) % 31] == code[17]  # GB 32100 check character
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    number = EXAMPLE_ROW["id_number"]
    checksum = sum(int(d) * w for d, w in zip(number[:17], weights, strict=True))
    assert "10X98765432"[checksum % 11] == number[17]  # GB 11643 check character


# --- XLSX --------------------------------------------------------------------------------


def test_xlsx_template_sheets() -> None:
    workbook = load(template_xlsx(CHOICES))
    assert workbook.sheetnames == [DATA_SHEET_TITLE, INSTRUCTIONS_SHEET_TITLE, LISTS_SHEET_TITLE]
    assert workbook[LISTS_SHEET_TITLE].sheet_state == "hidden"
    assert workbook.active.title == DATA_SHEET_TITLE


def test_xlsx_template_header_widths_formats_and_comments() -> None:
    sheet = load(template_xlsx({}))[DATA_SHEET_TITLE]
    headers = [cell.value for cell in sheet[1]]
    assert headers == [c.header for c in COLUMNS]
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    for index, column in enumerate(COLUMNS):
        letter = openpyxl.utils.get_column_letter(index + 1)
        assert sheet.column_dimensions[letter].width >= 12
        comment = sheet[f"{letter}1"].comment
        assert column.hint_zh in comment.text
        assert column.hint_en in comment.text
    assert sheet.column_dimensions["C"].number_format == "@"  # 证件号码 ID number
    assert sheet.column_dimensions["D"].number_format == "@"  # credit code


def test_xlsx_template_drop_downs_inline_and_on_the_hidden_sheet() -> None:
    workbook = load(template_xlsx(CHOICES))
    sheet = workbook[DATA_SHEET_TITLE]
    letters = {c.key: openpyxl.utils.get_column_letter(i + 1) for i, c in enumerate(COLUMNS)}
    by_column = {str(v.sqref).split(":")[0][:-1]: v for v in sheet.data_validations.dataValidation}
    assert set(by_column) == {letters[key] for key in CHOICES}
    level = by_column[letters["level"]]
    assert level.type == "list"
    assert level.formula1 == '"' + ",".join(LEVELS) + '"'
    assert str(level.sqref) == f"{letters['level']}2:{letters['level']}10001"

    occupation = by_column[letters["occupation_code"]]
    column = letters["occupation_code"]
    assert occupation.formula1 == f"'{LISTS_SHEET_TITLE}'!${column}$1:${column}${len(OCCUPATIONS)}"
    lists = workbook[LISTS_SHEET_TITLE]
    assert [lists[f"{column}{i + 1}"].value for i in range(len(OCCUPATIONS))] == OCCUPATIONS


def test_xlsx_template_items_with_commas_go_to_the_list_sheet() -> None:
    workbook = load(template_xlsx({"route": ["正常认定", "直接认定, 破格"]}))
    [validation] = workbook[DATA_SHEET_TITLE].data_validations.dataValidation
    assert validation.formula1.startswith(f"'{LISTS_SHEET_TITLE}'!")


def test_xlsx_template_without_choices_has_no_list_sheet() -> None:
    workbook = load(template_xlsx({}))
    assert LISTS_SHEET_TITLE not in workbook.sheetnames
    assert not workbook[DATA_SHEET_TITLE].data_validations.dataValidation


def test_xlsx_template_instructions_list_every_column() -> None:
    sheet = load(template_xlsx(CHOICES))[INSTRUCTIONS_SHEET_TITLE]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]}
    for column in COLUMNS:
        _, required, hint_zh, hint_en, _example = rows[column.header]
        assert required.startswith("必填" if column.required else "选填")
        assert (hint_zh, hint_en) == (column.hint_zh, column.hint_en)


@pytest.mark.parametrize(
    "choices",
    [{"nickname": ["a"]}, {"level": []}, {"level": ["三级", " "]}],
    ids=["unknown-key", "empty-list", "blank-item"],
)
def test_xlsx_template_rejects_bad_choices(choices: dict[str, list[str]]) -> None:
    with pytest.raises(ValueError):
        template_xlsx(choices)


def test_xlsx_template_is_reproducible() -> None:
    first = template_xlsx(CHOICES)
    assert template_xlsx(CHOICES) == first
    assert load(first).properties.created == dt.datetime(2024, 1, 1)


def test_xlsx_template_has_the_csv_example_row_refused_until_replaced() -> None:
    data = template_xlsx(CHOICES)
    sheet = load(data)[DATA_SHEET_TITLE]
    assert sheet["A2"].value == EXAMPLE_ROW["name"] and sheet.max_row == 2
    parsed = read_results_file(data, "template.xlsx")
    assert [dict(r.values) for r in parsed.rows] == [dict(EXAMPLE_ROW)]  # as the CSV reads
    [error] = parsed.errors
    assert error.row == 2 and "example row" in error.message
    csv_rows = read_results_file(template_csv(), "template.csv").rows
    assert [dict(r.values) for r in csv_rows] == [dict(EXAMPLE_ROW)]
    # Every example value with a drop-down list is one of its items.
    for key, values in template_choices().items():
        assert not EXAMPLE_ROW[key] or EXAMPLE_ROW[key] in values, key


def test_xlsx_template_without_its_example_row_has_no_data_rows() -> None:
    workbook = load(template_xlsx(CHOICES))
    workbook[DATA_SHEET_TITLE].delete_rows(2)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(BadFile, match="no data rows"):
        read_results_file(buffer.getvalue(), "template.xlsx")


def test_xlsx_template_filled_reads_without_errors() -> None:
    workbook = load(template_xlsx(CHOICES))
    sheet = workbook[DATA_SHEET_TITLE]
    for index, column in enumerate(COLUMNS, start=1):
        value: Any = FILLED[column.key] or None
        if column.key == "issue_date":
            value = dt.datetime(2024, 6, 30)  # Excel stores a typed date as a date
        sheet.cell(row=2, column=index, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    parsed = read_results_file(buffer.getvalue(), "filled.xlsx")
    assert parsed.errors == []
    assert [r.row for r in parsed.rows] == [2]
    assert dict(parsed.rows[0].values) == FILLED
