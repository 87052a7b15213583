"""Verifying a QR token with a key set (JWKS) alone — no database, no network.

Offline a verifier can check the signature, the key's published status and compromise
cutoff, and the signed fields; it cannot check revocation, supersession or that the signed
fields equal the stored record. The result says so in ``not_checked`` (and ``mode`` is
``offline``): ``valid`` offline means "genuine as signed", not "current".

**Compromised keys offline — decision.** Online the cutoff is a position in the transparency
log: a certificate is trusted only if its ``issued`` event was logged at or before the log
position of the cutoff (:mod:`certsvc.verify.core`, check 6), so no time the key holder chose
decides it. Offline there is neither the log nor any trustworthy signing time: the QR's issue
date and a vc+jwt's ``validFrom`` are both chosen by whoever holds the key, so a thief of the
key can backdate them at will. Therefore, offline, a token signed by a compromised key is never
``valid``:

* signed issue date *after* the cutoff — issuance never signs a future date, so the signature
  was made after the cutoff: ``invalid_signature`` (reason ``key_compromised``);
* otherwise — cannot be decided without the record: ``invalid_signature`` (reason
  ``key_compromised_undecided``), with a message that says to verify online.

**A key certifies for its own body only.** The JWKS names the body (评价机构) each key belongs
to (``body``), and a certificate number names its issuing body (its first part, see
:func:`certsvc.domain.numbers.issuing_body_of`). A token whose number is not of the key's body
— body A's key signing a number of body B — is ``invalid_signature`` (reason
``record_mismatch``): a genuine signature, but not a certificate of the body it names.

When a signed record (vc+jwt, e.g. embedded in a certificate PDF) is given, it is verified
with the same key set and must agree with the QR token; its fields then fill the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from certsvc.domain.china_time import CHINA
from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.numbers import issuing_body_of, parse_certificate_number
from certsvc.domain.occupations import find_occupation
from certsvc.domain.routes import DirectGround
from certsvc.errors import (
    CertsvcError,
    InvalidCertificateNumber,
    InvalidSignature,
    MalformedToken,
    UnknownKey,
)
from certsvc.i18n import N_, Message
from certsvc.issuance.credential import QrClaims, parse_qr_payload
from certsvc.models import utcnow
from certsvc.signing.jwks import KeySet, PublishedKey
from certsvc.signing.jws import verify_compact
from certsvc.signing.vc import verify_credential
from certsvc.verify.core import rejection_reason, signed_fields
from certsvc.verify.result import OFFLINE_GAPS, VerificationResult, format_time

__all__ = ["verify_offline"]

_E = TypeVar("_E", IdType, DirectGround)


def verify_offline(
    token: str,
    keys: KeySet,
    *,
    record: str | None = None,
    now: dt.datetime | None = None,
) -> VerificationResult:
    """Verify *token* against *keys* only; see the module docstring for what that covers."""
    checked_at = now or utcnow()
    token = token.strip()
    gaps: tuple[str, ...] = OFFLINE_GAPS
    try:
        verified = verify_compact(token, keys.public_key)
        claims = parse_qr_payload(verified.payload)
    except MalformedToken as exc:
        return VerificationResult("malformed", exc.text, checked_at, mode="offline")
    except UnknownKey as exc:
        return VerificationResult("unknown_key", exc.text, checked_at, mode="offline")
    except InvalidSignature as exc:
        return VerificationResult(
            "invalid_signature",
            exc.text,
            checked_at,
            mode="offline",
            reason=rejection_reason(token),
        )
    entry = keys.entry(verified.kid)
    fields = _fields_from_claims(claims)
    base: dict[str, Any] = {
        "mode": "offline",
        "kid": entry.kid,
        "key_status": entry.status,
        "signed": signed_fields(claims),
    }
    foreign = _foreign_number(entry, claims)
    if foreign is not None:
        return VerificationResult(
            "invalid_signature",
            foreign,
            checked_at,
            reason="record_mismatch",
            certificate=fields,
            not_checked=gaps,
            **base,
        )
    if record is not None:
        try:
            fields = _fields_from_record(record, keys, claims, entry.kid)
        except CertsvcError as exc:
            return VerificationResult(
                "invalid_signature",
                Message(
                    N_("the signed record does not confirm the QR code: {reason}"),
                    reason=exc.text,
                ),
                checked_at,
                reason="record_mismatch",
                certificate=fields,
                not_checked=gaps,
                **base,
            )
        gaps = ("revocation", "supersession")
    base["certificate"] = fields
    base["not_checked"] = gaps
    compromised = _compromise_verdict(entry, claims)
    if compromised is not None:
        reason, message = compromised
        return VerificationResult("invalid_signature", message, checked_at, reason=reason, **base)
    return VerificationResult(
        "valid",
        Message(N_("genuine as signed; not checked offline: {gaps}"), gaps=", ".join(gaps)),
        checked_at,
        **base,
    )


def _foreign_number(entry: PublishedKey, claims: QrClaims) -> Message | None:
    """Why the key *entry* may not certify the signed number; None when it may.

    A key that names no body (a key set from elsewhere) is not judged here.
    """
    owner = entry.body_code
    if owner is None:
        return None
    try:
        issuer = str(issuing_body_of(claims.number))
    except InvalidCertificateNumber:
        return Message(
            N_(
                "signed by key {kid} of body {owner}, but {number!r} is not a certificate "
                "number, so it cannot be a certificate of that body"
            ),
            kid=entry.kid,
            owner=owner,
            number=claims.number,
        )
    if issuer == owner:
        return None
    return Message(
        N_(
            "certificate {number} names body {issuer} as its issuer, but it is signed by key "
            "{kid} of body {owner}: the key of body {owner} cannot certify for body {issuer}"
        ),
        number=claims.number,
        issuer=issuer,
        kid=entry.kid,
        owner=owner,
    )


def _compromise_verdict(entry: PublishedKey, claims: QrClaims) -> tuple[str, Message] | None:
    """(reason, message) when the key's compromise makes the token untrustworthy offline."""
    cutoff = entry.compromised_after
    if cutoff is None:
        return None
    if claims.issue_date > cutoff.astimezone(CHINA).date():
        return (
            "key_compromised",
            Message(
                N_(
                    "signed by key {kid} after it was reported compromised ({cutoff}): the "
                    "signed issue date {issue_date} is later"
                ),
                kid=entry.kid,
                cutoff=format_time(cutoff),
                issue_date=claims.issue_date,
            ),
        )
    return (
        "key_compromised_undecided",
        Message(
            N_(
                "signed by key {kid}, which was reported compromised after {cutoff}; offline "
                "the signing time cannot be established (signed dates are chosen by whoever "
                "holds the key), so this signature is not trusted — verify online, where the "
                "cutoff is compared with the certificate's record"
            ),
            kid=entry.kid,
            cutoff=format_time(cutoff),
        ),
    )


