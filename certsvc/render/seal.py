"""The issuing body's seal (印章): an uploaded PNG or SVG, or a generated round red seal.

A body prints its own certificates and stamps them with its own seal (DOMAIN.md). An upload is
converted once (by content hash) into PDF objects and reused for every certificate: a PNG
becomes an image with a soft mask for its transparency, scaled to at most 480 pixels; an SVG
becomes a vector form (via svglib), which must be paths only — text in an SVG seal has to be
converted to outlines. Without an upload, :func:`generated_seal_operators` draws the classic
round seal: a red ring, a five-pointed star and the body's name along the upper arc.

The seal is printed with multiply blending, so the text it covers stays readable.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from certsvc.errors import InvalidSeal
from certsvc.render.pdf import COMPRESSION_ONCE, PdfWriter, num, stream
from certsvc.render.text import TextRun, Typesetter

SEAL_RED = (0.86, 0.08, 0.1)
#: Longest side of a PNG seal after scaling: 480 px over 40 mm is ~300 dpi.
MAX_SEAL_PIXELS = 480
MAX_SEAL_BYTES = 2_000_000


@dataclass(frozen=True)
class UploadedSeal:
    """An uploaded seal as finished PDF object bodies, ready to be written into documents."""

    kind: str  # "png" | "svg"
    width: float  # natural aspect: width / height matters, units are arbitrary
    height: float
    xobject: bytes  # the image or form XObject (with %SMASK% for a PNG's soft mask)
    smask: bytes | None = None

    def add_to(self, writer: PdfWriter) -> int:
        """Write the seal's objects; returns the XObject's number."""
        body = self.xobject
        if self.smask is not None:
            body = body.replace(b"%SMASK%", b"%d 0 R" % writer.add(self.smask))
        return writer.add(body)


def load_seal(data: bytes) -> UploadedSeal:
    """Read an uploaded seal (PNG or SVG); InvalidSeal says what is wrong with it."""
    if len(data) > MAX_SEAL_BYTES:
        raise InvalidSeal(f"the seal file is {len(data):,} bytes; the limit is {MAX_SEAL_BYTES:,}")
    return _load_seal(hashlib.sha256(data).digest(), data)


@lru_cache(maxsize=64)
def _load_seal(_digest: bytes, data: bytes) -> UploadedSeal:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_seal(data)
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096].lower():
        return _svg_seal(data)
    raise InvalidSeal("the seal must be a PNG or an SVG file")


def _png_seal(data: bytes) -> UploadedSeal:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            rgba = img.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidSeal(f"the seal PNG cannot be read: {exc}") from exc
    if max(rgba.size) > MAX_SEAL_PIXELS:
        rgba.thumbnail((MAX_SEAL_PIXELS, MAX_SEAL_PIXELS), Image.Resampling.LANCZOS)
    w, h = rgba.size
    alpha = rgba.getchannel("A")
    smask = None
    mask_entry = b""
    if alpha.getextrema() != (255, 255):
        smask = stream(
            b"/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceGray"
            b"/BitsPerComponent 8" % (w, h),
            alpha.tobytes(),
            level=COMPRESSION_ONCE,
        )
        mask_entry = b"/SMask %SMASK%"
    image = stream(
        b"/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceRGB"
        b"/BitsPerComponent 8%s" % (w, h, mask_entry),
        rgba.convert("RGB").tobytes(),
        level=COMPRESSION_ONCE,
    )
    return UploadedSeal("png", w, h, image, smask)


_EMPTY_TEXT = re.compile(rb"BT\s+(?:/\w+\s+[\d.]+\s+Tf\s+)?(?:[\d.]+\s+TL\s+)?ET")


def _svg_seal(data: bytes) -> UploadedSeal:
    from pypdf import PdfReader
    from pypdf.generic import DictionaryObject
    from reportlab.graphics import renderPDF
    from svglib.svglib import svg2rlg

    try:
        drawing = svg2rlg(io.BytesIO(data))
    except Exception as exc:  # svglib raises whatever its XML and CSS parsers raise
        raise InvalidSeal(f"the seal SVG cannot be read: {exc}") from exc
    if drawing is None or not drawing.width or not drawing.height:
        raise InvalidSeal("the seal SVG is empty or has no size (give width/height or viewBox)")
    page = PdfReader(io.BytesIO(renderPDF.drawToString(drawing))).pages[0]
    content = _EMPTY_TEXT.sub(b"", page.get_contents().get_data())  # type: ignore[union-attr]
    if re.search(rb"\bTj\b|\bTJ\b", content):
        raise InvalidSeal("the seal SVG contains text; convert the text to outlines (paths)")
    resources = cast(DictionaryObject, page["/Resources"].get_object())
    for key in ("/XObject", "/Pattern", "/Shading"):
        if key in resources:
            raise InvalidSeal("the seal SVG may hold paths only (no images, patterns, gradients)")
    states = []
    ext_states = cast(DictionaryObject, resources.get("/ExtGState", DictionaryObject()))
    for key, value in ext_states.items():
        state = cast(DictionaryObject, value.get_object())
        entries = "".join(f"{k} {num(float(v))}" for k, v in state.items() if k in ("/ca", "/CA"))
        states.append(f"{key}<<{entries}>>")
    ext = f"/ExtGState<<{''.join(states)}>>".encode() if states else b""
    width, height = float(drawing.width), float(drawing.height)
    form = stream(
        b"/Type/XObject/Subtype/Form/BBox[0 0 %s %s]/Resources<<%s>>"
        % (num(width).encode(), num(height).encode(), ext),
        content,
        level=COMPRESSION_ONCE,
    )
    return UploadedSeal("svg", width, height, form)


def generated_seal_operators(
    typesetter: Typesetter, name: str, cx: float, cy: float, radius: float
) -> str:
    """Path operators for a round seal, and the name placed along its upper arc.

    The name's glyphs go to ``typesetter`` (so they share the document's fonts); the returned
    operators draw the ring and the star and must be painted inside the caller's blend state.
    """
    ops, runs = _generated_seal(typesetter.font.em_width, name, cx, cy, radius)
    for run in runs:
        typesetter.place(run)
    return ops


@lru_cache(maxsize=256)
def _generated_seal(
    em_width: Callable[[str], float], name: str, cx: float, cy: float, radius: float
) -> tuple[str, tuple[TextRun, ...]]:
    r, g, b = (num(c) for c in SEAL_RED)
    ring = radius * 0.055
    ops = [f"{r} {g} {b} rg {r} {g} {b} RG {num(ring)} w", _circle(cx, cy, radius - ring / 2), "S"]
    ops += [_star(cx, cy, radius * 0.3), "f"]
    runs = []
    n = len(name)
    if n:
        # The name spreads over at most 240 degrees of the upper arc, centred at the top, each
        # character given at least 1.05 of its size along the arc: a long name gets smaller
        # characters rather than crowding them. With text_r = outer - 0.9 size, that bounds
        # size * 1.05 <= (outer - 0.9 size) * arc / n.
        outer, arc = radius - 2.2 * ring, math.radians(240) / n
        size = max(6.0, min(radius * 0.25, outer * arc / (1.05 + 0.9 * arc)))
        text_r = outer - size * 0.9
        step = min(240 / n, math.degrees(size * 1.12 / text_r))
        for i, ch in enumerate(name):
            theta = 90 + step * (n - 1) / 2 - step * i
            half = em_width(ch) * size / 2
            t, q = math.radians(theta), math.radians(theta - 90)
            x = cx + text_r * math.cos(t) - half * math.cos(q)
            y = cy + text_r * math.sin(t) - half * math.sin(q)
            runs.append(TextRun(ch, x, y, size, SEAL_RED, rotation=theta - 90, embolden=0.25))
    return "\n".join(ops), tuple(runs)


def _circle(cx: float, cy: float, r: float) -> str:
    k = 0.5523 * r
    return (
        f"{num(cx + r)} {num(cy)} m "
        f"{num(cx + r)} {num(cy + k)} {num(cx + k)} {num(cy + r)} {num(cx)} {num(cy + r)} c "
        f"{num(cx - k)} {num(cy + r)} {num(cx - r)} {num(cy + k)} {num(cx - r)} {num(cy)} c "
        f"{num(cx - r)} {num(cy - k)} {num(cx - k)} {num(cy - r)} {num(cx)} {num(cy - r)} c "
        f"{num(cx + k)} {num(cy - r)} {num(cx + r)} {num(cy - k)} {num(cx + r)} {num(cy)} c h"
    )


def _star(cx: float, cy: float, r: float) -> str:
    inner = r * 0.382
    points = []
    for i in range(10):
        a = math.radians(90 + 36 * i)
        rr = r if i % 2 == 0 else inner
        points.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    first, *rest = points
    return (
        f"{num(first[0])} {num(first[1])} m "
        + " ".join(f"{num(x)} {num(y)} l" for x, y in rest)
        + " h"
    )
