"""The face of a certificate (证书版面) as an A4 PDF page, per the MOHRSS 2022 style notice.

Chinese first with English below every label and value; every certified field, the ID number
in full (the printed certificate is the holder's own document); the holder's photo or a
labelled 1-inch frame for it; the issuing body's seal beside — never over — the issuer's name
and date; the QR that verifies the certificate, its verify URL in text and the national query
sites. A revoked or superseded certificate is printed with a diagonal mark and a notice saying
so, so that no download of it looks like a valid certificate.

Pages are drawn with reportlab (canvas API, the face embedded as TrueType subsets, ``invariant``
so the same record gives the same bytes) from a :class:`CertificateFace` — display-ready values
taken from the stored certificate — so rendering needs no database. :mod:`certsvc.render.pdffile`
then attaches the signed record and repairs the text layer of characters beyond the BMP.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.errors import InvalidInput
from certsvc.i18n import N_
from certsvc.render import pdffile, qrsymbol
from certsvc.render.seal import UploadedSeal, draw_generated_seal, draw_uploaded_seal
from certsvc.render.typeface import (
    FONT_NAME,
    certificate_font,
    check_renderable,
    missing_characters,
)

if TYPE_CHECKING:
    from certsvc.models import Certificate

#: Dates on the page are China's (the status change of a revoked certificate).
CHINA = dt.timezone(dt.timedelta(hours=8), "UTC+8")

PAGE_W: float = float(A4[0])
PAGE_H: float = float(A4[1])
#: Points per millimetre.
MM = 72 / 25.4
Color = tuple[float, float, float]


@dataclass(frozen=True)
class Box:
    """A rectangle on the page in millimetres from the top-left corner (how one measures
    a printed sheet with a ruler)."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


#: Where the holder's 1-inch (一寸, 25 × 35 mm) photo goes: right of the first field rows.
PHOTO_BOX = Box(left=155.0, top=68.0, width=25.0, height=35.0)
#: The photo as printed: 300 dpi in the box, and a bound on the bytes it adds to a PDF.
PHOTO_PRINT_PIXELS = (295, 413)
PHOTO_PRINT_MAX_BYTES = 24 * 1024
#: The seal's square, beside the number, date and issuer rows; their values stop short of it.
SEAL_BOX = Box(left=146.0, top=163.0, width=40.0, height=40.0)
#: Printed size of one QR module. 0.75 mm (a version-16 symbol is 67 mm wide) keeps it
#: readable by zbar as well as zxing from a 100 dpi scan, or a blurred, tilted, shadowed
#: phone photo of a photocopy (tests/test_render_qr.py); at 0.6 mm zbar lost blur σ=1.5.
QR_MODULE_MM = 0.75
#: A longer URL (a long public URL, a long name) gives a larger symbol; its modules then
#: shrink to fit under the seal, never below this.
QR_MIN_MODULE_MM = 0.6
#: The QR's right edge and bottom edge (quiet zone included), in mm from the page's right
#: and bottom edges.
QR_RIGHT_MM, QR_BOTTOM_MM = 24.0, 24.0
MARGIN_MM = 22.0
LABEL_X_MM = MARGIN_MM + 4
VALUE_X_MM = MARGIN_MM + 46
FIRST_ROW_MM = 86.0
ROW_MM = 12.0
#: Space kept between a value and the photo frame or the seal.
GAP_MM = 4.0

NATIONAL_QUERY = "jndj.osta.org.cn"
BODY_QUERY = "pjjg.osta.org.cn"
TITLE_ZH = "职业技能等级证书"
TITLE_EN = "Vocational Skill Level Certificate"
SCAN_HINT = "扫码验证 · Scan to verify"
RECORD_FILE = "certificate.vc.jwt"
TOKEN_FILE = "qr-token.jws"  # noqa: S105 - a file name, not a secret

