"""The face of a certificate (证书版面) as an A4 PDF page, per the MOHRSS 2022 style notice.

Chinese first with English below every label and value; every certified field; the holder's
photo or, while certsvc stores none, a labelled frame for it; the issuing body's seal; the QR
that verifies the certificate, its verify URL in text and the national query sites.

A page is drawn from a :class:`CertificateFace` — display-ready strings taken from the stored
certificate — so rendering needs no database and the same record always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.errors import InvalidInput
from certsvc.render import qr
from certsvc.render.font import TrueTypeFont, certificate_font, check_renderable
from certsvc.render.pdf import COMPRESSION_FAST, PdfWriter, date_string, num, text_string
from certsvc.render.seal import UploadedSeal, generated_seal_operators
from certsvc.render.text import TextRun, Typesetter, make_subset, static_subset

if TYPE_CHECKING:
    from certsvc.models import Certificate

MM = 72 / 25.4
PAGE_W, PAGE_H = 595.276, 841.89
MARGIN = 22 * MM
#: Printed size of one QR module: 0.5 mm (≥ 0.4 mm for phone cameras at arm's length).
QR_MODULE_MM = 0.5
SEAL_DIAMETER_MM = 40
NATIONAL_QUERY = "jndj.osta.org.cn"
BODY_QUERY = "pjjg.osta.org.cn"
TITLE_ZH = "职业技能等级证书"
TITLE_EN = "Vocational Skill Level Certificate"
SCAN_HINT = "扫码验证 · Scan to verify"
RECORD_FILE = "certificate.vc.jwt"
TOKEN_FILE = "qr-token.jws"  # noqa: S105 - a file name, not a secret

DARK_RED = (0.62, 0.1, 0.09)
LABEL = (0.22, 0.22, 0.22)
GREY = (0.42, 0.42, 0.42)
BLACK = (0.0, 0.0, 0.0)

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

#: Characters of the fixed text plus the Latin letters, digits and punctuation any value or
#: the verify URL uses: the static subset every certificate shares.
STATIC_CHARS = "".join(
    dict.fromkeys(
        TITLE_ZH
        + TITLE_EN
        + SCAN_HINT
        + VERIFY_LABEL
        + "".join(zh + en for zh, en in FIELD_LABELS)
        + "".join(a + b for a, b in FOOTER_LINES)
        + "".join(PHOTO_LABEL)
        + "年月日（）·"
        + "0123456789"
        + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        + " .:/_-*"
    )
)

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


@dataclass(frozen=True)
class CertificateFace:
    """Everything printed on one certificate, as display-ready text."""

    number: str
    holder_name: str
    id_type: IdType
    id_masked: str
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
    #: The holder's photo (JPEG or PNG); certsvc stores none yet, so a labelled frame prints.
    photo: bytes | None = None

    def printed_texts(self) -> list[str]:
        """Every variable text the page prints (for :func:`check_renderable`)."""
        return [
            self.holder_name,
            self.id_type.label_zh,
            self.id_type.label_en,
            self.id_masked,
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
    cert: Certificate, public_url: str, photo: bytes | None = None
) -> CertificateFace:
    """The face of a stored certificate (its holder, occupation and body loaded)."""
    return CertificateFace(
        number=cert.number,
        holder_name=cert.holder_name,
        id_type=IdType(cert.holder.id_type),
        id_masked=cert.holder.id_masked,
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
        record=cert.record,
        photo=photo,
    )


def render_certificate(
    face: CertificateFace, seal: UploadedSeal | None = None, font: TrueTypeFont | None = None
) -> bytes:
    """One certificate as a PDF: A4, one page, the signed record and QR token attached.

    ``seal`` is the body's uploaded seal; without one a round red seal with the body's name is
    drawn. Raises UnrenderableText if a printed value has a character the font lacks.
    """
    doc = _Document(font or certificate_font())
    doc.add_page(face, seal)
    return doc.finish(
        title=f"{TITLE_ZH} · {face.holder_name} · {face.number}",
        author=face.body_name_zh,
        subject=face.number,
        day=face.issue_date,
        attachments=[
            (RECORD_FILE, "application/vc+jwt", face.record, "signed record (VC 2.0, vc+jwt)"),
            (TOKEN_FILE, "application/jose", face.token, "QR token (compact JWS)"),
        ],
    )


def render_merged(
    pages: Iterable[tuple[CertificateFace, UploadedSeal | None]],
    title: str = "",
    font: TrueTypeFont | None = None,
) -> bytes:
    """Many certificates as one PDF for printing, one page each, in the order given.

    The pages share their fonts. Signed records are not attached here: the print file is for
    paper; give holders the single-certificate PDFs.
    """
    doc = _Document(font or certificate_font())
    bodies: dict[str, None] = {}
    last = dt.date(2000, 1, 1)
    count = 0
    for face, seal in pages:
        doc.add_page(face, seal)
        bodies[face.body_name_zh] = None
        last = max(last, face.issue_date)
        count += 1
    if not count:
        raise InvalidInput("there are no certificates to print")
    return doc.finish(
        title=title or f"{TITLE_ZH} · {count}",
        author="、".join(bodies),
        subject=f"{count} certificates",
        day=last,
        attachments=[],
    )


@dataclass
class _Page:
    """A laid-out page waiting for the document's dynamic font subset."""

    ref: int
    graphics_below: str  # frame, then the seal (painted over the text layer? no: under it)
    seal: str
    graphics_above: str  # QR and photo
    runs: list[TextRun]
    xobjects: dict[str, int]


