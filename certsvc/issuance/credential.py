"""The two signed forms of a certificate, built from what it certifies.

**QR token** — a compact JWS whose payload is one short UTF-8 line, kept short so the QR stays
at version ≤ 15 at error-correction level Q (DESIGN.md, contract — the QR)::

    2|<certificate number>|<holder name>|<occupation code without hyphens>|<issue date YYYYMMDD>

e.g. ``2|Y000132010001253000001|王建国|6310103|20261120``. Element 0 is the payload format
version. The certificate number carries, by the MOHRSS numbering rule, the issuer's body code
(type letter, body code, province, site serial) and the level code, so the payload holds every
field the contract names without repeating them; the verifier reads them back with
:func:`certsvc.domain.numbers.parse_certificate_number`. Only the name is free text (and a
name never holds ``|``), so the fields are read from both ends. An occupation code's hyphens
sit at fixed places (``d-dd-dd-dd[-dd]``) and are put back when read.

Format 1, a JSON array ``[1, "<number>", "<name>", "<occupation code>", YYYYMMDD]``, is still
read: certificates issued with it stay verifiable. Format 2 is 11 bytes shorter, which keeps
names of up to eight characters (e.g. 阿依古丽·买买提) at version 15 behind a 23-character
public URL; with format 1 a five-character name already needed version 16.

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

from certsvc.caches import Caches
from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.errors import MalformedToken
from certsvc.i18n import N_
from certsvc.issuance.context import context_url
from certsvc.signing.statuslist import ENTRY_TYPE, PURPOSE, StatusEntry
from certsvc.signing.vc import VC_CONTEXT_V2, check_credential, credential_bytes

#: A JSON string literal, quotes included, as ``json.dumps(..., ensure_ascii=False)`` writes it.
_escape = encode_basestring

QR_PAYLOAD_VERSION = 2
#: Where an occupation code's hyphens go: after these digit positions (d-dd-dd-dd[-dd]).
_OCCUPATION_HYPHENS = (1, 3, 5, 7)
_OCCUPATION_DIGITS = re.compile(r"[0-9]{7}([0-9]{2})?")
_DATE_DIGITS = re.compile(r"[0-9]{8}")
CREDENTIAL_TYPE = "VocationalSkillLevelCertificate"


@dataclass(frozen=True)
class CertifiedFacts:
    """Every field a certificate certifies, as printed and signed."""

    number: str
    holder_name: str
    id_type: IdType
    id_masked: str
    #: Salted commitment to the full ID number (certsvc.holders.identity.id_commitment).
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
    #: Where its revocation bit is (certsvc.issuance.status); signed as ``credentialStatus``.
    status_entry: StatusEntry | None = None


@dataclass(frozen=True)
class QrClaims:
    """The fields the QR token carries."""

    number: str
    holder_name: str
    occupation_code: str
    issue_date: dt.date


def qr_payload(facts: CertifiedFacts) -> bytes:
    """The QR token's payload bytes, format 2 (see the module docstring)."""
    day = facts.issue_date
    return (
        f"{QR_PAYLOAD_VERSION}|{facts.number}|{facts.holder_name}|"
        f"{facts.occupation_code.replace('-', '')}|{day.year:04d}{day.month:02d}{day.day:02d}"
    ).encode()


def parse_qr_payload(payload: bytes) -> QrClaims:
    """Read a QR payload back (format 2, or format 1); MalformedToken if it is not ours."""
    try:
        text = payload.decode()
    except UnicodeDecodeError as exc:
        raise MalformedToken(N_("the QR payload is not UTF-8 text")) from exc
    if text.startswith("["):
        return _parse_format_1(text)
    parts = text.split("|")
    if len(parts) < 5 or parts[0] != str(QR_PAYLOAD_VERSION):
        raise MalformedToken(N_("the QR payload is not a certsvc certificate (format 1 or 2)"))
    number, name, occupation, date = parts[1], "|".join(parts[2:-2]), parts[-2], parts[-1]
    if not (number and name and _OCCUPATION_DIGITS.fullmatch(occupation)):
        raise MalformedToken(N_("the QR payload is not a certsvc certificate (format 2)"))
    code = "-".join(
        occupation[start:end]
        for start, end in zip((0, *_OCCUPATION_HYPHENS), (*_OCCUPATION_HYPHENS, None), strict=True)
        if occupation[start:end]
    )
    return QrClaims(number, name, code, _payload_date(date))


