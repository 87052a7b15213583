"""Certificate numbers per 《职业技能等级证书编码规则(试行)》 (coding rule for skill-level
certificates, trial), and recognition of legacy 职业资格证书 (vocational qualification
certificate) numbers.

Regular number (五级..一级), 22 characters = 1 uppercase letter + 21 digits, 7 parts::

    Y 0001 32 010001 25 3 000001
    | |    |  |      |  | serial (6), allocated by the body
    | |    |  |      |  level code 1..5 (一级..五级)
    | |    |  |      year of issue, last two digits
    | |    |  site serial (6), assigned by the province
    | |    province (GB/T 2260 two digits)
    | body code (4): 0001-9999 filed with MOHRSS (人社部), 0000 filed with a province
    body type: Y 用人单位 (enterprise), S 社会培训评价组织 (social training & assessment body)

ASSUMPTION (not confirmed by a published rule): 特级技师 (special-grade technician) and
首席技师 (chief technician) numbers are 2 uppercase letters + 20 digits with the same 7 parts:
body type letter + level letter + body code (4) + province (2) + site serial (6) + year (2) +
serial (6) = 22 characters. The level letters are a setting; the defaults are ``T`` and ``C``
(:data:`DEFAULT_SPECIAL_LEVEL_LETTERS`). Change them in configuration, never in stored numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from certsvc.domain._text import compact
from certsvc.domain.levels import Level
from certsvc.domain.provinces import check_province
from certsvc.errors import ConfigError, InvalidCertificateNumber, InvalidInput, InvalidLevel
from certsvc.i18n import N_, Message, plural

NUMBER_LENGTH = 22
BODY_CODE_LENGTH = 13
MAX_SERIAL = 999_999
BODY_TYPES: Mapping[str, str] = MappingProxyType(
    {"Y": "用人单位 (enterprise)", "S": "社会培训评价组织 (social training and assessment body)"}
)
PROVINCE_FILED_BODY_CODE = "0000"

DEFAULT_SPECIAL_LEVEL_LETTERS: Mapping[Level, str] = MappingProxyType(
    {Level.SPECIAL_TECHNICIAN: "T", Level.CHIEF_TECHNICIAN: "C"}
)
"""Second character of 特级技师 / 首席技师 numbers. ASSUMPTION, see the module docstring."""

_SPECIAL_LEVELS = frozenset({Level.SPECIAL_TECHNICIAN, Level.CHIEF_TECHNICIAN})


# --- body code ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BodyCode:
    """The issuing body's part of a certificate number (13 characters, e.g. ``Y000132010001``).

    Construction checks the shape of each part; :func:`parse_body_code` also checks the
    province against GB/T 2260.
    """

    type_letter: str
    body_code: str
    province: str
    site_serial: str

    def __post_init__(self) -> None:
        if self.type_letter not in BODY_TYPES:
            raise InvalidInput(
                N_(
                    "body type letter must be Y (用人单位, enterprise) or S (社会培训评价组织, "
                    "social assessment organisation), not {letter}"
                ),
                letter=repr(self.type_letter),
            )
        for field, value, n in (
            (Message(N_("body code")), self.body_code, 4),
            (Message(N_("province")), self.province, 2),
            (Message(N_("site serial")), self.site_serial, 6),
        ):
            if len(value) != n or not value.isascii() or not value.isdigit():
                raise InvalidInput(
                    N_("{field} must be {digits} digits, not {value}"),
                    field=field,
                    digits=n,
                    value=repr(value),
                )

    @property
    def filed_with_province(self) -> bool:
        """True when the body is filed with a provincial 人社厅 (body code ``0000``)."""
        return self.body_code == PROVINCE_FILED_BODY_CODE

    def __str__(self) -> str:
        return f"{self.type_letter}{self.body_code}{self.province}{self.site_serial}"


def parse_body_code(s: str, extra_provinces: Mapping[str, str] | None = None) -> BodyCode:
    """Read a 13-character body code (``Y000132010001``); InvalidInput says what is wrong."""
    value = compact(s)
    if len(value) != BODY_CODE_LENGTH:
        raise InvalidInput(
            N_(
                "a body code has 13 characters (type letter Y/S + 4-digit body code + 2-digit "
                "province + 6-digit site serial, e.g. Y000132010001); {code} has {length}"
            ),
            code=repr(value),
            length=len(value),
        )
    if not value[1:].isascii() or not value[1:].isdigit():
        raise InvalidInput(
            N_("characters 2-13 of body code {code} must be digits"), code=repr(value)
        )
    body = BodyCode(value[0], value[1:5], value[5:7], value[7:13])
    try:
        check_province(body.province, extra_provinces)
    except InvalidInput as exc:
        raise InvalidInput(
            N_("body code {code}: characters 6-7 are the province; {problem}"),
            code=value,
            problem=exc.text,
        ) from exc
    return body


# --- special-level letters (a setting) ---------------------------------------------------------


def check_special_letters(letters: Mapping[Level, str]) -> Mapping[Level, str]:
    """Validate the configured 特级技师/首席技师 letters; ConfigError if unusable.

    Both special levels need one distinct uppercase ASCII letter; other levels may not appear.
    """
    if set(letters) != _SPECIAL_LEVELS:
        raise ConfigError(
            N_(
                "special level letters must be set for exactly SPECIAL_TECHNICIAN (特级技师) "
                "and CHIEF_TECHNICIAN (首席技师); got {levels}"
            ),
            levels=sorted(lv.name for lv in letters),
        )
    for lv, letter in letters.items():
        if len(letter) != 1 or not ("A" <= letter <= "Z"):
            raise ConfigError(
                N_("the number letter for {level} must be one uppercase letter A-Z, not {letter}"),
                level=lv.name_zh,
                letter=repr(letter),
            )
    if len(set(letters.values())) != len(letters):
        raise ConfigError(N_("特级技师 and 首席技师 need different number letters"))
    return letters


# --- certificate number ------------------------------------------------------------------------


def two_digit_year(issued: date | int) -> int:
    """The year part of a number for an issue date or a four-digit year (2025 -> 25)."""
    year = issued.year if isinstance(issued, date) else issued
    return year % 100


@dataclass(frozen=True)
class CertificateNumber:
    """A 职业技能等级证书 number, split into its parts.

    ``year`` is the two-digit year of issue (0..99); ``serial`` is 1..999999.
    """

    body: BodyCode
    year: int
    level: Level
    serial: int

    def __post_init__(self) -> None:
        if not 0 <= self.year <= 99:
            raise InvalidCertificateNumber(
                N_(
                    "the year in a certificate number has two digits (0..99), not {year}; "
                    "use two_digit_year()"
                ),
                year=self.year,
            )
        if not 1 <= self.serial <= MAX_SERIAL:
            raise InvalidCertificateNumber(
                N_("certificate serial must be 1..{maximum}, not {serial}"),
                maximum=MAX_SERIAL,
                serial=self.serial,
            )
        if not self.level.carries_certificate:
            raise InvalidLevel(
                N_(
                    "{level} (apprentice) receives no level certificate, so it has no "
                    "certificate number"
                ),
                level=self.level.name_zh,
            )

    def format(self, special_letters: Mapping[Level, str] = DEFAULT_SPECIAL_LEVEL_LETTERS) -> str:
        """The 22-character number; 特级技师/首席技师 use ``special_letters`` (a setting)."""
        b = self.body
        tail = f"{b.body_code}{b.province}{b.site_serial}{self.year:02d}"
        if self.level.has_numeric_code:
            return f"{b.type_letter}{tail}{self.level.code}{self.serial:06d}"
        letter = check_special_letters(special_letters)[self.level]
        return f"{b.type_letter}{letter}{tail}{self.serial:06d}"

    def __str__(self) -> str:
        return self.format()


_REGULAR_RE = re.compile(r"^[A-Z]\d{21}$")
_SPECIAL_RE = re.compile(r"^[A-Z]{2}\d{20}$")


def looks_like_certificate_number(s: str) -> bool:
    """Whether ``s`` has the shape of a certificate number (22 chars: Y/S, optional level
    letter, digits). Shape only: use :func:`parse_certificate_number` to validate."""
    value = compact(s)
    return value[:1] in BODY_TYPES and bool(_REGULAR_RE.match(value) or _SPECIAL_RE.match(value))


def _bad(number: str, problem: Message) -> InvalidCertificateNumber:
    return InvalidCertificateNumber(
        N_("certificate number {number}: {problem}; copy the number exactly as printed"),
        number=number,
        problem=problem,
    )


def parse_certificate_number(
    s: str,
    special_letters: Mapping[Level, str] = DEFAULT_SPECIAL_LEVEL_LETTERS,
    extra_provinces: Mapping[str, str] | None = None,
) -> CertificateNumber:
    """Read a certificate number; InvalidCertificateNumber names the part that is wrong.

    Spaces are ignored and letters uppercased. Checks length, characters, body type, province,
    level code (1..5, or a configured special-level letter) and that the serial is not 000000.
    """
    value = compact(s)
    letters = check_special_letters(special_letters)
    if not value:
        raise InvalidCertificateNumber(
            N_("the certificate number is empty; enter all 22 characters")
        )
    if len(value) != NUMBER_LENGTH:
        raise _bad(
            value,
            plural(
                "it has {n} character, a certificate number has 22",
                "it has {n} characters, a certificate number has 22",
                len(value),
            ),
        )
    if value[0] not in BODY_TYPES:
        raise _bad(
            value,
            Message(
                N_("the first character must be Y or S (body type), not {found}"),
                found=repr(value[0]),
            ),
        )
    by_letter = {letter: lv for lv, letter in letters.items()}
    if value[1].isascii() and value[1].isalpha():
        level_letter = value[1]
        if level_letter not in by_letter:
            known = ", ".join(f"{c} ({lv.name_zh})" for c, lv in sorted(by_letter.items()))
            raise _bad(
                value,
                Message(
                    N_(
                        "the second character {letter} is not a level letter; "
                        "only {known} may stand there"
                    ),
                    letter=repr(level_letter),
                    known=known,
                ),
            )
        digits = value[2:]
        if not (digits.isascii() and digits.isdigit()):
            raise _bad(value, Message(N_("characters 3-22 must be digits")))
        body_part, year, level, serial = (
            digits[:12],
            digits[12:14],
            by_letter[level_letter],
            digits[14:],
        )
    else:
        digits = value[1:]
        if not (digits.isascii() and digits.isdigit()):
            raise _bad(value, Message(N_("characters 2-22 must be digits")))
        code = digits[14]
        if code not in "12345":
            raise _bad(
                value,
                Message(
                    N_("character 16 is the level code 1-5 (一级..五级); {code} is not a level"),
                    code=code,
                ),
            )
        body_part, year, level, serial = (
            digits[:12],
            digits[12:14],
            Level.from_code(code),
            digits[15:],
        )
    try:
        check_province(body_part[4:6], extra_provinces)
    except InvalidInput as exc:
        raise _bad(
            value,
            Message(
                N_("characters {positions} are the province; {problem}"),
                positions=_province_pos(level),
                problem=exc.text,
            ),
        ) from exc
    if int(serial) == 0:
        raise _bad(
            value, Message(N_("the serial (last 6 digits) is 000000, which is never issued"))
        )
    body = BodyCode(value[0], body_part[:4], body_part[4:6], body_part[6:12])
    return CertificateNumber(body=body, year=int(year), level=level, serial=int(serial))


def _province_pos(level: Level) -> str:
    return "6-7" if level.has_numeric_code else "7-8"


def issuing_body_of(s: str) -> BodyCode:
    """The issuing body's code in a certificate number (``Y000132010001`` in
    ``Y000132010001253000001``), for either form.

    Reads the layout only — not the province list, not which letter marks 特级技师/首席技师 —
    because those are settings a verifier holding only a key set does not have; where the
    settings are known, :func:`parse_certificate_number` gives the same body and checks more.
    Raises :class:`InvalidCertificateNumber` when *s* does not have a number's shape.
    """
    value = compact(s)
    if not looks_like_certificate_number(value):
        raise _bad(
            value,
            Message(
                N_(
                    "it does not have the shape of a certificate number (Y or S, an optional "
                    "level letter, then digits: 22 characters)"
                )
            ),
        )
    digits = value[2:] if value[1].isalpha() else value[1:]
    return BodyCode(value[0], digits[:4], digits[4:6], digits[6:12])


# --- legacy 职业资格证书 numbers ---------------------------------------------------------------


@dataclass(frozen=True)
class LegacyQualificationNumber:
    """An old (before 2019) 职业资格证书 number, 16 digits: year 2 + province 2 + city 2 +
    body kind 1 + body serial 3 + level 1 + serial 5. Recognised, never issued by certsvc."""

    year: int
    province: str
    city: str
    body_kind: str
    body_serial: str
    level: Level
    serial: int

    def __str__(self) -> str:
        return (
            f"{self.year:02d}{self.province}{self.city}{self.body_kind}{self.body_serial}"
            f"{self.level.code}{self.serial:05d}"
        )


def parse_legacy_qualification_number(s: str) -> LegacyQualificationNumber:
    """Recognise a 16-digit legacy 职业资格证书 number; InvalidCertificateNumber otherwise."""
    value = compact(s)
    if len(value) != 16 or not (value.isascii() and value.isdigit()):
        raise InvalidCertificateNumber(
            N_(
                "a legacy 职业资格证书 (qualification certificate) number is 16 digits; "
                "{value} is not"
            ),
            value=repr(value),
        )
    try:
        check_province(value[2:4])
    except InvalidInput as exc:
        raise InvalidCertificateNumber(
            N_("legacy number {number}: digits 3-4 are the province; {problem}"),
            number=value,
            problem=exc.text,
        ) from exc
    code = value[10]
    if code not in "12345":
        raise InvalidCertificateNumber(
            N_(
                "legacy number {number}: digit 11 is the level 1-5 (一级..五级); "
                "{code} is not a level"
            ),
            number=value,
            code=code,
        )
    return LegacyQualificationNumber(
        year=int(value[:2]),
        province=value[2:4],
        city=value[4:6],
        body_kind=value[6],
        body_serial=value[7:10],
        level=Level.from_code(code),
        serial=int(value[11:16]),
    )
