"""Setting text in the certificate face: measuring, and embedding it as two subset fonts.

Every certificate prints the same labels; only the values change. So the glyphs of the fixed
text (labels, URLs, digits, Latin letters) form a *static* subset, cut, compressed and
serialised once per process, and each document adds a small *dynamic* subset with the other
characters it uses (the holder's name, the occupation, the body …). Both are Type 0 fonts with
Identity-H encoding and a ToUnicode map, so text can be searched and copied.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import NamedTuple

from certsvc.render.font import TrueTypeFont, check_renderable
from certsvc.render.pdf import COMPRESSION_FAST, COMPRESSION_ONCE, PdfWriter, name, num, stream


@dataclass(frozen=True, eq=False)
class Subset:
    """One embedded subset, its objects already serialised (a stream body each).

    Compared and hashed by identity, so caches can key on it.
    """

    base_font: str
    codes: dict[str, str]  # character -> 4 hex digits (the glyph id in the subset)
    font_file: bytes
    to_unicode: bytes
    widths: bytes
    #: ``codes`` as a :meth:`str.translate` table (code point -> 4 hex digits).
    table: dict[int, str] = field(init=False, repr=False, compare=False)
    #: ``base_font`` as a PDF name object.
    pdf_name: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", {ord(c): code for c, code in self.codes.items()})
        object.__setattr__(self, "pdf_name", name(self.base_font))

    def encode(self, text: str) -> str | None:
        """``text`` as hex glyph codes of this subset, or None if it lacks a character."""
        coded = text.translate(self.table)
        # Characters the table lacks stay one character long; every code is four.
        return coded if len(coded) == 4 * len(text) else None

    def add_to(self, writer: PdfWriter, font: TrueTypeFont) -> int:
        """Write the font's five objects; returns the Type 0 font's object number."""
        m = font.metrics
        file_ref = writer.add(self.font_file)
        descriptor = writer.add(
            b"<</Type/FontDescriptor/FontName%s/Flags 4/FontBBox[%s]/ItalicAngle %s"
            b"/Ascent %d/Descent %d/CapHeight %d/StemV 80/FontFile2 %d 0 R>>"
            % (
                self.pdf_name,
                " ".join(str(v) for v in m.bbox).encode(),
                num(m.italic_angle).encode(),
                m.ascent,
                m.descent,
                m.cap_height,
                file_ref,
            )
        )
        cid_font = writer.add(
            b"<</Type/Font/Subtype/CIDFontType2/BaseFont%s"
            b"/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>"
            b"/FontDescriptor %d 0 R/CIDToGIDMap/Identity/DW 1000/W%s>>"
            % (self.pdf_name, descriptor, self.widths)
        )
        cmap = writer.add(self.to_unicode)
        return writer.add(
            b"<</Type/Font/Subtype/Type0/BaseFont%s/Encoding/Identity-H"
            b"/DescendantFonts[%d 0 R]/ToUnicode %d 0 R>>" % (self.pdf_name, cid_font, cmap)
        )


def make_subset(font: TrueTypeFont, chars: Iterable[str], level: int = COMPRESSION_FAST) -> Subset:
    """Cut and serialise a subset holding ``chars`` (which must all be renderable).

    ``level`` is the Flate level of its streams (see :mod:`certsvc.render.pdf`).
    """
    ordered = list(dict.fromkeys(chars))
    gids = [font.cmap[ord(c)] for c in ordered]
    program, order = font.subset(gids)
    new_gid = {old: new for new, old in enumerate(order)}
    codes = {c: f"{new_gid[g]:04X}" for c, g in zip(ordered, gids, strict=True)}
    digest = hashlib.sha256("".join(ordered).encode()).digest()
    tag = "".join(chr(65 + b % 26) for b in digest[:6])
    scale = 1000 / font.units_per_em
    widths = _width_array([round(font.advance(g) * scale, 1) for g in order])
    lines = [f"<{code}><{ord(c):04X}>" if ord(c) < 0x10000 else _surrogate(code, c)
             for c, code in codes.items()]  # fmt: skip
    blocks = [
        f"{len(lines[i : i + 100])} beginbfchar\n" + "\n".join(lines[i : i + 100]) + "\nendbfchar"
        for i in range(0, len(lines), 100)
    ]
    cmap = (
        "/CIDInit/ProcSet findresource begin 12 dict begin begincmap"
        "/CIDSystemInfo<</Registry(Adobe)/Ordering(UCS)/Supplement 0>>def"
        "/CMapName/Adobe-Identity-UCS def/CMapType 2 def\n"
        "1 begincodespacerange\n<0000><FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap CMapName currentdict/CMap defineresource pop end end"
    )
    return Subset(
        base_font=f"{tag}+{font.metrics.postscript_name}",
        codes=codes,
        font_file=stream(b"/Length1 %d" % len(program), program, level=level),
        to_unicode=stream(b"", cmap.encode(), level=level),
        widths=widths.encode(),
    )


def _width_array(widths: list[float]) -> str:
    """The CIDFont /W array, leaving out glyphs of the default width (1000: CJK full width)."""
    parts: list[str] = []
    run: list[str] = []
    start = 0
    for gid, width in enumerate([*widths, 1000.0]):
        if gid and width != 1000:
            if not run:
                start = gid
            run.append(num(width))
        elif run:
            parts.append(f"{start}[{' '.join(run)}]")
            run = []
    return f"[{''.join(parts)}]"


def _surrogate(code: str, ch: str) -> str:
    return f"<{code}><{ch.encode('utf-16-be').hex().upper()}>"


@cache
def static_subset(font: TrueTypeFont, chars: str) -> Subset:
    """The subset of the fixed text, built once per process and font."""
    check_renderable(chars, font)
    return make_subset(font, chars, COMPRESSION_ONCE)


class TextRun(NamedTuple):
    """Text placed on the page: position and size in points, colour as RGB 0..1.

    ``rotation`` is in degrees, counter-clockwise, about (x, y); ``embolden`` is the stroke
    width of a heavier (fill and stroke) rendering, 0 for plain fill.
    """

    text: str
    x: float
    y: float
    size: float
    color: tuple[float, float, float] = (0, 0, 0)
    rotation: float = 0
    char_spacing: float = 0
    embolden: float = 0

    @property
    def matrix(self) -> str:
        """The text matrix operands placing this run."""
        return _matrix(self.x, self.y, self.rotation)

    def head(self) -> str:
        """Operators before the glyphs: colour, rendering mode, matrix, spacing."""
        return _head(self.x, self.y, self.color, self.rotation, self.char_spacing, self.embolden)


def _matrix(x: float, y: float, rotation: float) -> str:
    if not rotation:
        return f"1 0 0 1 {num(x)} {num(y)}"
    a = math.radians(rotation)
    c, s = math.cos(a), math.sin(a)
    return f"{num(c)} {num(s)} {num(-s)} {num(c)} {num(x)} {num(y)}"


@lru_cache(maxsize=4096)
def _head(
    x: float,
    y: float,
    color: tuple[float, float, float],
    rotation: float,
    char_spacing: float,
    embolden: float,
) -> str:
    """:meth:`TextRun.head`, memoised: labels, values and seals sit in the same places on
    every certificate, whatever their text."""
    r, g, b = (num(c) for c in color)
    head = [f"{r} {g} {b} rg"]
    if embolden:
        head.append(f"{r} {g} {b} RG {num(embolden)} w 2 Tr")
    head.append(_matrix(x, y, rotation) + " Tm")
    if char_spacing:
        head.append(f"{num(char_spacing)} Tc")
    return " ".join(head)


@dataclass
class Typesetter:
    """Measures text and turns placed runs into content-stream operators."""

    font: TrueTypeFont
    static: Subset
    runs: list[TextRun] = field(default_factory=list)

    def width(self, text: str, size: float, char_spacing: float = 0) -> float:
        """Width of ``text`` set at ``size`` points."""
        return sum(map(self.font.em_widths.__getitem__, text)) * size + char_spacing * len(text)

    def place(self, run: TextRun) -> None:
        self.runs.append(run)

    def dynamic_chars(self) -> list[str]:
        """Characters placed so far that the static subset lacks, in code-point order."""
        used = {ch for run in self.runs for ch in run.text}
        return sorted(used - self.static.codes.keys())

    def operators(self, dynamic: Subset | None, static_res: str, dynamic_res: str) -> str:
        """Content operators for every placed run, then forget them.

        A character is set from the static subset when it has it, else from ``dynamic``.
        """
        out: list[str] = []
        for run in self.runs:
            line = _static_line(run, self.static, static_res)
            if line is None:
                size = num(run.size)
                if (
                    dynamic is not None
                    and self.static.codes.keys().isdisjoint(run.text)
                    and (coded := dynamic.encode(run.text)) is not None
                ):
                    body = f"/{dynamic_res} {size} Tf<{coded}>Tj"
                else:
                    body = self._mixed(run.text, size, dynamic, static_res, dynamic_res)
                line = _line(run, body)
            out.append(line)
        self.runs = []
        return "\n".join(out)

    def _mixed(
        self, text: str, size: str, dynamic: Subset | None, static_res: str, dynamic_res: str
    ) -> str:
        """Show operators for text whose characters come from both subsets."""
        static_codes = self.static.codes
        dynamic_codes = dynamic.codes if dynamic else {}
        body: list[str] = []
        current = ""
        for ch in text:
            code = static_codes.get(ch)
            res = static_res
            if code is None:
                code = dynamic_codes[ch]
                res = dynamic_res
            if res != current:
                if body:
                    body.append(">Tj")
                body.append(f"/{res} {size} Tf<")
                current = res
            body.append(code)
        body.append(">Tj")
        return "".join(body)


def _line(run: TextRun, body: str) -> str:
    """A run's text object: its head, the glyphs (``body``), and resetting what it set."""
    tail = " 0 Tc" if run.char_spacing else ""
    tail += " 0 Tr" if run.embolden else ""
    return f"BT {run.head()}{body}{tail} ET"


@lru_cache(maxsize=4096)
def _static_line(run: TextRun, static: Subset, res: str) -> str | None:
    """:func:`_line` for a run the static subset sets alone, None if it needs another subset.

    Memoised: the labels, and the values a batch of certificates shares (occupation, level,
    body, date, the seal's name), come back at the same place on every page.
    """
    coded = static.encode(run.text)
    if coded is None:
        return None
    return _line(run, f"/{res} {num(run.size)} Tf<{coded}>Tj")
