"""Certificate PDFs the way a person meets them: printed, copied, searched, opened offline.

Pages are read back the way a person's tools read them: pdfium and poppler (``pdftotext``,
``pdftoppm``) for text and pixels, pypdf for the structure. The QR's scanning from degraded
copies is in test_render_qr.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import itertools
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from click.testing import CliRunner
from flask.testing import FlaskClient
from PIL import Image, ImageChops
from pypdf import PdfReader
from sqlalchemy import select

from certsvc import create_app
from certsvc.bodies.bodies import get_body, set_seal
from certsvc.cli.context import Context
from certsvc.cli.main import cli
from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.errors import FontMissing, InvalidSeal, NoEmbeddedRecord, UnrenderableText
from certsvc.issuance.service import BatchResult, content_hash, issue_batch, revoke
from certsvc.models import Certificate
from certsvc.render import (
    CertificateFace,
    check_renderable,
    load_seal,
    read_embedded,
    render_certificate,
    render_merged,
)
from certsvc.render.batch import (
    batch_merged,
    batch_zip,
    certificate_face,
    stored_seal,
    zip_stream,
)
from certsvc.render.certificate import MM, PHOTO_BOX, SEAL_BOX
from certsvc.render.qrsymbol import encode
from certsvc.render.seal import seal_name_layout
from certsvc.render.typeface import FONT_PACKAGE, certificate_font, covered_code_points
from certsvc.runtime import Runtime
from certsvc.verify.core import verify_token
from tests.conftest import BODY_CODE, person_id, row

ASSETS = Path(__file__).parent / "assets" / "render"
PUBLIC_URL = "https://cert.example.cn"
FULL_ID = "11010519491231002X"
DIRECT = {
    "route": "直接认定",
    "direct_ground": "师带徒绩效突出",
    "direct_evidence": "近五年带徒32人，其中12人取得技师以上等级。",
}


def issue(runtime: Runtime, rows: list[dict[str, str]]) -> BatchResult:
    numbered = list(enumerate(rows, start=2))
    return issue_batch(
        runtime, BODY_CODE, numbered, source="api", content_sha256=content_hash(numbered)
    )


def page_image(pdf: bytes, dpi: int, page: int = 0, mode: str = "L") -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[page].render(scale=dpi / 72).to_pil().convert(mode)
    finally:
        doc.close()


def pdfium_text(pdf: bytes, page: int = 0) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return str(doc[page].get_textpage().get_text_bounded()).replace("\r\n", "\n")
    finally:
        doc.close()


def poppler_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    return done.stdout.decode()


def qr_texts(img: Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
    return [r.text for r in found]


def face(**changes: object) -> CertificateFace:
    """A certificate face without a database (token and record are placeholders)."""
    base = CertificateFace(
        number="Y000132010001263000001",
        holder_name="阿依古丽·买买提",
        id_type=IdType.RESIDENT_ID,
        id_number=FULL_ID,
        occupation_code="6-31-01-03",
        occupation_zh="电工",
        occupation_en="Electrician",
        work_type="",
        level=Level.SENIOR,
        route=Route.DIRECT,
        direct_ground=DirectGround.MENTORING,
        issue_date=dt.date(2026, 11, 20),
        body_code="Y000132010001",
        body_name_zh="南京测试装备集团有限公司",
        body_name_en="Nanjing Test Equipment Group",
        verify_url=f"{PUBLIC_URL}/v/" + "eyJ0eXAiOiJ0ZXN0In0." + "x" * 230,
        token="eyJ0eXAiOiJ0ZXN0In0." + "x" * 230,
        record="eyJ0eXAiOiJ2Yytqd3QifQ.e30.sig",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def stored_faces(runtime: Runtime, numbers: list[str]) -> list[CertificateFace]:
    with runtime.db.session() as session:
        return [certificate_face(session, n, PUBLIC_URL, runtime.vault) for n in numbers]


def cli_runner(runtime: Runtime) -> tuple[CliRunner, Context]:
    ctx = Context()
    ctx._runtime = runtime
    return CliRunner(), ctx


# --- the printed QR and the embedded record ---------------------------------------------------


def test_printed_qr_scans_and_verifies(runtime: Runtime, body: str) -> None:
    result = issue(
        runtime,
        [row(1, name="李堃"), row(2, name="阿依古丽·买买提", level="三级/高级工", **DIRECT)],
    )
    faces = stored_faces(runtime, [c.number for c in result.certificates])
    for f, issued in zip(faces, result.certificates, strict=True):
        pdf = render_certificate(f)
        expected = f"{PUBLIC_URL}/v/{issued.token}"
        assert qr_texts(page_image(pdf, 150)) == [expected]
        # DESIGN.md: QR version ≤ 15 at level Q, here with an eight-character name too.
        assert encode(expected).version <= 15
        with runtime.db.session() as session:
            assert verify_token(session, issued.token).status == "valid"
        embedded = read_embedded(pdf)
        assert embedded.token == issued.token
        with runtime.db.session() as session:
            cert = session.scalar(select(Certificate).where(Certificate.number == f.number))
            assert cert is not None and embedded.record == cert.record


def test_qr_is_one_vector_path_of_0_75_mm_modules_at_level_q() -> None:
    pdf = render_certificate(face())
    reader = PdfReader(io.BytesIO(pdf))
    content = reader.pages[0].get_contents()
    assert content is not None
    ops = content.get_data().decode("latin-1").splitlines()
    # One path of rectangles 0.75 mm (2.125984 pt) high, one per horizontal run of dark
    # modules, filled once with the nonzero rule.
    (at,) = [i for i, op in enumerate(ops) if " 2.125984 re" in op]
    assert ops[at].count(" re") > 500 and ops[at + 1] == "f"
    assert "/Subtype /Image" not in pdf.decode("latin-1")  # no bitmap anywhere
    found = zxingcpp.read_barcodes(page_image(pdf, 150), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [r.ec_level for r in found] == ["Q"]


# --- the face -------------------------------------------------------------------------------


def test_every_certified_field_is_printed_and_searchable(tmp_path: Path) -> None:
    pdf = render_certificate(face(work_type=""))
    for text in (pdfium_text(pdf), poppler_text(pdf, tmp_path)):
        for expected in [
            "职业技能等级证书",
            "Vocational Skill Level Certificate",
            "阿依古丽·买买提",
            "居民身份证",
            "Resident Identity Card",
            FULL_ID,  # the holder's own paper carries the full number
            "电工",
            "6-31-01-03",
            "--",
            "三级/高级工",
            "Level 3 / Senior Worker",
            "直接认定（师带徒绩效突出）",
            "Y000132010001263000001",
            "2026年11月20日",
            "南京测试装备集团有限公司",
            "扫码验证 · Scan to verify",
            "jndj.osta.org.cn",
            "pjjg.osta.org.cn",
            "照片",
            "Photo",
        ]:
            assert expected in text, expected
        assert "*" not in text  # nothing masked on the paper
        assert "REVOKED" not in text and "SUPERSEDED" not in text


@pytest.mark.parametrize("name", ["𠮷野家", "王𡌶", "吉𠮷田𡌶"])
def test_names_beyond_the_bmp_print_and_copy_as_themselves(name: str, tmp_path: Path) -> None:
    pdf = render_certificate(face(holder_name=name))
    assert name in poppler_text(pdf, tmp_path).splitlines()
    assert name in pdfium_text(pdf)
    # The glyph printed is the character's own: not blank, not its BMP look-alike.
    for other in (
        name.replace("𠮷", "吉").replace("𡌶", "坫"),
        name.replace("𠮷", "").replace("𡌶", ""),
    ):
        assert page_image(pdf, 100) != page_image(render_certificate(face(holder_name=other)), 100)


def test_fonts_are_embedded_subsets_and_metadata_is_set() -> None:
    pdf = render_certificate(face())
    reader = PdfReader(io.BytesIO(pdf))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert fonts
    for ref in fonts.values():
        font = ref.get_object()
        assert font["/Subtype"] == "/TrueType"
        assert "/FontFile2" in font["/FontDescriptor"]  # embedded: no font needed to print
        tag, base = str(font["/BaseFont"]).lstrip("/").split("+")
        assert base == "LXGWWenKai-Regular" and len(tag) == 6 and tag.isupper()
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "职业技能等级证书 · 阿依古丽·买买提 · Y000132010001263000001"
    assert meta.author == "南京测试装备集团有限公司"
    assert meta.subject == "Y000132010001263000001"
    assert FULL_ID not in str(dict(meta))  # the ID is printed, never in metadata
    assert reader.pages[0].mediabox.width == pytest.approx(595.276, abs=0.01)


def test_the_same_record_renders_to_the_same_bytes() -> None:
    first = render_certificate(face())
    render_certificate(face(holder_name="李堃", number="Y000132010001264000009"))
    assert render_certificate(face()) == first
    assert render_certificate(face(holder_name="张三")) != first
    # another process, another hash seed: still the same bytes
    script = (
        "import sys, hashlib; from tests.test_render import face; "
        "from certsvc.render import render_certificate; "
        "sys.stdout.write(hashlib.sha256(render_certificate(face())).hexdigest())"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert other.stdout == hashlib.sha256(first).hexdigest()


def test_rare_name_characters_render_and_missing_ones_are_named() -> None:
    check_renderable("䶮堃喆赟 阿依古丽·买买提 𠮷")
    pdf = render_certificate(face(holder_name="刘䶮堃喆赟"))
    assert "刘䶮堃喆赟" in pdfium_text(pdf)
    with pytest.raises(UnrenderableText, match=r"U\+1F600") as info:
        check_renderable("王😀")
    assert info.value.characters == ["😀"] and info.value.code == "unrenderable_character"
    with pytest.raises(UnrenderableText, match="U\\+E000"):
        render_certificate(face(holder_name="王\ue000"))
    check_renderable("王\n")  # a line break in evidence text is not drawn, never missing


def test_a_missing_or_unusable_font_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match=FONT_PACKAGE):
        covered_code_points(tmp_path / "absent.ttf")
    cff = tmp_path / "cff.otf"
    cff.write_bytes(b"OTTO" + bytes(60))
    with pytest.raises(FontMissing, match=FONT_PACKAGE):
        covered_code_points(cff)


def test_a_certificate_is_at_most_60_kb() -> None:
    assert len(render_certificate(face(holder_name="李堃", route=Route.REGULAR))) <= 60 * 1024
    assert len(render_certificate(face())) <= 60 * 1024


def test_photo_replaces_the_placeholder_frame() -> None:
    photo = io.BytesIO()
    Image.new("RGB", (120, 160), (200, 210, 230)).save(photo, "JPEG")
    pdf = render_certificate(face(photo=photo.getvalue()))
    assert "照片" not in pdfium_text(pdf)
    images = [
        obj
        for obj in PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/XObject"].values()
        if obj.get_object()["/Subtype"] == "/Image"
    ]
    assert [(i["/Width"], i["/Height"]) for i in images] == [(295, 413)]
    # and it fills the photo box
    page = page_image(pdf, 72, mode="RGB")
    cx, cy = (PHOTO_BOX.left + PHOTO_BOX.width / 2) * MM, (PHOTO_BOX.top + 17) * MM
    assert page.getpixel((round(cx), round(cy))) == pytest.approx((200, 210, 230), abs=6)


# --- the seal ---------------------------------------------------------------------------------


def seal_area(page: Image.Image) -> tuple[int, tuple[int, int, int, int] | None]:
    """How many pixels have the seal's red, and their bounding box (the title and frame are
    a darker red, text black or grey)."""
    r, g, b = page.split()
    mask = ImageChops.multiply(
        ImageChops.multiply(
            r.point(lambda v: 255 if v > 200 else 0), g.point(lambda v: 255 if v < 80 else 0)
        ),
        b.point(lambda v: 255 if v < 80 else 0),
    )
    return mask.histogram()[255], mask.getbbox()


def page_text_boxes(pdf: bytes, scale: float) -> list[tuple[str, tuple[float, ...]]]:
    """Every character of the page's own text with its box in pixels at ``scale``, leaving
    out the seal's own lettering (red)."""
    doc = pdfium.PdfDocument(pdf)
    page = doc[0]
    textpage = page.get_textpage()
    height = page.get_height()
    boxes = []
    for i in range(textpage.count_chars()):
        ch = textpage.get_text_range(i, 1)
        if not ch.strip():
            continue
        r, g, b = (
            pdfium.raw.c_uint(),
            pdfium.raw.c_uint(),
            pdfium.raw.c_uint(),
        )
        a = pdfium.raw.c_uint()
        pdfium.raw.FPDFText_GetFillColor(textpage, i, r, g, b, a)
        if r.value > 190 and g.value < 120:
            continue  # the generated seal's own name
        left, bottom, right, top = textpage.get_charbox(i)
        boxes.append(
            (ch, (left * scale, (height - top) * scale, right * scale, (height - bottom) * scale))
        )
    doc.close()
    return boxes


