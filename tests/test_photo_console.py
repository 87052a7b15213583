"""The holder photo in the console (issue #16): staff see it on the certificate page; an
issuer or admin replaces it (audited, number kept); a viewer cannot."""

from __future__ import annotations

import hashlib
import io

from sqlalchemy import select

from certsvc.holders.photos import normalise_photo
from certsvc.models import AuditEntry, Certificate
from certsvc.runtime import Runtime
from tests.conftest import Console, issue, make_account, photo_bytes, row


def test_an_issuer_replaces_a_photo_from_the_certificate_page(
    runtime: Runtime, body: str, console: Console
) -> None:
    stored = normalise_photo(photo_bytes())
    cert = issue(runtime, [row(1)], photos={2: stored}).certificates[0]
    make_account(runtime, "issuer1", "issuer", body)
    console.login("issuer1")
    page = console.get(f"/console/certificates/{cert.number}").get_data(as_text=True)
    assert f"/console/certificates/{cert.number}/photo/replace" in page
    shown = console.get(f"/console/certificates/{cert.number}/photo")
    assert shown.data == stored and shown.headers["Cache-Control"] == "private, no-store"

    bad = console.post(
        f"/console/certificates/{cert.number}/photo/replace",
        {"file": (io.BytesIO(b"not an image"), "x.jpg")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "JPEG" in bad.get_data(as_text=True)
    done = console.post(
        f"/console/certificates/{cert.number}/photo/replace",
        {"file": (io.BytesIO(photo_bytes(colour=(20, 40, 200), fmt="PNG")), "new.png")},
        content_type="multipart/form-data",
    )
    assert done.status_code == 302
    with runtime.db.session() as session:
        after = session.scalars(select(Certificate)).one()
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "photo.replace")
        ).all()
    new = console.get(f"/console/certificates/{cert.number}/photo").data
    assert (
        hashlib.sha256(new).hexdigest() == after.photo_sha256 != hashlib.sha256(stored).hexdigest()
    )
    assert after.number == cert.number and after.status == "valid"
    assert [(e.outcome, e.target) for e in entries] == [
        ("failed", cert.number),
        ("ok", cert.number),
    ]
    assert entries[1].detail["sha256"] == after.photo_sha256
    assert all(len(str(e.detail)) < 300 for e in entries)  # digests, never the image


def test_a_viewer_sees_the_photo_but_cannot_replace_it(
    runtime: Runtime, body: str, console: Console
) -> None:
    cert = issue(runtime, [row(1)], photos={2: normalise_photo(photo_bytes())}).certificates[0]
    make_account(runtime, "viewer1", "viewer", body)
    console.login("viewer1")
    page = console.get(f"/console/certificates/{cert.number}").get_data(as_text=True)
    assert "/photo/replace" not in page and f"/console/certificates/{cert.number}/photo" in page
    refused = console.post(
        f"/console/certificates/{cert.number}/photo/replace",
        {"file": (io.BytesIO(photo_bytes(fmt="PNG")), "new.png")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403
