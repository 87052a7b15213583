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
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from certsvc.db import Database
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
from certsvc.issuance.credential import QrClaims, parse_qr_payload
from certsvc.models import Certificate, Event, SigningKey, utcnow
from certsvc.signing.jws import ALG, parse_compact, verify_compact
from certsvc.signing.keys import public_key_from_jwk
from certsvc.transparency.log import InclusionResult, certificate_inclusion, log_position_at
from certsvc.verify.result import STATUSES, VerificationResult, format_time

__all__ = [
    "STATUSES",
    "VerificationResult",
    "certificate_fields",
    "public_fields",
    "reading",
    "signed_fields",
    "verify_token",
]

log = logging.getLogger("certsvc.verify")

#: Public keys by kid. A kid is the RFC 7638 thumbprint of its key, so an entry can never go
#: stale; whether the key belongs to *this* service, and its status, is read per request.
_PUBLIC_KEYS: dict[str, Ed25519PublicKey] = {}
_MAX_CACHED_KEYS = 4096


@contextmanager
def reading(db: Database) -> Iterator[Session]:
    """A session for read-only verification.

    On PostgreSQL it runs in autocommit mode: every verification is one or two SELECTs, each
    atomic by itself, so the BEGIN and ROLLBACK round trips of a transaction are saved. On
    SQLite (whose engine opens every transaction with BEGIN IMMEDIATE) it is a plain session.
    """
    if db.dialect != "postgresql":
        with db.session() as session:
            yield session
        return
    with db.engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        with Session(bind=autocommit) as session:
            yield session


def certificate_fields(cert: Certificate) -> dict[str, Any]:
    """Every certified field of a stored certificate, for display and comparison."""
    level = Level.from_code(cert.level)
    ground = DirectGround(cert.direct_ground) if cert.direct_ground else None
    id_type = IdType(cert.holder.id_type)
    return {
        "number": cert.number,
        "holder_name": cert.holder_name,
        "id_type": id_type.value,
        "id_type_name": id_type.label_zh,
        "id_type_name_en": id_type.label_en,
        "id_number_masked": cert.holder.id_masked,
        "employer_uscc": cert.employer_uscc,
        "employer_name": cert.employer_name,
        "occupation_code": cert.occupation_code,
        "occupation_name": cert.occupation.name_zh,
        "occupation_name_en": cert.occupation.name_en,
        "work_type": cert.work_type or "--",
        "level": level.code,
        "level_name": level.printed_zh,
        "level_name_en": level.printed_en,
        "issue_date": cert.issue_date.isoformat(),
        "route": cert.route,
        "direct_ground": ground.value if ground else None,
        "direct_ground_name": ground.label_zh if ground else None,
        "direct_ground_name_en": ground.label_en if ground else None,
        "direct_evidence": cert.direct_evidence or None,
        "issuer": {
            "code": cert.body.code,
            "name": cert.body.name_zh,
            "name_en": cert.body.name_en,
        },
        "status": cert.status,
        "status_reason": cert.status_reason or None,
        "status_changed_at": (
            format_time(cert.status_changed_at) if cert.status_changed_at else None
        ),
    }


#: Recorded but not printed on the certificate, so not shown to the public (DOMAIN.md: the face
#: of the certificate); the signed record for the registry keeps them.
NOT_PUBLIC = ("employer_uscc", "employer_name")


