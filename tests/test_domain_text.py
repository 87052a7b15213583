"""The free-text rule: ID numbers, invisible characters and invalid Unicode in typed text."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certsvc.domain.ids import contains_id_number, resident_id_check_char
from certsvc.domain.provinces import PROVINCES
from certsvc.domain.text import check_text, check_visible
from certsvc.errors import IdNumberInText, InvalidInput, InvalidUnicode

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(sorted(PROVINCES))) + draw(
        st.text("0123456789", min_size=4, max_size=4)
    )
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)))
    first17 = f"{area}{born:%Y%m%d}" + draw(st.text("0123456789", min_size=3, max_size=3))
    return first17 + resident_id_check_char(first17)


@given(resident_ids(), st.text("，。的证件号码为 ", max_size=8), st.text("号，。 ", max_size=8))
def test_a_resident_id_is_found_however_it_is_written(number: str, before: str, after: str) -> None:
    spaced = " ".join(number[i : i + 4] for i in range(0, 18, 4))
    hyphened = f"{number[:6]}-{number[6:14]}-{number[14:]}"
    for form in (number, number.lower(), spaced, hyphened, number.translate(FULL_WIDTH)):
        assert contains_id_number(before + form + after), form


@given(resident_ids(), st.text("0123456789", min_size=1, max_size=6))
def test_a_resident_id_inside_a_longer_run_of_digits_is_found(number: str, digits: str) -> None:
    assert contains_id_number(digits + number)
    assert contains_id_number(f"电话 {digits} {number}")


@given(resident_ids())
def test_a_wrong_check_character_is_not_an_id_number(number: str) -> None:
    wrong = next(c for c in "0123456789X" if c != number[-1])
    assert not contains_id_number(number[:17] + wrong)


@pytest.mark.parametrize(
    "text",
    [
        "工单 202611200001",  # an order number
        "电话 13800138000，传真 025-83456789",
        "证书 Y000132010001264000001",
        "2026-11-20 至 2026-12-31",
        "110105199913310021",  # month 13
        "991231123456789",  # 15 digits, not a province
        "1101054912310021",  # 16 digits: not the legacy 15-digit form
        "护照 E12345678",  # passports are not looked for (README, Security)
    ],
)
def test_text_that_only_resembles_an_id_number_passes(text: str) -> None:
    assert not contains_id_number(text)
    check_text("note", text)


def test_the_legacy_15_digit_number_is_found_standing_alone() -> None:
    assert contains_id_number("旧证号 110105491231002")
    assert contains_id_number("１１０１０５４９１２３１００２")


def test_check_text_names_the_field_and_never_echoes_the_number() -> None:
    with pytest.raises(IdNumberInText) as info:
        check_text("revocation reason", "冒用 11010519491231002X")
    assert "revocation reason" in info.value.message and "1101" not in info.value.message


@pytest.mark.parametrize("bad", ["\x1b", "\u202e", "\u2066", "\x00", "\x85"])
def test_invisible_characters_are_refused_with_their_code_point(bad: str) -> None:
    with pytest.raises(InvalidInput, match=f"U\\+{ord(bad):04X}.*retype"):
        check_visible("body name", f"南京{bad}公司")


def test_line_breaks_are_text_only_where_the_field_is_multi_line() -> None:
    check_visible("evidence", "第一行\n第二行\r\n第三行\t", multiline=True)
    with pytest.raises(InvalidInput, match="U\\+000A"):
        check_visible("work type", "数控\n车工")


@pytest.mark.parametrize("surrogate", ["\ud800", "\udfff", "\udcff"])
def test_a_lone_surrogate_is_invalid_unicode(surrogate: str) -> None:
    with pytest.raises(InvalidUnicode, match="member name"):
        check_text("member name", f"成员{surrogate}企业")
