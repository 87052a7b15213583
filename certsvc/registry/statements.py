"""Signed status statements: a revocation or supersession the registry can verify itself.

A certificate's own record (the vc+jwt) says what was certified; it cannot say that the
certificate was later revoked or corrected. So every status change is signed too, at the
moment it happens, by the body's active key, and stored in the event (``Event.data["record"]``)
so the feed can hand it to the registry unchanged on every replay.

The statement is a small W3C VC 2.0 secured as ``vc+jwt`` — the same format and verifier as
the certificate record — of type ``CertificateStatusStatement``::

    {"@context": ["https://www.w3.org/ns/credentials/v2", "<public url>/ns/skill-certificate/v1"],
     "type": ["VerifiableCredential", "CertificateStatusStatement"],
     "issuer": {"id": "<public url>/bodies/<body code>", "bodyCode": "<body code>"},
     "validFrom": "2026-11-26T08:00:00Z",
     "credentialSubject": {"id": "<public url>/c/<number>", "certificateNumber": "<number>",
                           "status": "revoked" | "superseded", "reason": "...",
                           "supersededBy": "<new number>",          (superseded only)
                           "statusChangedAt": "2026-11-26T08:00:00.123456Z"}}

``validFrom`` is whole seconds (as the VC spec's date-time); ``statusChangedAt`` keeps the
exact time, which is what a compromise cut-off is compared with.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certsvc.errors import MalformedToken
from certsvc.i18n import N_
from certsvc.issuance.context import context_url
from certsvc.signing.jwks import format_rfc3339, parse_rfc3339
from certsvc.signing.jws import JwsSigner, VerifiedJws
from certsvc.signing.vc import VC_CONTEXT_V2, credential_job, verify_credential

__all__ = [
    "STATUS_STATEMENT_TYPE",
    "StatusClaim",
    "sign_status_statement",
    "status_statement",
    "verify_status_statement",
]

STATUS_STATEMENT_TYPE = "CertificateStatusStatement"
STATUSES = ("revoked", "superseded")


def exact_time(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with microseconds kept (``…T08:00:00.123456Z``)."""
    if moment.tzinfo is None:
        raise ValueError("refusing a naive datetime; use an aware UTC datetime")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def status_statement(
    *,
    number: str,
    body_code: str,
    status: str,
    at: dt.datetime,
    public_url: str,
    reason: str = "",
    superseded_by: str | None = None,
) -> dict[str, Any]:
    """The unsigned statement that certificate ``number`` became ``status`` at ``at``."""
    if status not in STATUSES:
        raise ValueError(f"a status statement is for {STATUSES}, not {status!r}")
    if (status == "superseded") != (superseded_by is not None):
        raise ValueError("superseded_by is given exactly for a supersession")
    subject: dict[str, Any] = {
        "id": f"{public_url}/c/{number}",
        "certificateNumber": number,
        "status": status,
        "reason": reason,
        "statusChangedAt": exact_time(at),
    }
    if superseded_by is not None:
        subject["supersededBy"] = superseded_by
    return {
        "@context": [VC_CONTEXT_V2, context_url(public_url)],
        "type": ["VerifiableCredential", STATUS_STATEMENT_TYPE],
        "issuer": {"id": f"{public_url}/bodies/{body_code}", "bodyCode": body_code},
        "validFrom": format_rfc3339(at),
        "credentialSubject": subject,
    }


def sign_status_statement(signer: JwsSigner, statement: Mapping[str, Any]) -> str:
    """Sign a statement from :func:`status_statement` as a vc+jwt."""
    payload, typ, cty = credential_job(statement)
    return signer.sign(payload, typ, cty=cty)


@dataclass(frozen=True)
class StatusClaim:
    """What a verified status statement says."""

    number: str
    body_code: str
    status: str
    reason: str
    superseded_by: str | None
    changed_at: dt.datetime
    kid: str


def verify_status_statement(
    token: str, key_for_kid: Callable[[str], Ed25519PublicKey]
) -> StatusClaim:
    """Verify a status statement; raises the errors of ``verify_credential`` or MalformedToken.

    MalformedToken when the signed payload is a credential of another type (a certificate
    record cannot be passed off as a revocation) or lacks a member.
    """
    credential, verified = verify_credential(token, key_for_kid)
    return _claim(credential, verified)


def _claim(credential: Mapping[str, Any], verified: VerifiedJws) -> StatusClaim:
    types = credential.get("type")
    if not isinstance(types, list) or STATUS_STATEMENT_TYPE not in types:
        raise MalformedToken(
            N_("the signed record is not a {status_statement_type}"),
            status_statement_type=STATUS_STATEMENT_TYPE,
        )
    subject = credential.get("credentialSubject")
    issuer = credential.get("issuer")
    if not isinstance(subject, Mapping) or not isinstance(issuer, Mapping):
        raise MalformedToken(N_("a status statement needs an issuer object and one subject"))
    number, status = subject.get("certificateNumber"), subject.get("status")
    body_code, reason = issuer.get("bodyCode"), subject.get("reason", "")
    superseded_by = subject.get("supersededBy")
    if not (
        isinstance(number, str)
        and isinstance(body_code, str)
        and status in STATUSES
        and isinstance(reason, str)
        and (superseded_by is None or isinstance(superseded_by, str))
        and (status == "superseded") == (superseded_by is not None)
    ):
        raise MalformedToken(N_("the status statement lacks a number, body, status or successor"))
    changed_at = parse_rfc3339(subject.get("statusChangedAt"), what="statusChangedAt")
    return StatusClaim(
        number, body_code, str(status), reason, superseded_by, changed_at, verified.kid
    )
