"""Validating a batch as a whole before anything is issued.

Every row is checked against the domain rules, the body's filed scope, its ecosystem members,
the other rows of the batch and the certificates already stored. All problems are collected —
row number, column, message — so the person can fix the file in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.bodies.bodies import may_certify, may_certify_employer
from certsvc.db import one_of
from certsvc.domain.china_time import china_today
from certsvc.domain.ids import IdType, normalize_id_number, parse_id_type
from certsvc.domain.levels import Level, parse_level
from certsvc.domain.routes import (
    DirectGround,
    Route,
    check_certifiable,
    check_route,
    parse_direct_ground,
    parse_route,
)
from certsvc.domain.text import check_text, check_visible
from certsvc.domain.uscc import normalize_uscc
from certsvc.errors import CertsvcError, InvalidInput, RowError
from certsvc.holders.identity import IdVault
from certsvc.i18n import N_, Message
from certsvc.issuance.columns import COLUMNS_BY_KEY, MULTILINE_KEYS, max_chars
from certsvc.models import Certificate, CertificationBody, Holder, Occupation
from certsvc.render.typeface import check_renderable

#: Certificates are dated in China Standard Time, whatever the server's zone.
EARLIEST_ISSUE_DATE = dt.date(2000, 1, 1)
MAX_NAME_LENGTH = max_chars("name")
MAX_EVIDENCE_LENGTH = max_chars("direct_evidence")
_EMPLOYER_MAX = max_chars("employer_name")
_WORK_TYPE_MAX = max_chars("work_type")
# Han characters (incl. extension blocks, for 生僻字), Latin letters, the middle dot used in
# transliterated minority and foreign names, spaces, hyphens and apostrophes.
_NAME_RE = re.compile(
    r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
    r"A-Za-zÀ-ÖØ-öø-ÿ·•・ '\-.]+$"
)

#: Columns of free text: signed and shown on verification, so no ID number may be in them
#: (:func:`certsvc.domain.text.check_text`). The name cannot hold digits at all.
FREE_TEXT_COLUMNS = frozenset({"employer_name", "work_type", "direct_evidence"})

T = TypeVar("T")
_UNSEEN = object()


@dataclass(frozen=True)
class CertificateRequest:
    """One validated row: everything needed to number, sign and store a certificate."""

    row: int
    holder_name: str
    id_type: IdType
    id_number: str  # normalized, clear — lives only in memory during issuance
    id_digest: str
    employer_uscc: str
    employer_name: str
    occupation: Occupation
    work_type: str
    level: Level
    issue_date: dt.date
    route: Route
    direct_ground: DirectGround | None
    direct_evidence: str
    corrects: Certificate | None


class _RowChecker:
    """Collects the errors of one row while parsing its cells.

    ``memo`` is shared by all rows of a batch: values that repeat down a column (the level,
    the employer, the date) are parsed once per batch, not once per row.
    """

    def __init__(
        self,
        row: int,
        values: Mapping[str, str],
        errors: list[RowError],
        memo: dict[tuple[str, str], object],
    ) -> None:
        self.row = row
        self.values = values
        self.errors = errors
        self.memo = memo
        self.ok = True

    def fail(self, column: str, message: str | Message, /, **params: Any) -> None:
        """Record a problem; a problem in one cell is prefixed with the column's label
        (``证件号码：…``), rendered in the reader's language as the rest of the message."""
        problem = message if isinstance(message, Message) else Message(message, **params)
        if column:
            self.errors.append(
                RowError.of(
                    self.row,
                    column,
                    N_("{column}: {problem}"),
                    column=COLUMNS_BY_KEY[column].label,
                    problem=problem,
                )
            )
        else:
            self.errors.append(RowError.of(self.row, column, problem))
        self.ok = False

    def field(
        self,
        column: str,
        parse: Callable[[str], T],
        *,
        required: bool = True,
        repeats: bool = False,
    ) -> T | None:
        text = self.values.get(column, "").strip()
        if not text and required:
            self.fail(column, N_("required: this cell is empty"))
            return None
        key = (column, text)
        outcome = self.memo.get(key, _UNSEEN) if repeats else _UNSEEN
        if outcome is _UNSEEN:
            try:
                check_cell(column, text)
                outcome = parse(text)
            except CertsvcError as exc:
                outcome = exc
            if repeats:
                self.memo[key] = outcome
        if isinstance(outcome, CertsvcError):
            self.fail(column, outcome.text)
            return None
        return outcome  # type: ignore[return-value]


