"""Occupations of the 国家职业分类大典 (national occupational classification, 2022 edition).

A code is ``D-DD-DD-DD`` (major group - middle group - minor group - occupation), e.g.
``6-18-02-04`` 焊工 (welder). A 工种 (work type within an occupation) adds ``-NN``, e.g.
``4-04-05-05-01`` 数据标注员 under 人工智能训练师. The 2022 edition marks digital occupations
``S`` and green occupations ``L``.

The catalogue shipped in ``data/occupations.csv`` holds a small set of codes; each row says
whether its code was confirmed (``verified``) and from where (``note``). Bodies import the full
list with the same CSV columns.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from certsvc.errors import InvalidInput, UnknownOccupation
from certsvc.i18n import N_, plural

OCCUPATION_CODE_RE = re.compile(r"^\d-\d{2}-\d{2}-\d{2}(-\d{2})?$")

TAG_DIGITAL = "S"
TAG_GREEN = "L"
KNOWN_TAGS = frozenset({TAG_DIGITAL, TAG_GREEN})

CATALOGUE_COLUMNS: tuple[str, ...] = ("code", "name_zh", "name_en", "tags", "verified", "note")

# Dashes people paste from Word or Excel instead of "-".
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−﹣"})
_TRUE = frozenset({"true", "1", "yes", "y", "是"})
_FALSE = frozenset({"false", "0", "no", "n", "否", ""})


@dataclass(frozen=True)
class Occupation:
    """One catalogue entry: an occupation or a 工种 (work type) of one."""

    code: str
    name_zh: str
    name_en: str
    tags: frozenset[str]
    verified: bool
    note: str

    @property
    def is_digital(self) -> bool:
        """Marked ``S`` (数字职业, digital occupation) in the 2022 大典."""
        return TAG_DIGITAL in self.tags

    @property
    def is_green(self) -> bool:
        """Marked ``L`` (绿色职业, green occupation) in the 2022 大典."""
        return TAG_GREEN in self.tags

    @property
    def is_work_type(self) -> bool:
        """True for a 工种 (five-part code), False for an occupation."""
        return self.code.count("-") == 4

    @property
    def occupation_code(self) -> str:
        """The four-part occupation code (itself for an occupation, the parent for a 工种)."""
        return "-".join(self.code.split("-")[:4])


def check_occupation_code(code: str) -> str:
    """Return the occupation code in canonical form, or raise UnknownOccupation.

    Checks the format only (``D-DD-DD-DD`` or ``D-DD-DD-DD-DD`` for a 工种); full-width digits
    and other dash characters are normalised. Whether the code exists is a catalogue question.
    """
    value = unicodedata.normalize("NFKC", code).translate(_DASHES).replace(" ", "").strip()
    if not OCCUPATION_CODE_RE.match(value):
        raise UnknownOccupation(
            N_(
                "occupation code {code} is not in the 国家职业分类大典 form D-DD-DD-DD "
                "(e.g. 6-18-02-04), or D-DD-DD-DD-DD for a 工种 (e.g. 4-04-05-05-01)"
            ),
            code=repr(code.strip()),
        )
    return value


def _parse_tags(text: str) -> frozenset[str]:
    tags = frozenset(c for c in text.upper() if not c.isspace() and c not in ",;/|")
    unknown = tags - KNOWN_TAGS
    if unknown:
        raise InvalidInput(
            plural(
                "unknown tag {tags}; use S (digital), L (green) or leave it empty",
                "unknown tags {tags}; use S (digital), L (green) or leave it empty",
                len(unknown),
                tags=", ".join(sorted(unknown)),
            )
        )
    return tags


def _parse_bool(text: str) -> bool:
    value = text.strip().casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidInput(N_("verified must be true or false, not {value}"), value=repr(text))


def read_catalogue_csv(text: str) -> list[Occupation]:
    """Read an occupation catalogue in CSV (columns ``code,name_zh,name_en,tags,verified,note``).

    Every row is checked: code format, a Chinese name, known tags (S, L), a true/false
    ``verified`` and no duplicate codes. InvalidInput names the line to fix (the header is
    line 1). Blank lines are skipped; extra columns are not allowed.
    """
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = tuple(reader.fieldnames or ())
    if header != CATALOGUE_COLUMNS:
        if header:
            raise InvalidInput(
                N_("occupation catalogue line 1: the header must be {wanted}, found {found}"),
                wanted=",".join(CATALOGUE_COLUMNS),
                found=",".join(header),
            )
        raise InvalidInput(
            N_("occupation catalogue line 1: the header must be {wanted}, found nothing"),
            wanted=",".join(CATALOGUE_COLUMNS),
        )
    result: list[Occupation] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row or any(v is None for v in row.values()):
            raise InvalidInput(
                N_(
                    "occupation catalogue line {line}: expected {columns} columns; "
                    "quote cells that contain commas"
                ),
                line=line,
                columns=len(CATALOGUE_COLUMNS),
            )
        cells = {k: (v or "").strip() for k, v in row.items()}
        if not any(cells.values()):
            continue
        try:
            code = check_occupation_code(cells["code"])
            if not cells["name_zh"]:
                raise InvalidInput(N_("name_zh (Chinese name) is empty; fill it in"))
            tags = _parse_tags(cells["tags"])
            verified = _parse_bool(cells["verified"])
        except InvalidInput as exc:
            raise InvalidInput(
                N_("occupation catalogue line {line}: {problem}"), line=line, problem=exc.text
            ) from exc
        if code in seen:
            raise InvalidInput(
                N_(
                    "occupation catalogue line {line}: code {code} already appears on line "
                    "{first}; keep one row per code"
                ),
                line=line,
                code=code,
                first=seen[code],
            )
        seen[code] = line
        result.append(
            Occupation(
                code=code,
                name_zh=cells["name_zh"],
                name_en=cells["name_en"],
                tags=tags,
                verified=verified,
                note=cells["note"],
            )
        )
    return result


@cache
def _shipped() -> tuple[Occupation, ...]:
    path = resources.files("certsvc.domain").joinpath("data", "occupations.csv")
    return tuple(read_catalogue_csv(path.read_text(encoding="utf-8")))


def shipped_catalogue() -> list[Occupation]:
    """The catalogue shipped with certsvc (read once, then cached; returns a new list)."""
    return list(_shipped())


def find_occupation(code: str, catalogue: Iterable[Occupation] | None = None) -> Occupation:
    """The catalogue entry for ``code`` (default: the shipped catalogue).

    Raises UnknownOccupation if the code is malformed or not in the catalogue.
    """
    wanted = check_occupation_code(code)
    for occupation in _shipped() if catalogue is None else catalogue:
        if occupation.code == wanted:
            return occupation
    raise UnknownOccupation(
        N_(
            "occupation code {code} is not in the occupation catalogue; check it against the "
            "国家职业分类大典 (2022) or import it into the catalogue first"
        ),
        code=wanted,
    )