@pytest.mark.parametrize("length", [4, 8, 12, 16, 20])
@pytest.mark.parametrize("seal_file", [None, "seal.png", "seal.svg"])
def test_the_seal_never_covers_any_text(length: int, seal_file: str | None) -> None:
    """The issuer's name and date — and every other text — stay clear of the seal, for body
    names of 4 to 20 characters, generated or uploaded seals, at 300 dpi."""
    name = ("南京测试装备集团有限公司江苏分公司第一培训评价中心")[:length]
    seal = load_seal((ASSETS / seal_file).read_bytes()) if seal_file else None
    pdf = render_certificate(face(body_name_zh=name), seal)
    dpi = 300
    scale = dpi / 72
    count, seal_box = seal_area(page_image(pdf, dpi, mode="RGB"))
    assert count > 2000 and seal_box is not None  # the seal is there
    # the seal stays in its square
    assert seal_box[0] >= SEAL_BOX.left * MM * scale - 2
    assert seal_box[2] <= SEAL_BOX.right * MM * scale + 2
    boxes = page_text_boxes(pdf, scale)
    texts = "".join(ch for ch, _ in boxes)
    assert name in texts and "2026年11月20日" in texts
    for ch, (left, top, right, bottom) in boxes:
        overlaps = (
            left < seal_box[2]
            and right > seal_box[0]
            and top < seal_box[3]
            and bottom > seal_box[1]
        )
        assert not overlaps, f"the seal covers {ch!r}"