class _Document:
    """Pages sharing a static and a dynamic font subset; written out by :meth:`finish`."""

    def __init__(self, font: TrueTypeFont) -> None:
        self.font = font
        self.writer = PdfWriter()
        self.static = static_subset(font, STATIC_CHARS)
        self.typesetter = Typesetter(font, self.static)
        self.pages_ref = self.writer.reserve()
        self.pages: list[_Page] = []
        self.seal_refs: dict[int, int] = {}

    def add_page(self, face: CertificateFace, seal: UploadedSeal | None) -> None:
        for text in face.printed_texts():
            check_renderable(text, self.font)
        xobjects: dict[str, int] = {}
        layout = _PageLayout(self.typesetter, face)
        frame = layout.draw_static()
        seal_ops = layout.draw_seal(seal, xobjects, self._seal_ref)
        above = layout.draw_qr() + "\n" + layout.draw_photo(xobjects, self.writer)
        runs, self.typesetter.runs = self.typesetter.runs, []
        self.pages.append(_Page(self.writer.reserve(), frame, seal_ops, above, runs, xobjects))

    def _seal_ref(self, seal: UploadedSeal) -> int:
        if id(seal) not in self.seal_refs:
            self.seal_refs[id(seal)] = seal.add_to(self.writer)
        return self.seal_refs[id(seal)]

    def finish(
        self,
        *,
        title: str,
        author: str,
        subject: str,
        day: dt.date,
        attachments: Sequence[tuple[str, str, str, str]],
    ) -> bytes:
        w = self.writer
        used = set("".join(run.text for page in self.pages for run in page.runs))
        dynamic_chars = sorted(used - self.static.codes.keys())
        dynamic = make_subset(self.font, dynamic_chars) if dynamic_chars else None
        fonts = b"/F1 %d 0 R" % self.static.add_to(w, self.font)
        if dynamic is not None:
            fonts += b"/F2 %d 0 R" % dynamic.add_to(w, self.font)
        for page in self.pages:
            self.typesetter.runs = page.runs
            text_ops = self.typesetter.operators(dynamic, "F1", "F2")
            content = "\n".join([page.graphics_below, text_ops, page.seal, page.graphics_above])
            contents = w.add_stream(b"", content.encode())
            xo = "".join(f"/{k} {v} 0 R" for k, v in page.xobjects.items()).encode()
            w.put(
                page.ref,
                b"<</Type/Page/Parent %d 0 R/MediaBox[0 0 %s %s]/Resources<</Font<<%s>>"
                b"/ExtGState<</GM<</BM/Multiply>>>>/XObject<<%s>>>>/Contents %d 0 R>>"
                % (self.pages_ref, num(PAGE_W).encode(), num(PAGE_H).encode(), fonts, xo, contents),
            )
        kids = " ".join(f"{page.ref} 0 R" for page in self.pages).encode()
        w.put(self.pages_ref, b"<</Type/Pages/Kids[%s]/Count %d>>" % (kids, len(self.pages)))
        catalog_extra = b""
        if attachments:
            ordered = sorted(attachments)
            specs = [_attach(w, *a, day=day) for a in ordered]
            names = b"".join(
                text_string(a[0]) + b"%d 0 R" % ref for a, ref in zip(ordered, specs, strict=True)
            )
            refs = b" ".join(b"%d 0 R" % ref for ref in specs)
            catalog_extra = b"/Names<</EmbeddedFiles<</Names[%s]>>>>/AF[%s]" % (names, refs)
        root = w.add(
            b"<</Type/Catalog/Pages %d 0 R/Lang(zh-CN)%s>>" % (self.pages_ref, catalog_extra)
        )
        when = date_string(day)
        info = w.add(
            b"<</Title%s/Author%s/Subject%s/Creator(certsvc)/Producer(certsvc)"
            b"/CreationDate%s/ModDate%s>>"
            % (text_string(title), text_string(author), text_string(subject), when, when)
        )
        return w.finish(root, info)


