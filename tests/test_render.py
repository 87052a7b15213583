"""Certificate PDFs the way a person meets them: printed, scanned by a phone, opened offline.

The QR is decoded from the *rendered page* (pdfium at 150 and 100 dpi, rotated, with noise)
by zxing-cpp and, where libzbar is installed, by zbar; the decoded token must verify.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import itertools
import math
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from click.testing import CliRunner
from PIL import Image, ImageFilter
from pypdf import PdfReader
from sqlalchemy import select

from certsvc.bodies.bodies import get_body, set_seal
from certsvc.cli.context import Context
from certsvc.cli.main import cli
from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.errors import FontMissing, InvalidSeal, NoEmbeddedRecord, UnrenderableText
from certsvc.models import Certificate
from certsvc.render import (
    CertificateFace,
    check_renderable,
    load_seal,
    qr,
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
from certsvc.render.font import FONT_PACKAGE, TrueTypeFont
from certsvc.runtime import Runtime
from certsvc.verify.core import verify_token
from tests.conftest import issue, row

try:
    from pyzbar import pyzbar as zbar
except (ImportError, OSError):  # pyzbar raises ImportError when libzbar0 is missing
    zbar = None

ASSETS = Path(__file__).parent / "assets" / "render"
PUBLIC_URL = "https://cert.example.cn"
DIRECT = {
    "route": "直接认定",
    "direct_ground": "师带徒绩效突出",
    "direct_evidence": "近五年带徒32人，其中12人取得技师以上等级。",
}


def page_image(pdf: bytes, dpi: int, page: int = 0) -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[page].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        doc.close()


def qr_texts(img: Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
    return [r.text for r in found]


def zbar_texts(img: Image.Image) -> list[str]:
    if zbar is None:
        pytest.skip("zbar is not installed (pip install pyzbar; apt-get install libzbar0)")
    return [r.data.decode() for r in zbar.decode(img) if r.type == "QRCODE"]


def noisy(img: Image.Image, seed: int) -> Image.Image:
    noise = Image.frombytes("L", img.size, random.Random(seed).randbytes(img.width * img.height))
    return Image.blend(img, noise, 0.3).filter(ImageFilter.GaussianBlur(0.6))


def face(**changes: object) -> CertificateFace:
    """A certificate face without a database (token and record are placeholders)."""
    base = CertificateFace(
        number="Y000132010001263000001",
        holder_name="阿依古丽·买买提",
        id_type=IdType.RESIDENT_ID,
        id_masked="3201**********123X",
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
        return [certificate_face(session, n, PUBLIC_URL) for n in numbers]


# --- scanning the printed QR ---------------------------------------------------------------


def test_printed_qr_scans_and_verifies(runtime: Runtime, body: str) -> None:
    result = issue(
        runtime,
        [row(1, name="李堃"), row(2, name="阿依古丽·买买提", level="三级/高级工", **DIRECT)],
    )
    faces = stored_faces(runtime, [c.number for c in result.certificates])
    for f, issued in zip(faces, result.certificates, strict=True):
        pdf = render_certificate(f)
        page = page_image(pdf, 150)
        scans = {
            "150 dpi": qr_texts(page),
            "100 dpi": qr_texts(page_image(pdf, 100)),
            "rotated": qr_texts(page.rotate(17, expand=True, fillcolor=255)),
            "upside down": qr_texts(page.rotate(180)),
            "noise": qr_texts(noisy(page, 7)),
        }
        expected = f"{PUBLIC_URL}/v/{issued.token}"
        assert scans == {k: [expected] for k in scans}
        # DESIGN.md: QR version ≤ 15 at level Q, here with an eight-character name too.
        assert qr.encode(expected.encode()).version <= 15
        with runtime.db.session() as session:
            token = scans["noise"][0].rsplit("/v/", 1)[1]
            assert verify_token(session, token).status == "valid"
        embedded = read_embedded(pdf)
        assert embedded.token == issued.token
        with runtime.db.session() as session:
            cert = session.scalar(select(Certificate).where(Certificate.number == f.number))
            assert cert is not None and embedded.record == cert.record


def test_qr_is_one_vector_path_of_at_least_0_4_mm_modules() -> None:
    pdf = render_certificate(face())
    content = PdfReader(io.BytesIO(pdf)).pages[0].get_contents()
    assert content is not None
    text = content.get_data().decode("latin-1")
    start = text.index("0 0 0 rg 1.417 0 0 -1.417")  # 0.5 mm per module
    qr_ops = text[start : text.index(" Q", start)].splitlines()
    assert qr_ops[-1].endswith("f") and sum(op.endswith(" re") for op in qr_ops) > 500
    assert sum(op.strip() in ("f", "f*", "S", "B") for op in qr_ops) == 1  # one fill
    assert "/Subtype/Image" not in pdf.decode("latin-1")  # no bitmap anywhere


def test_zbar_reads_the_printed_qr() -> None:
    pdf = render_certificate(face())
    assert zbar_texts(page_image(pdf, 150)) == [face().verify_url]
    assert zbar_texts(page_image(pdf, 100).rotate(90, expand=True)) == [face().verify_url]


# --- the face -------------------------------------------------------------------------------


def test_every_certified_field_is_printed_and_searchable() -> None:
    pdf = render_certificate(face(work_type=""))
    doc = pdfium.PdfDocument(pdf)
    text = doc[0].get_textpage().get_text_bounded().replace("\r\n", "\n")
    doc.close()
    for expected in [
        "职业技能等级证书",
        "Vocational Skill Level Certificate",
        "阿依古丽·买买提",
        "居民身份证",
        "Resident Identity Card",
        "3201**********123X",
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


def test_fonts_are_embedded_subsets_and_metadata_is_set() -> None:
    pdf = render_certificate(face())
    reader = PdfReader(io.BytesIO(pdf))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert len(fonts) == 2
    for ref in fonts.values():
        descendant = ref.get_object()["/DescendantFonts"][0].get_object()
        assert descendant["/Subtype"] == "/CIDFontType2"
        assert "/FontFile2" in descendant["/FontDescriptor"]
        tag, base = str(descendant["/BaseFont"]).lstrip("/").split("+")
        assert base == "LXGWWenKai-Regular" and len(tag) == 6 and tag.isupper()
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "职业技能等级证书 · 阿依古丽·买买提 · Y000132010001263000001"
    assert meta.author == "南京测试装备集团有限公司"
    assert meta.subject == "Y000132010001263000001"
    assert reader.pages[0].mediabox.width == pytest.approx(595.276)


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
    check_renderable("䶮堃喆赟 阿依古丽·买买提")
    pdf = render_certificate(face(holder_name="刘䶮堃喆赟"))
    doc = pdfium.PdfDocument(pdf)
    assert "刘䶮堃喆赟" in doc[0].get_textpage().get_text_bounded()
    doc.close()
    with pytest.raises(UnrenderableText, match=r"U\+1F600") as info:
        check_renderable("王😀")
    assert info.value.characters == ["😀"] and info.value.code == "unrenderable_character"
    with pytest.raises(UnrenderableText, match="U\\+E000"):
        render_certificate(face(holder_name="王\ue000"))


def test_a_missing_or_unusable_font_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match=FONT_PACKAGE):
        TrueTypeFont.load(tmp_path / "absent.ttf")
    cff = tmp_path / "cff.otf"
    cff.write_bytes(b"OTTO" + bytes(60))
    with pytest.raises(FontMissing, match="TrueType"):
        TrueTypeFont.load(cff)


def test_a_typical_certificate_is_at_most_40_kb() -> None:
    assert len(render_certificate(face(holder_name="李堃", route=Route.REGULAR))) <= 40 * 1024


def test_photo_replaces_the_placeholder_frame() -> None:
    photo = io.BytesIO()
    Image.new("RGB", (120, 160), (200, 210, 230)).save(photo, "JPEG")
    pdf = render_certificate(face(photo=photo.getvalue()))
    doc = pdfium.PdfDocument(pdf)
    assert "照片" not in doc[0].get_textpage().get_text_bounded()
    doc.close()
    assert b"/Subtype/Image/Width 295/Height 413" in pdf


# --- seals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["seal.png", "seal.svg"])
def test_uploaded_seals_are_printed(name: str) -> None:
    seal = load_seal((ASSETS / name).read_bytes())
    pdf = render_certificate(face(), seal)
    resources = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]
    xobject = resources["/XObject"]["/Seal"].get_object()
    assert xobject["/Subtype"] == ("/Image" if name.endswith(".png") else "/Form")
    if name.endswith(".png"):
        assert "/SMask" in xobject  # transparency kept
    assert qr_texts(page_image(pdf, 150)) == [face().verify_url]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((ASSETS / "seal-with-text.svg").read_bytes(), "outlines"),
        (b"GIF89a....", "PNG or an SVG"),
        (b"\x89PNG\r\n\x1a\nnot really", "cannot be read"),
    ],
)
def test_bad_seals_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidSeal, match=message):
        load_seal(data)


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


def test_batch_zip_merged_and_cli(
    runtime: Runtime, body: str, tmp_path: Path, runner: CliRunner
) -> None:
    result = issue(runtime, [row(1, name="张三"), row(2, name="赵赟", level="技师", **DIRECT)])
    numbers = [c.number for c in result.certificates]
    with runtime.db.session() as session:
        archive = zipfile.ZipFile(
            io.BytesIO(b"".join(batch_zip(session, result.batch_id, PUBLIC_URL)))
        )
        merged = batch_merged(session, result.batch_id, PUBLIC_URL)
    assert archive.namelist() == [f"{n}.pdf" for n in numbers]
    for n, issued in zip(numbers, result.certificates, strict=True):
        assert read_embedded(archive.read(f"{n}.pdf")).token == issued.token
    assert len(PdfReader(io.BytesIO(merged)).pages) == 2
    assert qr_texts(page_image(merged, 150, page=1)) == [
        f"{PUBLIC_URL}/v/{result.certificates[1].token}"
    ]

    ctx = Context()
    ctx._runtime = runtime

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
    code, output = run("--batch", result.batch_id, "-o", str(tmp_path / "print.pdf"))
    assert code == 0 and (tmp_path / "print.pdf").read_bytes() == merged
    code, output = run("Y000132010001269999999")
    assert code == 66 and "no certificate" in output
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
    ctx = Context()
    ctx._runtime = runtime
    result = CliRunner().invoke(cli, ["body", "seal", body], obj=ctx)
    assert result.exit_code == 65 and "--remove" in result.stderr
    result = CliRunner().invoke(cli, ["body", "seal", body, "--remove"], obj=ctx)
    assert result.exit_code == 0, result.output
    with runtime.db.session() as session:
        assert stored_seal(session, body) is None


@pytest.mark.parametrize(
    "name", ["华为", "华为技术有限公司", "苏州示范装备集团有限公司（演示）", "中" * 30]
)
def test_generated_seal_never_crowds_a_long_name(name: str) -> None:
    """Each character of the seal's name gets at least its own size along the arc (a long
    name gets smaller characters), within 240 degrees centred at the top."""
    from certsvc.render.seal import _generated_seal

    _ops, runs = _generated_seal(lambda ch: 1.0, name, 0.0, 0.0, 60.0)
    assert len(runs) == len(name)
    rotations = [run.rotation for run in runs]
    assert max(rotations) <= 120 + 1e-9 and min(rotations) >= -120 - 1e-9
    assert abs(max(rotations) + min(rotations)) < 1e-9  # symmetric about the top
    for a, b in itertools.pairwise(runs):
        # Distance between the glyph origins, which sit on one circle a step apart.
        gap = math.hypot(a.x - b.x, a.y - b.y)
        assert gap >= a.size
