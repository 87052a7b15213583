"""Certification bodies (评价机构): create, scope, ecosystem members, suspend.

A body may certify only the occupations × levels it is filed for (its scope). A chain leader
(链主企业) may also certify the workers of its ecosystem member enterprises, each member
identified by 统一社会信用代码 (unified social credit code) and valid between two dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from certsvc.domain.levels import Level
from certsvc.domain.numbers import parse_body_code
from certsvc.domain.occupations import Occupation as CatalogueEntry
from certsvc.domain.occupations import check_occupation_code
from certsvc.domain.routes import check_certifiable
from certsvc.domain.statuses import BODY_STATUSES, BodyStatus
from certsvc.domain.text import check_text
from certsvc.domain.uscc import normalize_uscc
from certsvc.errors import BodySuspended, Conflict, InvalidInput, NotFound
from certsvc.i18n import N_, Message
from certsvc.models import CertificationBody, EcosystemMember, Event, Occupation, ScopeEntry
from certsvc.render.seal import load_seal


@dataclass(frozen=True)
class NewBody:
    code: str
    name_zh: str
    uscc: str
    name_en: str = ""
    filing_number: str = ""
    chain_leader: bool = False
    #: Whether its imports must bring a photo for every row (the MOHRSS style requires one).
    photo_required: bool = True


def create_body(
    session: Session,
    new: NewBody,
    *,
    extra_provinces: dict[str, str] | None = None,
    actor: str = "",
) -> CertificationBody:
    """Register a body; its code and credit code are checked and must be unique."""
    code = str(parse_body_code(new.code.strip().upper(), extra_provinces))
    uscc = normalize_uscc(new.uscc)
    name_zh = new.name_zh.strip()
    if not name_zh:
        raise InvalidInput(N_("the body needs its filed Chinese name (备案名称)"))
    # Printed on every certificate and signed into it: the same text rule as a row's cells.
    check_text(Message(N_("Chinese name of the body")), name_zh)
    check_text(Message(N_("English name of the body")), new.name_en)
    check_text(Message(N_("filing number")), new.filing_number)
    clash = session.scalar(select(CertificationBody).where(CertificationBody.code == code))
    if clash is not None:
        raise Conflict(
            N_("a body with code {code} exists already: {name}"), code=code, name=clash.name_zh
        )
    clash = session.scalar(select(CertificationBody).where(CertificationBody.uscc == uscc))
    if clash is not None:
        raise Conflict(
            N_("a body with the credit code {uscc} exists already: {name}"),
            uscc=uscc,
            name=clash.name_zh,
        )
    body = CertificationBody(
        code=code,
        name_zh=name_zh,
        name_en=new.name_en.strip(),
        uscc=uscc,
        filing_number=new.filing_number.strip(),
        chain_leader=new.chain_leader,
        photo_required=new.photo_required,
        status="active",
    )
    session.add(body)
    session.flush()
    session.add(Event(kind="body_created", body_id=body.id, actor=actor, data={"code": code}))
    return body


def get_body(session: Session, code: str) -> CertificationBody:
    body = session.scalar(
        select(CertificationBody).where(CertificationBody.code == code.strip().upper())
    )
    if body is None:
        raise NotFound(
            N_("no certification body with code {code}; `certsvc body list` shows them"),
            code=code,
        )
    return body


@dataclass(frozen=True)
class HostedBody:
    """A body as the public front page names it: no credit code, no filing details."""

    code: str
    name_zh: str
    name_en: str
    chain_leader: bool


def hosted_bodies(session: Session) -> list[HostedBody]:
    """The bodies that issue here now (active ones), by code: who a visitor may meet."""
    found = session.scalars(
        select(CertificationBody)
        .where(CertificationBody.status == "active")
        .order_by(CertificationBody.code)
    )
    return [HostedBody(b.code, b.name_zh, b.name_en, b.chain_leader) for b in found]


def require_active(body: CertificationBody, doing: Message) -> None:
    """Raise BodySuspended when ``body`` is suspended: the one place for what that forbids.

    A suspended body (its filing under review, say) may not certify: no batches, no
    corrections, no import previews, no new API tokens. It may still withdraw what it
    issued and protect it — revoke certificates, rotate or mark keys compromised — and read
    its own data; its existing tokens keep working for exactly that. Certificates issued
    before stay valid: suspension is not revocation. The service modules call this, so the
    console, the API and the command line refuse alike.
    """
    if body.status != "active":
        raise BodySuspended(
            N_(
                "body {body} is suspended and may not {doing}; it may still revoke "
                "certificates and manage its keys. An operator must reactivate it "
                "(`certsvc body activate`)"
            ),
            body=body.code,
            doing=doing,
        )


def _record_change(
    session: Session, body: CertificationBody, actor: str, data: dict[str, Any]
) -> None:
    """The ``body_changed`` event of a change to *body* (its registry feed and history)."""
    session.add(Event(kind="body_changed", body_id=body.id, actor=actor, data=data))


def set_status(
    session: Session, body: CertificationBody, status: BodyStatus, actor: str = ""
) -> None:
    if status not in BODY_STATUSES:
        raise InvalidInput(N_("a body's status is 'active' or 'suspended'"))
    body.status = status
    _record_change(session, body, actor, {"status": status})


def set_photo_required(
    session: Session, body: CertificationBody, required: bool, actor: str = ""
) -> bool:
    """Whether the body's imports must bring a photo for every row; returns whether the
    setting changed (an unchanged setting writes nothing)."""
    if body.photo_required == required:
        return False
    body.photo_required = required
    _record_change(session, body, actor, {"photo_required": required})
    return True


def set_seal(
    session: Session, body: CertificationBody, data: bytes | None, actor: str = ""
) -> None:
    """Store the body's seal (PNG or SVG, checked by loading it), or remove it with None."""
    if data is not None:
        load_seal(data)  # raises InvalidSeal with what is wrong
    body.seal = data
    _record_change(session, body, actor, {"seal": "uploaded" if data else "removed"})


