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
import re
from collections.abc import Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.errors import MalformedToken
from certsvc.signing.vc import VC_CONTEXT_V2, check_credential, credential_bytes

#: A JSON string literal, quotes included, as ``json.dumps(..., ensure_ascii=False)`` writes it.
_escape = encode_basestring

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
    """The QR token's payload bytes (compact UTF-8 JSON, see module docstring).

    Written out directly: the same bytes as ``json.dumps([...], ensure_ascii=False,
    separators=(",", ":"))`` of the five elements (tests/test_issuance_credential.py), at a
    fraction of the cost, as every certificate of a batch needs one.
    """
    day = facts.issue_date
    date_int = day.year * 10_000 + day.month * 100 + day.day  # YYYYMMDD as a number
    return (
        f"[{QR_PAYLOAD_VERSION},{_escape(facts.number)},{_escape(facts.holder_name)},"
        f"{_escape(facts.occupation_code)},{date_int}]"
    ).encode()


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


def _credential_strings(facts: CertifiedFacts, public_url: str) -> dict[str, str]:
    """Every value the credential carries, by name (all strings; see :func:`_credential_from`)."""
    values = {
        "public_url": public_url,
        "number": facts.number,
        "holder_name": facts.holder_name,
        "id_type": facts.id_type.value,
        "id_masked": facts.id_masked,
        "id_commitment": facts.id_commitment,
        "employer_uscc": facts.employer_uscc,
        "employer_name": facts.employer_name,
        "occupation_code": facts.occupation_code,
        "occupation_name_zh": facts.occupation_name_zh,
        "occupation_name_en": facts.occupation_name_en,
        "work_type": facts.work_type,
        "level_code": facts.level.code,
        "level_name_zh": facts.level.printed_zh,
        "level_name_en": facts.level.printed_en,
        "route": facts.route.value,
        "issue_date": facts.issue_date.isoformat(),
        "body_code": facts.body_code,
        "body_name_zh": facts.body_name_zh,
        "body_name_en": facts.body_name_en,
    }
    if facts.direct_ground is not None:
        values["direct_ground"] = facts.direct_ground.value
        values["direct_ground_zh"] = facts.direct_ground.label_zh
        values["direct_ground_en"] = facts.direct_ground.label_en
        values["direct_evidence"] = facts.direct_evidence
    if facts.supersedes:
        values["supersedes"] = facts.supersedes
    return values


def _credential_from(v: Mapping[str, str]) -> dict[str, Any]:
    """The credential's structure around the values of :func:`_credential_strings`.

    The optional members (direct certification, supersedes) are present exactly when their
    values are.
    """
    subject: dict[str, Any] = {
        "type": "SkillCertificateHolder",
        "name": v["holder_name"],
        "idType": v["id_type"],
        "idNumberMasked": v["id_masked"],
        "idNumberCommitment": v["id_commitment"],
        "employer": {"uscc": v["employer_uscc"], "name": v["employer_name"]},
        "occupation": {
            "code": v["occupation_code"],
            "name": v["occupation_name_zh"],
            "nameEn": v["occupation_name_en"],
            "workType": v["work_type"],
        },
        "level": {
            "code": v["level_code"],
            "name": v["level_name_zh"],
            "nameEn": v["level_name_en"],
        },
        "route": v["route"],
    }
    if "direct_ground" in v:
        subject["directCertification"] = {
            "ground": v["direct_ground"],
            "groundName": v["direct_ground_zh"],
            "groundNameEn": v["direct_ground_en"],
            "evidence": v["direct_evidence"],
        }
    cred: dict[str, Any] = {
        "@context": [VC_CONTEXT_V2],
        "id": f"{v['public_url']}/c/{v['number']}",
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": {
            "id": f"{v['public_url']}/bodies/{v['body_code']}",
            "name": v["body_name_zh"],
            "nameEn": v["body_name_en"],
            "bodyCode": v["body_code"],
        },
        "validFrom": f"{v['issue_date']}T00:00:00+08:00",
        "certificateNumber": v["number"],
        "credentialSubject": subject,
    }
    if "supersedes" in v:
        cred["supersedes"] = v["supersedes"]
    return cred


def credential(facts: CertifiedFacts, public_url: str) -> dict[str, Any]:
    """The certificate as a VC 2.0 credential (unsigned)."""
    return _credential_from(_credential_strings(facts, public_url))


# Markers stand for the values in a template: private-use characters, which JSON leaves as
# they are (ensure_ascii=False escapes only quotes, backslashes and control characters).
_MARKER = re.compile("\ue000([a-z_]+)\ue001")


class _Template:
    """The serialised credential of one shape, cut where the values go.

    Made by serialising the credential with a marker for every value through the generic
    path (:func:`certsvc.signing.vc.credential_bytes`: keys sorted, compact), so the member
    order and all punctuation are exactly the generic path's. JSON escapes a string character
    by character, so the escaped value spliced in at a marker is what the generic path writes
    for the whole string, also where a value is part of a longer string (the ``id`` URL).
    """

    def __init__(self, names: frozenset[str]) -> None:
        text = credential_bytes(_credential_from({n: f"\ue000{n}\ue001" for n in names}))
        parts = _MARKER.split(text.decode())
        self.literals = parts[0::2]
        self.fields = parts[1::2]

    def fill(self, values: Mapping[str, str]) -> bytes:
        out = [self.literals[0]]
        for name, literal in zip(self.fields, self.literals[1:], strict=True):
            out.append(_escape(values[name])[1:-1])
            out.append(literal)
        return "".join(out).encode()


_TEMPLATES: dict[frozenset[str], _Template] = {}


def credential_payload(facts: CertifiedFacts, public_url: str) -> bytes:
    """The vc+jwt payload of ``facts``: ``credential_bytes(credential(facts, public_url))``.

    The same bytes, made from a template per credential shape instead of building, checking
    and sorting a dictionary for every certificate. The shape is checked as a VC 2.0
    credential (:func:`~certsvc.signing.vc.check_credential`) when its template is made; the
    check depends on the structure only (every value is a string, ``validFrom`` is made from
    a date after 0001-01-01), which tests/test_issuance_credential.py shows for generated
    facts. On 0001-01-01 ``validFrom`` cannot be converted to UTC, and the generic path runs.
    """
    values = _credential_strings(facts, public_url)
    if facts.issue_date == dt.date.min:
        cred = _credential_from(values)
        check_credential(cred)
        return credential_bytes(cred)
    names = frozenset(values)
    template = _TEMPLATES.get(names)
    if template is None:
        check_credential(_credential_from(values))
        template = _TEMPLATES[names] = _Template(names)
    return template.fill(values)
