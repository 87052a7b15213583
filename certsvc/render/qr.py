"""QR Code (ISO/IEC 18004) encoder for the verify URL: byte mode, error correction Q.

Why our own: the pure-Python encoders on PyPI (qrcode, segno) take 45–55 ms per symbol of this
size, mostly scoring the eight masks module by module — fifteen times the whole time budget of
a certificate. Here the symbol is one Python integer (one bit per module, with the quiet zone
around it), so masking is one XOR and every penalty rule is a handful of shifts, ANDs and
``bit_count()`` calls over all modules at once; Reed–Solomon uses a 256-entry table of
shifted remainders per block length. A version-15 symbol takes well under a millisecond.

The tables and layout rules follow the standard and Project Nayuki's reference implementation
(MIT); tests decode the printed symbol with zxing-cpp and zbar.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from certsvc.errors import InvalidInput

QUIET = 4
"""Light modules around the symbol (the standard's minimum)."""

# Error correction level Q: codewords per block and number of blocks, versions 1..40 (index 0
# unused). ISO/IEC 18004:2015 table 9.
_ECC_PER_BLOCK = (-1, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28,
                  26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
                  30, 30)  # fmt: skip
_BLOCKS = (-1, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25,
           27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68)  # fmt: skip
_FORMAT_ECL_Q = 3


@dataclass(frozen=True)
class QrSymbol:
    """An encoded symbol: ``size`` × ``size`` modules, dark modules as bits of ``bits``.

    Bit ``(y + QUIET) * width + (x + QUIET)`` is module (x, y), x to the right, y down; the
    quiet zone is part of the grid (``width = size + 2 * QUIET``) and always light.
    """

    version: int
    mask: int
    size: int
    bits: int

    @property
    def width(self) -> int:
        """Modules across, quiet zone included."""
        return self.size + 2 * QUIET

    def is_dark(self, x: int, y: int) -> bool:
        """Whether module (x, y) of the symbol proper is dark."""
        return bool(self.bits >> ((y + QUIET) * self.width + x + QUIET) & 1)

    def rows(self) -> list[str]:
        """Each row of the symbol proper as a string of ``0``/``1``, left to right."""
        w = self.width
        full = (1 << self.size) - 1
        return [
            format((self.bits >> ((y + QUIET) * w + QUIET)) & full, f"0{self.size}b")[::-1]
            for y in range(self.size)
        ]


def encode(data: bytes) -> QrSymbol:
    """The smallest symbol at level Q holding ``data`` in byte mode, with the best mask."""
    version = _version_for(len(data))
    layout = _layout(version)
    codewords = _add_ecc(_data_codewords(data, version), version)
    stream = format(int.from_bytes(codewords, "big"), f"0{8 * len(codewords)}b").encode()
    grid = bytearray(layout.blank)
    for to, source in layout.place:
        grid[to] = stream[source]
    base = int(grid, 2) | layout.function
    best: tuple[int, int, int] | None = None
    for mask in range(8):
        bits = (base ^ layout.masks[mask]) | layout.formats[mask]
        score = _penalty(bits, layout)
        if best is None or score < best[0]:
            best = (score, mask, bits)
    assert best is not None
    return QrSymbol(version, best[1], layout.size, best[2])


def path_operators(symbol: QrSymbol) -> str:
    """PDF path operators drawing every dark module, in module units, as one path.

    Each horizontal run of dark modules is one rectangle (``x y w 1 re``), the quiet zone
    included in the coordinates; y grows downwards, so draw under a transform that flips it,
    and fill the path once (``f``). Rows are read eight modules at a time through a memoised
    table, so the cost is per byte of the row rather than per run.
    """
    w = symbol.width
    full = (1 << symbol.size) - 1
    chunks = (symbol.size + 7) // 8
    out: list[str] = []
    for y in range(symbol.size):
        row = (symbol.bits >> ((y + QUIET) * w + QUIET)) & full
        carry = 0
        parts: list[str] = []
        for k, byte in enumerate(row.to_bytes(chunks, "little")):
            text, carry = _chunk_runs(k, byte, carry)
            parts.append(text)
        if carry:
            parts.append(f"{symbol.size - carry + QUIET} Y {carry} 1 re\n")
        out.append("".join(parts).replace("Y", str(y + QUIET)))
    return "".join(out)


@cache
def _chunk_runs(k: int, byte: int, carry: int) -> tuple[str, int]:
    """Rectangles for the runs that end inside chunk ``k`` of a row (modules 8k..8k+7).

    ``carry`` is the length of a dark run reaching this chunk from the left; the result's
    second item is the length of the run that continues into the next chunk. ``Y`` stands for
    the row's y coordinate.
    """
    start: int | None = 8 * k - carry if carry else None
    ops: list[str] = []
    for i in range(8):
        x = 8 * k + i
        if byte >> i & 1:
            if start is None:
                start = x
        elif start is not None:
            ops.append(f"{start + QUIET} Y {x - start} 1 re\n")
            start = None
    return "".join(ops), (8 * k + 8 - start if start is not None else 0)


def _version_for(length: int) -> int:
    for version in range(1, 41):
        count_bits = 8 if version <= 9 else 16
        if 4 + count_bits + 8 * length <= 8 * _data_capacity(version):
            return version
    raise InvalidInput(f"{length} bytes do not fit in a QR code at level Q")


def _raw_modules(version: int) -> int:
    result = (16 * version + 128) * version + 64
    if version >= 2:
        n = version // 7 + 2
        result -= (25 * n - 10) * n - 55
        if version >= 7:
            result -= 36
    return result


def _data_capacity(version: int) -> int:
    return _raw_modules(version) // 8 - _ECC_PER_BLOCK[version] * _BLOCKS[version]


def _data_codewords(data: bytes, version: int) -> bytes:
    count_bits = 8 if version <= 9 else 16
    capacity = _data_capacity(version) * 8
    bits = "0100" + format(len(data), f"0{count_bits}b")
    bits += format(int.from_bytes(data, "big"), f"0{8 * len(data)}b") if data else ""
    bits += "0" * min(4, capacity - len(bits))
    bits += "0" * (-len(bits) % 8)
    out = int(bits, 2).to_bytes(len(bits) // 8, "big")
    pad = bytes((0xEC, 0x11)) * capacity
    return out + pad[: capacity // 8 - len(out)]


def _gf_mul(x: int, y: int) -> int:
    z = 0
    for i in reversed(range(8)):
        z = (z << 1) ^ ((z >> 7) * 0x11D)
        z ^= ((y >> i) & 1) * x
    return z


@cache
def _rs_table(degree: int) -> tuple[int, ...]:
    """For each factor byte f: the divisor times f, as one big-endian integer."""
    divisor = [0] * (degree - 1) + [1]
    root = 1
    for _ in range(degree):
        for j in range(degree):
            divisor[j] = _gf_mul(divisor[j], root)
            if j + 1 < degree:
                divisor[j] ^= divisor[j + 1]
        root = _gf_mul(root, 0x02)
    return tuple(int.from_bytes(bytes(_gf_mul(c, f) for c in divisor), "big") for f in range(256))


def _rs_remainder(data: bytes, degree: int) -> bytes:
    table = _rs_table(degree)
    full = (1 << (8 * degree)) - 1
    top = 8 * (degree - 1)
    rem = 0
    for b in data:
        rem = ((rem << 8) & full) ^ table[b ^ (rem >> top)]
    return rem.to_bytes(degree, "big")


def _add_ecc(data: bytes, version: int) -> bytes:
    """Split ``data`` into blocks, append each block's ECC, and interleave (ISO 18004 §7.6).

    Blocks are laid out with equal length (short blocks padded by one byte) so interleaving is
    one slice assignment per block; the padding bytes, which sit side by side after
    interleaving, are then cut out in one piece.
    """
    blocks_n = _BLOCKS[version]
    ecc_len = _ECC_PER_BLOCK[version]
    raw = _raw_modules(version) // 8
    short_n = blocks_n - raw % blocks_n
    short_len = raw // blocks_n
    block_len = short_len + 1
    out = bytearray(blocks_n * block_len)
    k = 0
    for i in range(blocks_n):
        size = short_len - ecc_len + (0 if i < short_n else 1)
        chunk = data[k : k + size]
        k += size
        pad = b"\0" if i < short_n else b""
        out[i::blocks_n] = chunk + pad + _rs_remainder(chunk, ecc_len)
    gap = (short_len - ecc_len) * blocks_n
    del out[gap : gap + short_n]
    return bytes(out)


@dataclass(frozen=True)
class _Layout:
    """Everything about a version that does not depend on the data, computed once."""

    size: int
    width: int
    function: int  # dark function modules (format areas left light)
    masks: tuple[int, ...]  # per mask: mask bits over data modules only
    formats: tuple[int, ...]  # per mask: dark format-information modules
    #: The grid as ASCII binary digits, most significant (last module) first, all light.
    blank: bytes
    #: Placement of the data bit string (ASCII digits) into ``blank``: ``grid[to] =
    #: bits[source]`` for each pair of slices. Runs of a column within a two-column strip
    #: are arithmetic progressions on both sides, so ~300 slice copies place ~5000 bits.
    place: tuple[tuple[slice, slice], ...]
    symbol: int  # every module of the symbol proper
    grid: int  # every module, quiet zone included
    across: int  # modules whose right-hand neighbour is also in the symbol
    down: int  # modules whose neighbour below is also in the symbol


@cache
def _layout(version: int) -> _Layout:
    size = version * 4 + 17
    width = size + 2 * QUIET
    is_function = [[False] * size for _ in range(size)]
    dark: set[tuple[int, int]] = set()

    def put(x: int, y: int, on: bool) -> None:
        is_function[y][x] = True
        if on:
            dark.add((x, y))

    for i in range(size):
        put(6, i, i % 2 == 0)
        put(i, 6, i % 2 == 0)
    for cx, cy in ((3, 3), (size - 4, 3), (3, size - 4)):
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                x, y = cx + dx, cy + dy
                if 0 <= x < size and 0 <= y < size:
                    put(x, y, max(abs(dx), abs(dy)) not in (2, 4))
    positions = _alignment_positions(version, size)
    last = len(positions) - 1
    for i, ax in enumerate(positions):
        for j, ay in enumerate(positions):
            if (i, j) in ((0, 0), (0, last), (last, 0)):
                continue
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    put(ax + dx, ay + dy, max(abs(dx), abs(dy)) != 1)
    format_cells = _format_cells(size)
    for x, y in format_cells:
        put(x, y, False)
    put(8, size - 8, True)  # the dark module
    if version >= 7:
        rem = version
        for _ in range(12):
            rem = (rem << 1) ^ ((rem >> 11) * 0x1F25)
        info = version << 12 | rem
        for i in range(18):
            a, b = size - 11 + i % 3, i // 3
            put(a, b, bool(info >> i & 1))
            put(b, a, bool(info >> i & 1))

    def pos(x: int, y: int) -> int:
        return (y + QUIET) * width + x + QUIET

    # Data modules in placement order (two-column zigzag from the bottom right).
    order: list[tuple[int, int]] = []
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1
        upward = ((right + 1) & 2) == 0
        for vert in range(size):
            y = size - 1 - vert if upward else vert
            for x in (right, right - 1):
                if not is_function[y][x]:
                    order.append((x, y))
    total = width * width
    data_bits = 8 * (_raw_modules(version) // 8)  # the remainder bits after them stay light
    # Grid string index (most significant first) of each data bit, in stream order.
    target = [total - 1 - pos(x, y) for x, y in order[:data_bits]]
    place = _slice_runs(target)

    masks = []
    for m in range(8):
        bits = 0
        for x, y in order:
            if _mask_bit(m, x, y):
                bits |= 1 << pos(x, y)
        masks.append(bits)
    formats = []
    for m in range(8):
        value = _format_bits(m)
        bits = 0
        for i, (x, y) in enumerate(format_cells):
            if value >> (i % 15) & 1:
                bits |= 1 << pos(x, y)
        formats.append(bits)
    function = 0
    for x, y in dark:
        function |= 1 << pos(x, y)
    symbol = 0
    for y in range(size):
        symbol |= ((1 << size) - 1) << pos(0, y)
    return _Layout(
        size,
        width,
        function,
        tuple(masks),
        tuple(formats),
        b"0" * total,
        place,
        symbol,
        (1 << total) - 1,
        symbol & symbol >> 1,
        symbol & symbol >> width,
    )


def _slice_runs(target: list[int]) -> tuple[tuple[slice, slice], ...]:
    """Cover ``grid[target[i]] = bits[i]`` (all i) with runs of slice copies.

    A run takes every second bit (the two modules of a row in a strip alternate in the
    stream) while the target moves by a constant step; targets run in increasing order.
    """
    runs: list[tuple[slice, slice]] = []
    done = [False] * len(target)
    for first in range(len(target)):
        if done[first]:
            continue
        done[first] = True
        last = first
        step = 0
        nxt = first + 2
        while nxt < len(target) and not done[nxt]:
            delta = target[nxt] - target[last]
            if step == 0 and delta != 0:
                step = delta
            elif delta != step:
                break
            done[nxt] = True
            last = nxt
            nxt += 2
        if step >= 0:
            to = slice(target[first], target[last] + 1, step or 1)
            source = slice(first, last + 1, 2)
        else:  # targets decrease: copy the same run back to front
            to = slice(target[last], target[first] + 1, -step)
            source = slice(last, first - 1 if first else None, -2)
        runs.append((to, source))
    return tuple(runs)


def _alignment_positions(version: int, size: int) -> list[int]:
    if version == 1:
        return []
    n = version // 7 + 2
    step = (version * 8 + n * 3 + 5) // (n * 4 - 4) * 2
    return sorted([size - 7 - i * step for i in range(n - 1)] + [6])


def _format_cells(size: int) -> list[tuple[int, int]]:
    """The two copies of the 15 format-information cells; cell i carries bit i % 15."""
    first = [(8, i) for i in range(6)] + [(8, 7), (8, 8), (7, 8)]
    first += [(14 - i, 8) for i in range(9, 15)]
    second = [(size - 1 - i, 8) for i in range(8)] + [(8, size - 15 + i) for i in range(8, 15)]
    return first + second


def _format_bits(mask: int) -> int:
    data = _FORMAT_ECL_Q << 3 | mask
    rem = data
    for _ in range(10):
        rem = (rem << 1) ^ ((rem >> 9) * 0x537)
    return (data << 10 | rem) ^ 0x5412


def _mask_bit(mask: int, x: int, y: int) -> bool:
    match mask:
        case 0:
            return (x + y) % 2 == 0
        case 1:
            return y % 2 == 0
        case 2:
            return x % 3 == 0
        case 3:
            return (x + y) % 3 == 0
        case 4:
            return (x // 3 + y // 2) % 2 == 0
        case 5:
            return x * y % 2 + x * y % 3 == 0
        case 6:
            return (x * y % 2 + x * y % 3) % 2 == 0
        case _:
            return ((x + y) % 2 + x * y % 3) % 2 == 0


def _penalty(dark: int, layout: _Layout) -> int:
    """ISO/IEC 18004 §7.8.3 mask penalty, N1..N4, over the whole grid at once.

    Runs and blocks do not care which colour they are, so both colours are scored at once
    from ``same``: the modules whose neighbour (right, or below) has their colour.
    """
    w = layout.width
    light_quiet = ~dark & layout.grid  # the quiet zone counts as light for finder-like runs
    score = 0
    same_across = same_down = 0
    for step, pairs in ((1, layout.across), (w, layout.down)):  # along rows, along columns
        same = ~(dark ^ dark >> step) & pairs
        same2 = same & same >> step
        run5 = same2 & same2 >> 2 * step  # five modules of one colour from here
        # A run of n >= 5 scores n - 2: n - 4 positions in run5, plus 2 for its one end.
        score += run5.bit_count() + 2 * (run5 & ~(run5 >> step)).bit_count()
        if step == 1:
            same_across = same
        else:
            same_down = same
        # Finder-like patterns 1:1:3:1:1 with four light modules after (10111010000) or
        # before (00001011101): the shared core 1011101, then four lights on either side.
        dark_light = dark & light_quiet >> step  # 10 from here
        core = dark_light & dark >> 2 * step & dark >> 3 * step & dark_light >> 4 * step
        core &= dark >> 6 * step
        l2 = light_quiet & light_quiet >> step
        four = l2 & l2 >> 2 * step
        after, before = core & four >> 7 * step, four & core >> 4 * step
        score += 40 * (after.bit_count() + before.bit_count())
    # 2x2 blocks of one colour: same as the right neighbour, in this row and the next, and
    # same as the module below.
    score += 3 * (same_across & same_across >> w & same_down).bit_count()
    total = layout.size * layout.size
    k = (abs(dark.bit_count() * 20 - total * 10) + total - 1) // total - 1
    return score + 10 * k