@pytest.mark.parametrize("name", ["seal.png", "seal.svg"])
def test_uploaded_seals_are_printed(name: str) -> None:
    seal = load_seal((ASSETS / name).read_bytes())
    pdf = render_certificate(face(), seal)
    xobjects = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"].get("/XObject", {})
    images = [x.get_object() for x in xobjects.values()]
    if name.endswith(".png"):
        assert [("/SMask" in x) for x in images] == [True]  # transparency kept
    else:
        assert images == []  # vector paths, drawn inline
    assert "南京测试装备集团有限公司" in pdfium_text(pdf)
    assert qr_texts(page_image(pdf, 150)) == [face().verify_url]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((ASSETS / "seal-with-text.svg").read_bytes(), "outlines"),
        (b"GIF89a....", "PNG or an SVG"),
        (b"\x89PNG\r\n\x1a\nnot really", "cannot be read"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "no size"),
    ],
)
def test_bad_seals_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidSeal, match=message):
        load_seal(data)


@pytest.mark.parametrize(
    "name", ["华为", "华为技术有限公司", "苏州示范装备集团有限公司（演示）", "中" * 30]
)
def test_generated_seal_never_crowds_a_long_name(name: str) -> None:
    """Each character of the seal's name gets at least its own size along the arc (a long
    name gets smaller characters), within 240 degrees centred at the top."""
    certificate_font()
    placed = seal_name_layout(name, 0.0, 0.0, 60.0)
    assert "".join(ch for ch, *_ in placed) == name
    rotations = [rotation for *_, rotation in placed]
    assert max(rotations) <= 120 + 1e-9 and min(rotations) >= -120 - 1e-9
    assert abs(max(rotations) + min(rotations)) < 1e-9  # symmetric about the top
    for (_, ax, ay, size, _), (_, bx, by, _, _) in itertools.pairwise(placed):
        assert math.hypot(ax - bx, ay - by) >= size


