"""Identity documents of certificate holders: types, number formats, masking.

The 居民身份证 (PRC resident identity card, GB 11643-1999) number is checked fully: area, birth
date and the ISO 7064 MOD 11-2 check character. The other document types get format checks only,
because their numbers carry no public check rule we can rely on (see :func:`normalize_id_number`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from enum import StrEnum

from certsvc.domain._text import compact, lookup_key
from certsvc.domain.provinces import PROVINCES
from certsvc.errors import InvalidIdNumber, InvalidIdType
from certsvc.i18n import N_, Message


class IdType(StrEnum):
    """Kind of identity document a holder presents."""

    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    HK_MACAO_PERMIT = "hk_macao_permit"
    TAIWAN_PERMIT = "taiwan_permit"
    FOREIGN_PERMANENT_RESIDENT = "foreign_permanent_resident"

    @property
    def label_zh(self) -> str:
        """Chinese name of the document, as printed on the certificate."""
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        """English name of the document."""
        return _LABELS[self][1]

    @property
    def label(self) -> Message:
        """Name of the document in the reader's language (the Chinese name in Chinese)."""
        return Message(self.label_en)


_LABELS: dict[IdType, tuple[str, str]] = {
    IdType.RESIDENT_ID: ("居民身份证", N_("Resident Identity Card")),
    IdType.PASSPORT: ("护照", N_("Passport")),
    IdType.HK_MACAO_PERMIT: (
        "港澳居民来往内地通行证",
        N_("Mainland Travel Permit for Hong Kong and Macao Residents"),
    ),
    IdType.TAIWAN_PERMIT: (
        "台湾居民来往大陆通行证",
        N_("Mainland Travel Permit for Taiwan Residents"),
    ),
    IdType.FOREIGN_PERMANENT_RESIDENT: (
        "外国人永久居留身份证",
        N_("Foreign Permanent Resident ID Card"),
    ),
}

# Common short or older names people type into forms.
_ALIASES: dict[str, IdType] = {
    "身份证": IdType.RESIDENT_ID,
    "中华人民共和国居民身份证": IdType.RESIDENT_ID,
    "idcard": IdType.RESIDENT_ID,
    "residentid": IdType.RESIDENT_ID,
    "护照": IdType.PASSPORT,
    "港澳通行证": IdType.HK_MACAO_PERMIT,
    "回乡证": IdType.HK_MACAO_PERMIT,
    "港澳居民通行证": IdType.HK_MACAO_PERMIT,
    "台胞证": IdType.TAIWAN_PERMIT,
    "台湾通行证": IdType.TAIWAN_PERMIT,
    "台湾居民通行证": IdType.TAIWAN_PERMIT,
    "永居证": IdType.FOREIGN_PERMANENT_RESIDENT,
    "外国人永久居留证": IdType.FOREIGN_PERMANENT_RESIDENT,
    "中华人民共和国外国人永久居留身份证": IdType.FOREIGN_PERMANENT_RESIDENT,
}


def _build_id_type_lookup() -> dict[str, IdType]:
    table = {lookup_key(k): v for k, v in _ALIASES.items()}
    for t in IdType:
        for form in (t.value, t.name, t.label_zh, t.label_en):
            table[lookup_key(form)] = t
    return table


_ID_TYPE_LOOKUP = _build_id_type_lookup()


def parse_id_type(text: str) -> IdType:
    """Read an ID type from a form or file cell.

    Accepts the enum value (``resident_id``), the Chinese or English label, and common short
    Chinese forms (身份证, 护照, 港澳通行证, 回乡证, 台胞证, 永居证); case, spaces, ``_`` and
    ``-`` do not matter.
    """
    found = _ID_TYPE_LOOKUP.get(lookup_key(text))
    if found is None:
        accepted = "; ".join(f"{t.value} ({t.label_zh} / {t.label_en})" for t in IdType)
        raise InvalidIdType(
            N_(
                "unknown ID type {value}; use one of: {accepted}; "
                "short forms 身份证, 护照, 港澳通行证, 台胞证, 永居证 also work"
            ),
            value=repr(text.strip()),
            accepted=accepted,
        )
    return found