def _attach(
    writer: PdfWriter, filename: str, mime: str, text: str, desc: str, *, day: dt.date
) -> int:
    data = text.encode()
    subtype = "/" + mime.replace("/", "#2F")
    file_ref = writer.add_stream(
        b"/Type/EmbeddedFile/Subtype%s/Params<</Size %d/ModDate%s>>"
        % (subtype.encode(), len(data), date_string(day)),
        data,
        level=COMPRESSION_FAST,
    )
    return writer.add(
        b"<</Type/Filespec/F%s/UF%s/Desc%s/AFRelationship/Data/EF<</F %d 0 R/UF %d 0 R>>>>"
        % (text_string(filename), text_string(filename), text_string(desc), file_ref, file_ref)
    )


def _route_lines(face: CertificateFace) -> tuple[str, str]:
    if face.route is Route.DIRECT and face.direct_ground is not None:
        return (
            f"{face.route.label_zh}（{face.direct_ground.label_zh}）",
            f"{face.route.label_en}: {face.direct_ground.label_en}",
        )
    return face.route.label_zh, face.route.label_en


def _date_lines(day: dt.date) -> tuple[str, str]:
    return f"{day.year}年{day.month}月{day.day}日", f"{day.day} {MONTHS[day.month - 1]} {day.year}"