def public_fields(cert: Certificate) -> dict[str, Any]:
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
    session: Session, token: str, now: dt.datetime | None = None
) -> VerificationResult:
    """Verify a QR token against this service's keys and records (see the module docstring)."""
    checked_at = now or utcnow()
    token = token.strip()

    def key_for_kid(kid: str) -> Ed25519PublicKey:
        cached = _PUBLIC_KEYS.get(kid)
        if cached is not None:
            return cached
        key = session.get(SigningKey, kid)
        if key is None:
            raise UnknownKey(f"the certificate was signed with key {kid}, which is not ours")
        if len(_PUBLIC_KEYS) >= _MAX_CACHED_KEYS:
            _PUBLIC_KEYS.clear()
        public = _PUBLIC_KEYS[kid] = public_key_from_jwk(key.public_jwk)
        return public

    try:
        verified = verify_compact(token, key_for_kid)
        claims = parse_qr_payload(verified.payload)
    except MalformedToken as exc:
        return VerificationResult("malformed", exc.message, checked_at)
    except UnknownKey as exc:
        return VerificationResult("unknown_key", exc.message, checked_at)
    except InvalidSignature as exc:
        return VerificationResult(
            "invalid_signature", exc.message, checked_at, reason=rejection_reason(token)
        )

    kid = verified.kid
    signed = signed_fields(claims)
    row = session.execute(
        select(Certificate, SigningKey)
        .outerjoin(SigningKey, SigningKey.kid == kid)
        .options(
            joinedload(Certificate.holder),
            joinedload(Certificate.body),
            joinedload(Certificate.occupation),
        )
        .where(Certificate.number == claims.number)
    ).first()
    key = row[1] if row is not None else session.get(SigningKey, kid)
    if key is None:  # the key is cached from another database, but is not ours
        return VerificationResult(
            "unknown_key",
            f"the certificate was signed with key {kid}, which is not ours",
            checked_at,
        )
    base: dict[str, Any] = {"kid": kid, "key_status": key.status, "signed": signed}
    if row is None:
        return VerificationResult(
            "not_found",
            f"the signature is ours but no certificate {claims.number} is on record",
            checked_at,
            **base,
        )
    cert: Certificate = row[0]
    base["certificate"] = public_fields(cert)
    inclusion = _inclusion(session, cert.number)
    base["transparency"] = inclusion.to_dict() if inclusion is not None else None
    if key.compromised_after is not None and not _logged_before(
        session, cert, key.compromised_after, inclusion.seq if inclusion is not None else None
    ):
        return VerificationResult(
            "invalid_signature",
            f"logged after the compromise cut-off of key {kid} "
            f"({format_time(key.compromised_after)}); the signature cannot be trusted",
            checked_at,
            reason="key_compromised",
            **base,
        )
    mismatched = _mismatched_fields(cert, claims, kid, token)
    if mismatched:
        return VerificationResult(
            "invalid_signature",
            "the signed fields do not match the certificate on record: " + ", ".join(mismatched),
            checked_at,
            reason="record_mismatch",
            **base,
        )
    if cert.status == "revoked":
        return VerificationResult("revoked", f"revoked: {cert.status_reason}", checked_at, **base)
    if cert.status == "superseded":
        newer = session.execute(
            select(Certificate.number, Certificate.token).where(
                Certificate.supersedes_id == cert.id
            )
        ).first()
        return VerificationResult(
            "superseded",
            f"replaced by certificate {newer.number}" if newer else "replaced by a newer one",
            checked_at,
            superseded_by=newer.number if newer else None,
            superseded_by_token=newer.token if newer else None,
            **base,
        )
    return VerificationResult("valid", "genuine and current", checked_at, **base)


def _inclusion(session: Session, number: str) -> InclusionResult | None:
    """The certificate's inclusion proof; None (never "logged") when the stored log is broken."""
    try:
        return certificate_inclusion(session, number)
    except (LogIntegrityError, LogRangeError) as exc:
        log.error("no inclusion proof for certificate %s: %s", number, exc.message)
        return None


def _logged_before(
    session: Session, cert: Certificate, cutoff: dt.datetime, seq: int | None
) -> bool:
    """Whether ``cert``'s ``issued`` event is at or before the log position of ``cutoff``."""
    if seq is None:
        seq = session.scalar(
            select(Event.seq).where(Event.certificate_id == cert.id, Event.kind == "issued")
        )
    return seq is not None and seq <= log_position_at(session, cutoff)


def _mismatched_fields(cert: Certificate, claims: QrClaims, kid: str, token: str) -> list[str]:
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
