"""The holder photo behind a QR token: shown on the verify page, and nowhere else public.

The person scanning a certificate holds the paper with its photo; the verify page shows the
photo the issuer stored (and signed the digest of), so a paper whose photo was swapped is
caught by looking. The photo is served only for a token that verifies as ``valid`` — not to
the look-ups by number + name or ID + name, nor to the public API, which never name it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from certsvc.caches import Caches
from certsvc.errors import NotFound
from certsvc.holders.identity import IdVault
from certsvc.holders.photos_store import certificate_photo, certificate_photo_ref
from certsvc.verify.core import verify_token
from certsvc.verify.result import VerificationResult

__all__ = ["has_photo", "photo_for_token"]


def has_photo(session: Session, result: VerificationResult) -> bool:
    """Whether the verify page of ``result`` shows a photo (valid, with a stored photo)."""
    if result.status != "valid" or not result.certificate:
        return False
    return certificate_photo_ref(session, str(result.certificate["number"])) is not None


def photo_for_token(
    session: Session, vault: IdVault, token: str, *, caches: Caches | None = None
) -> bytes:
    """The JPEG of the certificate a valid QR token names; NotFound for any other token
    (not valid, or no photo stored) — the same answer, so nothing tells which."""
    result = verify_token(session, token, caches=caches)
    if result.status != "valid" or not result.certificate:
        raise NotFound("no photo for this token")
    try:
        return certificate_photo(session, vault, str(result.certificate["number"]))
    except NotFound:
        raise NotFound("no photo for this token") from None
