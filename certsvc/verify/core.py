"""Checking a QR token against the signing keys and the stored certificate — the one verify().

The page, the API, the look-ups and the CLI (when it has a database) all call
:func:`verify_token`; the CLI without a database calls
:func:`certsvc.verify.offline.verify_offline`, which applies the same rules to what a key set
alone can show.

A token is ``valid`` only when all of these hold, checked in this order:

1. it is a well-formed compact JWS whose header is exactly what certsvc signs (``alg`` EdDSA,
   a ``kid``, no ``crit``/``b64``) — else ``malformed`` or ``invalid_signature``;
2. its ``kid`` names one of this service's keys — else ``unknown_key``;
3. the Ed25519 signature verifies — else ``invalid_signature`` (reason ``tampered``);
4. the payload is a certsvc QR payload — else ``malformed``;
5. a certificate with the signed number is on record — else ``not_found``;
6. the key was not compromised before the certificate was logged: its ``issued`` event's seq
   must be at or before the log position of the key's cutoff
   (:func:`certsvc.transparency.log.log_position_at`), not its ``created_at``, which anyone
   who can write the database could move — else ``invalid_signature`` (reason
   ``key_compromised``);
7. the token is the one stored for that certificate and every signed field equals the stored
   one — else ``invalid_signature`` (reason ``record_mismatch``);
8. the certificate is current — else ``revoked`` or ``superseded``.

Whenever the certificate is on record the result carries ``transparency``: the inclusion proof
of its ``issued`` event in the latest signed checkpoint of the transparency log
(:func:`certsvc.transparency.log.certificate_inclusion`), with ``verified`` false when the
records no longer match what was logged; None when no checkpoint covers it yet.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass, fields
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from certsvc.caches import Caches
from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.routes import DirectGround
from certsvc.errors import (
    InvalidSignature,
    LogIntegrityError,
    LogRangeError,
    MalformedToken,
    UnknownKey,
)
from certsvc.i18n import N_, Message
from certsvc.issuance.credential import QrClaims, parse_qr_payload
from certsvc.models import (
    Certificate,
    CertificationBody,
    Holder,
    Occupation,
    SigningKey,
    utcnow,
)
from certsvc.signing.jws import ALG, parse_compact, verify_compact
from certsvc.signing.keys import public_key_from_jwk
from certsvc.transparency.leaf import EventFacts
from certsvc.transparency.log import (
    InclusionResult,
    LatestCheckpoint,
    inclusion_of,
    issued_facts,
    issued_facts_columns,
    join_issued_event,
    latest_checkpoint_columns,
    latest_of,
    log_position_at,
)
from certsvc.verify.result import STATUSES, VerificationResult, format_time

__all__ = [
    "STATUSES",
    "CertificateView",
    "VerificationResult",
    "certificate_fields",
    "public_fields",
    "signed_fields",
    "verify_token",
]

log = logging.getLogger("certsvc.verify")


@dataclass(frozen=True)
class CertificateView:
    """A stored certificate with the names it displays: what :func:`certificate_fields` reads.

    Built from the ORM object (:meth:`of`) or, on the verification path, from one row of one
    statement (:func:`_read_certificate`), so both give the same fields.
    """

    id: int
    number: str
    holder_name: str
    id_type: str
    id_masked: str
    employer_uscc: str
    employer_name: str
    occupation_code: str
    occupation_name_zh: str
    occupation_name_en: str
    work_type: str
    level: str
    issue_date: dt.date
    route: str
    direct_ground: str | None
    direct_evidence: str
    body_code: str
    body_name_zh: str
    body_name_en: str
    status: str
    status_reason: str
    status_changed_at: dt.datetime | None
    kid: str
    token: str
    record: str

    @classmethod
    def of(cls, cert: Certificate) -> CertificateView:
        return cls(
            **{name: getattr(cert, name) for name in _OWN_COLUMNS},
            id_type=cert.holder.id_type,
            id_masked=cert.holder.id_masked,
            occupation_name_zh=cert.occupation.name_zh,
            occupation_name_en=cert.occupation.name_en,
            body_code=cert.body.code,
            body_name_zh=cert.body.name_zh,
            body_name_en=cert.body.name_en,
        )


#: The view's fields that are columns of ``certificates`` under the same name.
_OWN_COLUMNS = tuple(
    f.name for f in fields(CertificateView) if f.name in Certificate.__table__.columns
)
#: The other fields, in the view's order: (field, column of a joined table).
_JOINED_COLUMNS = {
    "id_type": Holder.id_type,
    "id_masked": Holder.id_masked,
    "occupation_name_zh": Occupation.name_zh,
    "occupation_name_en": Occupation.name_en,
    "body_code": CertificationBody.code,
    "body_name_zh": CertificationBody.name_zh,
    "body_name_en": CertificationBody.name_en,
}
_VIEW_COLUMNS = tuple(
    getattr(Certificate, f.name) if f.name in _OWN_COLUMNS else _JOINED_COLUMNS[f.name]
    for f in fields(CertificateView)
)


def certificate_fields(cert: Certificate | CertificateView) -> dict[str, Any]:
    """Every certified field of a stored certificate, for display and comparison."""
    view = cert if isinstance(cert, CertificateView) else CertificateView.of(cert)
    level = Level.from_code(view.level)
    ground = DirectGround(view.direct_ground) if view.direct_ground else None
    id_type = IdType(view.id_type)
    return {
        "number": view.number,
        "holder_name": view.holder_name,
        "id_type": id_type.value,
        "id_type_name": id_type.label_zh,
        "id_type_name_en": id_type.label_en,
        "id_number_masked": view.id_masked,
        "employer_uscc": view.employer_uscc,
        "employer_name": view.employer_name,
        "occupation_code": view.occupation_code,
        "occupation_name": view.occupation_name_zh,
        "occupation_name_en": view.occupation_name_en,
        "work_type": view.work_type or "--",
        "level": level.code,
        "level_name": level.printed_zh,
        "level_name_en": level.printed_en,
        "issue_date": view.issue_date.isoformat(),
        "route": view.route,
        "direct_ground": ground.value if ground else None,
        "direct_ground_name": ground.label_zh if ground else None,
        "direct_ground_name_en": ground.label_en if ground else None,
        "direct_evidence": view.direct_evidence or None,
        "issuer": {
            "code": view.body_code,
            "name": view.body_name_zh,
            "name_en": view.body_name_en,
        },
        "status": view.status,
        "status_reason": view.status_reason or None,
        "status_changed_at": (
            format_time(view.status_changed_at) if view.status_changed_at else None
        ),
    }


#: Recorded but not printed on the certificate, so not shown to the public (DOMAIN.md: the face
#: of the certificate); the signed record for the registry keeps them.
NOT_PUBLIC = ("employer_uscc", "employer_name")


def public_fields(cert: Certificate | CertificateView) -> dict[str, Any]:
    """The certified fields a verifier sees: what the certificate shows, plus its status."""
    fields = certificate_fields(cert)
    for name in NOT_PUBLIC:
        del fields[name]
    return fields


def signed_fields(claims: QrClaims) -> dict[str, Any]:
    """The fields a QR token signs, in the result's vocabulary."""
    return {
        "number": claims.number,
        "holder_name": claims.holder_name,
        "occupation_code": claims.occupation_code,
        "issue_date": claims.issue_date.isoformat(),
    }


