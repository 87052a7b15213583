"""The issuing body's seal (印章): an uploaded PNG or SVG, or a generated round red seal.

A body prints its own certificates and stamps them with its own seal (DOMAIN.md). An upload is
checked once when it is stored (``certsvc body seal``) and read again for each run: a PNG is
kept with its transparency, scaled to at most 480 pixels; an SVG is converted with svglib and
must be paths only — text in an SVG seal has to be converted to outlines, or it would print in
whatever font the viewer has. Without an upload, :func:`draw_generated_seal` draws the classic
round seal: a red ring, a five-pointed star and the body's name along the upper arc.

The seal is drawn first with multiply blending, inside its own square on the page, which no
printed value enters (``certsvc.render.certificate.SEAL_BOX``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from certsvc.errors import InvalidSeal
from certsvc.i18n import N_
from certsvc.render.typeface import FONT_NAME

SEAL_RED = (0.86, 0.08, 0.1)
#: Longest side of a PNG seal after scaling: 480 px over 40 mm is ~300 dpi.
MAX_SEAL_PIXELS = 480
MAX_SEAL_BYTES = 2_000_000


@dataclass(frozen=True)
class UploadedSeal:
    """An uploaded seal, checked and ready to draw (plain bytes, so it crosses processes)."""

    kind: str  # "png" | "svg"
    width: float  # natural aspect: width / height matters, units are arbitrary
    height: float
    #: A PNG (RGBA, scaled) or the SVG as uploaded.
    data: bytes


def load_seal(data: bytes) -> UploadedSeal:
    """Read an uploaded seal (PNG or SVG); InvalidSeal says what is wrong with it."""
    if len(data) > MAX_SEAL_BYTES:
        raise InvalidSeal(
            N_("the seal file is {size} bytes; the limit is {limit} bytes"),
            size=f"{len(data):,}",
            limit=f"{MAX_SEAL_BYTES:,}",
        )
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_seal(data)
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096].lower():
        drawing = _svg_drawing(data)
        return UploadedSeal("svg", float(drawing.width), float(drawing.height), data)
    raise InvalidSeal(N_("the seal must be a PNG or an SVG file"))


def _png_seal(data: bytes) -> UploadedSeal:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            rgba = img.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidSeal(N_("the seal PNG cannot be read: {exc}"), exc=exc) from exc
    if max(rgba.size) > MAX_SEAL_PIXELS:
        rgba.thumbnail((MAX_SEAL_PIXELS, MAX_SEAL_PIXELS), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgba.save(out, "PNG")
    return UploadedSeal("png", rgba.width, rgba.height, out.getvalue())


def _svg_drawing(data: bytes) -> Any:
    """The SVG as a reportlab Drawing, refused unless it is paths only."""
    from reportlab.graphics.shapes import Group, Image, String
    from svglib.svglib import svg2rlg

    try:
        drawing = svg2rlg(io.BytesIO(data))
    except Exception as exc:  # svglib raises whatever its XML and CSS parsers raise
        raise InvalidSeal(N_("the seal SVG cannot be read: {exc}"), exc=exc) from exc
    if drawing is None or not drawing.width or not drawing.height:
        raise InvalidSeal(N_("the seal SVG is empty or has no size (give width/height or viewBox)"))
    pending: list[object] = [drawing]
    while pending:
        node = pending.pop()
        if isinstance(node, String):
            raise InvalidSeal(
                N_("the seal SVG contains text; convert the text to outlines (paths)")
            )
        if isinstance(node, Image):
            raise InvalidSeal(
                N_("the seal SVG may hold paths only (no images, patterns, gradients)")
            )
        if isinstance(node, Group):
            pending.extend(node.getContents())
    return drawing


def draw_uploaded_seal(
    canvas: Canvas, seal: UploadedSeal, cx: float, cy: float, side: float
) -> None:
    """Draw ``seal`` centred on (cx, cy), fitted into a ``side``-point square."""
    scale = side / max(seal.width, seal.height)
    w, h = seal.width * scale, seal.height * scale
    canvas.saveState()
    canvas.setBlendMode("Multiply")
    if seal.kind == "png":
        from reportlab.lib.utils import ImageReader

        image = ImageReader(io.BytesIO(seal.data))
        canvas.drawImage(image, cx - w / 2, cy - h / 2, w, h, mask="auto")
    else:
        from reportlab.graphics import renderPDF

        drawing = _svg_drawing(seal.data)
        canvas.translate(cx - w / 2, cy - h / 2)
        canvas.scale(scale, scale)
        renderPDF.draw(drawing, canvas, 0, 0)
    canvas.restoreState()


def draw_generated_seal(canvas: Canvas, name: str, cx: float, cy: float, radius: float) -> None:
    """A round red seal: a ring, a star, and ``name`` along the upper arc."""
    ring = radius * 0.055
    canvas.saveState()
    canvas.setBlendMode("Multiply")
    canvas.setFillColorRGB(*SEAL_RED)
    canvas.setStrokeColorRGB(*SEAL_RED)
    canvas.setLineWidth(ring)
    canvas.circle(cx, cy, radius - ring / 2, stroke=1, fill=0)
    star = canvas.beginPath()
    for i, (x, y) in enumerate(_star_points(cx, cy, radius * 0.3)):
        if i == 0:
            star.moveTo(x, y)
        else:
            star.lineTo(x, y)
    star.close()
    canvas.drawPath(star, stroke=0, fill=1)
    canvas.setLineWidth(0.25)  # the name is stroked as well as filled, like a carved seal
    for ch, x, y, size, rotation in seal_name_layout(name, cx, cy, radius):
        canvas.saveState()
        canvas.translate(x, y)
        canvas.rotate(rotation)
        text = canvas.beginText(0, 0)
        text.setTextRenderMode(2)
        text.setFont(FONT_NAME, size)
        text.textOut(ch)
        canvas.drawText(text)
        canvas.restoreState()
    canvas.restoreState()


def seal_name_layout(
    name: str, cx: float, cy: float, radius: float
) -> list[tuple[str, float, float, float, float]]:
    """``(character, x, y, size, rotation in degrees)`` of each character of the seal's name.

    The name spreads over at most 240 degrees of the upper arc, centred at the top, each
    character given at least 1.05 of its size along the arc: a long name gets smaller
    characters rather than crowding them. With text_r = outer - 0.9 size, that bounds
    size * 1.05 <= (outer - 0.9 size) * arc / n. The face must be registered
    (:func:`certsvc.render.typeface.certificate_font`).
    """
    ring = radius * 0.055
    placed: list[tuple[str, float, float, float, float]] = []
    n = len(name)
    if not n:
        return placed
    outer, arc = radius - 2.2 * ring, math.radians(240) / n
    size = max(6.0, min(radius * 0.25, outer * arc / (1.05 + 0.9 * arc)))
    text_r = outer - size * 0.9
    step = min(240 / n, math.degrees(size * 1.12 / text_r))
    for i, ch in enumerate(name):
        theta = 90 + step * (n - 1) / 2 - step * i
        half = stringWidth(ch, FONT_NAME, size) / 2
        t, q = math.radians(theta), math.radians(theta - 90)
        x = cx + text_r * math.cos(t) - half * math.cos(q)
        y = cy + text_r * math.sin(t) - half * math.sin(q)
        placed.append((ch, x, y, size, theta - 90))
    return placed


def _star_points(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    inner = r * 0.382
    points = []
    for i in range(10):
        a = math.radians(90 + 36 * i)
        rr = r if i % 2 == 0 else inner
        points.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return points
