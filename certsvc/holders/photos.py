"""A holder's photo as it is stored: checked, upright, re-encoded without metadata.

The certificate's photo is a 1-inch (一寸) colour photo, 25 × 35 mm, i.e. 5:7; as pixels the
usual digital 一寸 is 295 × 413 at 300 dpi (DOMAIN.md). :func:`normalise_photo` accepts an
upload that can print that well and turns it into the one form certsvc keeps:

1. at most :data:`MAX_PHOTO_BYTES` bytes, or refused unread;
2. decoded by content, never by name or content type: JPEG or PNG only;
3. its size read from the header and refused above :data:`MAX_PHOTO_PIXELS` **before** any
   pixel is decoded (a decompression bomb: a small file of a huge image);
4. at least :data:`MIN_WIDTH` × :data:`MIN_HEIGHT` and width / height between
   :data:`MIN_RATIO` and :data:`MAX_RATIO` once turned upright (5:7 is 0.714; the tolerance
   takes the common 3:4 passport crop, 0.75, and a 2:3 one, 0.667, but not a square photo or a
   whole phone picture);
5. turned upright by its EXIF orientation, transparency laid on white (the photo's
   background), scaled down to fit :data:`STORED_SIZE`;
6. written as a fresh baseline JPEG with nothing but the pixels: no EXIF (GPS, camera, the
   embedded thumbnail), no ICC profile, no comments.

Example: a phone's 3024 × 4032 JPEG with GPS data and orientation 6 is refused as too wide
(4032 × 3024 upright is 4:3); the same photo cropped to 1500 × 2100 becomes a 600 × 840 JPEG
of about 60 KB with no EXIF at all.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from certsvc.errors import InvalidPhoto
from certsvc.i18n import N_

__all__ = [
    "MAX_PHOTO_BYTES",
    "MAX_PHOTO_PIXELS",
    "MAX_RATIO",
    "MIN_HEIGHT",
    "MIN_RATIO",
    "MIN_WIDTH",
    "STORED_SIZE",
    "normalise_photo",
    "thumbnail",
]

MAX_PHOTO_BYTES = 5 * 1024 * 1024
#: 24 million pixels: a 4000 × 6000 scan still passes; a decoded image of this size is 72 MB.
MAX_PHOTO_PIXELS = 24_000_000
MIN_WIDTH, MIN_HEIGHT = 295, 413
MIN_RATIO, MAX_RATIO = 0.64, 0.78
#: The stored photo fits this box: twice the 300-dpi print size, enough for any print.
STORED_SIZE = (600, 840)
JPEG_QUALITY = 85

_FORMATS = ("JPEG", "PNG")
# EXIF orientations that swap width and height (rotated by 90° or 270°).
_TRANSPOSED = {5, 6, 7, 8}
_EXIF_ORIENTATION = 0x0112


def normalise_photo(data: bytes) -> bytes:
    """The photo ``data`` as certsvc stores it (module docstring); InvalidPhoto if unusable."""
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidPhoto(
            N_(
                "the photo file is {size} MB; the limit is {limit} MB — save it again as a JPEG "
                "of about 600 × 840 pixels"
            ),
            size=f"{len(data) / 1e6:.1f}",
            limit=MAX_PHOTO_BYTES // (1024 * 1024),
        )
    if not data:
        raise InvalidPhoto(N_("the photo file is empty"))
    try:
        img = Image.open(io.BytesIO(data), formats=_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning is raised only where warnings are errors; the size check below refuses
        # every image that would warn anyway.
        raise _too_many_pixels() from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidPhoto(
            N_(
                "the file is not a JPEG or PNG image (or it is damaged): save the photo as JPEG "
                "or PNG and upload it again"
            )
        ) from exc
    with img:
        width, height = img.size  # from the header: no pixel is decoded yet
        if width * height > MAX_PHOTO_PIXELS:
            raise _too_many_pixels()
        transposed = _orientation(img) in _TRANSPOSED
        if transposed:
            width, height = height, width
        _check_shape(width, height)
        try:
            upright = _decode_upright(img, transposed)
        except Image.DecompressionBombError as exc:
            raise _too_many_pixels() from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise InvalidPhoto(
                N_(
                    "the image is damaged or cut short and cannot be read: export it again from "
                    "the original"
                )
            ) from exc
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # Pillow raises many kinds of error for a broken EXIF block
        return 1  # a broken EXIF block is dropped with the rest of the metadata
    return value if isinstance(value, int) else 1


def _check_shape(width: int, height: int) -> None:
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise InvalidPhoto(
            N_(
                "the photo is {width} × {height} pixels; it needs at least {min_width} × "
                "{min_height} (1-inch at 300 dpi) — scan or export it larger"
            ),
            width=width,
            height=height,
            min_width=MIN_WIDTH,
            min_height=MIN_HEIGHT,
        )
    ratio = width / height
    if not MIN_RATIO <= ratio <= MAX_RATIO:
        raise InvalidPhoto(
            N_(
                "the photo is {width} × {height} pixels (width:height {ratio}); a 1-inch photo is "
                "5:7 (0.71), accepted {min_ratio}–{max_ratio} — crop it to a portrait 5:7"
            ),
            width=width,
            height=height,
            ratio=f"{ratio:.2f}",
            min_ratio=MIN_RATIO,
            max_ratio=MAX_RATIO,
        )


def _decode_upright(img: Image.Image, transposed: bool) -> Image.Image:
    """Decode the pixels (a JPEG at a reduced scale when it is large), turn them upright,
    flatten transparency onto white and scale down to :data:`STORED_SIZE`."""
    if img.format == "JPEG":
        # DCT scaling: decode at 1/2, 1/4 or 1/8 while still covering the stored size (in
        # the file's own orientation, before it is turned upright).
        box = STORED_SIZE[::-1] if transposed else STORED_SIZE
        img.draft("RGB", box)
    img.load()
    upright = ImageOps.exif_transpose(img) or img
    if upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    ):
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        upright = flat
    elif upright.mode != "RGB":
        upright = upright.convert("RGB")
    if upright.width > STORED_SIZE[0] or upright.height > STORED_SIZE[1]:
        upright.thumbnail(STORED_SIZE, Image.Resampling.LANCZOS)
    # A new image holds the pixels only: no info dict (EXIF, ICC, comments) travels along.
    clean = Image.new("RGB", upright.size)
    clean.paste(upright)
    return clean


def thumbnail(jpeg: bytes, height: int = 84) -> bytes:
    """A small JPEG of a stored photo (from :func:`normalise_photo`) for a preview list."""
    with Image.open(io.BytesIO(jpeg), formats=("JPEG",)) as img:
        img.draft("RGB", (height, height))
        img.thumbnail((height, height), Image.Resampling.BILINEAR)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=70)
    return out.getvalue()


def _too_many_pixels() -> InvalidPhoto:
    return InvalidPhoto(
        N_(
            "the image is larger than {limit} million pixels (or claims to be): scale it down to "
            "about 600 × 840 pixels and upload it again"
        ),
        limit=MAX_PHOTO_PIXELS // 1_000_000,
    )