DARK_RED: Color = (0.62, 0.1, 0.09)
MARK_RED: Color = (0.8, 0.05, 0.05)
LABEL: Color = (0.22, 0.22, 0.22)
GREY: Color = (0.42, 0.42, 0.42)
BLACK: Color = (0.0, 0.0, 0.0)

#: (Chinese, English) labels of the field rows, top to bottom.
FIELD_LABELS = (
    ("姓名", "Name"),
    ("证件类型", "ID type"),
    ("证件号码", "ID number"),
    ("职业名称", "Occupation"),
    ("工种/职业方向", "Work type"),
    ("职业技能等级", "Skill level"),
    ("认定方式", "Route"),
    ("证书编号", "Certificate No."),
    ("发证日期", "Date of issue"),
    ("评价机构", "Certification body"),
)
FOOTER_LINES = (
    ("全国联网查询 National online query: ", NATIONAL_QUERY),
    ("评价机构查询 Certification body query: ", BODY_QUERY),
)
VERIFY_LABEL = "验证网址 Verify URL: "
PHOTO_LABEL = ("照片", "Photo")

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


class Standing(enum.Enum):
    """Whether the certificate still stands; anything but VALID is marked across the page."""

    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class StatusMark:
    """What a revoked or superseded certificate's page says across it."""

    standing: Standing
    #: Day the status changed (China time), if known.
    changed_on: dt.date | None = None
    #: The revocation reason (revoked) as the body recorded it.
    reason: str = ""
    #: The number of the corrected certificate that replaces this one (superseded).
    superseded_by: str = ""

    def lines(self) -> tuple[str, str, str]:
        """The diagonal mark, then the notice in Chinese and in English."""
        on_zh = f"于{_date_lines(self.changed_on)[0]}" if self.changed_on else ""
        on_en = f" on {self.changed_on.isoformat()}" if self.changed_on else ""
        if self.standing is Standing.REVOKED:
            reason = f"：{self.reason}" if self.reason else ""
            return (
                "已撤销 REVOKED",
                f"本证书已{on_zh}撤销，不再有效{reason}",
                f"This certificate was revoked{on_en} and is no longer valid.",
            )
        by_zh = f"，由证书 {self.superseded_by} 取代" if self.superseded_by else ""
        by_en = f" by certificate {self.superseded_by}" if self.superseded_by else ""
        return (
            "已更正 SUPERSEDED",
            f"本证书已{on_zh}更正{by_zh}，不再有效",
            f"This certificate was superseded{on_en}{by_en} and is no longer valid.",
        )


@dataclass(frozen=True)
class CertificateFace:
    """Everything printed on one certificate, as display-ready text."""

    number: str
    holder_name: str
    id_type: IdType
    #: The full ID number, printed on the holder's own paper only; kept out of reprs and logs.
    id_number: str = field(repr=False)
    occupation_code: str
    occupation_zh: str
    occupation_en: str
    work_type: str
    level: Level
    route: Route
    direct_ground: DirectGround | None
    issue_date: dt.date
    body_code: str
    body_name_zh: str
    body_name_en: str
    verify_url: str
    #: The QR token (compact JWS) and the signed record (vc+jwt), embedded in the PDF.
    token: str
    record: str
    #: The holder's photo (JPEG or PNG), downscaled for print; without one a labelled frame
    #: prints.
    photo: bytes | None = field(default=None, repr=False)
    #: Set when the certificate is revoked or superseded: the page is marked as such.
    mark: StatusMark | None = None

    def printed_texts(self) -> list[str]:
        """Every variable text the page prints (for :func:`check_renderable`)."""
        return [
            self.holder_name,
            self.id_type.label_zh,
            self.id_type.label_en,
            self.id_number,
            self.occupation_zh,
            self.occupation_en,
            self.work_type or "--",
            self.level.printed_zh,
            self.level.printed_en,
            *_route_lines(self),
            self.number,
            self.body_name_zh,
            self.body_name_en,
            self.verify_url,
        ]


