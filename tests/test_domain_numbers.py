"""Certificate numbers (《职业技能等级证书编码规则(试行)》) and legacy 职业资格证书 numbers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certsvc.domain.levels import CERTIFIED_LEVELS, Level
from certsvc.domain.numbers import (
    DEFAULT_SPECIAL_LEVEL_LETTERS,
    MAX_SERIAL,
    BodyCode,
    CertificateNumber,
    check_special_letters,
    issuing_body_of,
    looks_like_certificate_number,
    parse_body_code,
    parse_certificate_number,
    parse_legacy_qualification_number,
    two_digit_year,
)
from certsvc.domain.provinces import PROVINCES
from certsvc.errors import ConfigError, InvalidCertificateNumber, InvalidInput, InvalidLevel

BODY = BodyCode("Y", "0001", "32", "010001")


def _message(exc_type: type[Exception], func, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(exc_type) as info:
        func(*args, **kwargs)
    assert info.type is exc_type, info.type
    return str(info.value)


digits = "0123456789"
bodies = st.builds(
    BodyCode,
    type_letter=st.sampled_from("YS"),
    body_code=st.text(digits, min_size=4, max_size=4),
    province=st.sampled_from(sorted(PROVINCES)),
    site_serial=st.text(digits, min_size=6, max_size=6),
)
numbers = st.builds(
    CertificateNumber,
    body=bodies,
    year=st.integers(0, 99),
    level=st.sampled_from(CERTIFIED_LEVELS),
    serial=st.integers(1, MAX_SERIAL),
)


# --- body code -------------------------------------------------------------------------------


def test_body_code_round_trip() -> None:
    assert str(BODY) == "Y000132010001"
    assert parse_body_code("y0001 32 010001") == BODY
    assert not BODY.filed_with_province
    assert parse_body_code("S000044123456").filed_with_province


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("Y00013201000", "has 12"),
        ("X000132010001", "Y (用人单位"),
        ("Y0001320100A1", "must be digits"),
        ("Y000199010001", "characters 6-7 are the province"),
    ],
)
def test_bad_body_codes(raw: str, fragment: str) -> None:
    assert fragment in _message(InvalidInput, parse_body_code, raw)


def test_body_code_extra_province() -> None:
    assert parse_body_code("Y000166000001", {"66": "新疆生产建设兵团"}).province == "66"


# --- regular numbers -------------------------------------------------------------------------


def test_rule_example_layout() -> None:
    # 《编码规则》 example Y000123XXXXXX195000001 with the site serial filled in.
    number = parse_certificate_number("Y000123010203195000001")
    assert number.body == BodyCode("Y", "0001", "23", "010203")
    assert (number.year, number.level, number.serial) == (19, Level.JUNIOR, 1)
    assert str(number) == "Y000123010203195000001"


def test_format_each_numeric_level() -> None:
    for level, digit in [
        (Level.JUNIOR, "5"),
        (Level.INTERMEDIATE, "4"),
        (Level.SENIOR, "3"),
        (Level.TECHNICIAN, "2"),
        (Level.SENIOR_TECHNICIAN, "1"),
    ]:
        text = CertificateNumber(BODY, 25, level, 42).format()
        assert text == f"Y00013201000125{digit}000042"
        assert len(text) == 22


def test_special_levels_use_the_letter_setting() -> None:
    special = CertificateNumber(BODY, 25, Level.SPECIAL_TECHNICIAN, 7)
    chief = CertificateNumber(BODY, 25, Level.CHIEF_TECHNICIAN, 7)
    assert str(special) == "YT000132010001" + "25000007"
    assert str(chief) == "YC000132010001" + "25000007"
    assert len(str(special)) == 22
    letters = {Level.SPECIAL_TECHNICIAN: "X", Level.CHIEF_TECHNICIAN: "Q"}
    assert special.format(letters) == "YX00013201000125000007"
    assert parse_certificate_number("YX00013201000125000007", letters) == special
    # With the default letters, X is not a level letter.
    assert "not a level letter" in _message(
        InvalidCertificateNumber, parse_certificate_number, "YX00013201000125000007"
    )


@given(numbers)
def test_format_parse_round_trip_for_every_level(number: CertificateNumber) -> None:
    text = number.format()
    assert len(text) == 22
    assert looks_like_certificate_number(text)
    assert parse_certificate_number(text) == number
    assert parse_certificate_number(text.lower()) == number


@given(numbers)
def test_round_trip_with_custom_letters(number: CertificateNumber) -> None:
    letters = {Level.SPECIAL_TECHNICIAN: "P", Level.CHIEF_TECHNICIAN: "K"}
    assert parse_certificate_number(number.format(letters), letters) == number


CUSTOM_LETTERS = {Level.SPECIAL_TECHNICIAN: "P", Level.CHIEF_TECHNICIAN: "K"}


@given(numbers, st.sampled_from([DEFAULT_SPECIAL_LEVEL_LETTERS, CUSTOM_LETTERS]))
def test_issuing_body_whatever_the_level_letters(
    number: CertificateNumber, letters: Mapping[Level, str]
) -> None:
    """The body of a number is read without knowing the configured level letters."""
    assert issuing_body_of(number.format(letters)) == number.body


@pytest.mark.parametrize(
    "raw", ["", "Y00013201000125300000", "X000132010001253000001", "Y0001320100012530000O1"]
)
def test_issuing_body_of_what_is_not_a_number(raw: str) -> None:
    assert "shape of a certificate number" in _message(
        InvalidCertificateNumber, issuing_body_of, raw
    )


@pytest.mark.parametrize("digit", "06789")
def test_unknown_level_digit(digit: str) -> None:
    raw = f"Y00013201000125{digit}000001"
    message = _message(InvalidCertificateNumber, parse_certificate_number, raw)
    assert "character 16 is the level code" in message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "empty"),
        ("Y00013201000125300000", "has 21 characters"),
        ("Y0001320100012530000011", "has 23 characters"),
        ("A000132010001253000001", "must be Y or S"),
        ("Y00013201000125300000A", "characters 2-22 must be digits"),
        ("YT0001320100012500000A", "characters 3-22 must be digits"),
        ("Y000199010001253000001", "characters 6-7 are the province"),
        ("YT00019901000125000001", "characters 7-8 are the province"),
        ("Y000132010001253000000", "000000"),
        ("YC00013201000125000000", "000000"),
    ],
)
def test_bad_numbers(raw: str, fragment: str) -> None:
    assert fragment in _message(InvalidCertificateNumber, parse_certificate_number, raw)


def test_extra_province_for_bingtuan() -> None:
    raw = "Y000166010001253000001"
    with pytest.raises(InvalidCertificateNumber):
        parse_certificate_number(raw)
    number = parse_certificate_number(raw, extra_provinces={"66": "新疆生产建设兵团"})
    assert number.body.province == "66"


def test_number_fields_are_validated() -> None:
    _message(InvalidCertificateNumber, CertificateNumber, BODY, 100, Level.SENIOR, 1)
    _message(InvalidCertificateNumber, CertificateNumber, BODY, 25, Level.SENIOR, 0)
    _message(InvalidCertificateNumber, CertificateNumber, BODY, 25, Level.SENIOR, MAX_SERIAL + 1)
    assert "no level certificate" in _message(
        InvalidLevel, CertificateNumber, BODY, 25, Level.APPRENTICE, 1
    )


def test_two_digit_year() -> None:
    assert two_digit_year(date(2025, 3, 1)) == 25
    assert two_digit_year(2100) == 0


@pytest.mark.parametrize(
    "letters",
    [
        {Level.SPECIAL_TECHNICIAN: "T"},
        {Level.SPECIAL_TECHNICIAN: "T", Level.CHIEF_TECHNICIAN: "T"},
        {Level.SPECIAL_TECHNICIAN: "t", Level.CHIEF_TECHNICIAN: "C"},
        {Level.SPECIAL_TECHNICIAN: "TT", Level.CHIEF_TECHNICIAN: "C"},
        {Level.SPECIAL_TECHNICIAN: "T", Level.CHIEF_TECHNICIAN: "C", Level.SENIOR: "S"},
    ],
)
def test_bad_letter_settings_are_config_errors(letters: dict[Level, str]) -> None:
    _message(ConfigError, check_special_letters, letters)


def test_default_letters_are_valid() -> None:
    assert check_special_letters(DEFAULT_SPECIAL_LEVEL_LETTERS) == DEFAULT_SPECIAL_LEVEL_LETTERS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Y000132010001253000001", True),
        ("yt00013201000125000001", True),
        (" S0001 3201 0001 2530 00001 ", True),
        ("11010519491231002X", False),
        ("X000132010001253000001", False),
        ("Y00013201000125300000", False),
        ("", False),
    ],
)
def test_looks_like_certificate_number(text: str, expected: bool) -> None:
    assert looks_like_certificate_number(text) is expected


# --- legacy 职业资格证书 numbers -------------------------------------------------------------


def test_legacy_number_parts() -> None:
    legacy = parse_legacy_qualification_number("1532010100330042")
    assert (legacy.year, legacy.province, legacy.city) == (15, "32", "01")
    assert (legacy.body_kind, legacy.body_serial) == ("0", "100")
    assert legacy.level is Level.SENIOR
    assert legacy.serial == 30042
    assert str(legacy) == "1532010100330042"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("153201010033004", "16 digits"),
        ("Y532010100330042", "16 digits"),
        ("1599010100330042", "digits 3-4 are the province"),
        ("1532010100730042", "digit 11 is the level"),
    ],
)
def test_bad_legacy_numbers(raw: str, fragment: str) -> None:
    assert fragment in _message(InvalidCertificateNumber, parse_legacy_qualification_number, raw)
