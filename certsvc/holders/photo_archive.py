"""A ZIP of holders' photos, each named by its holder's ID number, matched to results rows.

HR offices hand photos over as files named by ID number (DOMAIN.md):
``330102199003071234.jpg``, ``33010219900307123x.PNG``. :func:`read_photo_archive` reads such
a ZIP **streamed** — from a path or a seekable file, one member at a time, never the whole
archive in memory — and normalises every photo (:func:`~certsvc.holders.photos.normalise_photo`).
What it accepts and refuses:

- members that are directories, under ``__MACOSX/``, or hidden (``.DS_Store``, ``._x.jpg``)
  are skipped, as are files that are not images (``说明.txt``);
- a photo in a folder counts by its file name (``照片/3301….jpg``); a name with ``..``, a
  leading ``/`` or a drive letter refuses the whole ZIP (nothing is extracted, but such a
  ZIP was not made by an HR office's tools);
- ``.jpg``, ``.jpeg`` and ``.png`` in any case are photos; a ``.gif``, ``.bmp``, ``.heic``,
  ``.webp`` or ``.tif`` named by an ID number is that person's photo in the wrong format;
- each member is read only up to :data:`~certsvc.holders.photos.MAX_PHOTO_BYTES` whatever
  size it declares, and the whole archive only up to :data:`MAX_ARCHIVE_READ_BYTES`; the CRC
  of every member read is checked (a member longer than it declares fails it) — a ZIP bomb
  costs at most those bytes of reading, never memory.

:func:`match_photos` then gives each row its photo by the row's ID number (normalised as
:func:`~certsvc.domain.ids.normalize_id_number` does: full-width digits, spaces and a lower
``x`` do not matter) and reports, as row errors in the column ``photo``:

- a photo that cannot be used, on the row whose ID number names it;
- a row without a photo, when the body requires photos;
- a photo that matches no row, as an **error** (row 0, the upload as a whole): it nearly
  always means an ID number mistyped in the file or in the photo's name, and issuing anyway
  would give someone a certificate without their photo (or, where photos are optional,
  silently drop one).
"""

from __future__ import annotations

import os
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from certsvc.domain.ids import (
    mask_id_number,
    normalize_id_number,
    parse_id_type,
    redact_id_numbers,
)
from certsvc.errors import BadFile, InvalidInput, InvalidPhoto, RowError
from certsvc.holders.photos import MAX_PHOTO_BYTES, normalise_photo
from certsvc.i18n import N_

__all__ = [
    "MAX_ARCHIVE_MEMBERS",
    "MAX_ARCHIVE_READ_BYTES",
    "PHOTO_COLUMN",
    "PhotoArchive",
    "match_photos",
    "normalise_row_photos",
    "photo_key",
    "read_photo_archive",
]

#: The column of a row's photo problems (the results file has no such column).
PHOTO_COLUMN = "photo"
MAX_ARCHIVE_MEMBERS = 20_000
#: Bytes read out of one archive at most (decompressed), whatever its members declare.
MAX_ARCHIVE_READ_BYTES = 2 * 1024 * 1024 * 1024

_PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
_OTHER_IMAGE_SUFFIXES = frozenset(
    {".gif", ".bmp", ".heic", ".heif", ".webp", ".tif", ".tiff", ".jfif"}
)
# An ID number as a file name: 居民身份证 18 characters, passports and permits 5 to 20
# letters and digits (checked against the row, not here).
_ID_STEM = re.compile(r"^[0-9A-Z]{5,20}$")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class PhotoArchive:
    """The photos of one ZIP, by :func:`photo_key` of the ID number in their file names."""

    #: Normalised JPEG bytes of every usable photo.
    photos: dict[str, bytes] = field(default_factory=dict)
    #: Why a photo named by this ID number cannot be used.
    problems: dict[str, InvalidPhoto] = field(default_factory=dict)
    #: The member's file name, for messages.
    names: dict[str, str] = field(default_factory=dict)
    #: Image files whose names are not an ID number.
    unnamed: list[str] = field(default_factory=list)

    def __contains__(self, key: str) -> bool:
        return key in self.names