def rejection_reason(token: str) -> str:
    """For a token that raised InvalidSignature: its header, or its signature, is at fault."""
    try:
        header = parse_compact(token).header
    except MalformedToken:  # pragma: no cover - verify_compact parsed it already
        return "tampered"
    if header.get("alg") != ALG or "crit" in header or "b64" in header:
        return "unsupported_header"
    return "tampered"


def verify_token(
    session: Session,
    token: str,
    now: dt.datetime | None = None,
    *,
    caches: Caches | None = None,
) -> VerificationResult:
    """Verify a QR token against this service's keys and records (see the module docstring).

    ``caches`` is the service's :attr:`~certsvc.runtime.Runtime.caches` (public keys, opened
    checkpoints, proofs); without it (a one-off check) nothing is kept for the next call.
    """
    checked_at = now or utcnow()
    token = token.strip()
    caches = caches or Caches()

    def key_for_kid(kid: str) -> Ed25519PublicKey:
        cached = caches.public_keys.get(kid)
        if cached is not None:
            return cached
        key = session.get(SigningKey, kid)
        if key is None:
            raise UnknownKey(
                N_("the certificate was signed with key {kid}, which is not ours"), kid=kid
            )
        public = public_key_from_jwk(key.public_jwk)
        caches.public_keys.put(kid, public)
        return public

    try:
        verified = verify_compact(token, key_for_kid)
        claims = parse_qr_payload(verified.payload)
    except MalformedToken as exc:
        return VerificationResult("malformed", exc.text, checked_at)
    except UnknownKey as exc:
        return VerificationResult("unknown_key", exc.text, checked_at)
    except InvalidSignature as exc:
        return VerificationResult(
            "invalid_signature", exc.text, checked_at, reason=rejection_reason(token)
        )

    kid = verified.kid
    signed = signed_fields(claims)
    found = _read_certificate(session, claims.number, kid)
    key = found.key if found is not None else _key_status(session, kid)
    if key is None:  # the key is cached from another database, but is not ours
        return VerificationResult(
            "unknown_key",
            Message(N_("the certificate was signed with key {kid}, which is not ours"), kid=kid),
            checked_at,
        )
    key_status, compromised_after = key
    base: dict[str, Any] = {"kid": kid, "key_status": key_status, "signed": signed}
    if found is None:
        return VerificationResult(
            "not_found",
            Message(
                N_("the signature is ours but no certificate {number} is on record"),
                number=claims.number,
            ),
            checked_at,
            **base,
        )
    cert = found.certificate
    base["certificate"] = public_fields(cert)
    inclusion = _inclusion(session, found, caches)
    base["transparency"] = inclusion.to_dict() if inclusion is not None else None
    if compromised_after is not None and not _logged_before(
        session, found.issued_seq, compromised_after
    ):
        return VerificationResult(
            "invalid_signature",
            Message(
                N_(
                    "logged after the compromise cut-off of key {kid} ({cutoff}); the "
                    "signature cannot be trusted"
                ),
                kid=kid,
                cutoff=format_time(compromised_after),
            ),
            checked_at,
            reason="key_compromised",
            **base,
        )
    mismatched = _mismatched_fields(cert, claims, kid, token)
    if mismatched:
        return VerificationResult(
            "invalid_signature",
            Message(
                N_("the signed fields do not match the certificate on record: {fields}"),
                fields=", ".join(mismatched),
            ),
            checked_at,
            reason="record_mismatch",
            **base,
        )
    if cert.status == "revoked":
        return VerificationResult(
            "revoked",
            Message(N_("revoked: {reason}"), reason=cert.status_reason),
            checked_at,
            **base,
        )
    if cert.status == "superseded":
        newer = session.execute(
            select(Certificate.number, Certificate.token).where(
                Certificate.supersedes_id == cert.id
            )
        ).first()
        return VerificationResult(
            "superseded",
            Message(N_("replaced by certificate {number}"), number=newer.number)
            if newer
            else Message(N_("replaced by a newer one")),
            checked_at,
            superseded_by=newer.number if newer else None,
            superseded_by_token=newer.token if newer else None,
            **base,
        )
    return VerificationResult("valid", Message(N_("genuine and current")), checked_at, **base)


