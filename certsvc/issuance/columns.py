"""The columns of a results file: what each is called, which are required, their limits.

One place for the columns: the templates (:mod:`certsvc.issuance.template`), the file
readers (:mod:`certsvc.issuance.rows`), the issuing API and the certificate pages all take
them from here, as do the fixed choices a template offers, which come from the domain. The
limits of the free-text columns (length, line breaks) come from the certificate columns that
store them (:func:`certsvc.models.base.limited`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy.orm import QueryableAttribute

from certsvc.domain.ids import IdType
from certsvc.domain.levels import CERTIFIED_LEVELS
from certsvc.domain.routes import DirectGround, Route
from certsvc.i18n import N_, Message
from certsvc.models import Certificate
from certsvc.models.base import text_limit

#: Results-file columns whose text a certificate stores as it is, under that column's limit.
TEXT_COLUMNS: Mapping[str, QueryableAttribute[str]] = {
    "name": Certificate.holder_name,
    "employer_name": Certificate.employer_name,
    "work_type": Certificate.work_type,
    "direct_evidence": Certificate.direct_evidence,
}

#: Columns where a line break is normal text (Alt+Enter in Excel, a textarea in the console).
MULTILINE_KEYS = frozenset(k for k, column in TEXT_COLUMNS.items() if text_limit(column).multiline)


def max_chars(key: str) -> int:
    """The most characters the free-text column ``key`` may hold."""
    return text_limit(TEXT_COLUMNS[key]).max_chars


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
    def label(self) -> Message:
        """The column's name in the reader's language (``label_zh`` in Chinese), for messages
        such as a row error's ``证件号码：…``."""
        return Message(self.label_en)

    @property
    def header(self) -> str:
        """The header the template writes, e.g. ``"证件号码 ID number"``."""
        return f"{self.label_zh} {self.label_en}"


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", N_("Name"), True, "与证件一致的姓名", "Full name as on the ID document"),
    Column(
        "id_type",
        "证件类型",
        N_("ID type"),
        True,
        "如：居民身份证",
        "Type of ID document, e.g. resident identity card",
    ),
    Column(
        "id_number",
        "证件号码",
        N_("ID number"),
        True,
        "居民身份证18位，末位可为X；请设置为文本格式",
        "18 characters for a resident ID card, the last may be X; format the cells as text",
    ),
    Column(
        "employer_uscc",
        "工作单位统一社会信用代码",
        N_("Employer credit code"),
        True,
        "工作单位的18位统一社会信用代码",
        "The employer's 18-character unified social credit code",
    ),
    Column(
        "employer_name",
        "工作单位名称",
        N_("Employer name"),
        False,
        "选填，与营业执照一致",
        "Optional; as on the business licence",
    ),
    Column(
        "occupation_code",
        "职业编码",
        N_("Occupation code"),
        True,
        "国家职业分类大典编码，如 6-18-01-01",
        "Code in the national occupation classification, e.g. 6-18-01-01",
    ),
    Column(
        "work_type",
        "工种/职业方向",
        N_("Work type"),
        False,
        "选填，工种或职业方向",
        "Optional; work type or specialty within the occupation",
    ),
    Column(
        "level",
        "等级",
        N_("Level"),
        True,
        "技能等级，如：中级工",
        "Skill level, e.g. 中级工 (level 4)",
    ),
    Column(
        "issue_date",
        "发证日期",
        N_("Issue date"),
        False,
        "选填，格式 YYYY-MM-DD",
        "Optional; YYYY-MM-DD",
    ),
    Column(
        "route",
        "认定方式",
        N_("Route"),
        False,
        "选填，留空为正常认定",
        "Optional; empty means regular assessment",
    ),
    Column(
        "direct_ground",
        "直接认定依据",
        N_("Direct-certification ground"),
        False,
        "直接认定时必填，从下拉列表选择",
        "Required for direct certification; choose from the list",
    ),
    Column(
        "direct_evidence",
        "直接认定事实",
        N_("Evidence"),
        False,
        "直接认定时填写具体事实，将在查验页面显示",
        "Facts behind a direct certification; shown when the certificate is verified",
    ),
    Column(
        "corrects",
        "更正原证书编号",
        N_("Corrects certificate"),
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


def normalise_label(text: str) -> str:
    """Fold a header for matching: width, case, spaces, "/", BOM, "*" and "(notes)" ignored."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[(\[【][^)\]】]*[)\]】]", "", text)
    # "/" too: "姓名/Name" and "工种 职业方向" are how people retype a header.
    return re.sub(r"[\s*_\-/\u200b\ufeff]", "", text)


def column_letter(position: int) -> str:
    """Spreadsheet column letters for a 0-based position: 0 -> A, 26 -> AA."""
    letters = ""
    number = position + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def template_choices() -> dict[str, list[str]]:
    """Drop-down lists for the XLSX template, keyed by column key."""
    return {
        "id_type": [t.label_zh for t in IdType],
        "level": [lv.printed_zh for lv in CERTIFIED_LEVELS],
        "route": [r.label_zh for r in Route],
        "direct_ground": [g.label_zh for g in DirectGround],
    }
