"""国家职业分类大典 codes and the occupation catalogue."""

from __future__ import annotations

import pytest

from certsvc.domain.occupations import (
    OCCUPATION_CODE_RE,
    Occupation,
    check_occupation_code,
    find_occupation,
    read_catalogue_csv,
    shipped_catalogue,
)
from certsvc.errors import InvalidInput, UnknownOccupation

HEADER = "code,name_zh,name_en,tags,verified,note\n"


@pytest.mark.parametrize("code", ["6-18-01-01", "4-04-05-05", "4-04-05-05-01", "2-02-38-08"])
def test_valid_codes(code: str) -> None:
    assert OCCUPATION_CODE_RE.match(code)
    assert check_occupation_code(code) == code


def test_code_normalisation() -> None:
    assert check_occupation_code(" 6－18－02－04 ") == "6-18-02-04"  # full-width hyphens
    assert check_occupation_code("6–18–02–04") == "6-18-02-04"  # en dashes from Word
    assert check_occupation_code("６-18-02-04") == "6-18-02-04"


@pytest.mark.parametrize(
    "code",
    [
        "",
        "6-18-01",
        "6-18-01-1",
        "61-8-01-01",
        "6-18-01-01-1",
        "6-18-01-01-01-01",
        "61801001",
        "A-18-01-01",
    ],
)
def test_malformed_codes(code: str) -> None:
    with pytest.raises(UnknownOccupation) as info:
        check_occupation_code(code)
    assert isinstance(info.value, InvalidInput)
    assert "D-DD-DD-DD" in str(info.value)


# --- shipped catalogue -----------------------------------------------------------------------


def test_shipped_catalogue_loads_and_codes_are_unique() -> None:
    catalogue = shipped_catalogue()
    assert 15 <= len(catalogue) <= 60
    codes = [o.code for o in catalogue]
    assert len(codes) == len(set(codes))
    assert all(OCCUPATION_CODE_RE.match(c) for c in codes)
    # A fresh list each time: callers cannot corrupt the cache.
    catalogue.clear()
    assert shipped_catalogue()


@pytest.mark.parametrize(
    ("code", "name_zh"),
    [
        ("4-04-05-05", "人工智能训练师"),
        ("4-04-05-05-01", "数据标注员"),
        ("4-04-05-01", "计算机程序设计员"),
        ("2-02-38-01", "人工智能工程技术人员"),
        ("2-02-38-02", "物联网工程技术人员"),
        ("2-02-38-03", "大数据工程技术人员"),
        ("2-02-38-04", "云计算工程技术人员"),
        ("2-02-38-05", "智能制造工程技术人员"),
        ("2-02-38-06", "工业互联网工程技术人员"),
        ("2-02-38-07", "虚拟现实工程技术人员"),
        ("2-02-38-08", "区块链工程技术人员"),
    ],
)
def test_domain_md_digital_occupations_are_shipped(code: str, name_zh: str) -> None:
    occupation = find_occupation(code)
    assert occupation.name_zh == name_zh
    assert occupation.is_digital
    assert occupation.verified


def test_work_type_belongs_to_its_occupation() -> None:
    annotator = find_occupation("4-04-05-05-01")
    assert annotator.is_work_type
    assert find_occupation(annotator.occupation_code).name_zh == "人工智能训练师"


@pytest.mark.parametrize("name_zh", ["集成电路工程技术人员", "数据安全工程技术人员"])
def test_unconfirmed_codes_are_marked_unverified(name_zh: str) -> None:
    (occupation,) = [o for o in shipped_catalogue() if o.name_zh == name_zh]
    assert not occupation.verified
    assert "code not confirmed" in occupation.note


def test_every_row_has_english_name_and_unverified_rows_say_why() -> None:
    for occupation in shipped_catalogue():
        assert occupation.name_en, occupation.code
        assert occupation.note, occupation.code
        if not occupation.verified:
            assert "not confirmed" in occupation.note, occupation.code


def test_find_occupation_unknown() -> None:
    with pytest.raises(UnknownOccupation) as info:
        find_occupation("9-99-99-99")
    assert "not in the occupation catalogue" in str(info.value)


def test_find_occupation_in_a_given_catalogue() -> None:
    own = [Occupation("6-99-00-01", "测试工", "Tester", frozenset(), False, "")]
    assert find_occupation("6-99-00-01", own).name_zh == "测试工"
    with pytest.raises(UnknownOccupation):
        find_occupation("6-18-02-04", own)


# --- reading catalogue CSV -------------------------------------------------------------------


def test_read_catalogue_csv() -> None:
    text = (
        "\ufeff"
        + HEADER
        + (
            "6-18-02-04,焊工,Welder,,true,standard\n"
            "\n"
            '2-02-38-03,大数据工程技术人员,"Big Data, Engineering",S;L,false,"a, b"\n'
            "4-04-05-05,人工智能训练师,AI Trainer,s,1,\n"
        )
    )
    rows = read_catalogue_csv(text)
    assert [r.code for r in rows] == ["6-18-02-04", "2-02-38-03", "4-04-05-05"]
    assert rows[0].tags == frozenset() and rows[0].verified
    assert rows[1].tags == frozenset({"S", "L"}) and rows[1].is_green and not rows[1].verified
    assert rows[1].name_en == "Big Data, Engineering"
    assert rows[2].is_digital and rows[2].verified


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("code,name\n6-18-02-04,焊工\n", "line 1: the header must be"),
        ("", "line 1: the header must be"),
        (HEADER + "6-18-02-04,焊工,Welder,,true,ok\n6-18-2-04,焊工,Welder,,true,\n", "line 3"),
        (HEADER + "6-18-02-04,,Welder,,true,\n", "name_zh"),
        (HEADER + "6-18-02-04,焊工,Welder,X,true,\n", "unknown tag X;"),
        (HEADER + "6-18-02-04,焊工,Welder,,maybe,\n", "verified must be true or false"),
        (HEADER + "6-18-02-04,焊工,Welder,,true,a,b\n", "quote cells"),
        (HEADER + "6-18-02-04,焊工,Welder,,true\n", "line 2: expected 6 columns"),
        (
            HEADER + "6-18-02-04,焊工,Welder,,true,\n6-18-02-04,焊工,Welder,,true,\n",
            "already appears on line 2",
        ),
    ],
)
def test_read_catalogue_csv_errors_name_the_line(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as info:
        read_catalogue_csv(text)
    assert fragment in str(info.value)
