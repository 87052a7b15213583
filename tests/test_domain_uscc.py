"""统一社会信用代码 (GB 32100-2015)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certsvc.domain.uscc import USCC_ALPHABET, normalize_uscc, uscc_check_char
from certsvc.errors import InvalidCreditCode

# Published codes of well-known companies (public business registrations).
REAL_USCCS = {
    "914403001922038216": "华为技术有限公司",
    "91440300708461136T": "深圳市腾讯计算机系统有限公司",
    "91110108551385082Q": "小米科技有限责任公司",
    "91330100716105852F": "阿里巴巴(中国)有限公司",
}


def _raises_exactly(func, *args):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidCreditCode) as info:
        func(*args)
    assert info.type is InvalidCreditCode
    return str(info.value)


uscc_first17 = st.text(USCC_ALPHABET, min_size=17, max_size=17)


def test_alphabet_is_31_symbols_without_iosvz() -> None:
    assert USCC_ALPHABET == "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015, value order
    assert len(USCC_ALPHABET) == 31
    assert not set("IOSVZ") & set(USCC_ALPHABET)


@pytest.mark.parametrize("code", sorted(REAL_USCCS))
def test_real_codes_are_valid(code: str) -> None:
    assert uscc_check_char(code[:17]) == code[17]
    assert normalize_uscc(code) == code


def test_normalisation_strips_spaces_and_uppercases() -> None:
    assert normalize_uscc(" 91440300 708461136t ") == "91440300708461136T"
    assert normalize_uscc("９１１１０１０８５５１３８５０８２Ｑ") == "91110108551385082Q"


def _reference_check_char(first17: str) -> str:
    """GB 32100-2015 from its definition: weight of position i is 3^(i-1) mod 31, written
    independently of the module's weight table."""
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return USCC_ALPHABET[(31 - total % 31) % 31]


@given(uscc_first17)
def test_check_char_matches_the_gb32100_definition(first17: str) -> None:
    assert uscc_check_char(first17) == _reference_check_char(first17)


def test_check_char_zero_case() -> None:
    # (31 - sum % 31) % 31 must map a sum divisible by 31 to "0", not to index 31.
    assert uscc_check_char("0" * 17) == "0"


def test_wrong_check_char_names_the_expected_one() -> None:
    message = _raises_exactly(normalize_uscc, "914403001922038217")
    assert "should be 6" in message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "empty"),
        ("91440300192203821", "has 17"),
        ("9144030019220382166", "has 19"),
        ("192203821", "组织机构代码"),
        ("440301104001819", "注册号"),
        ("91440300I92203821G", "'I' at position 9"),
        ("9144O300192203821G", "O may be 0"),
        ("91440300-92203821G", "'-' at position 9"),
    ],
)
def test_malformed_codes(raw: str, fragment: str) -> None:
    assert fragment in _raises_exactly(normalize_uscc, raw)


@given(uscc_first17)
def test_generated_codes_normalise_to_themselves(first17: str) -> None:
    code = first17 + uscc_check_char(first17)
    assert normalize_uscc(code) == code
    assert normalize_uscc(code.lower()) == code


@given(uscc_first17, st.integers(0, 17), st.sampled_from(USCC_ALPHABET))
def test_any_single_substitution_is_detected(first17: str, pos: int, char: str) -> None:
    code = first17 + uscc_check_char(first17)
    if code[pos] == char:
        return
    changed = code[:pos] + char + code[pos + 1 :]
    with pytest.raises(InvalidCreditCode):
        normalize_uscc(changed)


def test_check_char_input_errors() -> None:
    _raises_exactly(uscc_check_char, "12345")
    _raises_exactly(uscc_check_char, "9144030019220382S")
