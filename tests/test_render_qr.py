"""The printed QR scans from poor copies: the degradation matrix.

The page is rendered the way a scanner or a phone sees it — 100 dpi greyscale by poppler
(``pdftoppm``) and by pdfium, and 150 dpi followed by one degradation each: Gaussian blur
(σ = 1 px), a 15° rotation, a 15° perspective tilt, JPEG at quality 30, a 45 % shadow over half
the code — and each picture must decode with **both** zxing-cpp and zbar, to the verify URL.
The certificate is the hardest one we print: an eight-character name, a full-length token and
a long public URL (QR version 16 at level Q, 0.75 mm modules).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import subprocess
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image, ImageFilter

from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.render import CertificateFace, render_certificate
from certsvc.render.qrsymbol import encode

try:
    from pyzbar import pyzbar as zbar
except (ImportError, OSError):  # pyzbar raises ImportError when libzbar0 is missing
    zbar = None

# As long as a real token for an eight-character name, under a longer public URL than the
# tests' own: QR version 16 at level Q.
TOKEN = "eyJhbGciOiJFZERTQSIsImtpZCI6Ik" + "x7Kq_9" * 42
URL = "https://verify.example-group.com.cn/v/" + TOKEN


def hardest_certificate() -> bytes:
    """An eight-character name and a full-length token: the largest QR we print."""
    face = CertificateFace(
        number="Y000132010001263000001",
        holder_name="阿依古丽·买买提江",
        id_type=IdType.RESIDENT_ID,
        id_number="11010519491231002X",
        occupation_code="6-31-01-03",
        occupation_zh="电工",
        occupation_en="Electrician",
        work_type="",
        level=Level.SENIOR,
        route=Route.DIRECT,
        direct_ground=DirectGround.MENTORING,
        issue_date=dt.date(2026, 11, 20),
        body_code="Y000132010001",
        body_name_zh="南京测试装备集团有限公司",
        body_name_en="Nanjing Test Equipment Group",
        verify_url=URL,
        token=TOKEN,
        record="eyJ0eXAiOiJ2Yytqd3QifQ.e30.sig",
    )
    assert encode(URL).version == 16
    return render_certificate(face)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return hardest_certificate()


def pdfium_grey(pdf: bytes, dpi: int) -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        doc.close()


def poppler_grey(pdf: bytes, dpi: int, tmp_path: Path) -> Image.Image:
    source = tmp_path / "page.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-gray",
            "-png",
            "-singlefile",
            str(source),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    with Image.open(tmp_path / "p.png") as img:
        return img.convert("L")


def zxing(img: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)]


def zbar_decode(img: Image.Image) -> list[str]:
    if zbar is None:
        pytest.fail("zbar is not installed (pip install pyzbar; apt-get install libzbar0)")
    return [r.data.decode() for r in zbar.decode(img) if r.type == "QRCODE"]


DECODERS: dict[str, Callable[[Image.Image], list[str]]] = {"zxing-cpp": zxing, "zbar": zbar_decode}


def qr_box(img: Image.Image) -> tuple[int, int, int, int]:
    """The code's bounding box in a clean picture (zxing reports its corners)."""
    (found,) = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
    p = found.position
    xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
    ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
    return min(xs), min(ys), max(xs), max(ys)


