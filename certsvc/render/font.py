"""The certificate's CJK TrueType face: finding it, reading it, and cutting subsets to embed.

The face is **LXGW WenKai** (霞鹜文楷, SIL Open Font License 1.1, which allows embedding),
from the Debian package ``fonts-lxgw-wenkai``. No OFL FangSong (仿宋) is in a registry this
project installs from: Zhuque Fangsong ships only as split web fonts, the Debian cwTeX FangSong
is traditional-only (it lacks 证, 级, 书 …), and Noto CJK is CFF, which cannot be embedded as
TrueType. WenKai is a 楷 (kai) face, the nearest relative of FangSong; it has glyf outlines, all
of GB 2312 and of the CJK Unified Ideographs block, and the Extension A name characters people
commonly write (䶮).

This module reads the few tables a PDF needs straight from the file (no fontTools at run time)
and builds subset font programs in microseconds: glyph outlines are copied byte for byte and
renumbered, so a subset is deterministic and a certificate renders identically everywhere.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from pathlib import Path

from certsvc.errors import FontMissing, UnrenderableText

FONT_PACKAGE = "fonts-lxgw-wenkai"
FONT_FAMILY = "LXGW WenKai"
FONT_PATH = Path("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf")

# Composite glyph flags (OpenType 'glyf' table).
_ARG_1_AND_2_ARE_WORDS = 0x0001
_WE_HAVE_A_SCALE = 0x0008
_MORE_COMPONENTS = 0x0020
_WE_HAVE_AN_X_AND_Y_SCALE = 0x0040
_WE_HAVE_A_TWO_BY_TWO = 0x0080

#: Tables a subset carries: what a PDF CIDFontType2 program needs (no cmap: the PDF maps).
_SUBSET_TABLES = (b"cvt ", b"fpgm", b"glyf", b"head", b"hhea", b"hmtx", b"loca", b"maxp", b"prep")


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    words = array("I", padded)
    if words.itemsize != 4:  # pragma: no cover - every platform Python supports has 4-byte I
        raise RuntimeError("unsigned int is not 4 bytes")
    words.byteswap()
    return sum(words) & 0xFFFFFFFF


@dataclass(frozen=True)
class FontMetrics:
    """What a PDF font descriptor needs, in PDF glyph space (1000 units per em)."""

    postscript_name: str
    ascent: int
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]
    italic_angle: float


@dataclass(eq=False)
class TrueTypeFont:
    """A TrueType (glyf) font read from a .ttf file or one face of a .ttc collection.

    Compared and hashed by identity, so caches can key on the loaded face.
    """

    data: bytes
    tables: dict[bytes, tuple[int, int]]
    units_per_em: int
    cmap: dict[int, int]
    metrics: FontMetrics
    _loca: array[int] = field(repr=False)
    _advances: array[int] = field(repr=False)
    _lsbs: array[int] = field(repr=False)
    _em_widths: _EmWidths = field(init=False, repr=False)
    #: Glyph id -> (outline padded to 4 bytes, its checksum, its hmtx entry), filled on
    #: first use: the checksum of a subset's glyf table is the sum of its glyphs' checksums.
    _glyphs: dict[int, tuple[bytes, int, bytes]] = field(
        init=False, repr=False, default_factory=dict
    )
    #: Characters seen to have a glyph (a fast path for :meth:`missing`), filled on use.
    _covered: set[str] = field(init=False, repr=False, default_factory=set)

    def __post_init__(self) -> None:
        self._em_widths = _EmWidths(self)

    @classmethod
    def load(cls, path: Path, face: int = 0) -> TrueTypeFont:
        """Read the font at ``path``; FontMissing (naming the package) if it is not there."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FontMissing(
                f"the certificate font {FONT_FAMILY} is missing ({path}: {exc.strerror}); "
                f"install the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})"
            ) from exc
        try:
            return cls.parse(data, face)
        except (struct.error, KeyError, ValueError) as exc:
            raise FontMissing(
                f"{path} is not a usable TrueType font ({exc}); reinstall {FONT_PACKAGE}"
            ) from exc

    @classmethod
    def parse(cls, data: bytes, face: int = 0) -> TrueTypeFont:
        """Parse the tables certsvc uses; ValueError for CFF or damaged fonts."""
        offset = 0
        if data[:4] == b"ttcf":
            (offset,) = struct.unpack_from(">I", data, 12 + 4 * face)
        version, num_tables = struct.unpack_from(">IH", data, offset)
        if version not in (0x00010000, 0x74727565):
            raise ValueError("not a TrueType (glyf) font; CFF/OpenType-PS cannot be embedded")
        tables = {}
        for i in range(num_tables):
            tag, _sum, start, length = struct.unpack_from(">4sIII", data, offset + 12 + 16 * i)
            tables[tag] = (start, length)
        for needed in (b"head", b"hhea", b"maxp", b"hmtx", b"loca", b"glyf", b"cmap"):
            if needed not in tables:
                raise ValueError(f"the font has no {needed.decode()} table")

        head = tables[b"head"][0]
        upem = struct.unpack_from(">H", data, head + 18)[0]
        bbox = struct.unpack_from(">4h", data, head + 36)
        long_loca = struct.unpack_from(">h", data, head + 50)[0] == 1
        num_glyphs = struct.unpack_from(">H", data, tables[b"maxp"][0] + 4)[0]
        hhea = tables[b"hhea"][0]
        ascender, descender = struct.unpack_from(">hh", data, hhea + 4)
        num_hmetrics = struct.unpack_from(">H", data, hhea + 34)[0]

        start, length = tables[b"loca"]
        loca = array("I" if long_loca else "H", data[start : start + length])
        loca.byteswap()
        if not long_loca:
            loca = array("I", (2 * x for x in loca))
        start = tables[b"hmtx"][0]
        metrics = array("h", data[start : start + 4 * num_hmetrics])
        metrics.byteswap()
        advances = array("H", (x & 0xFFFF for x in metrics[0::2]))
        lsbs = array("h", metrics[1::2])
        tail = num_glyphs - num_hmetrics
        if tail > 0:
            extra = array("h", data[start + 4 * num_hmetrics : start + 4 * num_hmetrics + 2 * tail])
            extra.byteswap()
            lsbs.extend(extra)

        cap_height = ascender
        if b"OS/2" in tables:
            os2, os2_len = tables[b"OS/2"]
            if os2_len >= 90 and struct.unpack_from(">H", data, os2)[0] >= 2:
                cap_height = struct.unpack_from(">h", data, os2 + 88)[0]
        italic = 0.0
        if b"post" in tables:
            italic = struct.unpack_from(">i", data, tables[b"post"][0] + 4)[0] / 65536

        def scale(v: int) -> int:
            scaled: int = round(v * 1000 / upem)
            return scaled

        fm = FontMetrics(
            postscript_name=_postscript_name(data, tables),
            ascent=scale(ascender),
            descent=scale(descender),
            cap_height=scale(cap_height),
            bbox=(scale(bbox[0]), scale(bbox[1]), scale(bbox[2]), scale(bbox[3])),
            italic_angle=italic,
        )
        return cls(
            data, tables, upem, _read_cmap(data, tables[b"cmap"][0]), fm, loca, advances, lsbs
        )

    @property
    def num_glyphs(self) -> int:
        return len(self._loca) - 1

    def advance(self, gid: int) -> int:
        """Advance width of a glyph in font units."""
        return self._advances[min(gid, len(self._advances) - 1)]

    def em_width(self, ch: str) -> float:
        """Advance width of a character in em (0 for characters the font lacks); memoised."""
        return self.em_widths[ch]

    @property
    def em_widths(self) -> dict[str, float]:
        """Character → advance in em, filled on first use of each character."""
        return self._em_widths

    def glyph(self, gid: int) -> bytes:
        """The raw 'glyf' bytes of one glyph (empty for blank glyphs such as space)."""
        base = self.tables[b"glyf"][0]
        return self.data[base + self._loca[gid] : base + self._loca[gid + 1]]

    def missing(self, text: str) -> list[str]:
        """Characters of ``text`` the font has no glyph for, in order, each once."""
        if self._covered.issuperset(text):
            return []
        seen: dict[str, None] = {}
        for ch in text:
            if ord(ch) in self.cmap:
                self._covered.add(ch)
            elif ch not in seen and ch not in "\n\r\t":
                seen[ch] = None
        return list(seen)

    def subset(self, gids: Sequence[int]) -> tuple[bytes, list[int]]:
        """A TrueType program holding .notdef then ``gids`` renumbered 1..n.

        Components of composite glyphs are pulled in and renumbered after the requested
        glyphs. Returns the font bytes and the full old-gid order (index = new gid).
        """
        order = [0]
        index = {0: 0}
        for gid in gids:
            if gid not in index:
                index[gid] = len(order)
                order.append(gid)
        outlines: list[bytes] = []
        metrics: list[bytes] = []
        glyf_sum = 0
        glyphs = self._glyphs
        i = 0
        while i < len(order):  # ``order`` grows as composite components are found
            gid = order[i]
            known = glyphs.get(gid) or self._glyph_entry(gid)
            raw = known[0]
            if len(raw) >= 10 and raw[0] & 0x80:  # numberOfContours < 0: a composite
                raw = self._renumber_components(raw, index, order)
                glyf_sum += _checksum(raw)
            else:
                glyf_sum += known[1]
            outlines.append(raw)
            metrics.append(known[2])
            i += 1
        return self._build(order, outlines, metrics, glyf_sum & 0xFFFFFFFF), order

    def _glyph_entry(self, gid: int) -> tuple[bytes, int, bytes]:
        raw = self.glyph(gid)
        raw += b"\0" * (-len(raw) % 4)
        entry = (raw, _checksum(raw), struct.pack(">Hh", self.advance(gid), self._lsbs[gid]))
        self._glyphs[gid] = entry
        return entry

    def _renumber_components(self, raw: bytes, index: dict[int, int], order: list[int]) -> bytes:
        out = bytearray(raw)
        pos = 10
        while True:
            flags, old = struct.unpack_from(">HH", out, pos)
            if old not in index:
                index[old] = len(order)
                order.append(old)
            struct.pack_into(">H", out, pos + 2, index[old])
            pos += 4 + (4 if flags & _ARG_1_AND_2_ARE_WORDS else 2)
            if flags & _WE_HAVE_A_SCALE:
                pos += 2
            elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
                pos += 4
            elif flags & _WE_HAVE_A_TWO_BY_TWO:
                pos += 8
            if not flags & _MORE_COMPONENTS:
                return bytes(out)

    def _table(self, tag: bytes) -> bytes:
        start, length = self.tables[tag]
        return self.data[start : start + length]

    def _build(
        self, order: list[int], outlines: list[bytes], metrics: list[bytes], glyf_sum: int
    ) -> bytes:
        n = len(order)
        glyf = b"".join(outlines)
        loca = array("I", accumulate(map(len, outlines), initial=0))
        loca.byteswap()
        head = bytearray(self._table(b"head"))
        struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment, set below
        struct.pack_into(">h", head, 50, 1)  # long loca
        hhea = bytearray(self._table(b"hhea"))
        struct.pack_into(">H", hhea, 34, n)
        maxp = bytearray(self._table(b"maxp"))
        struct.pack_into(">H", maxp, 4, n)
        tables = {
            b"glyf": glyf,
            b"head": bytes(head),
            b"hhea": bytes(hhea),
            b"hmtx": b"".join(metrics),
            b"loca": loca.tobytes(),
            b"maxp": bytes(maxp),
        }
        for tag in (b"cvt ", b"fpgm", b"prep"):
            if tag in self.tables:
                tables[tag] = self._table(tag)
        return _assemble(tables, {b"glyf": glyf_sum})


