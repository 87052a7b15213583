"""normalise_photo: what a holder's photo must be, and what is left of it once stored."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image

from certsvc.errors import InvalidPhoto
from certsvc.holders.photos import MAX_PHOTO_BYTES, STORED_SIZE, normalise_photo
from tests.conftest import photo_bytes

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_gps_and_camera_metadata_are_gone_from_the_stored_bytes() -> None:
    original = photo_bytes(
        exif={MAKE: "PhoneMaker", GPS_IFD: {1: "N", 2: (32.0, 3.0, 0.0), 3: "E"}}
    )
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the input has GPS

    stored = normalise_photo(original)

    img = _open(stored)
    assert img.format == "JPEG"
    assert len(img.getexif()) == 0
    assert "exif" not in img.info and "icc_profile" not in img.info
    assert b"Exif" not in stored and b"PhoneMaker" not in stored


def test_icc_profile_and_comment_are_not_kept() -> None:
    img = Image.new("RGB", (350, 490), "white")
    out = io.BytesIO()
    img.save(out, "JPEG", icc_profile=b"\0" * 200 + b"secret-profile", comment=b"taken at home")
    stored = normalise_photo(out.getvalue())
    assert b"secret-profile" not in stored and b"taken at home" not in stored
    assert "icc_profile" not in _open(stored).info


@pytest.mark.parametrize(("scale", "stored"), [(1, (350, 490)), (4, (600, 840))])
def test_exif_orientation_is_applied(scale: int, stored: tuple[int, int]) -> None:
    # Stored sideways (wider than high) with orientation 6: upright it is 5:7. At 4× the
    # decoder scales down first, in the file's orientation, and the result still fits.
    width, height = 490 * scale, 350 * scale
    sideways = Image.new("RGB", (width, height), "white")
    sideways.paste(Image.new("RGB", (width // 2, height), (200, 40, 40)), (0, 0))  # left red
    out = io.BytesIO()
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # "rotate 90° clockwise to view": the red left half becomes the top
    sideways.save(out, "JPEG", exif=exif.tobytes())

    img = _open(normalise_photo(out.getvalue()))

    assert img.size == stored
    top = img.getpixel((stored[0] // 2, 20))
    bottom = img.getpixel((stored[0] // 2, stored[1] - 20))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 150 and top[1] < 100  # red at the top
    assert min(bottom) > 230  # white at the bottom


def test_png_is_accepted_and_transparency_becomes_white() -> None:
    stored = normalise_photo(photo_bytes(fmt="PNG", mode="RGBA", colour=(0, 0, 255, 255)))
    img = _open(stored)
    assert img.format == "JPEG" and img.mode == "RGB"
    bottom = img.getpixel((175, 470))
    assert isinstance(bottom, tuple) and min(bottom) > 240  # transparent → white background


def test_large_photo_is_scaled_to_the_stored_size() -> None:
    img = _open(normalise_photo(photo_bytes(1500, 2100)))
    assert img.size == STORED_SIZE


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP", "TIFF"])
def test_other_image_formats_are_refused(fmt: str) -> None:
    with pytest.raises(InvalidPhoto, match="not a JPEG or PNG") as caught:
        normalise_photo(photo_bytes(fmt=fmt))
    assert "JPEG" in caught.value.text.in_language("zh")


def test_a_non_image_is_refused_whatever_its_name() -> None:
    with pytest.raises(InvalidPhoto, match="not a JPEG or PNG"):
        normalise_photo(b"%PDF-1.7\n" + b"x" * 1000)
    with pytest.raises(InvalidPhoto, match="empty"):
        normalise_photo(b"")


def test_a_truncated_photo_is_refused() -> None:
    whole = photo_bytes(600, 840)
    with pytest.raises(InvalidPhoto, match="damaged or cut short"):
        normalise_photo(whole[: len(whole) // 2])


def test_too_small_is_refused_with_the_sizes() -> None:
    with pytest.raises(InvalidPhoto, match=r"294 × 412 pixels; it needs at least 295 × 413"):
        normalise_photo(photo_bytes(294, 412))
    assert normalise_photo(photo_bytes(295, 413))  # the 1-inch size itself passes


@pytest.mark.parametrize(("width", "height"), [(490, 490), (300, 600), (600, 413), (413, 500)])
def test_wrong_shape_is_refused(width: int, height: int) -> None:
    with pytest.raises(InvalidPhoto, match="5:7") as caught:
        normalise_photo(photo_bytes(width, height))
    assert "裁剪" in caught.value.text.in_language("zh")


@pytest.mark.parametrize(("width", "height"), [(310, 413), (320, 480), (500, 700)])
def test_common_portrait_crops_pass(width: int, height: int) -> None:
    # 3:4 (0.75), 2:3 (0.667) and 5:7 itself
    assert _open(normalise_photo(photo_bytes(width, height))).size == (width, height)


def test_over_the_byte_limit_is_refused_unread() -> None:
    with pytest.raises(InvalidPhoto, match="limit is 5 MB"):
        normalise_photo(b"\xff\xd8" + b"\0" * MAX_PHOTO_BYTES)


def _png_bomb(width: int, height: int) -> bytes:
    """A PNG of ``width`` × ``height`` one-bit pixels, all zero: a few KB that claim gigapixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    raw = zlib.compressobj(9)
    line = b"\0" * (1 + (width + 7) // 8)
    data = b"".join(raw.compress(line) for _ in range(64)) + raw.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("width", "height"), [(50_000, 70_000), (5_000, 7_000)])
def test_decompression_bomb_is_refused_fast(width: int, height: int) -> None:
    bomb = _png_bomb(width, height)
    assert len(bomb) < 100_000
    started = time.monotonic()
    with pytest.raises(InvalidPhoto, match="million pixels"):
        normalise_photo(bomb)
    assert time.monotonic() - started < 0.5  # refused from the header, nothing decoded
