"""Identity documents: 居民身份证 check characters, other ID formats, masking."""

from __future__ import annotations

import string
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certsvc.domain.ids import (
    IdType,
    birth_date_of,
    mask_id_number,
    normalize_id_number,
    parse_id_type,
    redact_id_numbers,
    resident_id_check_char,
)
from certsvc.domain.provinces import PROVINCES, check_province, province_name
from certsvc.errors import InvalidIdNumber, InvalidIdType, InvalidInput

# Published examples of GB 11643-1999 (the first is also in DOMAIN.md).
PUBLISHED_RESIDENT_IDS = ["11010519491231002X", "440524188001010014"]


def _raises_exactly(cls: type[Exception], func, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(cls) as info:
        func(*args, **kwargs)
    assert info.type is cls, f"expected exactly {cls.__name__}, got {info.type.__name__}"
    return str(info.value)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(sorted(PROVINCES))) + draw(
        st.text("0123456789", min_size=4, max_size=4)
    )
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)))
    seq = draw(st.text("0123456789", min_size=3, max_size=3))
    first17 = f"{area}{born:%Y%m%d}{seq}"
    return first17 + resident_id_check_char(first17)


# --- provinces -------------------------------------------------------------------------------


def test_provinces_cover_gbt2260_including_taiwan_hk_macao() -> None:
    assert len(PROVINCES) == 34
    assert province_name("32") == "江苏省"
    assert {"71", "81", "82"} <= set(PROVINCES)
    assert "66" not in PROVINCES


def test_check_province_rejects_unknown_and_malformed() -> None:
    assert "not a GB/T 2260 province" in _raises_exactly(InvalidInput, check_province, "66")
    assert "two digits" in _raises_exactly(InvalidInput, check_province, "3")
    _raises_exactly(InvalidInput, check_province, "ab")


def test_configured_extra_province_is_accepted() -> None:
    extra = {"66": "新疆生产建设兵团"}
    assert check_province("66", extra) == "66"
    assert province_name("66", extra) == "新疆生产建设兵团"


# --- resident ID -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", PUBLISHED_RESIDENT_IDS)
def test_published_resident_ids_are_valid(value: str) -> None:
    assert resident_id_check_char(value[:17]) == value[17]
    assert normalize_id_number(IdType.RESIDENT_ID, value) == value


def test_resident_id_is_normalised() -> None:
    assert normalize_id_number(IdType.RESIDENT_ID, " 110105 19491231 002x ") == "11010519491231002X"
    # Full-width digits and X, as typed with a Chinese input method.
    assert normalize_id_number(IdType.RESIDENT_ID, "１１０１０５１９４９１２３１００２Ｘ") == (
        "11010519491231002X"
    )


def test_birth_date_of() -> None:
    assert birth_date_of("11010519491231002X") == date(1949, 12, 31)
    assert birth_date_of("440524188001010014") == date(1880, 1, 1)


def test_wrong_check_char_names_the_right_one() -> None:
    message = _raises_exactly(
        InvalidIdNumber, normalize_id_number, IdType.RESIDENT_ID, "110105194912310021"
    )
    assert "should be X" in message


def test_legacy_15_digit_number_is_refused_with_advice() -> None:
    message = _raises_exactly(
        InvalidIdNumber, normalize_id_number, IdType.RESIDENT_ID, "110105491231002"
    )
    assert "18-digit" in message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "empty"),
        ("1101051949123100", "has 16"),
        ("11010519491231002XX", "has 19"),
        ("1101051949123100AX", "17 digits"),
        ("99010519491231002X", "cannot start with 99"),
    ],
)
def test_malformed_resident_ids(raw: str, fragment: str) -> None:
    assert fragment in _raises_exactly(
        InvalidIdNumber, normalize_id_number, IdType.RESIDENT_ID, raw
    )


