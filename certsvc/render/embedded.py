"""Reading the signed record back out of a certificate PDF, for offline verification.

Every single-certificate PDF carries two embedded files (PDF attachments, also listed as
associated files): ``certificate.vc.jwt``, the signed record (W3C VC 2.0 as vc+jwt), and
``qr-token.jws``, the compact JWS the QR holds. ``certsvc verify cert.pdf`` reads them with
:func:`read_embedded` and checks their signatures against a JWKS without the network.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from certsvc.errors import NoEmbeddedRecord
from certsvc.i18n import N_
from certsvc.render.certificate import RECORD_FILE, TOKEN_FILE


@dataclass(frozen=True)
class EmbeddedRecord:
    """What a certificate PDF carries: the QR token and the signed record, both unverified."""

    token: str
    record: str


def read_embedded(pdf_bytes: bytes) -> EmbeddedRecord:
    """The QR token and signed record embedded in a certificate PDF.

    Raises NoEmbeddedRecord when the bytes are not a PDF or the PDF has no certsvc record
    (a print file of many certificates, or a PDF re-saved by a tool that drops attachments).
    Nothing here is verified: pass both to the verifier.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not pdf_bytes.lstrip()[:5] == b"%PDF-":
        raise NoEmbeddedRecord(N_("the file is not a PDF"))
    try:
        attachments = PdfReader(io.BytesIO(pdf_bytes)).attachments
        token = attachments.get(TOKEN_FILE, [])
        record = attachments.get(RECORD_FILE, [])
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise NoEmbeddedRecord(N_("the PDF cannot be read: {exc}"), exc=exc) from exc
    if len(token) != 1 or len(record) != 1:
        raise NoEmbeddedRecord(
            N_(
                "the PDF carries no certsvc record (attachments {token_file} and "
                "{record_file}); verify it by scanning its QR code instead"
            ),
            token_file=TOKEN_FILE,
            record_file=RECORD_FILE,
        )
    try:
        return EmbeddedRecord(token[0].decode("ascii").strip(), record[0].decode("ascii").strip())
    except UnicodeDecodeError as exc:
        raise NoEmbeddedRecord(N_("the embedded certsvc record is not a compact JWS")) from exc
