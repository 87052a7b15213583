"""Blank results files for certification bodies to fill in: CSV and XLSX templates.

Both are built from :data:`certsvc.issuance.columns.COLUMNS`, so a filled-in template always
reads back through :func:`certsvc.issuance.rows.read_results_file`. The XLSX template does
more to prevent mistakes: the ID number column is formatted as text (Excel would otherwise
round an 18-digit number), every header carries its hint as a comment, columns with a fixed
set of values get a drop-down list, and a second sheet explains every column. Both carry the
same example row (张三), which a file is refused for until it is replaced.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from certsvc.issuance.columns import COLUMNS, COLUMNS_BY_KEY, DATA_SHEET_TITLE, EXAMPLE_ROW, Column
from certsvc.spreadsheets import SafeCsvWriter, safe_cell

INSTRUCTIONS_SHEET_TITLE = "说明 Instructions"
LISTS_SHEET_TITLE = "选项 Lists"

#: Rows of the data sheet that get drop-down lists (header + the default row limit).
VALIDATED_ROWS = 10_000

# Excel refuses an inline list ("a,b,c") longer than this; longer lists live on a sheet.
_INLINE_LIST_MAX = 255
# Fixed times make the template byte-for-byte reproducible (cacheable, diffable).
_FIXED_TIME = dt.datetime(2024, 1, 1, 0, 0, 0)
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)

_GENERAL_NOTES: tuple[tuple[str, str], ...] = (
    (
        "每人一行；不要合并单元格，不要改动第一行表头。",
        "One row per person; do not merge cells or change the header row.",
    ),
    (
        "只填数值，不要使用公式（复制后请“选择性粘贴→数值”）。",
        "Values only, no formulas (paste with “Paste Special → Values”).",
    ),
    (
        "证件号码列已设为文本格式，请勿改为数字格式。",
        "The ID number column is formatted as text; keep it that way.",
    ),
    (
        "保存为 .xlsx，或“CSV UTF-8（逗号分隔）”。",
        "Save as .xlsx, or as “CSV UTF-8 (comma delimited)”.",
    ),
    (
        "第 2 行（张三）是示例：请删除或改为真实数据，含示例行的文件不予签发。",
        "Row 2 (张三) is an example: delete it or overwrite it; a file that still holds it "
        "is refused.",
    ),
    (
        "每个文件最多 10000 行，超过请分成多个文件。",
        "At most 10,000 rows per file; split larger batches.",
    ),
)


def template_csv() -> bytes:
    """The CSV template: UTF-8 with a BOM (so Excel opens it right), header and example row.

    The example row (张三) is refused if it is uploaded unchanged; replace it with real rows.
    """
    buffer = io.StringIO(newline="")
    writer = SafeCsvWriter(buffer)
    writer.writerow([c.header for c in COLUMNS])
    writer.writerow([EXAMPLE_ROW[c.key] for c in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def template_xlsx(choices: Mapping[str, Sequence[str]]) -> bytes:
    """The XLSX template, with a drop-down list for each column key in ``choices``.

    ``choices`` maps a column key (``"level"``, ``"id_type"``, ``"route"``,
    ``"direct_ground"``, ...) to the values a person may pick. Raises ValueError for a key
    that is not a column or an empty list. The output is the same bytes on every call with
    the same arguments.
    """
    from openpyxl import Workbook

    _check_choices(choices)
    workbook = Workbook()
    data_sheet = workbook.active
    data_sheet.title = DATA_SHEET_TITLE
    _fill_data_sheet(data_sheet)
    _fill_instructions(workbook.create_sheet(INSTRUCTIONS_SHEET_TITLE))
    _add_drop_downs(workbook, data_sheet, choices)
    workbook.active = 0
    props = workbook.properties
    props.creator = props.lastModifiedBy = "certsvc"
    props.title = "职业技能等级证书数据模板 Skill certificate results template"
    props.created = props.modified = _FIXED_TIME
    return _reproducible_zip(_save(workbook))


def _check_choices(choices: Mapping[str, Sequence[str]]) -> None:
    for key, values in choices.items():
        if key not in COLUMNS_BY_KEY:
            raise ValueError(f"no column {key!r}; columns are {', '.join(COLUMNS_BY_KEY)}")
        if not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise ValueError(f"choices for {key!r} must be a non-empty list of non-empty text")


def _fill_data_sheet(sheet: Any) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    optional_fill = PatternFill("solid", fgColor="EDEDED")
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = bold
        cell.fill = required_fill if column.required else optional_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        comment = Comment(_hint_text(column), "certsvc")
        comment.width, comment.height = 260, 110
        cell.comment = comment
        letter = get_column_letter(index)
        dimension = sheet.column_dimensions[letter]
        dimension.width = max(12, min(40, _display_width(column.header) + 2))
        # Text format keeps identifiers exactly as typed; dates stay real dates.
        dimension.number_format = "yyyy-mm-dd" if column.key == "issue_date" else "@"
    sheet.row_dimensions[1].height = 32
    sheet.freeze_panes = "A2"
    # The example row the CSV template has too: refused until it is replaced (rows.py).
    for index, column in enumerate(COLUMNS, start=1):
        value: Any = EXAMPLE_ROW[column.key] or None
        if column.key == "issue_date" and value:
            value = dt.date.fromisoformat(value)  # a real date, as Excel stores a typed one
        sheet.cell(row=2, column=index, value=value).number_format = (
            "yyyy-mm-dd" if column.key == "issue_date" else "@"
        )


def _hint_text(column: Column) -> str:
    status = "必填 Required" if column.required else "选填 Optional"
    return f"{status}\n{column.hint_zh}\n{column.hint_en}"


def _add_drop_downs(workbook: Any, sheet: Any, choices: Mapping[str, Sequence[str]]) -> None:
    """One list validation per chosen column; long lists live on a hidden sheet."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    lists_sheet = None
    positions = {c.key: i for i, c in enumerate(COLUMNS, start=1)}
    for key in (c.key for c in COLUMNS if c.key in choices):
        values = [v.strip() for v in choices[key]]
        inline = ",".join(values)
        if len(inline) <= _INLINE_LIST_MAX and not any("," in v or '"' in v for v in values):
            formula = f'"{inline}"'
        else:
            if lists_sheet is None:
                lists_sheet = workbook.create_sheet(LISTS_SHEET_TITLE)
                lists_sheet.sheet_state = "hidden"
            list_column = get_column_letter(positions[key])
            for row, value in enumerate(values, start=1):
                lists_sheet.cell(row=row, column=positions[key], value=safe_cell(value))
            formula = f"'{LISTS_SHEET_TITLE}'!${list_column}$1:${list_column}${len(values)}"
        column = COLUMNS_BY_KEY[key]
        validation = DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="请从列表选择 Choose from the list",
            error=(
                f"{column.label_zh}：请从下拉列表中选择。"
                f"{column.label_en}: choose a value from the list."
            ),
        )
        letter = get_column_letter(positions[key])
        validation.add(f"{letter}2:{letter}{VALIDATED_ROWS + 1}")
        sheet.add_data_validation(validation)


