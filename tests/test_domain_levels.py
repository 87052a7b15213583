"""新八级工 levels: order, labels, parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certsvc.domain._text import lookup_key
from certsvc.domain.levels import CERTIFIED_LEVELS, Level, parse_level
from certsvc.domain.routes import check_certifiable
from certsvc.errors import InvalidLevel

EXPECTED = [
    # member, rank, code, name_zh, grade_zh, printed_zh, printed_en
    (Level.APPRENTICE, 0, "A", "学徒工", "", "学徒工", "Apprentice"),
    (Level.JUNIOR, 1, "5", "初级工", "五级", "五级/初级工", "Level 5 / Junior Worker"),
    (Level.INTERMEDIATE, 2, "4", "中级工", "四级", "四级/中级工", "Level 4 / Intermediate Worker"),
    (Level.SENIOR, 3, "3", "高级工", "三级", "三级/高级工", "Level 3 / Senior Worker"),
    (Level.TECHNICIAN, 4, "2", "技师", "二级", "二级/技师", "Level 2 / Technician"),
    (
        Level.SENIOR_TECHNICIAN,
        5,
        "1",
        "高级技师",
        "一级",
        "一级/高级技师",
        "Level 1 / Senior Technician",
    ),
    (Level.SPECIAL_TECHNICIAN, 6, "T", "特级技师", "", "特级技师", "Special-Grade Technician"),
    (Level.CHIEF_TECHNICIAN, 7, "C", "首席技师", "", "首席技师", "Chief Technician"),
]


@pytest.mark.parametrize(
    ("level", "rank", "code", "name_zh", "grade_zh", "printed_zh", "printed_en"), EXPECTED
)
def test_level_table(
    level: Level,
    rank: int,
    code: str,
    name_zh: str,
    grade_zh: str,
    printed_zh: str,
    printed_en: str,
) -> None:
    assert level.rank == rank
    assert level.code == code
    assert level.name_zh == name_zh
    assert level.grade_zh == grade_zh
    assert level.printed_zh == printed_zh
    assert level.printed_en == printed_en
    assert Level.from_code(code) is level
    assert level.has_numeric_code == code.isdigit()
    assert bool(level.grade_en) == bool(grade_zh)


def test_members_are_in_rank_order_and_compare_by_rank() -> None:
    members = list(Level)
    assert [lv.rank for lv in members] == list(range(8))
    assert sorted(reversed(members)) == members
    assert Level.APPRENTICE < Level.JUNIOR < Level.SENIOR < Level.CHIEF_TECHNICIAN
    assert Level.SENIOR >= Level.SENIOR and Level.TECHNICIAN > Level.SENIOR
    assert not Level.SENIOR_TECHNICIAN <= Level.TECHNICIAN
    assert max(members) is Level.CHIEF_TECHNICIAN


def test_comparison_with_other_types_is_not_supported() -> None:
    with pytest.raises(TypeError):
        _ = Level.SENIOR < 3  # type: ignore[operator]


def test_certified_levels() -> None:
    assert len(CERTIFIED_LEVELS) == 7
    assert Level.APPRENTICE not in CERTIFIED_LEVELS
    assert [lv.carries_certificate for lv in Level] == [False] + [True] * 7


def test_direct_certification_from_senior_up() -> None:
    allowed = {lv for lv in Level if lv.allows_direct_certification}
    assert allowed == {
        Level.SENIOR,
        Level.TECHNICIAN,
        Level.SENIOR_TECHNICIAN,
        Level.SPECIAL_TECHNICIAN,
        Level.CHIEF_TECHNICIAN,
    }


def test_from_code_rejects_unknown() -> None:
    with pytest.raises(InvalidLevel) as info:
        Level.from_code("6")
    assert info.type is InvalidLevel
    assert "5 (初级工)" in str(info.value)


def _forms(level: Level) -> list[str]:
    forms = [
        level.code,
        level.name,
        level.name.lower(),
        level.name_zh,
        level.name_en,
        level.name_en.upper(),
        level.printed_zh,
        level.printed_en,
        level.printed_en.lower(),
        f" {level.printed_zh} ",
    ]
    if level.grade_zh:
        forms += [
            level.grade_zh,
            level.grade_en,
            level.grade_en.lower(),
            level.grade_en.replace(" ", ""),
            level.printed_zh.replace("/", "／"),  # full-width slash
            level.printed_zh.replace("/", " / "),
            f"{level.grade_zh}（{level.name_zh}）",  # full-width brackets
            f"{level.name_zh}/{level.grade_zh}",
        ]
    return forms


@pytest.mark.parametrize("level", list(Level))
def test_parse_level_accepts_every_printed_form(level: Level) -> None:
    for form in _forms(level):
        assert parse_level(form) is level, form


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("3", Level.SENIOR),
        ("三级", Level.SENIOR),
        ("高级工", Level.SENIOR),
        ("senior worker", Level.SENIOR),
        ("level 3", Level.SENIOR),
        ("三级／高级工", Level.SENIOR),
        ("高级", Level.SENIOR),
        ("初级", Level.JUNIOR),
    ],
)
def test_parse_level_examples(text: str, level: Level) -> None:
    assert parse_level(text) is level


def test_forms_do_not_collide_between_levels() -> None:
    owner: dict[str, Level] = {}
    for level in Level:
        for form in _forms(level):
            key = lookup_key(form)
            assert owner.setdefault(key, level) is level, f"{form!r} is ambiguous"


@pytest.mark.parametrize("text", ["", "六级", "Level 6", "0", "高级工程师", "master"])
def test_parse_level_rejects_unknown_and_lists_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidLevel) as info:
        parse_level(text)
    assert info.type is InvalidLevel
    assert "三级/高级工" in str(info.value) and "Level 3 / Senior Worker" in str(info.value)


def test_the_hint_offers_only_levels_that_are_then_accepted() -> None:
    """A person who copies any form the hint offers must not be refused next (学徒工 was)."""
    with pytest.raises(InvalidLevel) as info:
        parse_level("六级")
    offered = str(info.value).split("e.g. ", 1)[1].split("; ")
    assert len(offered) == len(CERTIFIED_LEVELS)
    for entry in offered:
        for form in entry.split(" | "):
            check_certifiable(parse_level(form))  # raises InvalidLevel for 学徒工
    assert "学徒" not in str(info.value) and "Apprentice" not in str(info.value)
    with pytest.raises(InvalidLevel) as by_code:
        Level.from_code("6")
    for code in str(by_code.value).split("use one of ", 1)[1].split(", "):
        check_certifiable(Level.from_code(code.split(" ")[0]))
    assert "学徒" not in str(by_code.value)


@given(st.text(max_size=12))
def test_parse_level_returns_a_level_or_raises_invalid_level(text: str) -> None:
    try:
        level = parse_level(text)
    except InvalidLevel:
        return
    assert isinstance(level, Level)