def check_cell(column: str, text: str) -> None:
    """The text rule of one cell (:mod:`certsvc.domain.text`), checked for every route into
    signing (file, console, API): visible characters everywhere, and no ID number in the
    free-text columns."""
    # The message is shown after the column's label ("工种/职业方向：该值…"), so it names
    # the cell as "the value".
    field = Message(N_("value"))
    multiline = column in MULTILINE_KEYS
    if column in FREE_TEXT_COLUMNS:
        check_text(field, text, multiline=multiline)
    else:
        check_visible(field, text, multiline=multiline)


def _parse_name(text: str) -> str:
    name = " ".join(text.split())
    check_renderable(name)  # a name the certificate font cannot print must not be issued
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(N_("the name is longer than {limit} characters"), limit=MAX_NAME_LENGTH)
    if not _NAME_RE.match(name):
        raise InvalidInput(
            N_(
                "the name may hold only Chinese characters, letters, spaces, '·' and '-': "
                "check {name} for digits or stray symbols"
            ),
            name=repr(name),
        )
    return name


def _parse_date(text: str) -> dt.date:
    today = china_today()
    if not text:
        return today
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            value = dt.datetime.strptime(text, fmt).date()
            break
        except ValueError:
            continue
    else:
        raise InvalidInput(
            N_("{text} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-26"), text=repr(text)
        )
    if value > today:
        raise InvalidInput(
            N_("the issue date {date} is in the future (today is {today} in China)"),
            date=value.isoformat(),
            today=today.isoformat(),
        )
    if value < EARLIEST_ISSUE_DATE:
        raise InvalidInput(
            N_("the issue date {date} is before {earliest}"),
            date=value.isoformat(),
            earliest=EARLIEST_ISSUE_DATE.isoformat(),
        )
    return value


def _parse_text(limit: int, *, printed: bool = False) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if len(text) > limit:
            raise InvalidInput(N_("longer than {limit} characters"), limit=limit)
        if printed:
            check_renderable(text)
        return text

    return parse


def _opt_ground(text: str) -> DirectGround | None:
    return parse_direct_ground(text) if text else None


@dataclass
class _Cells:
    """One row's cells after parsing; ``None`` where the cell was missing or wrong."""

    check: _RowChecker
    name: str | None
    id_type: IdType | None
    id_number: str | None
    employer_uscc: str | None
    employer_name: str
    occupation_code: str | None
    work_type: str
    level: Level | None
    issue_date: dt.date
    route: Route
    direct_ground: DirectGround | None
    direct_evidence: str
    corrects: str


def _parse_cells(check: _RowChecker) -> _Cells:
    field = check.field
    id_type = field("id_type", parse_id_type, repeats=True)
    id_number: str | None = None
    if id_type is not None:
        id_number = field("id_number", lambda text: normalize_id_number(id_type, text))
    elif not check.values.get("id_number", "").strip():
        check.fail("id_number", N_("required: this cell is empty"))
    return _Cells(
        check=check,
        name=field("name", _parse_name),
        id_type=id_type,
        id_number=id_number,
        employer_uscc=field("employer_uscc", normalize_uscc, repeats=True),
        employer_name=field(
            "employer_name", _parse_text(_EMPLOYER_MAX), required=False, repeats=True
        )
        or "",
        occupation_code=field("occupation_code", str.strip, repeats=True),
        work_type=field(
            "work_type",
            _parse_text(_WORK_TYPE_MAX, printed=True),
            required=False,
            repeats=True,
        )
        or "",
        level=field("level", parse_level, repeats=True),
        issue_date=field("issue_date", _parse_date, required=False, repeats=True) or china_today(),
        route=field("route", parse_route, required=False, repeats=True) or Route.REGULAR,
        direct_ground=field("direct_ground", _opt_ground, required=False, repeats=True),
        direct_evidence=field("direct_evidence", _parse_text(MAX_EVIDENCE_LENGTH), required=False)
        or "",
        corrects=field("corrects", str.strip, required=False) or "",
    )