def photo_key(text: str) -> str:
    """The form an ID number is matched in: NFKC, no whitespace, uppercase (``x`` → ``X``)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


def read_photo_archive(source: str | os.PathLike[str] | IO[bytes]) -> PhotoArchive:
    """Read and normalise every photo in the ZIP ``source`` (module docstring).

    Raises BadFile when ``source`` is not a ZIP, holds too many members or a name with a path
    trick; a photo's own problem is kept in :attr:`PhotoArchive.problems`, not raised.
    """
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise BadFile(
            N_(
                "the photos file is not a ZIP archive (or it is damaged): put the photos in a ZIP "
                "file and upload it again"
            )
        ) from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ARCHIVE_MEMBERS:
            raise BadFile(
                N_(
                    "the photos ZIP has {count} entries; at most {max_archive_members} are read — "
                    "split it with the results file"
                ),
                count=f"{len(members):,}",
                max_archive_members=f"{MAX_ARCHIVE_MEMBERS:,}",
            )
        result = PhotoArchive()
        budget = MAX_ARCHIVE_READ_BYTES
        for info in members:
            photo = _photo_member(info)
            if photo is None:
                continue
            key, suffix = photo
            if key is None:
                result.unnamed.append(_basename(info.filename))
                continue
            if key in result.names:
                result.problems[key] = InvalidPhoto(
                    N_("the ZIP has two photos for this ID number ({file} and {file2}): keep one"),
                    file=result.names[key],
                    file2=_basename(info.filename),
                )
                result.photos.pop(key, None)
                continue
            result.names[key] = _basename(info.filename)
            if suffix in _OTHER_IMAGE_SUFFIXES:
                result.problems[key] = InvalidPhoto(
                    N_(
                        "{file} is not a JPEG or PNG: save the photo as JPEG and put it in the "
                        "ZIP again"
                    ),
                    file=result.names[key],
                )
                continue
            try:
                data = _read_member(archive, info, budget)
                budget -= len(data)
                result.photos[key] = normalise_photo(data)
            except InvalidPhoto as exc:
                result.problems[key] = exc
        return result


def _photo_member(info: zipfile.ZipInfo) -> tuple[str | None, str] | None:
    """``(key or None, suffix)`` for a member that is an image file, None for one skipped."""
    name = info.filename.replace("\\", "/")
    parts = name.split("/")
    if name.startswith("/") or _DRIVE.match(name) or ".." in parts:
        raise BadFile(
            N_(
                "the photos ZIP names a file outside its own folder ('..', '/' or a drive "
                "letter): make the ZIP again from the folder of photos"
            )
        )
    base = parts[-1]
    if info.is_dir() or not base or parts[0] == "__MACOSX" or base.startswith("."):
        return None
    stem, suffix = os.path.splitext(base)
    suffix = suffix.lower()
    if suffix not in _PHOTO_SUFFIXES and suffix not in _OTHER_IMAGE_SUFFIXES:
        return None
    key = photo_key(stem)
    return (key if _ID_STEM.match(key) else None), suffix


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """The member's bytes, read up to the photo limit; InvalidPhoto when it is unusable."""
    name = _basename(info.filename)
    if info.flag_bits & 0x1:
        raise InvalidPhoto(
            N_("{name} is encrypted in the ZIP: make the ZIP without a password"), name=name
        )
    if info.file_size > MAX_PHOTO_BYTES:
        raise InvalidPhoto(
            N_(
                "{name} is {size} MB; a photo may be at most {limit} MB — save it as a JPEG of "
                "about 600 × 840 pixels"
            ),
            name=name,
            size=f"{info.file_size / 1e6:.1f}",
            limit=MAX_PHOTO_BYTES // (1024 * 1024),
        )
    if budget <= 0:
        raise InvalidPhoto(
            N_(
                "{name} was not read: the ZIP unpacks to more than {limit} GB; send fewer or "
                "smaller photos"
            ),
            name=name,
            limit=MAX_ARCHIVE_READ_BYTES // 1024**3,
        )
    try:
        with archive.open(info) as member:
            # Never more than the limit, whatever the header declared; zipfile checks the
            # CRC when the member ends, so a member longer than it declares fails here.
            data = member.read(min(MAX_PHOTO_BYTES, budget) + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise InvalidPhoto(
            N_(
                "{name} is damaged in the ZIP (or packed in a way certsvc cannot read): make the "
                "ZIP again"
            ),
            name=name,
        ) from exc
    if len(data) > MAX_PHOTO_BYTES or len(data) != info.file_size:
        raise InvalidPhoto(
            N_(
                "{name} unpacks to more than its ZIP entry declares, or to more than {limit} MB: "
                "make the ZIP again from the photo files"
            ),
            name=name,
            limit=MAX_PHOTO_BYTES // (1024 * 1024),
        )
    return data


def _basename(name: str) -> str:
    """The member's file name as messages show it: its ID number masked (messages are kept
    with a rejected job and may reach a log)."""
    return redact_id_numbers(name.replace("\\", "/").rsplit("/", 1)[-1])[:120]


def _row_key(values: Mapping[str, str]) -> str:
    """The row's ID number in :func:`photo_key` form (as written, when it does not validate:
    the row has an ID error then, and its photo is still found by the name as typed)."""
    raw = str(values.get("id_number", ""))
    try:
        return normalize_id_number(parse_id_type(str(values.get("id_type", ""))), raw)
    except InvalidInput:
        return photo_key(raw)


def match_photos(
    rows: Sequence[tuple[int, Mapping[str, str]]],
    archive: PhotoArchive | None,
    *,
    required: bool,
) -> tuple[dict[int, bytes], list[RowError]]:
    """Each row's normalised photo by row number, and the photo problems as row errors
    (module docstring). ``archive`` None: no ZIP was given."""
    photos: dict[int, bytes] = {}
    errors: list[RowError] = []
    claimed: set[str] = set()
    for number, values in rows:
        key = _row_key(values)
        if archive is not None and key and key in archive:
            claimed.add(key)
            if key in archive.problems:
                problem = archive.problems[key]
                errors.append(RowError.of(number, PHOTO_COLUMN, problem.text))
            else:
                photos[number] = archive.photos[key]
        elif required:
            shown = f"{mask_id_number(key)}.jpg" if key else "<ID number>.jpg"
            errors.append(
                RowError.of(
                    number,
                    PHOTO_COLUMN,
                    N_(
                        "no photo for this ID number: add {shown} to the photos ZIP (this body "
                        "requires a photo on every certificate)"
                    ),
                    shown=shown,
                )
            )
    if archive is not None:
        for key in sorted(set(archive.names) - claimed):
            name = archive.names[key]
            errors.append(
                RowError.of(
                    0,
                    PHOTO_COLUMN,
                    N_(
                        "{name} matches no row (no row has that ID number): check the ID number "
                        "in the file name and in the results file, or take the photo out of the "
                        "ZIP"
                    ),
                    name=name,
                )
            )
        for name in archive.unnamed:
            errors.append(
                RowError.of(
                    0,
                    PHOTO_COLUMN,
                    N_(
                        "{name} is not named by an ID number: name each photo by its holder's ID "
                        "number, e.g. 330102199003071234.jpg"
                    ),
                    name=name,
                )
            )
    return photos, errors


def normalise_row_photos(
    rows: Sequence[tuple[int, Mapping[str, str]]],
    given: Mapping[int, bytes],
    *,
    required: bool,
) -> tuple[dict[int, bytes], list[RowError]]:
    """Photos given one per row (the issuing API), by row number: each normalised, a bad one
    or (when ``required``) a missing one reported on its row."""
    photos: dict[int, bytes] = {}
    errors: list[RowError] = []
    for number, _ in rows:
        if number in given:
            try:
                photos[number] = normalise_photo(given[number])
            except InvalidPhoto as exc:
                errors.append(RowError.of(number, PHOTO_COLUMN, exc.text))
        elif required:
            errors.append(
                RowError.of(
                    number,
                    PHOTO_COLUMN,
                    N_(
                        "no photo: give the holder's photo (a JPEG or PNG, base64) in the row's "
                        "photo field; this body requires a photo on every certificate"
                    ),
                )
            )
    return photos, errors
