"""The holder photo behind a QR token: shown on the verify page, and nowhere else public.

The person scanning a certificate holds the paper with its photo; the verify page shows the
photo the issuer stored (and signed the digest of), so a paper whose photo was swapped is
caught by looking. The photo is served only for a token that verifies as ``valid`` — not to
the look-ups by number + name or ID + name, nor to the public API, which never name it.

``certsvc verify … --photo FILE`` checks a photo file (as the registry or the verify page
serves it: the exact stored JPEG) against the digest the certificate's record signs —
offline the record embedded in the certificate PDF, verified with the key set; online the
certificate's current record (:func:`photo_check`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.caches import Caches
from certsvc.errors import MalformedToken, NotFound
from certsvc.holders.identity import IdVault
from certsvc.holders.photos_store import certificate_photo, certificate_photo_ref
from certsvc.i18n import N_, gettext
from certsvc.issuance.credential import photo_resource
from certsvc.models import Certificate
from certsvc.signing.jwks import KeySet
from certsvc.signing.vc import verify_credential
from certsvc.verify.core import verify_token
from certsvc.verify.result import VerificationResult

__all__ = [
    "PhotoCheck",
    "has_photo",
    "photo_check",
    "photo_for_token",
    "signed_photo_digest",
    "stored_photo_digest",
]


@dataclass(frozen=True)
class PhotoCheck:
    """A photo file compared with the digest a record signs."""

    matches: bool
    sha256: str
    signed: str | None

    @property
    def line(self) -> str:
        if self.matches:
            return gettext("matches the signed digest sha256 {signed}", signed=self.signed)
        if self.signed is None:
            return gettext("the certificate's record names no photo")
        return gettext(
            "DOES NOT match: the file is sha256 {sha256}, the record signs {signed}",
            sha256=self.sha256,
            signed=self.signed,
        )


def photo_check(photo: bytes, signed: str | None) -> PhotoCheck:
    """``photo`` against the hex digest ``signed`` (None: the record names no photo)."""
    digest = hashlib.sha256(photo).hexdigest()
    return PhotoCheck(signed is not None and hmac.compare_digest(digest, signed), digest, signed)


def signed_photo_digest(record: str, keys: KeySet, number: str) -> str | None:
    """The photo digest a vc+jwt record signs, after verifying it with ``keys`` and that it is
    certificate ``number``'s; the errors of :func:`verify_credential` otherwise."""
    credential, _ = verify_credential(record.strip(), keys.public_key)
    if credential.get("certificateNumber") != number:
        raise MalformedToken(N_("the embedded record is another certificate's"))
    return photo_resource(credential)


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
        raise NotFound(N_("no photo for this token"))
    try:
        return certificate_photo(session, vault, str(result.certificate["number"]))
    except NotFound:
        raise NotFound(N_("no photo for this token")) from None


def stored_photo_digest(session: Session, number: str) -> str | None:
    """The photo digest certificate ``number``'s current record signs (online)."""
    return session.scalar(select(Certificate.photo_sha256).where(Certificate.number == number))