def _parse_format_1(text: str) -> QrClaims:
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise MalformedToken(N_("the QR payload is not JSON")) from exc
    if not (
        isinstance(body, list)
        and len(body) == 5
        and body[0] == 1
        and all(isinstance(x, str) for x in body[1:4])
        and isinstance(body[4], int)
        and not isinstance(body[4], bool)
    ):
        raise MalformedToken(N_("the QR payload is not a certsvc certificate (format 1)"))
    return QrClaims(body[1], body[2], body[3], _payload_date(str(body[4])))


def _payload_date(digits: str) -> dt.date:
    """An issue date written YYYYMMDD; MalformedToken if it is not a real day."""
    if _DATE_DIGITS.fullmatch(digits):
        try:
            return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        except ValueError:
            pass
    raise MalformedToken(
        N_("the QR payload has an impossible issue date {date}"), date=repr(digits[:16])
    )


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
    if facts.status_entry is not None:
        values["status_list"] = facts.status_entry.list_url
        values["status_index"] = str(facts.status_entry.index)
    return values


def _credential_from(v: Mapping[str, str]) -> dict[str, Any]:
    """The credential's structure around the values of :func:`_credential_strings`.

    The optional members (direct certification, supersedes, credentialStatus) are present
    exactly when their values are.
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
        "@context": [VC_CONTEXT_V2, context_url(v["public_url"])],
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
    if "status_list" in v:
        cred["credentialStatus"] = {
            "id": f"{v['status_list']}#{v['status_index']}",
            "type": ENTRY_TYPE,
            "statusPurpose": PURPOSE,
            "statusListIndex": v["status_index"],
            "statusListCredential": v["status_list"],
        }
    return cred


def credential(facts: CertifiedFacts, public_url: str) -> dict[str, Any]:
    """The certificate as a VC 2.0 credential (unsigned)."""
    return _credential_from(_credential_strings(facts, public_url))


# Markers stand for the values in a template: private-use characters, which JSON leaves as
# they are (ensure_ascii=False escapes only quotes, backslashes and control characters).
_MARKER = re.compile("\ue000([a-z_]+)\ue001")


class CredentialTemplate:
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


def credential_payload(
    facts: CertifiedFacts, public_url: str, caches: Caches | None = None
) -> bytes:
    """The vc+jwt payload of ``facts``: ``credential_bytes(credential(facts, public_url))``.

    The same bytes, made from a template per credential shape instead of building, checking
    and sorting a dictionary for every certificate. The shape is checked as a VC 2.0
    credential (:func:`~certsvc.signing.vc.check_credential`) when its template is made; the
    check depends on the structure only (every value is a string, ``validFrom`` is made from
    a date after 0001-01-01), which tests/test_issuance_credential.py shows for generated
    facts. On 0001-01-01 ``validFrom`` cannot be converted to UTC, and the generic path runs.
    Templates are kept in ``caches`` (the service's); without it each call makes its own.
    """
    values = _credential_strings(facts, public_url)
    if facts.issue_date == dt.date.min:
        cred = _credential_from(values)
        check_credential(cred)
        return credential_bytes(cred)
    names = frozenset(values)
    templates = (caches or Caches()).credential_templates
    template = templates.get(names)
    if template is None:
        check_credential(_credential_from(values))
        template = CredentialTemplate(names)
        templates.put(names, template)
    return template.fill(values)