# --- revoked and superseded paper -------------------------------------------------------------


def test_revoked_and_superseded_certificates_are_marked_on_every_download(
    runtime: Runtime, body: str, tmp_path: Path
) -> None:
    result = issue(runtime, [row(1, name="李堃"), row(2, name="王芳"), row(3, name="赵赟")])
    revoked, superseded, valid = (c.number for c in result.certificates)
    revoke(runtime, revoked, "证书信息与考核记录不符")
    correction = issue(runtime, [row(2, name="王芳", level="三级", corrects=superseded)])
    successor = correction.certificates[0].number

    runner, ctx = cli_runner(runtime)
    texts = {}
    for number in (revoked, superseded, valid):
        out = runner.invoke(cli, ["pdf", number, "-o", str(tmp_path)], obj=ctx)
        assert out.exit_code == 0, out.output
        pdf = (tmp_path / f"{number}.pdf").read_bytes()
        # pdftotext leaves out diagonal text; pdfium reads the mark
        texts[number] = pdfium_text(pdf) + poppler_text(pdf, tmp_path)
        if number == revoked:
            assert "marked REVOKED" in out.output
        if number == valid:
            assert "marked" not in out.output
    assert "已撤销 REVOKED" in texts[revoked].replace("\n", "")
    assert "证书信息与考核记录不符" in texts[revoked]
    assert "no longer valid" in texts[revoked]
    assert "已更正 SUPERSEDED" in texts[superseded].replace("\n", "")
    assert successor in texts[superseded]
    for mark in ("REVOKED", "SUPERSEDED", "no longer valid"):
        assert mark not in texts[valid]
    # The batch ZIP and the print file carry the same marks.
    with runtime.db.session() as session:
        archive = zipfile.ZipFile(
            io.BytesIO(b"".join(batch_zip(session, result.batch_id, PUBLIC_URL, runtime.vault)))
        )
        merged = batch_merged(session, result.batch_id, PUBLIC_URL, runtime.vault, workers=1)
    assert "REVOKED" in pdfium_text(archive.read(f"{revoked}.pdf"))
    assert [
        ("REVOKED" in t, "SUPERSEDED" in t) for t in map(lambda i: pdfium_text(merged, i), range(3))
    ] == [
        (True, False),
        (False, True),
        (False, False),
    ]