def face_from_certificate(
    cert: Certificate,
    public_url: str,
    *,
    id_number: str,
    superseded_by: str = "",
    photo: bytes | None = None,
    record: str | None = None,
) -> CertificateFace:
    """The face of a stored certificate (its holder, occupation and body loaded).

    ``id_number`` is the holder's decrypted ID number (:meth:`certsvc.identity.IdVault.reveal`);
    ``superseded_by`` the number of the correction that replaced a superseded certificate;
    ``record`` its current signed record when that is not the one it was issued with (a
    replaced photo: :func:`certsvc.issuance.photos.current_records`).
    """
    mark = None
    if cert.status != Standing.VALID.value:
        changed = cert.status_changed_at
        mark = StatusMark(
            Standing(cert.status),
            changed_on=_china_day(changed) if changed else None,
            reason=cert.status_reason if cert.status == Standing.REVOKED.value else "",
            superseded_by=superseded_by,
        )
    return CertificateFace(
        number=cert.number,
        holder_name=cert.holder_name,
        id_type=IdType(cert.holder.id_type),
        id_number=id_number,
        occupation_code=cert.occupation_code,
        occupation_zh=cert.occupation.name_zh,
        occupation_en=cert.occupation.name_en,
        work_type=cert.work_type,
        level=Level.from_code(cert.level),
        route=Route(cert.route),
        direct_ground=DirectGround(cert.direct_ground) if cert.direct_ground else None,
        issue_date=cert.issue_date,
        body_code=cert.body.code,
        body_name_zh=cert.body.name_zh,
        body_name_en=cert.body.name_en,
        verify_url=f"{public_url}/v/{cert.token}",
        token=cert.token,
        record=record or cert.record,
        photo=photo,
        mark=mark,
    )


def _china_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(CHINA).date()


def render_certificate(face: CertificateFace, seal: UploadedSeal | None = None) -> bytes:
    """One certificate as a PDF: A4, one page, the signed record and QR token attached.

    ``seal`` is the body's uploaded seal; without one a round red seal with the body's name is
    drawn. Raises UnrenderableText if a printed value has a character the font lacks.
    """
    canvas, out = _canvas(
        title=f"{TITLE_ZH} · {face.holder_name} · {face.number}",
        author=face.body_name_zh,
        subject=face.number,
    )
    _draw_page(canvas, face, seal)
    canvas.save()
    return pdffile.finish(
        out.getvalue(),
        attachments=[
            (RECORD_FILE, face.record.encode()),
            (TOKEN_FILE, face.token.encode()),
        ],
    )


def render_merged(
    pages: Iterable[tuple[CertificateFace, UploadedSeal | None]], title: str = ""
) -> bytes:
    """Many certificates as one PDF for printing, one page each, in the order given.

    The pages share their font subsets. Signed records are not attached here: the print file
    is for paper; give holders the single-certificate PDFs.
    """
    canvas, out = _canvas(title=title or TITLE_ZH, author="", subject="")
    bodies: dict[str, None] = {}
    count = 0
    for face, seal in pages:
        _draw_page(canvas, face, seal)
        bodies[face.body_name_zh] = None
        count += 1
    if not count:
        raise InvalidInput(N_("there are no certificates to print"))
    canvas.setAuthor("、".join(bodies))
    canvas.setSubject(f"{count} certificates")
    canvas.save()
    return pdffile.finish(out.getvalue(), attachments=[])


def _canvas(*, title: str, author: str, subject: str) -> tuple[Canvas, io.BytesIO]:
    font = certificate_font()
    out = io.BytesIO()
    canvas = Canvas(
        out,
        pagesize=A4,
        invariant=True,  # no time stamps or random ids: the same record, the same bytes
        pageCompression=1,
        lang="zh-CN",
        initialFontName=font,
        initialFontSize=10,
    )
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setSubject(subject)
    canvas.setCreator("certsvc")
    canvas.setProducer("certsvc")
    return canvas, out