class _EmWidths(dict[str, float]):
    """Advance widths in em by character, looked up in the font the first time."""

    def __init__(self, font: TrueTypeFont) -> None:
        super().__init__()
        self._font = font

    def __missing__(self, ch: str) -> float:
        gid = self._font.cmap.get(ord(ch), 0)
        width = self[ch] = self._font.advance(gid) / self._font.units_per_em if gid else 0.0
        return width


def _assemble(tables: dict[bytes, bytes], known_sums: dict[bytes, int]) -> bytes:
    """A font file of ``tables``; ``known_sums`` are checksums the caller already has.

    Every table starts on a 4-byte boundary and is zero-padded, so the whole file's checksum
    (for head's checkSumAdjustment) is the header's plus the tables'.
    """
    tags = sorted(t for t in _SUBSET_TABLES if t in tables)
    count = len(tags)
    entry_selector = count.bit_length() - 1
    search_range = 16 << entry_selector
    header = struct.pack(
        ">IHHHH", 0x00010000, count, search_range, entry_selector, count * 16 - search_range
    )
    directory: list[bytes] = []
    body: list[bytes] = []
    offset = 12 + 16 * count
    total = 0
    head_offset = 0
    for tag in tags:
        data = tables[tag]
        known = known_sums.get(tag)
        table_sum = _checksum(data) if known is None else known
        total += table_sum
        directory.append(struct.pack(">4sIII", tag, table_sum, offset, len(data)))
        if tag == b"head":
            head_offset = offset
        padded = data + b"\0" * (-len(data) % 4)
        body.append(padded)
        offset += len(padded)
    front = header + b"".join(directory)
    total += _checksum(front)
    font = bytearray(front + b"".join(body))
    struct.pack_into(">I", font, head_offset + 8, (0xB1B0AFBA - total) & 0xFFFFFFFF)
    return bytes(font)