def _with_check(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


@pytest.mark.parametrize("birth", ["19490231", "19491301", "17991231", "20230229"])
def test_impossible_birth_date_is_rejected_even_with_a_correct_check_char(birth: str) -> None:
    value = _with_check(f"110105{birth}002")
    assert "not a possible date" in _raises_exactly(
        InvalidIdNumber, normalize_id_number, IdType.RESIDENT_ID, value
    )


def test_future_birth_date_is_rejected() -> None:
    value = _with_check("11010520300101002")
    message = _raises_exactly(
        InvalidIdNumber,
        normalize_id_number,
        IdType.RESIDENT_ID,
        value,
        today=date(2025, 6, 1),
    )
    assert "future" in message
    # The same number is fine once that date has passed.
    assert normalize_id_number(IdType.RESIDENT_ID, value, today=date(2031, 1, 1)) == value


def test_residence_permit_area_83_is_accepted() -> None:
    value = _with_check("83000019900101001")
    assert normalize_id_number(IdType.RESIDENT_ID, value) == value


@given(resident_ids())
def test_generated_resident_ids_normalise_to_themselves(value: str) -> None:
    assert normalize_id_number(IdType.RESIDENT_ID, value) == value
    assert normalize_id_number(IdType.RESIDENT_ID, value.lower()) == value
    assert birth_date_of(value).strftime("%Y%m%d") == value[6:14]


@given(resident_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_substitution_is_rejected(value: str, pos: int, char: str) -> None:
    if value[pos] == char:
        char = "0" if char != "0" else "1"
    changed = value[:pos] + char + value[pos + 1 :]
    with pytest.raises(InvalidIdNumber):
        normalize_id_number(IdType.RESIDENT_ID, changed)


@given(resident_ids(), st.integers(0, 16), st.sampled_from("0123456789"))
def test_check_char_alone_detects_every_digit_substitution(value: str, pos: int, d: str) -> None:
    if value[pos] == d:
        return
    changed = value[:pos] + d + value[pos + 1 : 17]
    assert resident_id_check_char(changed) != value[17]


def _reference_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 from its definition: weights 2^(18-i) mod 11 and
    (sum + check) = 1 (mod 11); written independently of the table in the module."""
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


@given(st.text("0123456789", min_size=17, max_size=17))
def test_check_char_matches_the_iso7064_definition(first17: str) -> None:
    assert resident_id_check_char(first17) == _reference_check_char(first17)


def test_every_check_value_occurs_and_matches_the_definition() -> None:
    seen = set()
    for n in range(200):
        first17 = f"{11010519491231000 + n:017d}"
        seen.add(resident_id_check_char(first17))
        assert resident_id_check_char(first17) == _reference_check_char(first17)
    assert seen == set("0123456789X")


def test_check_char_needs_17_digits() -> None:
    _raises_exactly(InvalidIdNumber, resident_id_check_char, "1234")
    _raises_exactly(InvalidIdNumber, resident_id_check_char, "1101051949123100A")


# --- other ID types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_type", "raw", "canonical"),
    [
        (IdType.HK_MACAO_PERMIT, "h12345678", "H12345678"),
        (IdType.HK_MACAO_PERMIT, "M 1234567801", "M1234567801"),
        (IdType.TAIWAN_PERMIT, "12345678", "12345678"),
        (IdType.TAIWAN_PERMIT, "1234567801", "1234567801"),
        (IdType.TAIWAN_PERMIT, "12345678(B)", "12345678B"),
        (IdType.FOREIGN_PERMANENT_RESIDENT, "usa110085010101", "USA110085010101"),
        (IdType.PASSPORT, "e 1234 5678", "E12345678"),
        (IdType.PASSPORT, "AB123", "AB123"),
    ],
)
def test_other_id_formats_accept(id_type: IdType, raw: str, canonical: str) -> None:
    assert normalize_id_number(id_type, raw) == canonical


@pytest.mark.parametrize(
    ("id_type", "raw"),
    [
        (IdType.HK_MACAO_PERMIT, "H1234567"),
        (IdType.HK_MACAO_PERMIT, "X12345678"),
        (IdType.HK_MACAO_PERMIT, "H123456789"),
        (IdType.TAIWAN_PERMIT, "1234567"),
        (IdType.TAIWAN_PERMIT, "T12345678"),
        (IdType.FOREIGN_PERMANENT_RESIDENT, "US1100850101011"),
        (IdType.FOREIGN_PERMANENT_RESIDENT, "810000199001010011"),
        (IdType.PASSPORT, "AB12"),
        (IdType.PASSPORT, "AB-12345"),
        (IdType.PASSPORT, "A" * 18),
    ],
)
def test_other_id_formats_reject(id_type: IdType, raw: str) -> None:
    _raises_exactly(InvalidIdNumber, normalize_id_number, id_type, raw)


def test_foreign_permanent_resident_2023_card_uses_mod11_2() -> None:
    value = _with_check("93115619900101001")
    assert normalize_id_number(IdType.FOREIGN_PERMANENT_RESIDENT, value) == value
    bad_check = "0" if value[17] != "0" else "1"
    message = _raises_exactly(
        InvalidIdNumber,
        normalize_id_number,
        IdType.FOREIGN_PERMANENT_RESIDENT,
        value[:17] + bad_check,
    )
    assert f"should be {value[17]}" in message


# --- ID types --------------------------------------------------------------------------------


@pytest.mark.parametrize("id_type", list(IdType))
def test_parse_id_type_accepts_value_and_labels(id_type: IdType) -> None:
    for form in (id_type.value, id_type.label_zh, id_type.label_en, id_type.name):
        assert parse_id_type(form) is id_type
        assert parse_id_type(f"  {form.upper()} ") is id_type


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("身份证", IdType.RESIDENT_ID),
        ("Resident ID", IdType.RESIDENT_ID),
        ("护照", IdType.PASSPORT),
        ("港澳通行证", IdType.HK_MACAO_PERMIT),
        ("回乡证", IdType.HK_MACAO_PERMIT),
        ("台胞证", IdType.TAIWAN_PERMIT),
        ("永居证", IdType.FOREIGN_PERMANENT_RESIDENT),
        ("hk-macao-permit", IdType.HK_MACAO_PERMIT),
    ],
)
def test_parse_id_type_short_forms(text: str, expected: IdType) -> None:
    assert parse_id_type(text) is expected


def test_parse_id_type_unknown_lists_accepted_values() -> None:
    message = _raises_exactly(InvalidIdType, parse_id_type, "驾驶证")
    for id_type in IdType:
        assert id_type.value in message


# --- masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("320102199001011234", "3201**********1234"),
        ("11010519491231002X", "1101**********002X"),
        ("H1234567801", "H123***7801"),
        ("123456789", "1234*6789"),
        ("12345678", "******78"),
        ("AB123", "***23"),
        ("AB", "**"),
        ("", ""),
    ],
)
def test_mask_id_number(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked


@given(st.text(string.ascii_uppercase + string.digits, max_size=30))
def test_mask_keeps_length_and_hides_the_middle(value: str) -> None:
    masked = mask_id_number(value)
    assert len(masked) == len(value)
    if len(value) > 8:
        assert masked[:4] == value[:4] and masked[-4:] == value[-4:]
        assert set(masked[4:-4]) == {"*"}
    else:
        visible = min(2, len(value)) if len(value) > 2 else 0
        assert masked.count("*") == len(value) - visible


@given(st.integers(min_value=1, max_value=10**17 - 1), st.text(max_size=8), st.text(max_size=8))
def test_redact_id_numbers_leaves_no_id_number_in_free_text(
    serial: int, before: str, after: str
) -> None:
    first17 = f"{serial:017d}"
    number = first17 + resident_id_check_char(first17)
    redacted = redact_id_numbers(f"{before}_{number}_{after}")
    assert number not in redacted
    assert mask_id_number(number) in redacted


def test_redact_id_numbers_keeps_short_numbers_and_text() -> None:
    assert redact_id_numbers("结果_2026-11-20_第3批.xlsx") == "结果_2026-11-20_第3批.xlsx"
    assert redact_id_numbers("结果_20261120.csv") == "结果_20261120.csv"  # a date stamp
    assert redact_id_numbers("E12345678 张三") == "E******78 张三"  # a passport's digits
    assert redact_id_numbers("台胞证_12345678.csv") == "台胞证_******78.csv"  # not a date
    assert redact_id_numbers("32010219900101123X.csv") == "3201**********123X.csv"


@pytest.mark.parametrize(
    "written",
    [
        "１１０１０１１９９００３０７４４７７",  # full-width, as normalize_id_number accepts
        "1101 0119 9003 0744 77",  # grouped by fours, as people type it
        "110101 19900307 4477",
    ],
)
def test_redact_id_numbers_catches_the_forms_the_parser_accepts(written: str) -> None:
    assert normalize_id_number(IdType.RESIDENT_ID, written) == "110101199003074477"
    redacted = redact_id_numbers(f"张三_{written}.csv")
    digits = [ch for ch in redacted if ch.isdigit()]
    assert len(digits) <= 8  # the mask's first and last four at most
    assert "19900307" not in redacted.replace(" ", "")