def check_face(face: CertificateFace) -> None:
    """Raise UnrenderableText if a value of ``face`` has a character the font lacks."""
    for text in face.printed_texts():
        check_renderable(text)


def _draw_page(canvas: Canvas, face: CertificateFace, seal: UploadedSeal | None) -> None:
    check_face(face)
    _PageLayout(canvas, face).draw(seal)
    canvas.showPage()


def _route_lines(face: CertificateFace) -> tuple[str, str]:
    if face.route is Route.DIRECT and face.direct_ground is not None:
        return (
            f"{face.route.label_zh}（{face.direct_ground.label_zh}）",
            f"{face.route.label_en}: {face.direct_ground.label_en}",
        )
    return face.route.label_zh, face.route.label_en


def _date_lines(day: dt.date) -> tuple[str, str]:
    return f"{day.year}年{day.month}月{day.day}日", f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def text_width(text: str, size: float) -> float:
    """Width in points of ``text`` set in the certificate face at ``size``."""
    width: float = stringWidth(text, FONT_NAME, size)
    return width


def _value_limit(row_mm: float) -> float:
    """How far right (mm) a value on the row whose baseline is at ``row_mm`` may run: short of
    the photo frame and the seal where the row passes them."""
    top, bottom = row_mm - 6, row_mm + 5  # the value line and the English line under it
    right = PAGE_W / MM - MARGIN_MM - GAP_MM
    for box in (PHOTO_BOX, SEAL_BOX):
        if top < box.bottom and bottom > box.top:
            right = min(right, box.left - GAP_MM)
    return right


def _x(mm_from_left: float) -> float:
    return mm_from_left * MM


def _y(mm_from_top: float) -> float:
    return PAGE_H - mm_from_top * MM


