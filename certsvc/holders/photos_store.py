"""Holder photos at rest: sealed JPEGs of one body, found by their SHA-256.

A photo arrives here already normalised (decoded, checked, turned upright and re-encoded as
a JPEG without metadata: :func:`certsvc.holders.photos.normalise_photo`). It is stored once
per body under the hex SHA-256 of those JPEG bytes, sealed with AES-GCM by the ID-number vault
(:meth:`certsvc.holders.identity.IdVault.seal_photo`), and that digest is what certificates
name (``certificates.photo_sha256``) and sign (``relatedResource`` of the vc+jwt, as an SRI
string: :func:`digest_sri`). Storing the same photo twice keeps one row.

Photos are personal information (PIPL): nothing here logs them, and callers must not put
them in logs or the audit log either (a digest is fine).

Examples::

    >>> photo_digest(b"\\xff\\xd8\\xff\\xd9")
    '32461d5bd1773012acef0ba15636752949bd7c2ce50f9172159d9f56cf0dd9af'
    >>> digest_sri("32461d5bd1773012acef0ba15636752949bd7c2ce50f9172159d9f56cf0dd9af")
    'sha256-MkYdW9F3MBKs7wuhVjZ1KUm9fCzlD5FyFZ2fVs8N2a8='
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.db import insert_ignoring_conflicts
from certsvc.errors import InvalidInput, NotFound
from certsvc.holders.identity import IdVault
from certsvc.i18n import N_
from certsvc.models import Certificate, HolderPhoto, utcnow

__all__ = [
    "MAX_PHOTO_BYTES",
    "certificate_photo",
    "certificate_photo_ref",
    "check_digest",
    "check_jpeg",
    "digest_sri",
    "load_photo",
    "photo_by_digest",
    "photo_digest",
    "sri_digest",
    "store_photo",
    "store_photos",
    "store_row_photos",
]

#: A normalised 1-inch photo (295 × 413) is some 20–60 KB; this is far above, but bounded.
MAX_PHOTO_BYTES = 2 * 1024 * 1024
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def photo_digest(jpeg: bytes) -> str:
    """The hex SHA-256 a stored photo is known by."""
    return hashlib.sha256(jpeg).hexdigest()


def digest_sri(sha256: str) -> str:
    """The digest as a Subresource Integrity string (W3C VC 2.0 ``digestSRI``)."""
    return "sha256-" + base64.b64encode(bytes.fromhex(sha256)).decode()


def sri_digest(sri: str) -> str:
    """The hex SHA-256 of a ``sha256-…`` SRI string; InvalidInput for any other form."""
    algorithm, _, value = sri.partition("-")
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise InvalidInput(N_("not a sha256 SRI digest: {sri}"), sri=sri[:80]) from exc
    if algorithm != "sha256" or len(raw) != 32:
        raise InvalidInput(N_("not a sha256 SRI digest: {sri}"), sri=sri[:80])
    return raw.hex()


def check_digest(sha256: str) -> str:
    """``sha256`` if it is 64 lower-case hex digits; InvalidInput otherwise."""
    if not _HEX_DIGEST.fullmatch(sha256):
        raise InvalidInput(N_("a photo digest is 64 lower-case hexadecimal digits (SHA-256)"))
    return sha256


def check_jpeg(data: bytes) -> None:
    """The storage's own guard: a bounded JPEG (start and end markers). The real checks —
    decoding, size, ratio, metadata — are :func:`certsvc.holders.photos.normalise_photo`'s."""
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInput(
            N_("a stored photo may be at most {limit} KB"), limit=MAX_PHOTO_BYTES // 1024
        )
    if not (data.startswith(b"\xff\xd8\xff") and data.rstrip(b"\x00").endswith(b"\xff\xd9")):
        raise InvalidInput(N_("a stored photo must be a JPEG (normalise it first)"))


def store_photos(
    session: Session, vault: IdVault, body_id: int, photos: Iterable[bytes]
) -> list[str]:
    """Store each JPEG for the body (once per digest); their digests, in order."""
    digests: list[str] = []
    rows: dict[str, dict[str, object]] = {}
    now = utcnow()
    for jpeg in photos:
        check_jpeg(jpeg)
        digest = photo_digest(jpeg)
        digests.append(digest)
        if digest not in rows:
            rows[digest] = {
                "body_id": body_id,
                "sha256": digest,
                "sealed": vault.seal_photo(body_id, digest, jpeg),
                "created_at": now,
            }
    if rows:
        stored = set(
            session.scalars(
                select(HolderPhoto.sha256).where(
                    HolderPhoto.body_id == body_id, HolderPhoto.sha256.in_(list(rows))
                )
            )
        )
        new = [row for digest, row in rows.items() if digest not in stored]
        insert_ignoring_conflicts(
            session, HolderPhoto, new, ["body_id", "sha256"], [HolderPhoto.id]
        )
    return digests


def store_photo(session: Session, vault: IdVault, body_id: int, jpeg: bytes) -> str:
    """Store one JPEG for the body; its digest."""
    return store_photos(session, vault, body_id, [jpeg])[0]


def store_row_photos(
    session: Session, vault: IdVault, body_id: int, photos: Mapping[int, bytes]
) -> dict[int, str]:
    """Store a batch's photos (by row); the digest of each row's photo."""
    rows = sorted(photos)
    digests = store_photos(session, vault, body_id, (photos[r] for r in rows))
    return dict(zip(rows, digests, strict=True))


def load_photo(session: Session, vault: IdVault, body_id: int, sha256: str) -> bytes:
    """The JPEG stored for the body under ``sha256``; NotFound if there is none (or erased)."""
    sealed = session.scalar(
        select(HolderPhoto.sealed).where(
            HolderPhoto.body_id == body_id, HolderPhoto.sha256 == check_digest(sha256)
        )
    )
    if sealed is None:
        raise NotFound(N_("no stored photo with that digest"))
    return vault.open_photo(body_id, sha256, sealed)


def certificate_photo_ref(session: Session, number: str) -> tuple[int, str] | None:
    """(body id, digest) of the photo stored for certificate ``number``, or None when it has
    none or the photo was erased."""
    row = session.execute(
        select(Certificate.body_id, Certificate.photo_sha256)
        .join(
            HolderPhoto,
            (HolderPhoto.body_id == Certificate.body_id)
            & (HolderPhoto.sha256 == Certificate.photo_sha256),
        )
        .where(Certificate.number == number)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def certificate_photo(session: Session, vault: IdVault, number: str) -> bytes:
    """The JPEG of certificate ``number``'s photo; NotFound when it has none (or erased)."""
    ref = certificate_photo_ref(session, number)
    if ref is None:
        raise NotFound(N_("certificate {number} has no stored photo"), number=number)
    return load_photo(session, vault, *ref)


def photo_by_digest(session: Session, vault: IdVault, sha256: str, body_id: int | None) -> bytes:
    """The JPEG stored under ``sha256`` for the registry: of body ``body_id``, or of any body
    (``None``: a registry token of no one body). NotFound when none is stored (or erased)."""
    query = select(HolderPhoto.body_id, HolderPhoto.sealed).where(
        HolderPhoto.sha256 == check_digest(sha256)
    )
    if body_id is not None:
        query = query.where(HolderPhoto.body_id == body_id)
    row = session.execute(query.order_by(HolderPhoto.id).limit(1)).first()
    if row is None:
        raise NotFound(N_("no stored photo with that digest"))
    return vault.open_photo(int(row[0]), sha256, row[1])
