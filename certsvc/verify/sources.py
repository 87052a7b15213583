"""Finding the QR token in what a person hands to ``certsvc verify``.

Accepted: the token itself; the QR's URL (``https://…/v/<token>``); a text file holding
either; an image (PNG, JPEG, …) of the QR code, decoded with zxing-cpp; a certificate PDF.
For a PDF, :func:`certsvc.render.read_embedded` reads the token *and* the signed record
embedded in the file; a PDF without them (a scan, a re-saved file) has every page rendered
with pypdfium2 and its QR code decoded. Decoders are imported only when needed.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from certsvc.errors import BadFile, CertsvcError, InvalidInput
from certsvc.i18n import N_, plural

__all__ = ["Presented", "read_target", "token_from_text", "url_host"]

#: A compact JWS as certsvc writes it: three base64url segments.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$")
_MAX_FILE = 50 * 1024 * 1024
_PDF_SCALE = 4  # 288 dpi: QR modules of a printed certificate come out several pixels wide
_MAX_PDF_PAGES = 10


@dataclass(frozen=True)
class Presented:
    """A token found in the input, and the signed record when the input carried one."""

    token: str
    source: str  # token | url | text file | image | pdf (embedded) | pdf (QR)
    record: str | None = None
    #: The host (and port) of the URL the token came in, lower-case; None for a bare token.
    url_host: str | None = None


def token_from_text(text: str) -> str:
    """The token in *text*: a compact JWS or a URL whose path has ``/v/<token>``.

    Anything else is returned stripped, for the verifier to call it malformed (a damaged
    token is a verification result, not a usage error).
    """
    text = text.strip()
    if text.lower().startswith(("http://", "https://")):
        path = urlsplit(text).path
        marker = path.rfind("/v/")
        if marker < 0:
            raise InvalidInput(
                N_(
                    "the URL {text} is not a certificate verification URL (…/v/<token>); give "
                    "the URL from the certificate's QR code"
                ),
                text=text[:80],
            )
        return unquote(path[marker + 3 :]).strip("/")
    return text


def url_host(text: str) -> str | None:
    """The host (with its port, if any) of an http(s) URL in *text*, lower-case; else None.

    ``"https://Cert.Example.cn/v/eyJ…"`` gives ``"cert.example.cn"``; a bare token gives None.
    """
    text = text.strip()
    if not text.lower().startswith(("http://", "https://")):
        return None
    return urlsplit(text).netloc.rpartition("@")[2].lower() or None


def read_target(target: str) -> Presented:
    """Read *target* (token, URL or file path) into the token to verify."""
    path = Path(target)
    looks_like_file = not _TOKEN.match(target.strip()) and "://" not in target
    if looks_like_file and _is_file(path):
        return _read_file(path)
    if looks_like_file and path.suffix.lower() in {".pdf", ".png", ".jpg", ".jpeg", ".txt"}:
        raise InvalidInput(N_("no such file: {target}"), target=target)
    source = "url" if "://" in target else "token"
    return Presented(token_from_text(target), source, url_host=url_host(target))


def _is_file(path: Path) -> bool:
    """Whether *path* names a file; False for an argument that cannot be a path at all.

    A damaged token is no file name, but the system may refuse to look it up rather than
    say it is missing (``File name too long`` past 255 characters): it is then verified as
    a token, and reported malformed, not a traceback.
    """
    try:
        return path.is_file()
    except OSError:
        return False


def _read_file(path: Path) -> Presented:
    try:
        if path.stat().st_size > _MAX_FILE:
            raise BadFile(
                N_("{path} is larger than {max_file} MB; give the certificate"),
                path=path,
                max_file=_MAX_FILE // 2**20,
            )
        data = path.read_bytes()
    except OSError as exc:
        raise BadFile(
            N_("cannot read {path}: {strerror}"), path=path, strerror=exc.strerror
        ) from exc
    if data.startswith(b"%PDF-"):
        return read_pdf(data, str(path))
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff" or data[:4] == b"RIFF":
        token, host = _one_token(_decode_image_bytes(data, str(path)), str(path))
        return Presented(token, "image", url_host=host)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadFile(
            N_(
                "{path} is neither a PDF, an image nor text; give the certificate PDF, a "
                "photo of its QR code, or the token"
            ),
            path=path,
        ) from exc
    return Presented(token_from_text(text), "text file", url_host=url_host(text))


def _decode_image_bytes(data: bytes, name: str) -> list[str]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return decode_qr(image.convert("L"))
    except (UnidentifiedImageError, OSError) as exc:
        raise BadFile(
            N_("{name} is not an image that can be read: {exc}"), name=name, exc=exc
        ) from exc


def decode_qr(image: Any) -> list[str]:
    """The texts of every QR code in a PIL image (zxing-cpp)."""
    import zxingcpp

    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.QRCode))
    return [b.text for b in found if b.valid and b.text]


def _one_token(texts: list[str], name: str) -> tuple[str, str | None]:
    """The single certsvc token among decoded QR *texts*, and the host of its URL."""
    tokens = {token_from_text(t) for t in texts if "/v/" in t or _TOKEN.match(t.strip())}
    if not tokens and texts:
        raise BadFile(
            plural(
                "{name}: found a QR code that is not a certsvc code ({text!r}); photograph "
                "the certificate's QR code straight on, sharp and with its white margin",
                "{name}: found {n} QR codes that are not certsvc codes ({text!r}, …); "
                "photograph the certificate's QR code straight on, sharp and with its white "
                "margin",
                len(texts),
                name=name,
                text=texts[0][:60],
            )
        )
    if not tokens:
        raise BadFile(
            N_(
                "{name}: found no QR code; photograph the certificate's QR code straight on, "
                "sharp and with its white margin"
            ),
            name=name,
        )
    if len(tokens) > 1:
        raise BadFile(
            N_("{name} holds {length} different certificate QR codes; give one"),
            name=name,
            length=len(tokens),
        )
    token = tokens.pop()
    hosts = sorted({url_host(t) or "" for t in texts if "/v/" in t and token_from_text(t) == token})
    return token, ",".join(h for h in hosts if h) or None


def read_pdf(data: bytes, name: str = "the PDF") -> Presented:
    """The token (and signed record) of a certificate PDF; see the module docstring."""
    from certsvc.render import read_embedded

    try:
        embedded = read_embedded(data)
    except CertsvcError:  # no embedded record (e.g. a scan): read the printed QR
        pass
    else:
        if embedded.token:
            return Presented(embedded.token, "pdf (embedded)", embedded.record or None)
    token, host = _one_token(_pdf_qr_texts(data, name), name)
    return Presented(token, "pdf (QR)", url_host=host)


def _pdf_qr_texts(data: bytes, name: str) -> list[str]:
    import pypdfium2  # type: ignore[import-untyped]

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise BadFile(N_("{name} is not a readable PDF: {exc}"), name=name, exc=exc) from exc
    try:
        texts: list[str] = []
        for index in range(min(len(pdf), _MAX_PDF_PAGES)):
            page = pdf[index]
            bitmap = page.render(scale=_PDF_SCALE, grayscale=True)
            texts.extend(decode_qr(bitmap.to_pil()))
            if texts:
                break
        return texts
    finally:
        pdf.close()
