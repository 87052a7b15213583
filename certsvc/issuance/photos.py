"""Replacing a holder's photo after issuance, and the record that follows it.

A photo is replaced without a new certificate: the number, the QR token and every certified
field stay; only the photo's digest in the signed record changes. The certificate's record is
**re-signed** (the same credential, its ``relatedResource`` naming the new photo's digest, by
the body's active key) and written as a ``photo_replaced`` event whose data carries the new
record — the way revocations carry their signed statements. The registry feed hands that
event out in seq order, the transparency log logs its record's hash, and the registry mirror
takes the newer record (:mod:`certsvc.registry.apply`).

``certificates.record`` keeps the record as issued: the ``issued`` event, its transparency
leaf and its replay from any cursor must not change. :func:`current_records` gives the latest
record of each certificate (the issued one, or the last ``photo_replaced``), which PDFs embed.

A replacement is audited as "photo replaced" with the old and new digests, never the image.
**Erasure** (:func:`erase_photos`, ``certsvc photo erase NUMBER``): every stored photo of the
holder of a certificate — the current ones and those replaced before — is deleted from the
body's store. The signed records keep the digests (a signature cannot be taken back; a digest
does not show a face): the verify page then shows no photo, a PDF prints the empty frame and
the registry endpoint answers 404. Copies the registry already fetched are the registry's to
erase.

A correction (a new number) was not chosen: it would make the holder's valid certificate
"superseded" for a new photo and send an employer who scans the old paper to a new number.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from certsvc.errors import Conflict, InvalidInput, NotFound
from certsvc.holders.photos_store import digest_sri, store_photo
from certsvc.i18n import N_
from certsvc.issuance.credential import PHOTO_FRAGMENT, PHOTO_MEDIA_TYPE, photo_resource
from certsvc.models import Certificate, Event, HolderPhoto, utcnow
from certsvc.runtime import Runtime
from certsvc.signing.b64 import b64url_decode
from certsvc.signing.vc import sign_credential_with

__all__ = [
    "AUDIT_ACTION",
    "ERASE_ACTION",
    "PhotoReplaced",
    "audit_detail",
    "current_record",
    "current_records",
    "erase_photos",
    "replace_photo",
]

#: The audit log's action for a replaced photo ("photo replaced").
AUDIT_ACTION = "photo.replace"
#: The audit log's action for erased photos.
ERASE_ACTION = "photo.erase"


@dataclass(frozen=True)
class PhotoReplaced:
    number: str
    sha256: str
    previous: str | None
    record: str


def audit_detail(done: PhotoReplaced) -> dict[str, str | None]:
    """What the audit log keeps of a replacement: the digests, never the image."""
    return {"sha256": done.sha256, "previous_sha256": done.previous}


def current_records(session: Session, certs: Sequence[Certificate]) -> dict[int, str]:
    """The latest signed record of each certificate, by id: the record of its last
    ``photo_replaced`` event, or the record it was issued with."""
    records = {c.id: c.record for c in certs}
    if not records:
        return records
    replaced = session.execute(
        select(Event.certificate_id, Event.data)
        .where(Event.kind == "photo_replaced", Event.certificate_id.in_(list(records)))
        .order_by(Event.seq)
    )
    for cert_id, data in replaced:
        if cert_id is not None:
            records[cert_id] = str(data["record"])
    return records


def current_record(session: Session, cert: Certificate) -> str:
    return current_records(session, [cert])[cert.id]


def _with_photo(credential: dict[str, Any], public_url: str, sha256: str) -> dict[str, Any]:
    """``credential`` naming the photo ``sha256`` instead of the one it named (if any)."""
    others = [
        r
        for r in credential.get("relatedResource", [])
        if not str(r.get("id", "")).endswith(PHOTO_FRAGMENT)
    ]
    photo = {
        "id": f"{public_url}/c/{credential['certificateNumber']}{PHOTO_FRAGMENT}",
        "mediaType": PHOTO_MEDIA_TYPE,
        "digestSRI": digest_sri(sha256),
    }
    return {**credential, "relatedResource": [photo, *others]}


def replace_photo(
    runtime: Runtime, body_id: int | None, number: str, jpeg: bytes, *, actor: str
) -> PhotoReplaced:
    """Store ``jpeg`` (normalised already) as the photo of certificate ``number`` and re-sign
    its record (module docstring). ``body_id`` is the acting body (``None``: the platform's
    CLI); a number of another body is NotFound. Only a valid certificate's photo changes.
    Callers audit it (:data:`AUDIT_ACTION`, with :func:`audit_detail`), never with the image.
    """
    number = number.strip().upper()
    with runtime.db.transaction() as session:
        query = select(Certificate).where(Certificate.number == number)
        if body_id is not None:
            query = query.where(Certificate.body_id == body_id)
        cert = session.scalar(query.with_for_update())
        if cert is None:
            raise NotFound(N_("no certificate {number}"), number=number)
        if cert.status != "valid":
            raise Conflict(
                N_(
                    "certificate {number} is {status}; only a valid certificate's photo can be "
                    "replaced"
                ),
                number=number,
                status=cert.status,
            )
        digest = store_photo(session, runtime.vault, cert.body_id, jpeg)
        previous = cert.photo_sha256
        if digest == previous:
            raise InvalidInput(
                N_("that photo is certificate {number}'s photo already"), number=number
            )
        payload = json.loads(b64url_decode(current_record(session, cert).split(".")[1]))
        credential = _with_photo(payload, runtime.settings.public_url, digest)
        signer = runtime.keyring.signer_for(session, cert.body)
        signed = sign_credential_with(signer, credential)
        now = utcnow()
        cert.photo_sha256 = digest
        cert.updated_at = now
        session.add(  # numbered at flush (certsvc.events), checkpointed once committed
            Event(
                kind="photo_replaced",
                body_id=cert.body_id,
                certificate_id=cert.id,
                actor=actor,
                data={
                    "number": number,
                    "kid": signer.kid,
                    "record": signed,
                    "photo_sha256": digest,
                },
                occurred_at=now,
            )
        )
    return PhotoReplaced(number, digest, previous, signed)


def erase_photos(runtime: Runtime, body_id: int | None, number: str) -> list[str]:
    """Delete every stored photo of the holder of certificate ``number`` at its body (module
    docstring); the digests erased, sorted. ``body_id`` as for :func:`replace_photo`."""
    number = number.strip().upper()
    with runtime.db.transaction() as session:
        query = select(Certificate).where(Certificate.number == number)
        if body_id is not None:
            query = query.where(Certificate.body_id == body_id)
        cert = session.scalar(query)
        if cert is None:
            raise NotFound(N_("no certificate {number}"), number=number)
        certs = list(
            session.scalars(
                select(Certificate).where(
                    Certificate.holder_id == cert.holder_id, Certificate.body_id == cert.body_id
                )
            )
        )
        digests = {c.photo_sha256 for c in certs if c.photo_sha256}
        for c in certs:  # photos replaced since: named by the records as issued
            named = photo_resource(json.loads(b64url_decode(c.record.split(".")[1])))
            if named is not None:
                digests.add(named)
        ids = [c.id for c in certs]
        for (data,) in session.execute(
            select(Event.data).where(Event.kind == "photo_replaced", Event.certificate_id.in_(ids))
        ):
            digests.add(str(data["photo_sha256"]))
        erased = session.scalars(
            delete(HolderPhoto)
            .where(HolderPhoto.body_id == cert.body_id, HolderPhoto.sha256.in_(sorted(digests)))
            .returning(HolderPhoto.sha256)
        ).all()
    return sorted(erased)
