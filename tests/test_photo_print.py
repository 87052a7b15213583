"""The holder photo printed in the certificate's photo box (issue #16): the box shows the
stored photo (read back from the PDF rendered by ``pdftoppm``), downscaled so the photo adds
at most 25 KB to the PDF."""

from __future__ import annotations

import dataclasses
import io
import random
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from certsvc.holders.photos import normalise_photo
from certsvc.render.batch import certificate_face
from certsvc.render.certificate import PHOTO_BOX, print_photo, render_certificate
from certsvc.runtime import Runtime
from tests.conftest import issue, row

DPI = 150


def noisy_photo(seed: int = 7) -> bytes:
    """A 1-inch photo that JPEG compresses badly: random noise in the top half (red-ish), white
    below. The worst case for the size bound."""
    rng = random.Random(seed)
    width, height = 600, 840
    img = Image.new("RGB", (width, height), "white")
    noise = bytes(
        value
        for _ in range(width * height // 2)
        for value in (rng.randrange(150, 256), rng.randrange(0, 90), rng.randrange(0, 90))
    )
    img.paste(Image.frombytes("RGB", (width, height // 2), noise), (0, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=95)
    return normalise_photo(out.getvalue())


def pdftoppm(pdf: bytes, tmp_path: Path) -> Image.Image:
    source = tmp_path / "certificate.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-png", "-singlefile", str(source), str(tmp_path / "page")],
        check=True,
    )
    return Image.open(tmp_path / "page.png").convert("RGB")


def box_pixel(page: Image.Image, across: float, down: float) -> tuple[int, int, int]:
    """The pixel at a fraction ``across`` × ``down`` of the photo box."""
    scale = DPI / 25.4
    x = (PHOTO_BOX.left + PHOTO_BOX.width * across) * scale
    y = (PHOTO_BOX.top + PHOTO_BOX.height * down) * scale
    pixel = page.getpixel((round(x), round(y)))
    assert isinstance(pixel, tuple)
    return (int(pixel[0]), int(pixel[1]), int(pixel[2]))


def mean_box_colour(page: Image.Image, top: float, bottom: float) -> tuple[float, ...]:
    scale = DPI / 25.4
    area = page.crop(
        (
            round((PHOTO_BOX.left + 2) * scale),
            round((PHOTO_BOX.top + PHOTO_BOX.height * top) * scale),
            round((PHOTO_BOX.left + PHOTO_BOX.width - 2) * scale),
            round((PHOTO_BOX.top + PHOTO_BOX.height * bottom) * scale),
        )
    )
    return tuple(ImageStat.Stat(area).mean)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_stored_certificate_prints_its_photo_in_the_box_within_25_kb(
    runtime: Runtime, body: str, tmp_path: Path
) -> None:
    photo = noisy_photo()
    plain, pictured = issue(runtime, [row(1), row(2)], photos={3: photo}).certificates
    with runtime.db.session() as session:
        bare = certificate_face(session, plain.number, "https://cert.example.cn", runtime.vault)
        face = certificate_face(session, pictured.number, "https://cert.example.cn", runtime.vault)
    assert bare.photo is None and face.photo is not None
    with_photo = render_certificate(face)
    # The same face without its photo: the difference is the photo alone.
    without = render_certificate(dataclasses.replace(face, photo=None))
    assert 0 < len(with_photo) - len(without) <= 25 * 1024

    page = pdftoppm(with_photo, tmp_path)
    top = mean_box_colour(page, 0.1, 0.4)  # the noisy red half
    bottom = mean_box_colour(page, 0.6, 0.9)  # the white half
    assert top[0] > 170 and top[1] < 90 and top[2] < 90, top
    assert min(bottom) > 235, bottom
    # Without the photo the box is the empty labelled frame: white where the photo was red.
    empty = pdftoppm(without, tmp_path)
    assert min(box_pixel(empty, 0.2, 0.2)) > 235


def test_print_keeps_a_plain_photo_sharp_and_small(tmp_path: Path) -> None:
    plain = io.BytesIO()
    Image.new("RGB", (600, 840), (30, 90, 200)).save(plain, "JPEG", quality=95)
    printed = print_photo(plain.getvalue())
    with Image.open(io.BytesIO(printed)) as img:
        assert img.format == "JPEG" and img.size == (295, 413)
        assert img.getpixel((150, 200)) == pytest.approx((30, 90, 200), abs=4)
    assert len(print_photo(noisy_photo())) <= 24 * 1024
    assert print_photo(plain.getvalue()) == printed  # deterministic