def test_the_revocation_notice_prints_a_reason_the_font_cannot(runtime: Runtime, body: str) -> None:
    number = issue(runtime, [row(1)]).certificates[0].number
    revoke(runtime, number, "重复发证 😀")
    (f,) = stored_faces(runtime, [number])
    assert "重复发证 ?" in pdfium_text(render_certificate(f))


# --- the ID number: in full on paper, masked everywhere public --------------------------------


def test_paper_prints_the_full_id_and_public_outputs_mask_it(runtime: Runtime, body: str) -> None:
    issued = issue(runtime, [row(7, name="韩梅梅")]).certificates[0]
    clear = person_id(7)
    masked = clear[:4] + "*" * 10 + clear[-4:]
    (f,) = stored_faces(runtime, [issued.number])
    assert f.id_number == clear and clear not in repr(f)
    pdf = render_certificate(f)
    assert clear in pdfium_text(pdf) and masked not in pdfium_text(pdf)
    assert clear.encode() not in pdf  # text is in glyph codes, not in clear in the file

    app = create_app(runtime=runtime)
    app.testing = True
    client: FlaskClient = app.test_client()
    public = [
        client.get(f"/v/{issued.token}").get_data(as_text=True),
        client.post("/api/v1/verify", json={"token": issued.token}).get_data(as_text=True),
        client.post(
            "/api/v1/lookup/by-number", json={"number": issued.number, "name": "韩梅梅"}
        ).get_data(as_text=True),
        client.post("/api/v1/lookup/by-id", json={"id_number": clear, "name": "韩梅梅"}).get_data(
            as_text=True
        ),
        client.post("/lookup/id", data={"id_number": clear, "name": "韩梅梅"}).get_data(
            as_text=True
        ),
    ]
    for answer in public:
        assert masked in answer and clear not in answer


