"""Certificate PDFs: the printed face, its vector QR, the seal, and reading a PDF back.

Public interface:

- :func:`render_certificate` — one certificate → PDF bytes (A4, bilingual, fonts embedded,
  signed record and QR token attached, byte-identical for the same record);
- :func:`render_merged` — many certificates → one print file;
- :func:`face_from_certificate` — a stored :class:`~certsvc.models.Certificate` and its
  holder's decrypted ID number → the :class:`CertificateFace` to render (a revoked or
  superseded one carries a :class:`StatusMark`, printed across the page);
- :func:`check_renderable` — raise :class:`~certsvc.errors.UnrenderableText` for text the
  certificate font cannot print (issuance calls it);
- :func:`ensure_font` — load the font at start-up, :class:`~certsvc.errors.FontMissing` if
  the Debian package is not installed;
- :func:`load_seal` — an uploaded PNG/SVG seal, ready to render;
- :func:`read_embedded` — the token and record embedded in a certificate PDF;
- :mod:`certsvc.render.batch` — faces from the database; batches as a streamed ZIP or a
  merged PDF, rendered on every core.

Pages are drawn with reportlab; the QR matrix comes from qrcode
(:mod:`certsvc.render.qrsymbol`); :mod:`certsvc.render.pdffile` finishes each file with pypdf
(attachments, and the text layer of characters beyond the BMP).
"""

from __future__ import annotations

from certsvc.render.certificate import (
    CertificateFace,
    Standing,
    StatusMark,
    face_from_certificate,
    render_certificate,
    render_merged,
)
from certsvc.render.embedded import EmbeddedRecord, read_embedded
from certsvc.render.seal import UploadedSeal, load_seal
from certsvc.render.typeface import FONT_PACKAGE, certificate_font, check_renderable


def ensure_font() -> None:
    """Load the certificate font now (app or CLI start-up); FontMissing names the package."""
    certificate_font()


__all__ = [
    "FONT_PACKAGE",
    "CertificateFace",
    "EmbeddedRecord",
    "Standing",
    "StatusMark",
    "UploadedSeal",
    "check_renderable",
    "ensure_font",
    "face_from_certificate",
    "load_seal",
    "read_embedded",
    "render_certificate",
    "render_merged",
]