def add_scope(
    session: Session,
    body: CertificationBody,
    occupation_codes: Iterable[str],
    levels: Iterable[Level],
    actor: str = "",
) -> list[tuple[str, str]]:
    """Add occupations × levels to the body's scope; returns what was newly added."""
    levels = list(levels)
    for level in levels:
        check_certifiable(level)
    have = {(s.occupation_code, s.level) for s in body.scope}
    added: list[tuple[str, str]] = []
    for raw in occupation_codes:
        code = check_occupation_code(raw.strip())
        if session.get(Occupation, code) is None:
            raise NotFound(
                N_(
                    "occupation {code} is not in the catalogue; import it first "
                    "(`certsvc occupations import FILE`)"
                ),
                code=code,
            )
        for level in levels:
            if (code, level.code) not in have:
                body.scope.append(ScopeEntry(occupation_code=code, level=level.code))
                have.add((code, level.code))
                added.append((code, level.code))
    session.flush()
    if added:
        _record_change(session, body, actor, {"scope_added": [list(a) for a in added]})
    return added


def remove_scope(
    session: Session, body: CertificationBody, occupation_code: str, level: Level, actor: str = ""
) -> None:
    result = session.execute(
        delete(ScopeEntry).where(
            ScopeEntry.body_id == body.id,
            ScopeEntry.occupation_code == occupation_code,
            ScopeEntry.level == level.code,
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(
            N_("{occupation} at {level} is not in the scope of {body}"),
            occupation=occupation_code,
            level=level.printed_zh,
            body=body.code,
        )
    session.expire(body, ["scope"])
    _record_change(session, body, actor, {"scope_removed": [occupation_code, level.code]})


def add_member(
    session: Session,
    body: CertificationBody,
    uscc: str,
    name: str,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    actor: str = "",
) -> EcosystemMember:
    """Add an enterprise to a chain leader's ecosystem for a period."""
    if not body.chain_leader:
        raise Conflict(
            N_("{body} is not a chain leader (链主企业); only chain leaders have members"),
            body=body.code,
        )
    uscc = normalize_uscc(uscc)
    if uscc == body.uscc:
        raise InvalidInput(N_("a body certifies its own workers already; it is not its own member"))
    if valid_to is not None and valid_to < valid_from:
        raise InvalidInput(
            N_("the membership ends ({end}) before it starts ({start})"),
            end=valid_to.isoformat(),
            start=valid_from.isoformat(),
        )
    for m in body.members:
        if m.uscc == uscc and _overlaps(m, valid_from, valid_to):
            if m.valid_to is None:
                raise Conflict(
                    N_(
                        "{uscc} is already a member from {start} with no end; end that "
                        "membership first"
                    ),
                    uscc=uscc,
                    start=m.valid_from.isoformat(),
                )
            raise Conflict(
                N_("{uscc} is already a member from {start} to {end}; end that membership first"),
                uscc=uscc,
                start=m.valid_from.isoformat(),
                end=m.valid_to.isoformat(),
            )
    check_text(Message(N_("member name")), name)
    member = EcosystemMember(uscc=uscc, name=name.strip(), valid_from=valid_from, valid_to=valid_to)
    body.members.append(member)
    session.flush()
    _record_change(
        session,
        body,
        actor,
        {"member_added": uscc, "from": str(valid_from), "to": str(valid_to or "")},
    )
    return member


def end_member(
    session: Session, body: CertificationBody, uscc: str, valid_to: dt.date, actor: str = ""
) -> EcosystemMember:
    """End a current membership on ``valid_to`` (inclusive)."""
    uscc = normalize_uscc(uscc)
    open_ = [
        m for m in body.members if m.uscc == uscc and (m.valid_to is None or m.valid_to > valid_to)
    ]
    if not open_:
        raise NotFound(
            N_("{uscc} has no membership of {body} running past {end}"),
            uscc=uscc,
            body=body.code,
            end=valid_to.isoformat(),
        )
    member = open_[0]
    if valid_to < member.valid_from:
        raise InvalidInput(
            N_("the membership started on {start}, after {end}"),
            start=member.valid_from.isoformat(),
            end=valid_to.isoformat(),
        )
    member.valid_to = valid_to
    _record_change(session, body, actor, {"member_ended": uscc, "to": str(valid_to)})
    return member


def _overlaps(m: EcosystemMember, start: dt.date, end: dt.date | None) -> bool:
    m_end = m.valid_to or dt.date.max
    return start <= m_end and m.valid_from <= (end or dt.date.max)


def may_certify(body: CertificationBody, occupation_code: str, level: Level) -> bool:
    """Whether the body's filed scope covers ``occupation_code`` at ``level``.

    A 工种 (work type, ``6-31-01-03-01``) is covered by its occupation (``6-31-01-03``).
    """
    occupation = "-".join(occupation_code.split("-")[:4])
    return any(
        entry.level == level.code and entry.occupation_code in (occupation_code, occupation)
        for entry in body.scope
    )


def may_certify_employer(body: CertificationBody, uscc: str, on: dt.date) -> bool:
    """A body certifies its own workers, and a chain leader those of its current members."""
    if uscc == body.uscc:
        return True
    if not body.chain_leader:
        return False
    return any(
        m.uscc == uscc and m.valid_from <= on and (m.valid_to is None or on <= m.valid_to)
        for m in body.members
    )


def load_occupations(session: Session, entries: Iterable[CatalogueEntry]) -> tuple[int, int]:
    """Insert or update catalogue entries; returns (added, updated)."""
    added = updated = 0
    entries = list(entries)
    for e in entries:  # all checked first: an import is taken whole or not at all
        check_text(Message(N_("Chinese name of occupation {code}"), code=e.code), e.name_zh)
        check_text(Message(N_("English name of occupation {code}"), code=e.code), e.name_en)
        check_text(Message(N_("note of occupation {code}"), code=e.code), e.note)
    for e in entries:
        row = session.get(Occupation, e.code)
        values = {
            "name_zh": e.name_zh,
            "name_en": e.name_en,
            "tags": " ".join(sorted(e.tags)),
            "verified": e.verified,
            "note": e.note,
        }
        if row is None:
            session.add(Occupation(code=e.code, **values))
            added += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            updated += 1
    session.flush()
    return added, updated