class _PageLayout:
    """Positions of everything on one page, drawn onto a reportlab canvas."""

    def __init__(self, canvas: Canvas, face: CertificateFace) -> None:
        self.c = canvas
        self.face = face

    def draw(self, seal: UploadedSeal | None) -> None:
        self._frame()
        self._seal(seal)  # under everything else; it never overlaps a value (SEAL_BOX)
        self._title()
        self._fields()
        self._photo()
        self._qr_and_footer()
        if self.face.mark is not None:
            self._status_mark(self.face.mark)

    # -- text helpers ------------------------------------------------------------------------

    def text(self, text: str, x: float, y: float, size: float, color: Color = BLACK) -> None:
        """Place ``text`` with its baseline's left end at (x, y) points."""
        c = self.c
        c.setFillColorRGB(*color)
        c.setFont(FONT_NAME, size)
        c.drawString(x, y, text)

    def fitted(
        self, text: str, x: float, y: float, size: float, limit: float, color: Color = BLACK
    ) -> float:
        """Place text at ``size``, smaller if it would run past ``limit`` points wide;
        returns the width it took."""
        width = text_width(text, size)
        if width > limit:
            size = max(5.0, size * limit / width)
            width = text_width(text, size)
        self.text(text, x, y, size, color)
        return width

    def centred(self, text: str, cx: float, y: float, size: float, color: Color = BLACK) -> None:
        self.text(text, cx - text_width(text, size) / 2, y, size, color)

    # -- parts of the page -------------------------------------------------------------------

    def _frame(self) -> None:
        c = self.c
        c.saveState()
        c.setStrokeColorRGB(*DARK_RED)
        for inset, width in ((12 * MM, 2.2), (14.2 * MM, 0.6)):
            c.setLineWidth(width)
            c.rect(inset, inset, PAGE_W - 2 * inset, PAGE_H - 2 * inset, stroke=1, fill=0)
        c.setLineWidth(0.4)
        c.line(PAGE_W / 2 - 60 * MM, _y(60), PAGE_W / 2 + 60 * MM, _y(60))
        c.restoreState()

    def _title(self) -> None:
        c = self.c
        size, spacing = 30.0, 7.0
        width = text_width(TITLE_ZH, size) + spacing * (len(TITLE_ZH) - 1)
        c.saveState()
        c.setStrokeColorRGB(*DARK_RED)
        c.setLineWidth(0.7)  # stroked as well as filled: a bolder title from the one face
        title = c.beginText(PAGE_W / 2 - width / 2, _y(44))
        title.setTextRenderMode(2)
        title.setFont(FONT_NAME, size)
        title.setCharSpace(spacing)
        title.setFillColorRGB(*DARK_RED)
        title.textOut(TITLE_ZH)
        c.drawText(title)
        c.restoreState()
        self.centred(TITLE_EN, PAGE_W / 2, _y(53), 13.5, DARK_RED)

    def _values(self) -> list[tuple[str, str]]:
        f = self.face
        return [
            (f.holder_name, ""),
            (f.id_type.label_zh, f.id_type.label_en),
            (f.id_number, ""),
            (f.occupation_zh, f.occupation_en),
            (f.work_type or "--", ""),
            (f.level.printed_zh, f.level.printed_en),
            _route_lines(f),
            (f.number, ""),
            _date_lines(f.issue_date),
            (f.body_name_zh, f.body_name_en),
        ]

    def _fields(self) -> None:
        label_x, value_x = _x(LABEL_X_MM), _x(VALUE_X_MM)
        values = self._values()
        for i, ((zh, en), (vz, ve)) in enumerate(zip(FIELD_LABELS, values, strict=True)):
            row_mm = FIRST_ROW_MM + i * ROW_MM
            y = _y(row_mm)
            self.text(zh, label_x, y, 10.5, LABEL)
            self.text(en, label_x, y - 11, 7.5, GREY)
            limit = (_value_limit(row_mm) - VALUE_X_MM) * MM
            big = 17 if zh == "姓名" else 12.5
            used = self.fitted(vz, value_x, y, big, limit)
            if ve:
                self.fitted(ve, value_x, y - 12, 8, limit, GREY)
            if zh == "职业名称":
                code = f"（{self.face.occupation_code}）"
                self.fitted(code, value_x + used + 4, y + 0.5, 8, limit - used - 4, GREY)

    def _seal(self, seal: UploadedSeal | None) -> None:
        box = SEAL_BOX
        cx, cy = _x(box.left + box.width / 2), _y(box.top + box.height / 2)
        side = min(box.width, box.height) * MM
        if seal is None:
            draw_generated_seal(self.c, self.face.body_name_zh, cx, cy, side / 2)
        else:
            draw_uploaded_seal(self.c, seal, cx, cy, side)

    def _photo(self) -> None:
        box, c = PHOTO_BOX, self.c
        x, y, w, h = _x(box.left), _y(box.bottom), box.width * MM, box.height * MM
        if self.face.photo is not None:
            c.drawImage(_photo_image(self.face.photo), x, y, w, h)
            # A hairline edge: the photo's white background would not show where it ends.
            c.saveState()
            c.setStrokeColorRGB(0.75, 0.75, 0.75)
            c.setLineWidth(0.3)
            c.rect(x, y, w, h, stroke=1, fill=0)
            c.restoreState()
            return
        c.saveState()
        c.setStrokeColorRGB(0.55, 0.55, 0.55)
        c.setLineWidth(0.6)
        c.setDash(3, 2)
        c.rect(x, y, w, h, stroke=1, fill=0)
        c.restoreState()
        self.centred(PHOTO_LABEL[0], x + w / 2, y + h / 2 + 2, 11, GREY)
        self.centred(PHOTO_LABEL[1], x + w / 2, y + h / 2 - 10, 8, GREY)

    def _qr_and_footer(self) -> None:
        f = self.face
        symbol = qrsymbol.encode(f.verify_url)
        room = PAGE_H / MM - QR_BOTTOM_MM - SEAL_BOX.bottom - GAP_MM / 2  # below the seal
        module = max(QR_MIN_MODULE_MM, min(QR_MODULE_MM, room / symbol.width)) * MM
        side = symbol.width * module
        x0, y0 = PAGE_W - QR_RIGHT_MM * MM - side, QR_BOTTOM_MM * MM
        qrsymbol.draw(self.c, symbol, x0, y0, module)
        self.centred(SCAN_HINT, x0 + side / 2, y0 - 1 * MM, 9, LABEL)
        # The verify URL in text, wrapped, left of the QR; then the national query sites.
        left = _x(LABEL_X_MM)
        limit = x0 - 4 * MM - left
        y = y0 + side - 8 * MM
        self.text(VERIFY_LABEL, left, y, 8.5, LABEL)
        y -= 10
        for line in _wrap(f.verify_url, 6.8, limit):
            self.text(line, left, y, 6.8, GREY)
            y -= 8.6
        y -= 10
        for label, site in FOOTER_LINES:
            self.text(label, left, y, 8.5, LABEL)
            self.text(site, left + text_width(label, 8.5), y, 9.5, BLACK)
            y -= 14

    def _status_mark(self, mark: StatusMark) -> None:
        """A diagonal mark over the whole face and a notice under the title."""
        big, notice_zh, notice_en = mark.lines()
        c = self.c
        c.saveState()
        c.setFillColorRGB(*MARK_RED)
        c.setFillAlpha(0.32)
        c.translate(PAGE_W / 2, PAGE_H / 2)
        c.rotate(math.degrees(math.atan2(PAGE_H, PAGE_W)))
        size = min(64.0, (PAGE_H * 0.95) * 64 / text_width(big, 64))
        c.setFont(FONT_NAME, size)
        c.drawCentredString(0, -size / 3, big)
        c.restoreState()
        limit = (PAGE_W / MM - 2 * MARGIN_MM) * MM
        self.fitted(_printable(notice_zh), _x(MARGIN_MM), _y(64.5), 10, limit, MARK_RED)
        self.fitted(notice_en, _x(MARGIN_MM), _y(64.5) - 11, 8, limit, MARK_RED)


