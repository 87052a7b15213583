"""The photos of a batch being imported, checked against the issuing body's setting.

Whether a body requires a photo on every certificate is its ``photo_required`` setting
(default: required; ``certsvc body photos CODE required|optional`` or the console's body
page change it). Every way rows arrive — results file with a photos ZIP (console, CLI, import
jobs) or rows with base64 photos (the issuing API) — comes through here, so a missing photo is
refused the same way everywhere, before :func:`~certsvc.issuance.service.issue_batch` runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select

from certsvc.errors import RowError
from certsvc.holders.photo_archive import (
    PHOTO_COLUMN,
    PhotoArchive,
    match_photos,
    normalise_row_photos,
)
from certsvc.i18n import N_
from certsvc.models import CertificationBody
from certsvc.runtime import Runtime

__all__ = ["archive_photos", "given_photos", "missing_photos", "photos_required"]


def photos_required(runtime: Runtime, body_code: str) -> bool:
    """The body's setting; True for a code that names no body (issue_batch then says so)."""
    with runtime.db.session() as session:
        required = session.scalar(
            select(CertificationBody.photo_required).where(CertificationBody.code == body_code)
        )
    return True if required is None else bool(required)


def archive_photos(
    runtime: Runtime,
    body_code: str,
    rows: Sequence[tuple[int, Mapping[str, str]]],
    archive: PhotoArchive | None,
) -> tuple[dict[int, bytes], list[RowError]]:
    """Each row's photo from a photos ZIP, and the photo problems (``archive`` None: no ZIP)."""
    return match_photos(rows, archive, required=photos_required(runtime, body_code))


def given_photos(
    runtime: Runtime,
    body_code: str,
    rows: Sequence[tuple[int, Mapping[str, str]]],
    given: Mapping[int, bytes],
) -> tuple[dict[int, bytes], list[RowError]]:
    """Each row's photo given with the row (the issuing API), normalised, and the problems."""
    return normalise_row_photos(rows, given, required=photos_required(runtime, body_code))


def missing_photos(
    runtime: Runtime,
    body_code: str,
    rows: Sequence[tuple[int, Mapping[str, str]]],
    photos: Mapping[int, bytes],
) -> list[RowError]:
    """The rows without a photo, as errors, when the body requires photos (for photos checked
    before, e.g. at the console's preview, whose body may have changed its setting since)."""
    if not photos_required(runtime, body_code):
        return []
    return [
        RowError.of(
            number,
            PHOTO_COLUMN,
            N_(
                "no photo for this row: this body requires a photo on every certificate; upload "
                "the results file again with the photos ZIP"
            ),
        )
        for number, _ in rows
        if number not in photos
    ]
