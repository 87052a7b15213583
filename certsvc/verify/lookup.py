"""Manual look-ups, as the national query system offers them: number + name, ID number + name.

Both find stored certificates and then run the one :func:`~certsvc.verify.core.verify_token`
on each one's stored QR token, so a look-up reports exactly what scanning the printed QR would
(including a compromised key or a record altered in the database).

Privacy: a look-up that does not match answers ``not_found`` whether the number (or ID) or the
name was wrong, so neither can be probed alone. The clear ID number is used only to compute its
keyed hash (:meth:`certsvc.holders.identity.IdVault.digest`); it is never stored, logged or returned
— results carry the masked form only.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.caches import Caches
from certsvc.domain._text import compact
from certsvc.domain.ids import normalize_id_number, parse_id_type
from certsvc.domain.numbers import looks_like_certificate_number
from certsvc.errors import InvalidCertificateNumber, InvalidIdNumber, InvalidName
from certsvc.holders.identity import IdVault
from certsvc.i18n import N_, Message
from certsvc.models import Certificate, Holder, utcnow
from certsvc.models.base import column_length
from certsvc.verify.core import verify_token
from certsvc.verify.result import VerificationResult

__all__ = ["MAX_NAME_LENGTH", "lookup_by_id", "lookup_by_number", "normalize_name"]

#: What the name column can hold: a longer name cannot be on record.
MAX_NAME_LENGTH = column_length(Certificate.holder_name)
_DOTS = re.compile("[\u00b7\u2022\u2027\u30fb\u22c5\u2219\uff65.]")  # · • ‧ ・ ⋅ ∙ ･ .


def normalize_name(name: str) -> str:
    """A holder name as compared: NFKC, one kind of middle dot, single spaces, case-folded.

    Raises :class:`InvalidName` for an empty or overlong name.
    """
    text = " ".join(unicodedata.normalize("NFKC", name).split())
    if not text:
        raise InvalidName(N_("enter the holder's name as printed on the certificate"))
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidName(
            N_("a holder name has at most {max_name_length} characters"),
            max_name_length=MAX_NAME_LENGTH,
        )
    return _DOTS.sub("·", text).casefold()


def _not_found(checked_at: dt.datetime) -> VerificationResult:
    return VerificationResult(
        "not_found",
        Message(
            N_(
                "no certificate matches this combination; check both entries against the "
                "certificate"
            )
        ),
        checked_at,
    )


def lookup_by_number(
    session: Session,
    number: str,
    name: str,
    now: dt.datetime | None = None,
    *,
    caches: Caches | None = None,
) -> VerificationResult:
    """Look up a certificate by its number and holder name, and verify its stored token
    (``caches`` as for :func:`~certsvc.verify.core.verify_token`).

    Raises :class:`InvalidCertificateNumber` when *number* cannot be a certificate number and
    :class:`InvalidInput` for an empty name.
    """
    checked_at = now or utcnow()
    wanted = normalize_name(name)
    value = compact(number)
    if not looks_like_certificate_number(value):
        raise InvalidCertificateNumber(
            N_(
                "a certificate number has 22 characters: Y or S, then digits (or a level "
                "letter and digits); copy it exactly as printed"
            )
        )
    cert = session.execute(
        select(Certificate.holder_name, Certificate.token).where(Certificate.number == value)
    ).first()
    if cert is None or normalize_name(cert.holder_name) != wanted:
        return _not_found(checked_at)
    return verify_token(session, cert.token, checked_at, caches=caches)


def lookup_by_id(
    session: Session,
    vault: IdVault,
    id_number: str,
    name: str,
    id_type: str = "resident_id",
    now: dt.datetime | None = None,
    *,
    caches: Caches | None = None,
) -> list[VerificationResult]:
    """Every certificate of the person with this ID and name, newest first, each verified
    (``caches`` as for :func:`~certsvc.verify.core.verify_token`).

    An empty list means nothing matched. Raises :class:`InvalidInput` (or its subclass
    ``InvalidIdNumber``) when the ID type, ID number or name cannot be valid; the messages
    never repeat the ID number.
    """
    checked_at = now or utcnow()
    wanted = normalize_name(name)
    kind = parse_id_type(id_type)
    try:
        normalized = normalize_id_number(kind, id_number)
    except InvalidIdNumber:
        # The domain's messages quote parts of the number; a look-up must not echo it.
        raise InvalidIdNumber(
            N_(
                "this is not a valid {label_en} number ({label_zh}号码有误); check every "
                "character against the document"
            ),
            label_en=kind.label_en,
            label_zh=kind.label_zh,
        ) from None
    digest = vault.digest(kind, normalized)
    del normalized
    rows = session.execute(
        select(Certificate.holder_name, Certificate.token)
        .join(Holder, Holder.id == Certificate.holder_id)
        .where(Holder.id_hash == digest, Holder.id_type == kind.value)
        .order_by(Certificate.issue_date.desc(), Certificate.number.desc())
    ).all()
    return [
        verify_token(session, row.token, checked_at, caches=caches)
        for row in rows
        if normalize_name(row.holder_name) == wanted
    ]
