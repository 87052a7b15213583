"""统一社会信用代码 (unified social credit code, USCC), GB 32100-2015.

18 characters: registration authority (1) + organisation type (1) + area code (6, GB/T 2260)
+ subject identifier (9, the former 组织机构代码) + check character (1). The alphabet is the
digits and the capital letters without I, O, S, V, Z (31 symbols); the check character is
``alphabet[(31 - sum(value(c_i) * w_i) mod 31) mod 31]``.

We check alphabet, length and the check character only. The area part is not checked against
GB/T 2260: codes of abolished counties stay valid in old registrations.
"""

from __future__ import annotations

from certsvc.domain._text import compact
from certsvc.errors import InvalidCreditCode
from certsvc.i18n import N_, Message, plural

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 symbols a USCC may use, in value order (no I, O, S, V, Z)."""

USCC_WEIGHTS: tuple[int, ...] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
"""Weights of positions 1..17 (3^(i-1) mod 31)."""

USCC_LENGTH = 18

_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_EXCLUDED = "IOSVZ"


def _bad_chars_message(value: str) -> Message | None:
    bad = [(i + 1, c) for i, c in enumerate(value) if c not in _VALUE][:5]
    if not bad:
        return None
    params = {
        "characters": ", ".join(repr(c) for _, c in bad),
        "positions": ", ".join(str(pos) for pos, _ in bad),
    }
    if any(c in _EXCLUDED for _, c in bad):
        return plural(
            "统一社会信用代码 (credit code) may use only digits and capital letters except "
            "I, O, S, V, Z; found {characters} at position {positions} (I, O, S, V and Z are "
            "never used; I may be 1, O may be 0)",
            "统一社会信用代码 (credit code) may use only digits and capital letters except "
            "I, O, S, V, Z; found {characters} at positions {positions} (I, O, S, V and Z are "
            "never used; I may be 1, O may be 0)",
            len(bad),
            **params,
        )
    return plural(
        "统一社会信用代码 (credit code) may use only digits and capital letters except "
        "I, O, S, V, Z; found {characters} at position {positions}",
        "统一社会信用代码 (credit code) may use only digits and capital letters except "
        "I, O, S, V, Z; found {characters} at positions {positions}",
        len(bad),
        **params,
    )


def uscc_check_char(first17: str) -> str:
    """Check character of a USCC from its first 17 characters (GB 32100-2015)."""
    if len(first17) != USCC_LENGTH - 1:
        raise InvalidCreditCode(
            N_("need exactly 17 characters to compute a credit-code check character, got {length}"),
            length=len(first17),
        )
    problem = _bad_chars_message(first17)
    if problem:
        raise InvalidCreditCode(problem)
    total = sum(_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(raw: str) -> str:
    """Validate a 统一社会信用代码 and return it canonical: no spaces, uppercase, ASCII.

    Raises InvalidCreditCode naming the problem: empty, wrong length, characters outside the
    alphabet, or the check character that was expected.
    """
    value = compact(raw)
    if not value:
        raise InvalidCreditCode(
            N_("the 统一社会信用代码 (unified social credit code) is empty; enter it")
        )
    if len(value) != USCC_LENGTH:
        if len(value) in (9, 10):
            raise InvalidCreditCode(
                N_(
                    "a 统一社会信用代码 (credit code) has 18 characters; this one has {length}; "
                    "this looks like an old 组织机构代码 (organisation code): use the "
                    "18-character code on the current business licence"
                ),
                length=len(value),
            )
        if len(value) == 15:
            raise InvalidCreditCode(
                N_(
                    "a 统一社会信用代码 (credit code) has 18 characters; this one has {length}; "
                    "this looks like an old 注册号 (registration number): use the 18-character "
                    "code on the current business licence"
                ),
                length=len(value),
            )
        raise InvalidCreditCode(
            N_("a 统一社会信用代码 (credit code) has 18 characters; this one has {length}"),
            length=len(value),
        )
    problem = _bad_chars_message(value)
    if problem:
        raise InvalidCreditCode(problem)
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        raise InvalidCreditCode(
            N_(
                "the check character (last) of credit code {code} should be {expected}, not "
                "{found}; one of the 18 characters is mistyped — copy it from the business "
                "licence"
            ),
            code=value,
            expected=expected,
            found=value[17],
        )
    return value
