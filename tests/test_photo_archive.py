"""Reading a ZIP of photos named by ID number and matching them to results rows."""

from __future__ import annotations

import io
import struct
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from certsvc.errors import BadFile
from certsvc.holders.photo_archive import PHOTO_COLUMN, match_photos, read_photo_archive
from tests.conftest import person_id, photo_bytes, row

X_ID = "11010519491231002X"  # the GB 11643 example: its check character is X


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    out.seek(0)
    return out


def _rows(*ids: str) -> list[tuple[int, dict[str, str]]]:
    return [(n, row(0, id_number=i)) for n, i in enumerate(ids, start=2)]


@pytest.mark.parametrize("name", [f"{X_ID[:-1]}x.jpg", f"{X_ID}.JPG", f"{X_ID}.jpeg"])
def test_x_in_either_case_matches_the_row(name: str) -> None:
    archive = read_photo_archive(_zip({name: photo_bytes()}))
    for written in (X_ID, X_ID.lower()):
        photos, errors = match_photos(_rows(written), archive, required=True)
        assert errors == []
        assert Image.open(io.BytesIO(photos[2])).format == "JPEG"


def test_folders_macos_metadata_hidden_and_other_files_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("照片/", b"")
        archive.writestr(f"照片/{person_id(1)}.png", photo_bytes(fmt="PNG"))
        archive.writestr(f"__MACOSX/照片/._{person_id(1)}.png", b"\0\5\26\7")
        archive.writestr("照片/.DS_Store", b"\0")
        archive.writestr("说明.txt", "照片按身份证号命名".encode())
    photos, errors = match_photos(_rows(person_id(1)), read_photo_archive(path), required=True)
    assert errors == [] and set(photos) == {2}


def test_missing_photo_is_an_error_only_when_required() -> None:
    archive = read_photo_archive(_zip({f"{person_id(1)}.jpg": photo_bytes()}))
    rows = _rows(person_id(1), person_id(2))
    photos, errors = match_photos(rows, archive, required=True)
    assert set(photos) == {2}
    assert [(e.row, e.column) for e in errors] == [(3, PHOTO_COLUMN)]
    assert "no photo for this ID number" in errors[0].message and "缺少" in errors[
        0
    ].text.in_language("zh")
    assert person_id(2) not in errors[0].message  # masked
    photos, errors = match_photos(rows, archive, required=False)
    assert set(photos) == {2} and errors == []
    assert match_photos(rows, None, required=False) == ({}, [])


def test_a_bad_photo_is_an_error_on_its_row() -> None:
    archive = read_photo_archive(
        _zip({f"{person_id(1)}.jpg": photo_bytes(200, 280), f"{person_id(2)}.jpg": photo_bytes()})
    )
    photos, errors = match_photos(_rows(person_id(1), person_id(2)), archive, required=True)
    assert set(photos) == {3}
    assert [(e.row, e.column) for e in errors] == [(2, PHOTO_COLUMN)]
    assert "200 × 280 pixels" in errors[0].message and "像素" in errors[0].text.in_language("zh")


def test_a_photo_for_no_row_and_an_unnamed_photo_are_errors() -> None:
    archive = read_photo_archive(
        _zip(
            {
                f"{person_id(1)}.jpg": photo_bytes(),
                f"{person_id(9)}.jpg": photo_bytes(),
                "张三.jpg": photo_bytes(),
            }
        )
    )
    _, errors = match_photos(_rows(person_id(1)), archive, required=True)
    assert [(e.row, e.column) for e in errors] == [(0, PHOTO_COLUMN), (0, PHOTO_COLUMN)]
    assert "matches no row" in errors[0].message and person_id(9) not in errors[0].message
    assert "not named by an ID number" in errors[1].message
    assert str(errors[0]).startswith("photo: ")


def test_a_gif_named_by_id_and_two_photos_for_one_id_are_row_errors() -> None:
    archive = read_photo_archive(
        _zip(
            {
                f"{person_id(1)}.gif": photo_bytes(fmt="GIF"),
                f"{person_id(2)}.jpg": photo_bytes(),
                f"{person_id(2)}.png": photo_bytes(fmt="PNG"),
            }
        )
    )
    photos, errors = match_photos(_rows(person_id(1), person_id(2)), archive, required=True)
    assert photos == {}
    assert "not a JPEG or PNG" in errors[0].message
    assert "two photos" in errors[1].message


def test_a_renamed_non_image_is_refused() -> None:
    archive = read_photo_archive(_zip({f"{person_id(1)}.jpg": b"PK\3\4 not a photo" * 100}))
    _, errors = match_photos(_rows(person_id(1)), archive, required=True)
    assert "not a JPEG or PNG" in errors[0].message


@pytest.mark.parametrize("name", ["../x/110105194912310021.jpg", "/etc/110105194912310021.jpg"])
def test_path_tricks_refuse_the_zip(name: str) -> None:
    with pytest.raises(BadFile, match="outside its own folder"):
        read_photo_archive(_zip({name: photo_bytes()}))


def test_not_a_zip_is_a_bad_file() -> None:
    with pytest.raises(BadFile, match="not a ZIP"):
        read_photo_archive(io.BytesIO(photo_bytes()))


def test_oversize_member_is_refused_unread() -> None:
    # 100 MB of zeros packs into ~100 KB: refused from its declared size, nothing unpacked.
    bomb = _zip({f"{person_id(1)}.jpg": b"\0" * 100_000_000})
    assert len(bomb.getvalue()) < 200_000
    started = time.monotonic()
    archive = read_photo_archive(bomb)
    assert time.monotonic() - started < 0.5
    _, errors = match_photos(_rows(person_id(1)), archive, required=True)
    assert "100.0 MB" in errors[0].message


def _lie_about_size(data: bytes, declared: int) -> io.BytesIO:
    """The ZIP with its (one) member's uncompressed size rewritten to ``declared``."""
    buf = bytearray(data)
    local = buf.find(b"PK\3\4")
    struct.pack_into("<I", buf, local + 22, declared)
    central = buf.find(b"PK\1\2")
    struct.pack_into("<I", buf, central + 24, declared)
    return io.BytesIO(bytes(buf))


def test_member_that_unpacks_beyond_its_declared_size_is_refused() -> None:
    real = photo_bytes(1200, 1680)
    forged = _lie_about_size(_zip({f"{person_id(1)}.jpg": real}).getvalue(), 1000)
    archive = read_photo_archive(forged)
    photos, errors = match_photos(_rows(person_id(1)), archive, required=True)
    assert photos == {}
    assert "damaged in the ZIP" in errors[0].message or "declares" in errors[0].message


def test_zip_bomb_of_many_members_is_bounded() -> None:
    # Members of 4 MB of zeros each (200 MB unpacked, 200 KB packed): each is read once up
    # to the photo limit and refused as not an image — memory stays at one member.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(50):
            archive.writestr(f"{person_id(n)}.jpg", b"\0" * 4_000_000)
    assert len(out.getvalue()) < 400_000
    out.seek(0)
    started = time.monotonic()
    result = read_photo_archive(out)
    assert len(result.problems) == 50 and not result.photos
    assert time.monotonic() - started < 10
