"""Font subsets and typesetting: the pieces certificate PDFs are built from, checked directly."""

from __future__ import annotations

import struct

import pytest

from certsvc.render.font import TrueTypeFont, _checksum, certificate_font
from certsvc.render.text import TextRun, Typesetter, make_subset


@pytest.fixture(scope="module")
def font() -> TrueTypeFont:
    return certificate_font()


def fresh(font: TrueTypeFont) -> TrueTypeFont:
    """Another instance of the same face, with empty per-font caches."""
    return TrueTypeFont.parse(font.data)


def composites(font: TrueTypeFont, count: int) -> list[int]:
    found = []
    for gid in range(1, font.num_glyphs):
        raw = font.glyph(gid)
        if len(raw) >= 10 and struct.unpack_from(">h", raw)[0] < 0:
            found.append(gid)
            if len(found) == count:
                break
    return found


def check_font_file(program: bytes) -> None:
    """Every table checksum, and head's checkSumAdjustment, as the OpenType spec defines."""
    assert _checksum(program) == 0xB1B0AFBA
    (count,) = struct.unpack_from(">H", program, 4)
    for i in range(count):
        tag, table_sum, offset, length = struct.unpack_from(">4sIII", program, 12 + 16 * i)
        data = program[offset : offset + length]
        if tag == b"head":
            data = data[:8] + bytes(4) + data[12:]
        assert _checksum(data) == table_sum, tag


def test_subset_checksums_hold_with_cached_glyph_sums(font: TrueTypeFont) -> None:
    gids = [font.cmap[ord(c)] for c in "阿依古丽·买买提南京测试装备集团ABCxyz019"]
    parts = composites(font, 2)
    assert parts, "the face has composite glyphs to exercise renumbering"
    warm = fresh(font)
    first, order = warm.subset(gids + parts)
    check_font_file(first)
    assert len(order) > len(set(gids)) + 1  # composite components were pulled in
    # The glyph checksums are now cached: a second subset, and one overlapping it, come out
    # the same as from a face that has computed nothing yet.
    assert warm.subset(gids + parts) == (first, order)
    other = [*gids[5:], font.cmap[ord("赟")]]
    program, _ = warm.subset(other)
    check_font_file(program)
    assert program == fresh(font).subset(other)[0]


def test_missing_characters_are_found_after_others_were_seen(font: TrueTypeFont) -> None:
    face = fresh(font)
    assert face.missing("王堃") == []
    assert face.missing("王堃") == []  # the fast path
    assert face.missing("王😀堃\ue000😀") == ["😀", "\ue000"]
    assert face.missing("王\n") == []


def test_runs_are_set_from_the_static_subset_first_then_the_dynamic_one(
    font: TrueTypeFont,
) -> None:
    static = make_subset(font, "AB")
    dynamic = make_subset(font, "王B")
    ts = Typesetter(font, static)
    for text in ("AB", "王", "A王B", "王王A", "B王"):
        ts.place(TextRun(text, 10, 20, 12))
    lines = ts.operators(dynamic, "F1", "F2").splitlines()
    head = "BT 0 0 0 rg 1 0 0 1 10 20 Tm"
    assert lines == [
        f"{head}/F1 12 Tf<00010002>Tj ET",
        f"{head}/F2 12 Tf<0001>Tj ET",
        f"{head}/F1 12 Tf<0001>Tj/F2 12 Tf<0001>Tj/F1 12 Tf<0002>Tj ET",
        f"{head}/F2 12 Tf<00010001>Tj/F1 12 Tf<0001>Tj ET",
        f"{head}/F1 12 Tf<0002>Tj/F2 12 Tf<0001>Tj ET",  # B is in both: static wins
    ]
    assert ts.runs == []
    assert static.encode("ABBA") == "0001000200020001"
    assert static.encode("A王") is None


def test_memoised_static_lines_belong_to_their_subset(font: TrueTypeFont) -> None:
    run = TextRun("AB", 10, 20, 12)
    lines = []
    for chars in ("AB", "BA", "AB"):  # the third is a new subset with the first one's codes
        ts = Typesetter(font, make_subset(font, chars))
        ts.place(run)
        ts.place(run)  # the second time from the cache
        lines.append(ts.operators(None, "F1", "F2").splitlines())
    head = "BT 0 0 0 rg 1 0 0 1 10 20 Tm/F1 12 Tf"
    assert lines[0] == [f"{head}<00010002>Tj ET"] * 2
    assert lines[1] == [f"{head}<00020001>Tj ET"] * 2
    assert lines[2] == lines[0]