# --- ISO 7064 MOD 11-2 (GB 11643-1999) -------------------------------------------------------

MOD11_2_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
"""Weights of positions 1..17 (2^(18-i) mod 11)."""

_MOD11_2_CHARS = "10X98765432"


def resident_id_check_char(first17: str) -> str:
    """Check character (``0``-``9`` or ``X``) of an 18-character ID from its first 17 digits.

    ISO 7064 MOD 11-2 as used by 居民身份证 and the 2023 外国人永久居留身份证.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise InvalidIdNumber(
            N_("need exactly 17 digits to compute a check character, got {value}"),
            value=repr(first17),
        )
    total = sum(int(c) * w for c, w in zip(first17, MOD11_2_WEIGHTS, strict=True))
    return _MOD11_2_CHARS[total % 11]


# Area codes a resident-ID-like number may open with beyond the GB/T 2260 provinces:
# 港澳台居民居住证 (residence permits for HK/Macao/Taiwan residents, 2018) use the same
# 18-character layout with 810000 / 820000 / 830000; 83 is not a province code, so allow it here.
_EXTRA_RESIDENT_AREAS = frozenset({"83"})

_MIN_BIRTH_YEAR = 1800
_DIGITS17_RE = re.compile(r"^\d{17}[\dX]$")


def _birth_date(digits8: str) -> date | None:
    try:
        born = date(int(digits8[:4]), int(digits8[4:6]), int(digits8[6:8]))
    except ValueError:
        return None
    return born


def _normalize_resident_id(value: str, today: date) -> str:
    if len(value) == 15 and value.isdigit():
        raise InvalidIdNumber(
            N_(
                "this is an old 15-digit 身份证 number; enter the 18-digit number printed on "
                "the current card"
            )
        )
    if len(value) != 18:
        raise InvalidIdNumber(
            N_("a 居民身份证 (resident ID) number has 18 characters; this one has {length}"),
            length=len(value),
        )
    if not _DIGITS17_RE.match(value):
        raise InvalidIdNumber(
            N_(
                "a 居民身份证 (resident ID) number is 17 digits followed by a digit or X; "
                "{masked} has other characters"
            ),
            masked=mask_id_number(value),
        )
    area = value[:2]
    if area not in PROVINCES and area not in _EXTRA_RESIDENT_AREAS:
        raise InvalidIdNumber(
            N_(
                "a 居民身份证 number cannot start with {area}: the first two digits are a "
                "province code (11 北京 … 65 新疆); check the first digits"
            ),
            area=area,
        )
    born = _birth_date(value[6:14])
    # 1800 rather than 1900: the GB 11643-1999 worked example is born in 1880. A mistyped
    # year is caught by the check character anyway.
    if born is None or born.year < _MIN_BIRTH_YEAR:
        raise InvalidIdNumber(
            N_(
                "characters 7-14 ({digits}) are the birth date YYYYMMDD and are not a "
                "possible date; check them"
            ),
            digits=value[6:14],
        )
    if born > today:
        raise InvalidIdNumber(
            N_("the birth date in this ID number ({born}) is in the future; check characters 7-14"),
            born=born.isoformat(),
        )
    expected = resident_id_check_char(value[:17])
    if value[17] != expected:
        raise InvalidIdNumber(
            N_(
                "the check character (last) of this ID number should be {expected}, not "
                "{found}; one of the 18 characters is mistyped"
            ),
            expected=expected,
            found=value[17],
        )
    return value


# 港澳居民来往内地通行证: H (Hong Kong) or M (Macao) + 8 digits; the 2013 card adds 2 digits
# (number of issues) to make 11 characters. Both are accepted.
_HK_MACAO_RE = re.compile(r"^[HM]\d{8}(\d{2})?$")
# 台湾居民来往大陆通行证: the 2015 card number is 8 digits. Older booklets show 10 digits
# (8 + 2-digit issue count) or 8 digits with a letter suffix such as "(B)". ASSUMPTION: we
# accept all three and drop the parentheses, because we have no authoritative spec.
_TAIWAN_RE = re.compile(r"^\d{8}(\d{2}|[A-Z])?$")
# 外国人永久居留身份证: the 2004/2017 cards have 15 characters, 3 letters (ISO 3166 alpha-3
# nationality) + 12 digits. The 2023 card has 18 characters starting with 9 and uses the same
# MOD 11-2 check as 居民身份证 (we check only the leading 9, the length and the check character,
# not the inner fields, to stay lenient about their layout).
_FOREIGN_PR_OLD_RE = re.compile(r"^[A-Z]{3}\d{12}$")
_FOREIGN_PR_NEW_RE = re.compile(r"^9\d{16}[\dX]$")
# Passports: ICAO 9303 allows up to 9 characters in the MRZ, but national numbers printed on the
# page vary. ASSUMPTION: 5-17 letters or digits, nothing else.
_PASSPORT_RE = re.compile(r"^[A-Z0-9]{5,17}$")


def _normalize_hk_macao(value: str, today: date) -> str:
    if not _HK_MACAO_RE.match(value):
        raise InvalidIdNumber(
            N_(
                "a 港澳居民来往内地通行证 (Hong Kong/Macao permit) number is H or M followed "
                "by 8 or 10 digits, e.g. H12345678; {value} is not"
            ),
            value=repr(value),
        )
    return value


def _normalize_taiwan(value: str, today: date) -> str:
    value = value.replace("(", "").replace(")", "")
    if not _TAIWAN_RE.match(value):
        raise InvalidIdNumber(
            N_(
                "a 台湾居民来往大陆通行证 (Taiwan permit) number is 8 digits (older permits: "
                "10 digits, or 8 digits and a letter); {value} is not"
            ),
            value=repr(value),
        )
    return value


def _normalize_foreign_pr(value: str, today: date) -> str:
    if _FOREIGN_PR_OLD_RE.match(value):
        return value
    if _FOREIGN_PR_NEW_RE.match(value):
        expected = resident_id_check_char(value[:17])
        if value[17] != expected:
            raise InvalidIdNumber(
                N_(
                    "the check character (last) of this 外国人永久居留身份证 number should be "
                    "{expected}, not {found}; one of the 18 characters is mistyped"
                ),
                expected=expected,
                found=value[17],
            )
        return value
    raise InvalidIdNumber(
        N_(
            "a 外国人永久居留身份证 (foreign permanent resident ID) number is either 3 letters "
            "+ 12 digits (cards before 2023) or 18 characters starting with 9 (2023 card); "
            "this one has {length} characters and does not match"
        ),
        length=len(value),
    )


def _normalize_passport(value: str, today: date) -> str:
    if not _PASSPORT_RE.match(value):
        raise InvalidIdNumber(
            N_(
                "a passport number here must be 5 to 17 letters or digits, without other "
                "characters; this one has {length} characters"
            ),
            length=len(value),
        )
    return value


_NORMALIZERS: dict[IdType, Callable[[str, date], str]] = {
    IdType.RESIDENT_ID: _normalize_resident_id,
    IdType.PASSPORT: _normalize_passport,
    IdType.HK_MACAO_PERMIT: _normalize_hk_macao,
    IdType.TAIWAN_PERMIT: _normalize_taiwan,
    IdType.FOREIGN_PERMANENT_RESIDENT: _normalize_foreign_pr,
}


def normalize_id_number(id_type: IdType, raw: str, *, today: date | None = None) -> str:
    """Validate an ID number and return its canonical form (no spaces, uppercase, ASCII).

    Full-width characters are folded to ASCII. For 居民身份证 the area (province), birth date
    (not impossible, not after ``today``, default the current date) and check character are
    verified; the other types get format checks only. Raises InvalidIdNumber saying what is
    wrong.
    """
    value = compact(raw)
    if not value:
        raise InvalidIdNumber(
            N_("the {document} number is empty; enter it"), document=id_type.label
        )
    return _NORMALIZERS[id_type](value, today or date.today())


#: What could be an ID number inside free text such as a file name: 8 or more digits
#: (resident IDs, passport and permit numbers), half- or full-width as
#: :func:`normalize_id_number` accepts them, possibly in groups split by single spaces
#: (``1101 0119 9003 0744 77``), with a trailing X.
_DIGIT = "[0-9０-９]"
_ID_LIKE = re.compile(rf"(?<![0-9０-９]){_DIGIT}(?: ?{_DIGIT}){{7,}}(?: ?[XxＸｘ])?(?![0-9０-９])")


def redact_id_numbers(text: str) -> str:
    """``text`` with every run that could be an ID number masked (:func:`mask_id_number`).

    For free text that is stored or logged, such as an uploaded file's name
    (``张三_320102199001011234.csv``): ID numbers are never stored in clear. A run of exactly
    eight digits that is a calendar date (``结果_20261120.csv``) is left as it is.
    """

    def mask(match: re.Match[str]) -> str:
        found = match.group()
        if len(found) == 8 and found.isascii() and _is_date(found):
            return found
        return mask_id_number(found)

    return _ID_LIKE.sub(mask, text)


# A run of digits that may be an ID number written with spaces or hyphens between groups
# (``3201 0219 6001 0100 1X``), after NFKC has made full-width digits, ``Ｘ`` and U+3000 ASCII.
_DIGIT_RUN = re.compile(r"[0-9](?:[ \-]{0,2}[0-9])*(?:[ \-]{0,2}[Xx])?")
_SEPARATORS = re.compile(r"[ \-]")


def contains_id_number(text: str, *, today: date | None = None) -> bool:
    """Whether free text holds a 居民身份证 number, as people type one.

    Found: the 18-character number with a valid area, birth date and check character, also
    with spaces or hyphens between its digits, in full-width digits, or inside a longer run of
    digits; and the legacy 15-digit number (area + YYMMDD + 3 digits) standing alone. The
    港澳台居民居住证 shares the 18-character form and is found too. Passport and travel-permit
    numbers are not: a letter and eight digits cannot be told from an order or part number.

    ``"投诉人 3201 0219 6001 0100 1X"`` -> True; ``"订单 202611200001"`` -> False.
    """
    today = today or date.today()
    for run in _DIGIT_RUN.finditer(unicodedata.normalize("NFKC", text)):
        chars = _SEPARATORS.sub("", run.group()).upper()
        if len(chars) == 15 and _is_legacy_resident_id(chars):
            return True
        for start in range(len(chars) - 17):
            try:
                _normalize_resident_id(chars[start : start + 18], today)
            except InvalidIdNumber:
                continue
            return True
    return False


def _is_legacy_resident_id(digits: str) -> bool:
    """A 15-digit 身份证 number of before 1999: area (a province), YYMMDD of the 1900s, 3 digits."""
    if not digits.isdigit() or digits[:2] not in PROVINCES:
        return False
    return _birth_date("19" + digits[6:12]) is not None


def _is_date(digits: str) -> bool:
    try:
        day = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return 1900 <= day.year <= 2099


def mask_id_number(value: str) -> str:
    """Mask an ID number for display: keep the first 4 and last 4 characters.

    ``320102199001011234`` -> ``3201**********1234``. Short numbers (8 characters or fewer,
    e.g. an 8-digit Taiwan permit) would be fully shown by that rule, so for them only the
    last 2 characters stay visible (``12345678`` -> ``******78``); 2 characters or fewer are
    masked completely.
    """
    n = len(value)
    if n > 8:
        return value[:4] + "*" * (n - 8) + value[-4:]
    if n > 2:
        return "*" * (n - 2) + value[-2:]
    return "*" * n


def birth_date_of(resident_id: str) -> date:
    """Birth date encoded in a valid 18-character 居民身份证 number (raises InvalidIdNumber)."""
    value = normalize_id_number(IdType.RESIDENT_ID, resident_id)
    born = _birth_date(value[6:14])
    assert born is not None  # normalize_id_number checked it
    return born