class _PageLayout:
    """Positions of everything on the page; text goes to the typesetter, graphics returned."""

    LABEL_X = MARGIN + 4 * MM
    VALUE_X = MARGIN + 46 * MM
    ROW = 34.0
    FIRST_ROW_Y = PAGE_H - 86 * MM
    PHOTO_W, PHOTO_H = 25 * MM, 35 * MM  # 1-inch (一寸) photo
    PHOTO_X = PAGE_W - MARGIN - 8 * MM - 25 * MM
    PHOTO_TOP = PAGE_H - 68 * MM

    def __init__(self, typesetter: Typesetter, face: CertificateFace) -> None:
        self.ts = typesetter
        self.face = face
        self.rows_y = [self.FIRST_ROW_Y - i * self.ROW for i in range(len(FIELD_LABELS))]

    def text(
        self,
        text: str,
        x: float,
        y: float,
        size: float,
        color: tuple[float, float, float] = BLACK,
        **kw: float,
    ) -> None:
        """Place text."""
        self.ts.place(TextRun(text, x, y, size, color, **kw))

    def centred(
        self,
        text: str,
        cx: float,
        y: float,
        size: float,
        color: tuple[float, float, float] = BLACK,
        **kw: float,
    ) -> None:
        width = self.ts.width(text, size, kw.get("char_spacing", 0)) - kw.get("char_spacing", 0)
        self.text(text, cx - width / 2, y, size, color, **kw)

    def fitted(
        self,
        text: str,
        x: float,
        y: float,
        size: float,
        limit: float,
        color: tuple[float, float, float] = BLACK,
    ) -> None:
        """Place text at ``size``, smaller if it would run past ``limit`` points wide."""
        width = self.ts.width(text, size)
        if width > limit:
            size = max(5.0, size * limit / width)
        self.text(text, x, y, size, color)

    def draw_static(self) -> str:
        f = self.face
        cx = PAGE_W / 2
        self.centred(TITLE_ZH, cx, PAGE_H - 44 * MM, 30, DARK_RED, char_spacing=7, embolden=0.7)
        self.centred(TITLE_EN, cx, PAGE_H - 53 * MM, 13.5, DARK_RED)
        values = self._values()
        for (zh, en), (vz, ve), y in zip(FIELD_LABELS, values, self.rows_y, strict=True):
            self.text(zh, self.LABEL_X, y, 10.5, LABEL)
            self.text(en, self.LABEL_X, y - 11, 7.5, GREY)
            beside_photo = y > self.PHOTO_TOP - self.PHOTO_H - 10
            limit = (
                self.PHOTO_X - 6 * MM if beside_photo else PAGE_W - MARGIN - 6 * MM
            ) - self.VALUE_X
            big = 17 if zh == "姓名" else 12.5
            self.fitted(vz, self.VALUE_X, y, big, limit)
            if ve:
                self.fitted(ve, self.VALUE_X, y - 12, 8, limit, GREY)
        code_x = self.VALUE_X + self.ts.width(values[3][0], 12.5) + 4
        self.text(f"（{f.occupation_code}）", code_x, self.rows_y[3] + 0.5, 8, GREY)
        return self._frame()

    def _values(self) -> list[tuple[str, str]]:
        f = self.face
        return [
            (f.holder_name, ""),
            (f.id_type.label_zh, f.id_type.label_en),
            (f.id_masked, ""),
            (f.occupation_zh, f.occupation_en),
            (f.work_type or "--", ""),
            (f.level.printed_zh, f.level.printed_en),
            _route_lines(f),
            (f.number, ""),
            _date_lines(f.issue_date),
            (f.body_name_zh, f.body_name_en),
        ]

    def _frame(self) -> str:
        r, g, b = (num(c) for c in DARK_RED)
        outer = 12 * MM
        inner = outer + 2.2 * MM
        rule_y = num(PAGE_H - 60 * MM)

        def box(inset: float) -> str:
            w, h = num(PAGE_W - 2 * inset), num(PAGE_H - 2 * inset)
            return f"{num(inset)} {num(inset)} {w} {h} re S"

        rule = f"{num(PAGE_W / 2 - 60 * MM)} {rule_y} m {num(PAGE_W / 2 + 60 * MM)} {rule_y} l S"
        return "\n".join(
            [f"q {r} {g} {b} RG 2.2 w", box(outer), "0.6 w", box(inner), "0.4 w", rule, "Q"]
        )

    def draw_seal(
        self, seal: UploadedSeal | None, xobjects: dict[str, int], seal_ref: object
    ) -> str:
        d = SEAL_DIAMETER_MM * MM
        cx = self.VALUE_X + 82 * MM
        cy = (self.rows_y[8] + self.rows_y[9]) / 2 + 2
        if seal is None:
            ops = generated_seal_operators(self.ts, self.face.body_name_zh, cx, cy, d / 2)
            return f"q /GM gs\n{ops}\nQ"
        assert callable(seal_ref)
        xobjects["Seal"] = seal_ref(seal)
        scale = d / max(seal.width, seal.height)
        w, h = seal.width * scale, seal.height * scale
        if seal.kind == "png":
            matrix = f"{num(w)} 0 0 {num(h)} {num(cx - w / 2)} {num(cy - h / 2)}"
        else:
            matrix = f"{num(scale)} 0 0 {num(scale)} {num(cx - w / 2)} {num(cy - h / 2)}"
        return f"q /GM gs {matrix} cm /Seal Do Q"

    def draw_qr(self) -> str:
        f = self.face
        symbol = qr.encode(f.verify_url.encode())
        module = QR_MODULE_MM * MM
        side = symbol.width * module
        x0 = PAGE_W - MARGIN - 2 * MM - side
        y0 = 30 * MM
        self.centred(SCAN_HINT, x0 + side / 2, y0 - 3 * MM, 9, LABEL)
        # Verify URL in text, wrapped, to the left of the QR; then the national query sites.
        left = self.LABEL_X
        limit = x0 - 6 * MM - left
        y = y0 + side - 6 * MM
        self.text(VERIFY_LABEL, left, y, 8.5, LABEL)
        y -= 10
        for line in _wrap(f.verify_url, self.ts, 6.8, limit):
            self.text(line, left, y, 6.8, GREY)
            y -= 8.6
        y -= 10
        for label, site in FOOTER_LINES:
            self.text(label, left, y, 8.5, LABEL)
            self.text(site, left + self.ts.width(label, 8.5), y, 9.5, BLACK)
            y -= 14
        path = qr.path_operators(symbol)
        return (
            f"q 0 0 0 rg {num(module)} 0 0 {num(-module)} {num(x0)} {num(y0 + side)} cm\n{path}f Q"
        )

    def draw_photo(self, xobjects: dict[str, int], writer: PdfWriter) -> str:
        x, top, w, h = self.PHOTO_X, self.PHOTO_TOP, self.PHOTO_W, self.PHOTO_H
        if self.face.photo is not None:
            xobjects["Photo"] = writer.add(_photo_xobject(self.face.photo))
            return f"q {num(w)} 0 0 {num(h)} {num(x)} {num(top - h)} cm /Photo Do Q"
        self.centred(PHOTO_LABEL[0], x + w / 2, top - h / 2 + 2, 11, GREY)
        self.centred(PHOTO_LABEL[1], x + w / 2, top - h / 2 - 10, 8, GREY)
        return f"q 0.55 g 0.55 G 0.6 w [3 2] 0 d {num(x)} {num(top - h)} {num(w)} {num(h)} re S Q"


def _wrap(text: str, ts: Typesetter, size: float, limit: float) -> list[str]:
    """Break ``text`` anywhere (a URL has no spaces) into lines at most ``limit`` wide."""
    lines: list[str] = []
    start = 0
    width = 0.0
    em_limit = limit / size
    em = ts.font.em_widths
    for i, ch in enumerate(text):
        w = em[ch]
        if width + w > em_limit and i > start:
            lines.append(text[start:i])
            start, width = i, 0.0
        width += w
    return [*lines, text[start:]] if start < len(text) else lines


def _photo_xobject(data: bytes) -> bytes:
    """A holder photo as a JPEG image XObject at 300 dpi for 25 × 35 mm."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from certsvc.render.pdf import stream

    try:
        with Image.open(io.BytesIO(data)) as img:
            rgb = ImageOps.fit(img.convert("RGB"), (295, 413), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidInput(f"the holder photo cannot be read: {exc}") from exc
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=85, optimize=True)
    return stream(
        b"/Type/XObject/Subtype/Image/Width 295/Height 413/ColorSpace/DeviceRGB"
        b"/BitsPerComponent 8/Filter/DCTDecode",
        out.getvalue(),
        compress=False,
    )