# --- reading the PDF back -------------------------------------------------------------------


def test_read_embedded_refuses_what_is_not_a_certificate() -> None:
    with pytest.raises(NoEmbeddedRecord, match="not a PDF"):
        read_embedded(b"hello")
    merged = render_merged([(face(), None), (face(holder_name="李堃"), None)])
    with pytest.raises(NoEmbeddedRecord, match="no certsvc record"):
        read_embedded(merged)
    assert len(PdfReader(io.BytesIO(merged)).pages) == 2
    single = read_embedded(render_certificate(face()))
    assert (single.token, single.record) == (face().token, face().record)


# --- batches and the CLI --------------------------------------------------------------------


def test_zip_is_streamed_as_it_is_written() -> None:
    made: list[int] = []

    def files() -> object:
        for i in range(3):
            made.append(i)
            yield f"{i}.pdf", dt.date(2026, 11, 20), bytes([i]) * 1000

    stream = zip_stream(files())  # type: ignore[arg-type]
    first = next(stream)
    assert made == [0] and len(first) > 1000  # one file rendered, its bytes already out
    data = first + b"".join(stream)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["0.pdf", "1.pdf", "2.pdf"]
        assert archive.read("2.pdf") == b"\x02" * 1000
    assert data == b"".join(zip_stream(files()))  # type: ignore[arg-type]


def test_batch_zip_merged_and_cli(runtime: Runtime, body: str, tmp_path: Path) -> None:
    result = issue(runtime, [row(1, name="张三"), row(2, name="赵赟", level="技师", **DIRECT)])
    numbers = [c.number for c in result.certificates]
    with runtime.db.session() as session:
        # Two worker processes, as on a server's cores; the same bytes as one process.
        archive_bytes = b"".join(
            batch_zip(session, result.batch_id, PUBLIC_URL, runtime.vault, workers=2)
        )
        assert archive_bytes == b"".join(
            batch_zip(session, result.batch_id, PUBLIC_URL, runtime.vault, workers=1)
        )
        seen: list[int] = []
        merged = batch_merged(
            session, result.batch_id, PUBLIC_URL, runtime.vault, workers=2, progress=seen.append
        )
        assert merged == batch_merged(
            session, result.batch_id, PUBLIC_URL, runtime.vault, workers=1
        )
    assert seen == [2]
    archive = zipfile.ZipFile(io.BytesIO(archive_bytes))
    assert archive.namelist() == [f"{n}.pdf" for n in numbers]
    for n, issued in zip(numbers, result.certificates, strict=True):
        assert read_embedded(archive.read(f"{n}.pdf")).token == issued.token
    assert len(PdfReader(io.BytesIO(merged)).pages) == 2
    assert qr_texts(page_image(merged, 150, page=1)) == [
        f"{PUBLIC_URL}/v/{result.certificates[1].token}"
    ]
    meta = PdfReader(io.BytesIO(merged)).metadata
    assert meta is not None and meta.title == f"职业技能等级证书 · batch {result.batch_id}"
    assert meta.author == "南京测试装备集团有限公司" and meta.subject == "2 certificates"

    runner, ctx = cli_runner(runtime)

    def run(*args: str) -> tuple[int, str]:
        out = runner.invoke(cli, ["pdf", *args], obj=ctx)
        return out.exit_code, out.output

    code, output = run(
        numbers[0], "-o", str(tmp_path / "one.pdf"), "--seal", str(ASSETS / "seal.svg")
    )
    assert code == 0, output
    assert read_embedded((tmp_path / "one.pdf").read_bytes()).token == result.certificates[0].token
    code, output = run("--batch", result.batch_id, "-o", str(tmp_path / "all.zip"))
    assert code == 0 and zipfile.ZipFile(tmp_path / "all.zip").namelist() == archive.namelist()
    assert "rendering" in output  # the progress bar (drawn in full on a terminal)
    code, output = run("--batch", result.batch_id, "-o", str(tmp_path / "print.pdf"))
    assert code == 0 and (tmp_path / "print.pdf").read_bytes() == merged
    code, output = run("Y000132010001269999999")
    assert code == 66 and "no certificate" in output
    code, output = run("--batch", "nosuchbatch", "-o", str(tmp_path / "x.zip"))
    assert code == 66 and "no batch" in output
    code, output = run()
    assert code == 65 and "NUMBER or --batch" in output


