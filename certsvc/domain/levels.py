"""Skill levels of the 新八级工 system (2022 "new eight-grade worker" ladder).

学徒工 (apprentice) < 初级工 (五级) < 中级工 (四级) < 高级工 (三级) < 技师 (二级)
< 高级技师 (一级) < 特级技师 (special-grade technician) < 首席技师 (chief technician).

五级..一级 are national grades (国家职业技能等级) with a one-digit code used in the certificate
number. 特级技师 and 首席技师 are enterprise-appointed (评聘) posts above 一级; they carry
certificates with their own number format (see :mod:`certsvc.domain.numbers`). An apprentice
gets no level certificate.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

from certsvc.domain._text import lookup_key
from certsvc.errors import InvalidLevel
from certsvc.i18n import N_


class _LevelInfo(NamedTuple):
    rank: int
    code: str
    name_zh: str
    grade_zh: str
    name_en: str
    grade_en: str


class Level(Enum):
    """One rung of the 新八级工 ladder; members are in rank order and compare by rank."""

    APPRENTICE = _LevelInfo(0, "A", "学徒工", "", "Apprentice", "")
    JUNIOR = _LevelInfo(1, "5", "初级工", "五级", "Junior Worker", "Level 5")
    INTERMEDIATE = _LevelInfo(2, "4", "中级工", "四级", "Intermediate Worker", "Level 4")
    SENIOR = _LevelInfo(3, "3", "高级工", "三级", "Senior Worker", "Level 3")
    TECHNICIAN = _LevelInfo(4, "2", "技师", "二级", "Technician", "Level 2")
    SENIOR_TECHNICIAN = _LevelInfo(5, "1", "高级技师", "一级", "Senior Technician", "Level 1")
    SPECIAL_TECHNICIAN = _LevelInfo(6, "T", "特级技师", "", "Special-Grade Technician", "")
    CHIEF_TECHNICIAN = _LevelInfo(7, "C", "首席技师", "", "Chief Technician", "")

    @property
    def rank(self) -> int:
        """Position on the ladder, 0 (学徒工) .. 7 (首席技师)."""
        return self.value.rank

    @property
    def code(self) -> str:
        """Level code: ``5``..``1`` for 五级..一级 (digit 16 of a certificate number);
        ``A``, ``T``, ``C`` for 学徒工, 特级技师, 首席技师 (ours, not from the rule)."""
        return self.value.code

    @property
    def name_zh(self) -> str:
        """Chinese level name, e.g. 高级工."""
        return self.value.name_zh

    @property
    def grade_zh(self) -> str:
        """Chinese national grade, e.g. 三级; empty for 学徒工, 特级技师, 首席技师."""
        return self.value.grade_zh

    @property
    def name_en(self) -> str:
        """English level name, e.g. Senior Worker."""
        return self.value.name_en

    @property
    def grade_en(self) -> str:
        """English grade, e.g. Level 3; empty when there is no national grade."""
        return self.value.grade_en

    @property
    def printed_zh(self) -> str:
        """Level as printed on the certificate: ``三级/高级工``, or ``特级技师``."""
        if self.grade_zh:
            return f"{self.grade_zh}/{self.name_zh}"
        return self.name_zh

    @property
    def printed_en(self) -> str:
        """English printed form: ``Level 3 / Senior Worker``, or ``Special-Grade Technician``."""
        if self.grade_en:
            return f"{self.grade_en} / {self.name_en}"
        return self.name_en

    @property
    def carries_certificate(self) -> bool:
        """Whether a certificate is issued at this level (all but 学徒工)."""
        return self is not Level.APPRENTICE

    @property
    def allows_direct_certification(self) -> bool:
        """Whether 直接认定 (direct certification) may award this level: 高级工 and above."""
        return self.rank >= Level.SENIOR.rank

    @property
    def has_numeric_code(self) -> bool:
        """Whether the level has a digit code 5..1 (五级..一级)."""
        return self.code.isdigit()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank >= other.rank

    @classmethod
    def from_code(cls, code: str) -> Level:
        """Level for a code (``"3"`` -> SENIOR, ``"T"`` -> SPECIAL_TECHNICIAN); InvalidLevel."""
        found = _BY_CODE.get(code.strip().upper())
        if found is None:
            codes = ", ".join(f"{lv.code} ({lv.name_zh})" for lv in cls)
            raise InvalidLevel(
                N_("unknown level code {code}; use one of {codes}"), code=repr(code), codes=codes
            )
        return found


_BY_CODE: dict[str, Level] = {lv.code: lv for lv in Level}

CERTIFIED_LEVELS: tuple[Level, ...] = tuple(lv for lv in Level if lv.carries_certificate)
"""The seven levels that carry a certificate, lowest first."""


def _build_level_lookup() -> dict[str, Level]:
    table: dict[str, Level] = {}
    for lv in Level:
        forms = [lv.code, lv.name, lv.name_zh, lv.name_en, lv.printed_zh, lv.printed_en]
        if lv.grade_zh:
            forms += [
                lv.grade_zh,
                lv.grade_en,
                f"{lv.name_zh}/{lv.grade_zh}",
                f"{lv.name_en}/{lv.grade_en}",
                f"{lv.grade_zh}{lv.name_zh}",
                f"{lv.grade_zh}({lv.name_zh})",
                f"{lv.name_zh}({lv.grade_zh})",
            ]
        for form in forms:
            table[lookup_key(form)] = lv
    # Short and older forms seen in result files: 初级/中级/高级 (职业资格 era), 学徒.
    for short, lv in {
        "初级": Level.JUNIOR,
        "中级": Level.INTERMEDIATE,
        "高级": Level.SENIOR,
        "学徒": Level.APPRENTICE,
    }.items():
        table[lookup_key(short)] = lv
    return table


_LEVEL_LOOKUP = _build_level_lookup()


def parse_level(text: str) -> Level:
    """Read a level from a form or file cell.

    Accepts the code (``3``), the national grade (``三级``, ``Level 3``), the name (``高级工``,
    ``Senior Worker``), the printed form (``三级/高级工``; full-width slash, brackets and spaces
    are fine) and the enum name (``SENIOR``); English is case-insensitive. Raises InvalidLevel
    listing the accepted forms.
    """
    found = _LEVEL_LOOKUP.get(lookup_key(text))
    if found is None:
        accepted = "; ".join(f"{lv.code} | {lv.printed_zh} | {lv.printed_en}" for lv in Level)
        raise InvalidLevel(
            N_(
                "unknown level {level}; write the code, the Chinese or the English form, "
                "e.g. {accepted}"
            ),
            level=repr(text.strip()),
            accepted=accepted,
        )
    return found
