"""What a results file's columns may hold, taken from the domain and the schema.

The fixed choices come from the domain; the limits of the free-text columns (length, line
breaks) from the certificate columns that store them (:func:`certsvc.models.base.limited`).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import QueryableAttribute

from certsvc.domain.ids import IdType
from certsvc.domain.levels import CERTIFIED_LEVELS
from certsvc.domain.routes import DirectGround, Route
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


def template_choices() -> dict[str, list[str]]:
    """Drop-down lists for the XLSX template, keyed by column key."""
    return {
        "id_type": [t.label_zh for t in IdType],
        "level": [lv.printed_zh for lv in CERTIFIED_LEVELS],
        "route": [r.label_zh for r in Route],
        "direct_ground": [g.label_zh for g in DirectGround],
    }
