"""The two signed forms of a certificate, built from what it certifies.

**QR token** — a compact JWS whose payload is a JSON array, kept short so the QR stays at
version ≤ 15 at error-correction level Q (DESIGN.md, contract — the QR)::

    [1, "<certificate number>", "<holder name>", "<occupation code>", <issue date YYYYMMDD>]

Element 0 is the payload format version. The certificate number carries, by the MOHRSS
numbering rule, the issuer's body code (type letter, body code, province, site serial) and the
level code, so the payload holds every field the contract names without repeating them; the
verifier reads them back with :func:`certsvc.domain.numbers.parse_certificate_number`. An
object with named keys (``{"n":…,"h":…}``) costs 14 more bytes and pushes a typical
certificate to QR version 16.

**Signed record** — the whole certificate as a W3C Verifiable Credential 2.0 secured as a JWT
(``typ: vc+jwt``), for the national registry and anyone who wants every field signed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.errors import MalformedToken
from certsvc.signing.vc import VC_CONTEXT_V2

QR_PAYLOAD_VERSION = 1
CREDENTIAL_TYPE = "VocationalSkillLevelCertificate"


@dataclass(frozen=True)
class CertifiedFacts:
    """Every field a certificate certifies, as printed and signed."""

    number: str
    holder_name: str
    id_type: IdType
    id_masked: str
    #: Salted commitment to the full ID number (certsvc.identity.id_commitment).
    id_commitment: str
    employer_uscc: str
    employer_name: str
    occupation_code: str
    occupation_name_zh: str
    occupation_name_en: str
    work_type: str
    level: Level
    issue_date: dt.date
    route: Route
    direct_ground: DirectGround | None
    direct_evidence: str
    body_code: str
    body_name_zh: str
    body_name_en: str
    supersedes: str | None = None


@dataclass(frozen=True)
class QrClaims:
    """The fields the QR token carries."""

    number: str
    holder_name: str
    occupation_code: str
    issue_date: dt.date


def qr_payload(facts: CertifiedFacts) -> bytes:
    """The QR token's payload bytes (compact UTF-8 JSON, see module docstring)."""
    date_int = int(facts.issue_date.strftime("%Y%m%d"))
    body = [QR_PAYLOAD_VERSION, facts.number, facts.holder_name, facts.occupation_code, date_int]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def parse_qr_payload(payload: bytes) -> QrClaims:
    """Read a QR payload back; MalformedToken if it is not one of ours."""
    try:
        body = json.loads(payload.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedToken("the QR payload is not UTF-8 JSON") from exc
    if not (
        isinstance(body, list)
        and len(body) == 5
        and body[0] == QR_PAYLOAD_VERSION
        and all(isinstance(x, str) for x in body[1:4])
        and isinstance(body[4], int)
    ):
        raise MalformedToken("the QR payload is not a certsvc certificate (format version 1)")
    try:
        issue_date = dt.datetime.strptime(str(body[4]), "%Y%m%d").date()
    except ValueError as exc:
        raise MalformedToken(f"the QR payload has an impossible issue date {body[4]}") from exc
    return QrClaims(body[1], body[2], body[3], issue_date)


def credential(facts: CertifiedFacts, public_url: str) -> dict[str, Any]:
    """The certificate as a VC 2.0 credential (unsigned)."""
    subject: dict[str, Any] = {
        "type": "SkillCertificateHolder",
        "name": facts.holder_name,
        "idType": facts.id_type.value,
        "idNumberMasked": facts.id_masked,
        "idNumberCommitment": facts.id_commitment,
        "employer": {"uscc": facts.employer_uscc, "name": facts.employer_name},
        "occupation": {
            "code": facts.occupation_code,
            "name": facts.occupation_name_zh,
            "nameEn": facts.occupation_name_en,
            "workType": facts.work_type,
        },
        "level": {
            "code": facts.level.code,
            "name": facts.level.printed_zh,
            "nameEn": facts.level.printed_en,
        },
        "route": facts.route.value,
    }
    if facts.direct_ground is not None:
        subject["directCertification"] = {
            "ground": facts.direct_ground.value,
            "groundName": facts.direct_ground.label_zh,
            "groundNameEn": facts.direct_ground.label_en,
            "evidence": facts.direct_evidence,
        }
    cred: dict[str, Any] = {
        "@context": [VC_CONTEXT_V2],
        "id": f"{public_url}/c/{facts.number}",
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": {
            "id": f"{public_url}/bodies/{facts.body_code}",
            "name": facts.body_name_zh,
            "nameEn": facts.body_name_en,
            "bodyCode": facts.body_code,
        },
        "validFrom": f"{facts.issue_date.isoformat()}T00:00:00+08:00",
        "certificateNumber": facts.number,
        "credentialSubject": subject,
    }
    if facts.supersedes:
        cred["supersedes"] = facts.supersedes
    return cred
