"""The QR encoder against the standard's rules and a real decoder, module by module."""

from __future__ import annotations

import random

import pytest
import zxingcpp
from PIL import Image

from certsvc.render import qr


def raster(symbol: qr.QrSymbol, scale: int = 4) -> Image.Image:
    """The symbol as a picture, quiet zone included, ``scale`` pixels per module."""
    size = symbol.width * scale
    img = Image.new("L", (size, size), 255)
    for y, row in enumerate(symbol.rows()):
        for x, bit in enumerate(row):
            if bit == "1":
                left, top = (x + qr.QUIET) * scale, (y + qr.QUIET) * scale
                img.paste(0, (left, top, left + scale, top + scale))
    return img


@pytest.mark.parametrize("length", [1, 17, 100, 260, 292, 293, 600])
def test_symbols_decode_to_the_same_bytes(length: int) -> None:
    data = bytes(random.Random(length).randrange(33, 127) for _ in range(length))
    symbol = qr.encode(data)
    found = zxingcpp.read_barcodes(raster(symbol), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [r.bytes for r in found] == [data]
    assert found[0].ec_level == "Q"


def test_smallest_version_at_level_q() -> None:
    # Byte-mode capacity at level Q: version 15 holds 292 bytes, version 16 holds 322.
    assert qr.encode(b"x" * 292).version == 15
    assert qr.encode(b"x" * 293).version == 16
    assert qr.encode(b"x" * 11).version == 1
    assert qr.encode(b"x" * 12).version == 2


def naive_penalty(modules: list[str]) -> int:
    """ISO/IEC 18004 §7.8.3 evaluated module by module, for comparison."""
    size = len(modules)
    cols = ["".join(r[x] for r in modules) for x in range(size)]
    score = 0
    for line in modules + cols:
        run = 1
        for i in range(1, size + 1):
            if i < size and line[i] == line[i - 1]:
                run += 1
                continue
            if run >= 5:
                score += run - 2
            run = 1
        padded = "0000" + line + "0000"
        for pattern in ("10111010000", "00001011101"):
            score += 40 * sum(padded.startswith(pattern, i) for i in range(len(padded)))
    for y in range(size - 1):
        for x in range(size - 1):
            if modules[y][x] == modules[y][x + 1] == modules[y + 1][x] == modules[y + 1][x + 1]:
                score += 3
    dark = sum(r.count("1") for r in modules)
    total = size * size
    k = (abs(dark * 20 - total * 10) + total - 1) // total - 1
    return score + 10 * k


@pytest.mark.parametrize("seed", range(3))
def test_bitwise_penalty_equals_the_module_by_module_rule(seed: int) -> None:
    data = bytes(random.Random(seed).randrange(256) for _ in range(40 + 60 * seed))
    version = qr._version_for(len(data))
    layout = qr._layout(version)
    symbol = qr.encode(data)
    assert qr._penalty(symbol.bits, layout) == naive_penalty(symbol.rows())
    # and the chosen mask is the cheapest of the eight
    base = symbol.bits ^ layout.masks[symbol.mask]
    base &= ~layout.formats[symbol.mask]
    scores = [qr._penalty((base ^ layout.masks[m]) | layout.formats[m], layout) for m in range(8)]
    assert scores[symbol.mask] == min(scores)


def test_path_covers_exactly_the_dark_modules_with_merged_runs() -> None:
    symbol = qr.encode(b"https://cert.example.cn/v/" + b"A1b2-_" * 40)
    painted: set[tuple[int, int]] = set()
    lines = qr.path_operators(symbol).splitlines()
    for line in lines:
        x, y, w, h, op = line.split()
        assert op == "re" and h == "1"
        cells = {(int(x) - qr.QUIET + i, int(y) - qr.QUIET) for i in range(int(w))}
        assert not cells & painted
        painted |= cells
    dark = {(x, y) for y, r in enumerate(symbol.rows()) for x, c in enumerate(r) if c == "1"}
    assert painted == dark
    runs = sum(len([run for run in row.split("0") if run]) for row in symbol.rows())
    assert len(lines) == runs  # one rectangle per horizontal run, none split


def test_data_too_long_for_any_version() -> None:
    with pytest.raises(Exception, match="do not fit"):
        qr.encode(b"x" * 2000)
