"""The statuses a certificate, a body, a signing key and a verification can have.

Each is a ``Literal`` type, so mypy rejects a misspelt status wherever one is assigned or
compared, and a tuple of its values for checks at run time (request parameters, JWKS input,
database constraints). The strings are stored and published as they are: they are part of
the contracts (DESIGN.md "verification result", "JWKS").
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "BODY_STATUSES",
    "CERTIFICATE_STATUSES",
    "KEY_STATUSES",
    "VERIFICATION_STATUSES",
    "BodyStatus",
    "CertificateStatus",
    "KeyStatus",
    "VerificationStatus",
]

#: A stored certificate: current, revoked with a reason, or replaced by a corrected one.
CertificateStatus = Literal["valid", "revoked", "superseded"]
#: A certification body: a suspended body cannot issue.
BodyStatus = Literal["active", "suspended"]
#: A body's signing key: signs now, signed before a rotation, or not trusted after a cutoff.
KeyStatus = Literal["active", "retired", "compromised"]
#: What page, API and CLI answer about a token (DESIGN.md "verification result").
VerificationStatus = Literal[
    "valid",
    "revoked",
    "superseded",
    "invalid_signature",
    "unknown_key",
    "malformed",
    "not_found",
]

CERTIFICATE_STATUSES: tuple[CertificateStatus, ...] = get_args(CertificateStatus)
BODY_STATUSES: tuple[BodyStatus, ...] = get_args(BodyStatus)
KEY_STATUSES: tuple[KeyStatus, ...] = get_args(KeyStatus)
VERIFICATION_STATUSES: tuple[VerificationStatus, ...] = get_args(VerificationStatus)