def test_a_stored_body_seal_is_used_for_its_certificates(
    runtime: Runtime, body: str, tmp_path: Path
) -> None:
    issue(runtime, [row(1)])
    seal_png = (ASSETS / "seal.png").read_bytes()
    with runtime.db.transaction() as session:
        assert stored_seal(session, body) is None
        set_seal(session, get_body(session, body), seal_png)
    with runtime.db.session() as session:
        stamp = stored_seal(session, body)
        assert stamp is not None and stamp.kind == "png"
    with runtime.db.transaction() as session, pytest.raises(InvalidSeal):
        set_seal(session, get_body(session, body), b"not an image")
    runner, ctx = cli_runner(runtime)
    result = runner.invoke(cli, ["body", "seal", body], obj=ctx)
    assert result.exit_code == 65 and "--remove" in result.stderr
    result = runner.invoke(cli, ["body", "seal", body, "--remove"], obj=ctx)
    assert result.exit_code == 0, result.output
    with runtime.db.session() as session:
        assert stored_seal(session, body) is None


@pytest.mark.parametrize("extra", [0, 40, 140])
def test_a_larger_qr_shrinks_its_modules_to_stay_clear_of_the_seal(extra: int) -> None:
    """A long public URL makes a larger symbol: it still fits under the seal and scans."""
    token = "eyJ0eXAiOiJ0ZXN0In0." + "x" * (230 + extra)
    url = f"https://verify.example-group.com.cn/v/{token}"
    pdf = render_certificate(face(verify_url=url, token=token))
    page = page_image(pdf, 150, mode="RGB")
    _count, seal_box = seal_area(page)
    assert seal_box is not None
    (found,) = zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.QRCode)
    assert found.text == url
    assert min(found.position.top_left.y, found.position.top_right.y) > seal_box[3]


def test_a_long_batch_renders_on_worker_processes_in_order() -> None:
    """Enough certificates to start the process pool: the ZIP is the same as from one
    process, in the same order, and progress is reported as the PDFs come back."""
    from certsvc.render.batch import ZIP_RUN, zip_of_certificates

    faces = [face(number=f"Y000132010001263{i:06d}") for i in range(1, 4 * ZIP_RUN + 1)]
    seen: list[int] = []
    pooled = b"".join(zip_of_certificates(faces, workers=2, progress=seen.append))
    assert seen == [ZIP_RUN * i for i in range(1, 5)]
    assert pooled == b"".join(zip_of_certificates(faces, workers=1))
    names = zipfile.ZipFile(io.BytesIO(pooled)).namelist()
    assert names == [f"{f.number}.pdf" for f in faces]