def _printable(text: str) -> str:
    """``text`` with characters the face lacks replaced by "?": a revocation reason is free
    text typed long after issuance, and it must never stop a revoked certificate's download."""
    for ch in missing_characters(text):
        text = text.replace(ch, "?")
    return text


def _wrap(text: str, size: float, limit: float) -> list[str]:
    """Break ``text`` anywhere (a URL has no spaces) into lines at most ``limit`` wide."""
    lines: list[str] = []
    start = 0
    width = 0.0
    for i, ch in enumerate(text):
        w = text_width(ch, size)
        if width + w > limit and i > start:
            lines.append(text[start:i])
            start, width = i, 0.0
        width += w
    return [*lines, text[start:]] if start < len(text) else lines


def print_photo(data: bytes) -> bytes:
    """A holder photo as printed: a 295 × 413 JPEG (300 dpi for 25 × 35 mm) of at most
    :data:`PHOTO_PRINT_MAX_BYTES`, so a photo adds no more than about 25 KB to a PDF.

    The quality steps down from 85 until the JPEG fits; the same photo always gives the same
    bytes (the page stays deterministic). reportlab embeds a JPEG as it is (DCTDecode).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            rgb = ImageOps.fit(img.convert("RGB"), PHOTO_PRINT_PIXELS, Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidInput(N_("the holder photo cannot be read: {exc}"), exc=exc) from exc
    for quality in range(85, 20, -10):
        out = io.BytesIO()
        rgb.save(out, "JPEG", quality=quality, optimize=True)
        if out.tell() <= PHOTO_PRINT_MAX_BYTES:
            break
    return out.getvalue()


def _photo_image(data: bytes) -> object:
    """A holder photo as a reportlab image of its print JPEG (:func:`print_photo`)."""
    from reportlab.lib.utils import ImageReader

    return ImageReader(io.BytesIO(print_photo(data)))