def _postscript_name(data: bytes, tables: dict[bytes, tuple[int, int]]) -> str:
    if b"name" not in tables:
        return "CertsvcFont"
    base = tables[b"name"][0]
    _fmt, count, strings = struct.unpack_from(">HHH", data, base)
    for i in range(count):
        platform, encoding, _lang, name_id, length, off = struct.unpack_from(
            ">6H", data, base + 6 + 12 * i
        )
        if name_id != 6:
            continue
        raw = data[base + strings + off : base + strings + off + length]
        text = raw.decode("utf-16-be" if platform in (0, 3) else "latin-1", "replace")
        name = "".join(c for c in text if (c.isascii() and c.isalnum()) or c == "-")
        if name:
            return name
        _ = encoding
    return "CertsvcFont"


def _read_cmap(data: bytes, base: int) -> dict[int, int]:
    """Unicode → glyph id from the best Unicode subtable (format 12, else format 4)."""
    _version, count = struct.unpack_from(">HH", data, base)
    found: dict[int, int] = {}
    for i in range(count):
        platform, encoding, off = struct.unpack_from(">HHI", data, base + 4 + 8 * i)
        fmt = struct.unpack_from(">H", data, base + off)[0]
        if (platform, encoding, fmt) in ((3, 10, 12), (0, 4, 12), (0, 6, 12)):
            found[12] = base + off
        elif (platform, encoding, fmt) in ((3, 1, 4), (0, 3, 4)):
            found.setdefault(4, base + off)
    if 12 in found:
        return _cmap12(data, found[12])
    if 4 in found:
        return _cmap4(data, found[4])
    raise ValueError("the font has no Unicode cmap")