@dataclass(frozen=True)
class _Found:
    """What one statement reads for a verification (see :func:`_read_certificate`)."""

    certificate: CertificateView
    #: The signing key's (status, compromise cut-off); None when the kid is not ours.
    key: tuple[str, dt.datetime | None] | None
    #: The leaf facts of the ``issued`` event; None only if the event row is missing.
    issued: EventFacts | None
    latest_checkpoint: LatestCheckpoint | None

    @property
    def issued_seq(self) -> int | None:
        return self.issued.seq if self.issued is not None else None


@functools.cache
def _verification_query() -> Select[Any]:
    """The statement of :func:`_read_certificate`, built once (building costs more than running
    it); parameters ``number`` and ``kid``."""
    return join_issued_event(
        select(
            *_VIEW_COLUMNS,
            SigningKey.status,
            SigningKey.compromised_after,
            *latest_checkpoint_columns(),
            *issued_facts_columns(),
        )
        .join(Holder, Holder.id == Certificate.holder_id)
        .join(Occupation, Occupation.code == Certificate.occupation_code)
        .join(CertificationBody, CertificationBody.id == Certificate.body_id)
        .outerjoin(SigningKey, SigningKey.kid == bindparam("kid"))
    ).where(Certificate.number == bindparam("number"))


def _read_certificate(session: Session, number: str, kid: str) -> _Found | None:
    """The certificate numbered ``number`` with everything its verification needs.

    One statement, one round trip: the certificate with its holder, occupation and body, the
    status of key ``kid``, the ``issued`` event's leaf facts and the newest checkpoint. The
    status fields are read on every call, never cached, so a revocation shows at once.
    """
    params = {"number": number, "kid": kid}
    # On the session's connection: a Core statement needs none of the ORM's execution steps.
    row = session.connection().execute(_verification_query(), params).first()
    if row is None:
        return None
    width = len(_VIEW_COLUMNS)
    view = CertificateView(*row[:width])
    key_status, compromised_after, size, note = row[width : width + 4]
    return _Found(
        certificate=view,
        key=(key_status, compromised_after) if key_status is not None else None,
        issued=issued_facts(row[width + 4 :], view.number, view.token, view.record),
        latest_checkpoint=latest_of(size, note),
    )


def _key_status(session: Session, kid: str) -> tuple[str, dt.datetime | None] | None:
    key = session.get(SigningKey, kid)
    return (key.status, key.compromised_after) if key is not None else None


def _inclusion(session: Session, found: _Found, caches: Caches) -> InclusionResult | None:
    """The certificate's inclusion proof; None (never "logged") when the stored log is broken."""
    if found.issued is None:
        return None
    try:
        return inclusion_of(session, found.issued, found.latest_checkpoint, caches)
    except (LogIntegrityError, LogRangeError) as exc:
        log.error(
            "no inclusion proof for certificate %s: %s", found.certificate.number, exc.message
        )
        return None


def _logged_before(session: Session, seq: int | None, cutoff: dt.datetime) -> bool:
    """Whether the ``issued`` event ``seq`` is at or before the log position of ``cutoff``."""
    return seq is not None and seq <= log_position_at(session, cutoff)


def _mismatched_fields(cert: CertificateView, claims: QrClaims, kid: str, token: str) -> list[str]:
    """Names of the signed fields that differ from the stored certificate (empty: all equal)."""
    differences = [
        name
        for name, signed, stored in (
            ("holder_name", claims.holder_name, cert.holder_name),
            ("occupation_code", claims.occupation_code, cert.occupation_code),
            ("issue_date", claims.issue_date, cert.issue_date),
            ("kid", kid, cert.kid),
        )
        if signed != stored
    ]
    if not differences and token != cert.token:
        differences.append("token")
    return differences
