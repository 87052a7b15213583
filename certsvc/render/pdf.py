"""A small PDF 1.7 writer: numbered objects, Flate streams, a classic xref table.

Certificates need a handful of object kinds (page, content stream, fonts, images, embedded
files, metadata), so certsvc writes them itself instead of going through a general layout
engine: reportlab spends 2.4 ms on an empty page and ~28 ms once a CJK TrueType subset is in
it, against a budget of 3.3 ms per certificate. Everything written is a function of the input:
no clock, no random IDs; the trailer ``/ID`` is a digest of the document body.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import lru_cache

import deflate

#: Flate level for content streams written per document. Streams are compressed with
#: libdeflate (through the ``deflate`` package), which writes standard zlib/Flate data: at
#: level 6 it is 2.5–3× faster than zlib's level 6 on our content streams and its output is
#: ~7% smaller; level 5 is ~15% faster again for 40 more bytes on a certificate page.
COMPRESSION = 5
#: Level for per-document streams that barely compress at any level: font programs (glyph
#: outlines) and base64url attachments. Level 1 costs ~170 bytes on a certificate against
#: level 6, in half the time.
COMPRESSION_FAST = 1
#: Level for objects made once per process and reused (the static font subset, seals): the
#: slowest, smallest setting, paid once.
COMPRESSION_ONCE = 12


@lru_cache(maxsize=8192)
def num(value: float) -> str:
    """A number as PDF writes it: integers bare, others with at most 3 decimals.

    Memoised: a page writes the same coordinates and sizes on every certificate.
    """
    if value == int(value):
        return str(int(value))
    text = f"{value:.3f}".rstrip("0")
    return "0" if text in ("-0.", "0.", "-0") else text


def text_string(value: str) -> bytes:
    """A PDF text string: literal for printable ASCII, UTF-16BE with BOM otherwise."""
    if value.isascii() and value.isprintable():
        escaped = value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return b"(" + escaped.encode("ascii") + b")"
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode() + b">"


def name(value: str) -> bytes:
    """A PDF name object, escaping what names may not hold literally."""
    out = ["/"]
    for ch in value:
        if (ch.isascii() and ch.isalnum()) or ch in "-+._":
            out.append(ch)
        else:
            out.extend(f"#{b:02X}" for b in ch.encode())
    return "".join(out).encode()


def date_string(day: dt.date) -> bytes:
    """A PDF date for midnight China Standard Time on ``day``, as a literal string."""
    return f"(D:{day:%Y%m%d}000000+08'00')".encode()


class PdfWriter:
    """Collects objects; :meth:`finish` lays them out with an xref table and trailer."""

    def __init__(self) -> None:
        self._objects: list[bytes | None] = []

    def reserve(self) -> int:
        """A number for an object written later with :meth:`put`."""
        self._objects.append(None)
        return len(self._objects)

    def put(self, number: int, body: bytes) -> int:
        self._objects[number - 1] = body
        return number

    def add(self, body: bytes) -> int:
        """Add an object; returns its number."""
        self._objects.append(body)
        return len(self._objects)

    def add_stream(
        self, entries: bytes, data: bytes, *, compress: bool = True, level: int = COMPRESSION
    ) -> int:
        """Add a stream object; ``entries`` are extra dictionary entries."""
        return self.add(stream(entries, data, compress=compress, level=level))

    def finish(self, root: int, info: int) -> bytes:
        """The whole file. Every object must have been put."""
        parts = [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"]
        offsets = []
        position = len(parts[0])
        for number, body in enumerate(self._objects, start=1):
            if body is None:
                raise RuntimeError(f"PDF object {number} was reserved but never written")
            chunk = b"%d 0 obj\n%s\nendobj\n" % (number, body)
            offsets.append(position)
            parts.append(chunk)
            position += len(chunk)
        # 16 bytes, as MD5 gave; SHA-256 is ~2x faster than MD5 on CPUs with SHA extensions.
        digest = hashlib.sha256(b"".join(parts)).hexdigest()[:32].upper()
        xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)]
        xref += [b"%010d 00000 n \n" % off for off in offsets]
        parts += xref
        parts.append(
            b"trailer\n<</Size %d/Root %d 0 R/Info %d 0 R/ID[<%s><%s>]>>\nstartxref\n%d\n%%%%EOF\n"
            % (len(offsets) + 1, root, info, digest.encode(), digest.encode(), position)
        )
        return b"".join(parts)


def stream(
    entries: bytes, data: bytes, *, compress: bool = True, level: int = COMPRESSION
) -> bytes:
    """The body of a stream object (for callers that cache finished objects).

    ``level`` is the libdeflate level (1–12); objects cached for the life of the process
    use :data:`COMPRESSION_ONCE`.
    """
    if compress:
        packed = deflate.zlib_compress(data, level)
        return b"<<%s/Filter/FlateDecode/Length %d>>\nstream\n%s\nendstream" % (
            entries,
            len(packed),
            packed,
        )
    return b"<<%s/Length %d>>\nstream\n%s\nendstream" % (entries, len(data), data)