def _cmap12(data: bytes, at: int) -> dict[int, int]:
    (groups,) = struct.unpack_from(">I", data, at + 12)
    cmap: dict[int, int] = {}
    for g in range(groups):
        start, end, glyph = struct.unpack_from(">III", data, at + 16 + 12 * g)
        cmap.update(zip(range(start, end + 1), range(glyph, glyph + end - start + 1), strict=True))
    return {c: g for c, g in cmap.items() if g}


def _cmap4(data: bytes, at: int) -> dict[int, int]:
    seg2 = struct.unpack_from(">H", data, at + 6)[0]
    n = seg2 // 2
    ends = struct.unpack_from(f">{n}H", data, at + 14)
    starts = struct.unpack_from(f">{n}H", data, at + 16 + seg2)
    deltas = struct.unpack_from(f">{n}h", data, at + 16 + 2 * seg2)
    range_at = at + 16 + 3 * seg2
    offsets = struct.unpack_from(f">{n}H", data, range_at)
    cmap: dict[int, int] = {}
    for i in range(n):
        for c in range(starts[i], ends[i] + 1):
            if c == 0xFFFF:
                continue
            if offsets[i] == 0:
                g = (c + deltas[i]) & 0xFFFF
            else:
                addr = range_at + 2 * i + offsets[i] + 2 * (c - starts[i])
                g = struct.unpack_from(">H", data, addr)[0]
                g = (g + deltas[i]) & 0xFFFF if g else 0
            if g:
                cmap[c] = g
    return cmap


@cache
def certificate_font(path: Path = FONT_PATH) -> TrueTypeFont:
    """The certificate face, loaded once per process. FontMissing names the package to install."""
    return TrueTypeFont.load(path)


def check_renderable(text: str, font: TrueTypeFont | None = None) -> None:
    """Raise UnrenderableText naming every character of ``text`` the certificate font lacks.

    Issuance calls this on every printed field, so a name with a character the face cannot
    draw (a 生僻字 beyond its coverage) is refused before it is signed — never printed as a box.
    """
    face = font if font is not None else certificate_font()
    missing = face.missing(text)
    if missing:
        raise UnrenderableText(missing, FONT_FAMILY)


def glyph_ids(font: TrueTypeFont, chars: Iterable[str]) -> list[int]:
    """Glyph ids for characters (all must be renderable)."""
    return [font.cmap[ord(c)] for c in chars]
