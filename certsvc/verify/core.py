"""Checking a QR token against the signing keys and the stored certificate.

The result follows the DESIGN.md contract: ``status`` is one of ``valid``, ``revoked``,
``superseded``, ``invalid_signature``, ``unknown_key``, ``malformed``, ``not_found``, and the
result carries every certified field as the service holds them (so a tampered printout cannot
pass as valid by comparison), the issuer, the route, the masked ID and ``checked_at``.

A token is ``valid`` only when all of these hold: it is a well-formed EdDSA compact JWS; its key
is one of ours and was not compromised before the certificate was signed; the signature
verifies; the signed fields equal the stored certificate's; and the certificate is current.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.routes import DirectGround
from certsvc.errors import InvalidSignature, MalformedToken, UnknownKey
from certsvc.issuance.credential import parse_qr_payload
from certsvc.models import Certificate, SigningKey, utcnow
from certsvc.signing.jws import VerifiedJws, verify_compact
from certsvc.signing.keys import public_key_from_jwk

STATUSES = (
    "valid",
    "revoked",
    "superseded",
    "invalid_signature",
    "unknown_key",
    "malformed",
    "not_found",
)


@dataclass(frozen=True)
class VerificationResult:
    """What page, API and CLI report about one token."""

    status: str
    message: str
    checked_at: dt.datetime
    kid: str | None = None
    certificate: dict[str, Any] | None = None
    superseded_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return self.status == "valid"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["checked_at"] = self.checked_at.isoformat().replace("+00:00", "Z")
        d.pop("extra")
        d.update(self.extra)
        return d


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
        "direct_evidence": cert.direct_evidence or None,
        "issuer": {
            "code": cert.body.code,
            "name": cert.body.name_zh,
            "name_en": cert.body.name_en,
        },
        "status": cert.status,
        "status_reason": cert.status_reason or None,
        "status_changed_at": cert.status_changed_at.isoformat() if cert.status_changed_at else None,
    }


def verify_token(
    session: Session, token: str, now: dt.datetime | None = None
) -> VerificationResult:
    """Verify a QR token against this service's keys and records."""
    checked_at = now or utcnow()
    keys: dict[str, SigningKey] = {}

    def key_for_kid(kid: str) -> Any:
        key = session.get(SigningKey, kid)
        if key is None:
            raise UnknownKey(f"the certificate was signed with key {kid}, which is not ours")
        keys[kid] = key
        return public_key_from_jwk(key.public_jwk)

    try:
        verified: VerifiedJws = verify_compact(token.strip(), key_for_kid)
        claims = parse_qr_payload(verified.payload)
    except MalformedToken as exc:
        return VerificationResult("malformed", exc.message, checked_at)
    except UnknownKey as exc:
        return VerificationResult("unknown_key", exc.message, checked_at)
    except InvalidSignature as exc:
        return VerificationResult("invalid_signature", exc.message, checked_at)

    kid = verified.kid
    cert = session.scalar(select(Certificate).where(Certificate.number == claims.number))
    if cert is None:
        return VerificationResult(
            "not_found",
            f"the signature is ours but no certificate {claims.number} is on record",
            checked_at,
            kid=kid,
        )
    fields = certificate_fields(cert)
    key = keys[kid]
    signed_at = cert.created_at
    if key.compromised_after is not None and signed_at > key.compromised_after:
        return VerificationResult(
            "invalid_signature",
            f"signed by key {kid} after it was reported compromised "
            f"({key.compromised_after.isoformat()}); the signature cannot be trusted",
            checked_at,
            kid=kid,
            certificate=fields,
        )
    if (
        cert.kid != kid
        or cert.token != token.strip()
        or claims.holder_name != cert.holder_name
        or claims.occupation_code != cert.occupation_code
        or claims.issue_date != cert.issue_date
    ):
        return VerificationResult(
            "invalid_signature",
            "the signed fields do not match the certificate on record",
            checked_at,
            kid=kid,
            certificate=fields,
        )
    if cert.status == "revoked":
        return VerificationResult(
            "revoked",
            f"revoked: {cert.status_reason}",
            checked_at,
            kid=kid,
            certificate=fields,
        )
    if cert.status == "superseded":
        newer = session.scalar(
            select(Certificate.number).where(Certificate.supersedes_id == cert.id)
        )
        return VerificationResult(
            "superseded",
            f"replaced by certificate {newer}",
            checked_at,
            kid=kid,
            certificate=fields,
            superseded_by=newer,
        )
    return VerificationResult(
        "valid", "genuine and current", checked_at, kid=kid, certificate=fields
    )