def solve(matrix: list[list[float]], values: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (an 8 × 8 system)."""
    n = len(values)
    rows = [[*row, value] for row, value in zip(matrix, values, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def tilted(img: Image.Image, degrees: float) -> Image.Image:
    """The page photographed tilted by ``degrees`` about its horizontal axis (top edge away
    from the camera), with a lens whose focal length is the page's height."""
    w, h = img.size
    f = float(h)
    angle = math.radians(degrees)

    def project(x: float, y: float) -> tuple[float, float]:
        dx, dy = x - w / 2, y - h / 2
        depth = f + dy * -math.sin(angle)  # the top half leans away
        scale = f / depth
        return w / 2 + dx * scale, h / 2 + dy * math.cos(angle) * scale

    corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
    matrix, values = [], []
    for (x_in, y_in), (x_out, y_out) in zip(
        corners, map(lambda c: project(*c), corners), strict=True
    ):
        # PIL maps each output pixel back to the input: x_in = (a x + b y + c) / (g x + h y + 1)
        matrix.append([x_out, y_out, 1, 0, 0, 0, -x_out * x_in, -y_out * x_in])
        values.append(x_in)
        matrix.append([0, 0, 0, x_out, y_out, 1, -x_out * y_in, -y_out * y_in])
        values.append(y_in)
    coefficients = solve(matrix, values)
    return img.transform(
        img.size,
        Image.Transform.PERSPECTIVE,
        coefficients,
        Image.Resampling.BILINEAR,
        fillcolor=255,
    )


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    out.seek(0)
    with Image.open(out) as decoded:
        return decoded.convert("L")


def shadowed(img: Image.Image, darkness: float) -> Image.Image:
    """A shadow taking ``darkness`` of the light off the right half of the code and beyond."""
    left, _top, right, _bottom = qr_box(img)
    middle = (left + right) // 2
    shaded = img.copy()
    region = shaded.crop((middle, 0, img.width, img.height))
    shaded.paste(region.point(lambda v: round(v * (1 - darkness))), (middle, 0))
    return shaded


DEGRADATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "blur σ=1": lambda img: img.filter(ImageFilter.GaussianBlur(1)),
    "rotated 15°": lambda img: img.rotate(
        15, expand=True, fillcolor=255, resample=Image.Resampling.BILINEAR
    ),
    "tilted 15°": lambda img: tilted(img, 15),
    "JPEG q30": lambda img: jpeg(img, 30),
    "45 % shadow over half": lambda img: shadowed(img, 0.45),
    "all five at once": lambda img: jpeg(
        shadowed(
            tilted(img.rotate(15, expand=True, fillcolor=255), 15).filter(
                ImageFilter.GaussianBlur(1)
            ),
            0.45,
        ),
        30,
    ),
}


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("renderer", ["pdftoppm", "pdfium"])
def test_a_100_dpi_greyscale_scan_decodes(
    pdf: bytes, renderer: str, decoder: str, tmp_path: Path
) -> None:
    page = poppler_grey(pdf, 100, tmp_path) if renderer == "pdftoppm" else pdfium_grey(pdf, 100)
    assert DECODERS[decoder](page) == [URL]


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("degradation", DEGRADATIONS)
def test_a_degraded_150_dpi_copy_decodes(pdf: bytes, degradation: str, decoder: str) -> None:
    page = DEGRADATIONS[degradation](pdfium_grey(pdf, 150))
    assert DECODERS[decoder](page) == [URL]


def test_the_degradations_do_degrade(pdf: bytes) -> None:
    """Each picture differs from the clean render, and the shadow darkens half the code."""
    clean = pdfium_grey(pdf, 150)
    for name, degrade in DEGRADATIONS.items():
        assert degrade(clean).tobytes() != clean.tobytes(), name
    left, top, right, bottom = qr_box(clean)
    shade = shadowed(clean, 0.45)
    x, y = (left + 3 * right) // 4, (top + bottom) // 2
    light = [v for v in shade.crop((x, y, x + 40, y + 40)).tobytes() if v > 100]
    assert light and max(light) <= 141  # 255 × 0.55: the white modules are in shadow


# --- the symbol as qrcode builds it and as it is drawn ----------------------------------------


def test_smallest_version_at_level_q() -> None:
    # Byte-mode capacity at level Q: version 15 holds 292 bytes, version 16 holds 322.
    assert encode("x" * 292).version == 15
    assert encode("x" * 293).version == 16
    assert encode("x" * 11).version == 1


def test_drawn_runs_cover_exactly_the_dark_modules() -> None:
    symbol = encode("https://cert.example.cn/v/" + "A1b2-_" * 40)
    assert symbol.size == 17 + 4 * symbol.version  # quiet zone not in the rows
    painted: set[tuple[int, int]] = set()
    for x, y, length in symbol.runs():
        cells = {(x + i, y) for i in range(length)}
        assert not cells & painted
        painted |= cells
    dark = {(x, y) for y, row in enumerate(symbol.rows) for x, on in enumerate(row) if on}
    assert painted == dark
    # one run per horizontal stretch of dark modules, none split
    stretches = sum(
        sum(1 for x, on in enumerate(row) if on and (x == 0 or not row[x - 1]))
        for row in symbol.rows
    )
    assert len(symbol.runs()) == stretches
