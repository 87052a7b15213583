"""Talent statistics: valid certificates and distinct holders by province, occupation, level,
year and route, for ``certsvc stats`` and ``GET /api/v1/registry/stats``.

Basis (stated in every output as ``basis``):

* **valid** means status ``valid`` *and* a signature that verifies as trusted — a certificate
  signed by a key after that key's compromise cut-off is left out, as verification reports it
  ``invalid_signature``;
* **province** is the province of the certification body (characters 6–7 of the body code,
  which every certificate number repeats), i.e. where the certificate was issued and filed.
  The holder's home province could be read from the first two digits of a 居民身份证 number,
  but that is derived from personal data, exists only for one ID type, and says where the
  person was first registered, not where they work; so it is not used;
* **year** is the year of the issue date; **route** is ``regular`` or ``direct`` (直接认定);
* **level** rows are in rank order (五级/初级工 first, 首席技师 last), the other tables by key;
* **holders** counts distinct people (one holder row per ID type and number) in each row of
  each table; holders are not additive across rows (a person certified in two occupations
  counts once in each), so every table has its own ``holders`` column and the totals their own.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, distinct, func, or_, select
from sqlalchemy.orm import Session

from certsvc.domain.levels import Level
from certsvc.domain.provinces import province_name
from certsvc.domain.routes import Route
from certsvc.errors import InvalidInput
from certsvc.i18n import N_
from certsvc.models import Certificate, CertificationBody, Occupation, SigningKey, utcnow
from certsvc.spreadsheets import SafeCsvWriter, xlsx_append

__all__ = ["DIMENSIONS", "FORMATS", "Stats", "compute_stats", "render"]

DIMENSIONS = ("province", "occupation", "level", "year", "route")
FORMATS = ("json", "csv", "xlsx")
BASIS = (
    "valid certificates (status valid, signature trusted); province of the certification "
    "body; year of issue; distinct holders per row"
)


@dataclass(frozen=True)
class CountRow:
    key: str
    label: str
    certificates: int
    holders: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "certificates": self.certificates,
            "holders": self.holders,
        }


@dataclass(frozen=True)
class Stats:
    """Totals and one table per dimension."""

    generated_at: dt.datetime
    certificates: int
    holders: int
    by: dict[str, list[CountRow]] = field(default_factory=dict)
    scope: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat().replace("+00:00", "Z"),
            "basis": BASIS,
            "scope": self.scope,
            "totals": {"certificates": self.certificates, "holders": self.holders},
            "by": {name: [r.to_dict() for r in rows] for name, rows in self.by.items()},
        }


def _key_columns(session: Session) -> dict[str, ColumnElement[str]]:
    if session.get_bind().dialect.name == "postgresql":
        year: ColumnElement[str] = func.to_char(Certificate.issue_date, "YYYY")
    else:
        year = func.strftime("%Y", Certificate.issue_date)
    return {
        "province": func.substr(CertificationBody.code, 6, 2),
        "occupation": Certificate.occupation_code.expression,
        "level": Certificate.level.expression,
        "year": year,
        "route": Certificate.route.expression,
    }


_Q = TypeVar("_Q", bound="Select[*tuple[Any, ...]]")


def _valid(query: _Q, body_id: int | None) -> _Q:
    query = (
        query.select_from(Certificate)
        .join(CertificationBody, CertificationBody.id == Certificate.body_id)
        .join(SigningKey, SigningKey.kid == Certificate.kid)
        .where(
            Certificate.status == "valid",
            or_(
                SigningKey.compromised_after.is_(None),
                Certificate.created_at <= SigningKey.compromised_after,
            ),
        )
    )
    if body_id is not None:
        query = query.where(Certificate.body_id == body_id)
    return query


def compute_stats(
    session: Session,
    *,
    body_id: int | None = None,
    extra_provinces: Mapping[str, str] | None = None,
) -> Stats:
    """Count valid certificates and distinct holders (of one body, or all)."""
    counts = (func.count(), func.count(distinct(Certificate.holder_id)))
    total_certs, total_holders = session.execute(_valid(select(*counts), body_id)).one()
    occupations = dict(session.execute(select(Occupation.code, Occupation.name_zh)).all())
    labels: dict[str, Callable[[str], str]] = {
        "province": lambda k: _province(k, extra_provinces),
        "occupation": lambda k: occupations.get(k, ""),
        "level": lambda k: Level.from_code(k).printed_zh,
        "year": lambda k: k,
        "route": lambda k: Route(k).label_zh,
    }
    by: dict[str, list[CountRow]] = {}
    for name, column in _key_columns(session).items():
        key = column.label("k")
        rows = session.execute(
            _valid(select(key, *counts), body_id).group_by(key).order_by(key)
        ).all()
        by[name] = [CountRow(str(k), labels[name](str(k)), int(c), int(h)) for k, c, h in rows]
    # Level codes sort 1..5, C, T as text; people read levels by rank, 五级 up to 首席技师.
    by["level"].sort(key=lambda r: Level.from_code(r.key).rank)
    scope = None
    if body_id is not None:
        scope = session.scalar(
            select(CertificationBody.code).where(CertificationBody.id == body_id)
        )
    return Stats(utcnow(), int(total_certs), int(total_holders), by, scope)


def _province(code: str, extra: Mapping[str, str] | None) -> str:
    try:
        return province_name(code, extra)
    except InvalidInput:
        return ""


def render(stats: Stats, fmt: str) -> bytes:
    """The statistics as ``json``, ``csv`` (UTF-8 with BOM, for Excel) or ``xlsx`` bytes."""
    if fmt == "json":
        return json.dumps(stats.to_dict(), ensure_ascii=False, indent=2).encode() + b"\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = SafeCsvWriter(out)
        writer.writerow(["dimension", "key", "label", "certificates", "holders"])
        writer.writerow(["total", "", "", stats.certificates, stats.holders])
        for name, rows in stats.by.items():
            for r in rows:
                writer.writerow([name, r.key, r.label, r.certificates, r.holders])
        return "\ufeff".encode() + out.getvalue().encode()
    if fmt == "xlsx":
        return _xlsx(stats)
    raise InvalidInput(
        N_("unknown format {fmt!r}; use one of {formats}"), fmt=fmt, formats=", ".join(FORMATS)
    )


def _xlsx(stats: Stats) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    summary = book.active
    summary.title = "total"
    xlsx_append(summary, ["generated_at", stats.generated_at.isoformat()])
    xlsx_append(summary, ["basis", BASIS])
    xlsx_append(summary, ["scope", stats.scope or "all bodies"])
    xlsx_append(summary, ["certificates", stats.certificates])
    xlsx_append(summary, ["holders", stats.holders])
    for name, rows in stats.by.items():
        sheet = book.create_sheet(name)
        xlsx_append(sheet, ["key", "label", "certificates", "holders"])
        for r in rows:
            xlsx_append(sheet, [r.key, r.label, r.certificates, r.holders])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