def _fill_instructions(sheet: Any) -> None:
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    headers = ("列 Column", "必填 Required", "说明", "Notes", "示例 Example")
    for index, text in enumerate(headers, start=1):
        sheet.cell(row=1, column=index, value=text).font = bold
    for row, column in enumerate(COLUMNS, start=2):
        values = (
            column.header,
            "必填 Yes" if column.required else "选填 No",
            column.hint_zh,
            column.hint_en,
            EXAMPLE_ROW[column.key],
        )
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=index, value=value)
            cell.number_format = "@"
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    row = len(COLUMNS) + 3
    sheet.cell(row=row, column=1, value="注意 Notes").font = bold
    for offset, (zh, en) in enumerate(_GENERAL_NOTES, start=1):
        sheet.cell(row=row + offset, column=1, value=zh)
        sheet.cell(row=row + offset, column=4, value=en)
    for letter, width in zip("ABCDE", (34, 12, 40, 48, 22), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"


def _display_width(text: str) -> int:
    """Width in Excel character units: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _save(workbook: Any) -> bytes:
    # ExcelWriter directly: save_workbook() would stamp the current time as "modified".
    from openpyxl.writer.excel import ExcelWriter

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    return buffer.getvalue()


def _reproducible_zip(data: bytes) -> bytes:
    """Rewrite a ZIP with fixed member times, so equal content gives equal bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()