def _fields_from_claims(claims: QrClaims) -> dict[str, Any]:
    """The certified fields a QR token shows by itself: signed, or derived from its number."""
    level: Level | None
    try:
        level = parse_certificate_number(claims.number).level
    except CertsvcError:  # configured special-level letters differ from the defaults
        level = None
    issuer_code: str | None
    try:
        issuer_code = str(issuing_body_of(claims.number))
    except CertsvcError:
        issuer_code = None
    occ_zh: str | None
    occ_en: str | None
    try:
        occupation = find_occupation(claims.occupation_code)
        occ_zh, occ_en = occupation.name_zh, occupation.name_en
    except CertsvcError:
        occ_zh = occ_en = None
    return {
        "number": claims.number,
        "holder_name": claims.holder_name,
        "id_type": None,
        "id_type_name": None,
        "id_type_name_en": None,
        "id_number_masked": None,
        "occupation_code": claims.occupation_code,
        "occupation_name": occ_zh,
        "occupation_name_en": occ_en,
        "work_type": None,
        "level": level.code if level else None,
        "level_name": level.printed_zh if level else None,
        "level_name_en": level.printed_en if level else None,
        "issue_date": claims.issue_date.isoformat(),
        "route": None,
        "direct_ground": None,
        "direct_ground_name": None,
        "direct_ground_name_en": None,
        "direct_evidence": None,
        "issuer": {"code": issuer_code, "name": None, "name_en": None},
        "status": None,
        "status_reason": None,
        "status_changed_at": None,
    }


def _get(data: Mapping[str, Any], *path: str) -> Any:
    value: Any = data
    for name in path:
        value = value.get(name) if isinstance(value, Mapping) else None
    return value


def _fields_from_record(record: str, keys: KeySet, claims: QrClaims, kid: str) -> dict[str, Any]:
    """Every field from a signed vc+jwt record that agrees with the QR claims.

    Raises a :class:`CertsvcError` when the record does not verify or disagrees.
    """
    credential, verified = verify_credential(record.strip(), keys.public_key)
    subject = _get(credential, "credentialSubject")
    valid_from = str(credential.get("validFrom", ""))[:10]
    fields = _fields_from_claims(claims)
    issuer_code = fields["issuer"]["code"]  # the number's body; None if it cannot be read
    disagreements = [
        name
        for name, signed, recorded in (
            ("number", claims.number, credential.get("certificateNumber")),
            ("holder_name", claims.holder_name, _get(subject, "name")),
            ("occupation_code", claims.occupation_code, _get(subject, "occupation", "code")),
            ("issue_date", claims.issue_date.isoformat(), valid_from),
            ("kid", kid, verified.kid),
            ("issuer", issuer_code, _get(credential, "issuer", "bodyCode") or issuer_code),
        )
        if signed != recorded
    ]
    if disagreements:
        raise InvalidSignature(N_("they differ in {fields}"), fields=", ".join(disagreements))
    direct = _get(subject, "directCertification") or {}
    id_type = _enum(IdType, _get(subject, "idType"))
    ground = _enum(DirectGround, _get(direct, "ground"))
    work_type = _get(subject, "occupation", "workType")
    fields.update(
        id_type=id_type.value if id_type else None,
        id_type_name=id_type.label_zh if id_type else None,
        id_type_name_en=id_type.label_en if id_type else None,
        id_number_masked=_get(subject, "idNumberMasked"),
        occupation_name=_get(subject, "occupation", "name") or fields["occupation_name"],
        occupation_name_en=_get(subject, "occupation", "nameEn") or fields["occupation_name_en"],
        work_type=work_type or "--",
        route=_get(subject, "route"),
        direct_ground=ground.value if ground else None,
        direct_ground_name=ground.label_zh if ground else None,
        direct_ground_name_en=ground.label_en if ground else None,
        direct_evidence=_get(direct, "evidence") or None,
        issuer={
            "code": _get(credential, "issuer", "bodyCode") or fields["issuer"]["code"],
            "name": _get(credential, "issuer", "name"),
            "name_en": _get(credential, "issuer", "nameEn"),
        },
    )
    return fields


def _enum(kind: type[_E], value: object) -> _E | None:
    try:
        return kind(value) if isinstance(value, str) else None
    except ValueError:
        return None
