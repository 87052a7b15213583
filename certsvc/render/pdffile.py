"""Finishing a PDF from reportlab with pypdf: the text layer of characters beyond the BMP,
and the embedded signed record.

reportlab (5.1) draws a character beyond the Basic Multilingual Plane — 𠮷 U+20BB7, 𡌶
U+21336, names written with CJK Extension B — with the right glyph, but its ToUnicode CMap
writes the code point as five hex digits (``<20BB7>``), which is not UTF-16BE: readers take
``20BB`` and a copied or searched name comes out wrong. :func:`finish` rewrites such entries
as the UTF-16 surrogate pair the PDF specification asks for (``<D842DFB7>``), through pypdf's
public stream API, and attaches the files a single-certificate PDF carries.

The output is deterministic: pypdf keeps reportlab's content-derived file ``/ID`` and adds no
time stamps, so the same record still gives the same bytes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

_BEYOND_BMP = re.compile(rb"<([0-9A-Fa-f]{5,6})>")


def utf16_hex(match: re.Match[bytes]) -> bytes:
    """A CMap destination ``<XXXXX>`` (a code point above U+FFFF) as its UTF-16BE hex."""
    code = int(match.group(1), 16)
    return b"<" + chr(code).encode("utf-16-be").hex().upper().encode() + b">"


def fix_to_unicode(cmap: bytes) -> bytes:
    """A ToUnicode CMap with every code point beyond the BMP written as a surrogate pair."""
    out = []
    for line in cmap.split(b"\n"):
        # Only destinations: in "<src> <dst>" lines the source code is 2 or 4 digits.
        parts = line.split(b" ", 1)
        if len(parts) == 2 and parts[0].startswith(b"<"):
            line = parts[0] + b" " + _BEYOND_BMP.sub(utf16_hex, parts[1])
        out.append(line)
    return b"\n".join(out)


def finish(pdf: bytes, attachments: Sequence[tuple[str, bytes]]) -> bytes:
    """``pdf`` with its ToUnicode CMaps repaired and ``attachments`` (name, data) embedded."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, StreamObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    seen: set[int] = set()
    for page in writer.pages:
        resources = page.get("/Resources")
        fonts = resources.get_object().get("/Font") if resources is not None else None
        if fonts is None:
            continue
        for ref in fonts.get_object().values():
            font = ref.get_object()
            assert isinstance(font, DictionaryObject)
            to_unicode = font.get(NameObject("/ToUnicode"))
            if to_unicode is None:
                continue
            stream = to_unicode.get_object()
            assert isinstance(stream, StreamObject)
            if id(stream) in seen:
                continue
            seen.add(id(stream))
            data = stream.get_data()
            fixed = fix_to_unicode(data)
            if fixed != data:
                stream.set_data(fixed)
    for name, data in sorted(attachments):
        writer.add_attachment(name, data)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