def validate_rows(
    session: Session,
    body: CertificationBody,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    vault: IdVault,
) -> tuple[list[CertificateRequest], list[RowError]]:
    """Check every row; return the valid requests and all the errors found (any order)."""
    errors: list[RowError] = []
    memo: dict[tuple[str, str], object] = {}
    parsed = [_parse_cells(_RowChecker(row, values, errors, memo)) for row, values in rows]
    occupations = _occupations(session, {c.occupation_code for c in parsed if c.occupation_code})
    corrected = _corrected_certificates(session, body, {c.corrects for c in parsed if c.corrects})

    requests: list[CertificateRequest] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for cells in parsed:
        check = cells.check
        level = cells.level
        if level is not None:
            try:
                check_certifiable(level)
            except CertsvcError as exc:
                check.fail("level", exc.text)
            try:
                check_route(level, cells.route, cells.direct_ground, cells.direct_evidence)
            except CertsvcError as exc:
                check.fail("route", exc.text)
        occupation = occupations.get(cells.occupation_code or "")
        if cells.occupation_code and occupation is None:
            check.fail(
                "occupation_code",
                N_(
                    "{code} is not in the occupation catalogue; check the code "
                    "(form 6-18-01-01) or import it with `certsvc occupations import`"
                ),
                code=cells.occupation_code,
            )
        if (
            occupation is not None
            and level is not None
            and not may_certify(body, occupation.code, level)
        ):
            check.fail(
                "level",
                N_(
                    "outside the body's filed scope: {body} may not certify {code} "
                    "{occupation} at {level}"
                ),
                body=body.code,
                code=occupation.code,
                occupation=occupation.name_zh,
                level=level.printed_zh,
            )
        employer = cells.employer_uscc
        if employer is not None and not may_certify_employer(body, employer, cells.issue_date):
            check.fail(
                "employer_uscc",
                N_(
                    "{employer} is neither the body itself nor a member of its chain on "
                    "{date}; add it with `certsvc body member add` or check the code"
                ),
                employer=employer,
                date=cells.issue_date.isoformat(),
            )
        corrects = corrected.get(cells.corrects) if cells.corrects else None
        if cells.corrects and corrects is None:
            check.fail(
                "corrects",
                N_(
                    "{number} is not a valid certificate of this body; only a valid "
                    "certificate can be corrected"
                ),
                number=cells.corrects,
            )
        if not (
            check.ok
            and cells.name is not None
            and cells.id_type is not None
            and cells.id_number is not None
            and employer is not None
            and occupation is not None
            and level is not None
        ):
            continue
        digest = vault.digest(cells.id_type, cells.id_number)
        key = (cells.id_type.value, digest, occupation.code, level.code)
        if key in seen:
            check.fail(
                "",
                N_("same person, occupation and level as row {first}: remove one of them"),
                first=seen[key],
            )
            continue
        seen[key] = check.row
        requests.append(
            CertificateRequest(
                row=check.row,
                holder_name=cells.name,
                id_type=cells.id_type,
                id_number=cells.id_number,
                id_digest=digest,
                employer_uscc=employer,
                employer_name=cells.employer_name,
                occupation=occupation,
                work_type=cells.work_type,
                level=level,
                issue_date=cells.issue_date,
                route=cells.route,
                direct_ground=cells.direct_ground,
                direct_evidence=cells.direct_evidence,
                corrects=corrects,
            )
        )
    errors.extend(_already_certified(session, body, requests))
    return requests, errors


def _occupations(session: Session, codes: set[str]) -> dict[str, Occupation]:
    if not codes:
        return {}
    found = session.scalars(select(Occupation).where(Occupation.code.in_(codes)))
    return {o.code: o for o in found}


def _corrected_certificates(
    session: Session, body: CertificationBody, numbers: set[str]
) -> dict[str, Certificate]:
    """The body's valid certificates among ``numbers`` (those rows say they correct)."""
    if not numbers:
        return {}
    found = session.scalars(
        select(Certificate).where(
            Certificate.number.in_(numbers),
            Certificate.body_id == body.id,
            Certificate.status == "valid",
        )
    )
    return {c.number: c for c in found}


def _already_certified(
    session: Session, body: CertificationBody, requests: list[CertificateRequest]
) -> list[RowError]:
    """Rows that would give a person a second valid certificate of this body for the same
    occupation and level.

    Only the body's own certificates count: another body's certificate for the same thing
    is no error (its own assessment; README, "Security"), and a rejection must never tell
    one body what another issued.
    """
    if not requests:
        return []
    errors: list[RowError] = []
    chunk = 500
    for start in range(0, len(requests), chunk):
        part = requests[start : start + chunk]
        rows = session.execute(
            select(
                Holder.id_type,
                Holder.id_hash,
                Certificate.occupation_code,
                Certificate.level,
                Certificate.number,
            )
            .join(Certificate, Certificate.holder_id == Holder.id)
            .where(
                one_of(session, Holder.id_hash, {r.id_digest for r in part}),
                Certificate.body_id == body.id,
                Certificate.status == "valid",
            )
        ).all()
        existing = {(t, h, o, lv): n for t, h, o, lv, n in rows}
        for r in part:
            number = existing.get((r.id_type.value, r.id_digest, r.occupation.code, r.level.code))
            if number is not None and (r.corrects is None or r.corrects.number != number):
                errors.append(
                    RowError.of(
                        r.row,
                        "",
                        N_(
                            "this person already holds certificate {number} for this "
                            "occupation and level; to fix a mistake in it, put its number in "
                            "the '{column}' column"
                        ),
                        number=number,
                        column=COLUMNS_BY_KEY["corrects"].label,
                    )
                )
    return errors
