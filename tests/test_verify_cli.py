"""``certsvc verify TOKEN|URL|FILE.pdf|IMAGE.png [--jwks FILE_OR_URL]``, offline and online."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from certsvc.cli.context import Context
from certsvc.cli.main import cli
from certsvc.issuance.service import revoke
from certsvc.runtime import Runtime
from tests.conftest import issue, person_id, row

ASSETS = Path(__file__).parent / "assets" / "jose"
JWKS = ASSETS / "jwks.json"


def vector(name: str) -> str:
    return (ASSETS / "verify" / name).read_text("ascii").strip()


def run(*args: str, code: int, obj: Context | None = None, language: str = "en") -> Result:
    result = CliRunner().invoke(
        cli,
        ["verify", *args],
        obj=obj,
        env={"CERTSVC_LANGUAGE": language},
        catch_exceptions=False,
    )
    assert result.exit_code == code, (result.output, result.stderr)
    return result


def qr_png(text: str, path: Path) -> Path:
    qrcode = pytest.importorskip("qrcode")
    image = qrcode.make(text, error_correction=qrcode.constants.ERROR_CORRECT_Q, border=4)
    image.save(path)
    return path


def qr_pdf(text: str, path: Path, tmp: Path) -> Path:
    """A one-page A4 PDF with the QR drawn at about 3 cm, like a printed certificate."""
    canvas_module = pytest.importorskip("reportlab.pdfgen.canvas")
    png = qr_png(text, tmp / "qr-for-pdf.png")
    canvas = canvas_module.Canvas(str(path), pagesize=(595, 842))
    canvas.drawString(72, 770, "certificate")
    canvas.drawImage(str(png), 420, 60, width=90, height=90)
    canvas.save()
    return path


def test_offline_valid_prints_the_fields_and_what_it_could_not_check() -> None:
    result = run(vector("good.jws"), "--jwks", str(JWKS), code=0)
    out = result.stdout
    assert out.startswith("status           VALID")
    for text in ("Y000132010001253000001", "张三", "三级/高级工", "电工", "offline, from token"):
        assert text in out
    assert "NOT checked      revocation, supersession, stored record" in out
    assert "not checked offline" in result.stderr


@pytest.mark.parametrize(
    ("name", "code", "status"),
    [
        ("tampered_name.jws", 5, "invalid_signature"),
        ("alg_none.jws", 5, "invalid_signature"),
        ("alg_hs256_pem_public_key.jws", 5, "invalid_signature"),
        ("compromised_before_cutoff.jws", 5, "invalid_signature"),
        ("other_body_number.jws", 5, "invalid_signature"),
        ("unknown_key.jws", 6, "unknown_key"),
        ("payload_object_form.jws", 7, "malformed"),
    ],
)
def test_offline_not_valid_exits_non_zero_with_one_line(name: str, code: int, status: str) -> None:
    result = run(vector(name), "--jwks", str(JWKS), code=code)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"not valid: {status}")


@pytest.mark.parametrize("name", ["bad_padding.jws", "bad_illegal_char.jws"])
def test_a_damaged_token_too_long_for_a_file_name_is_malformed(name: str) -> None:
    """Not a token by shape, so looked up as a file: past 255 characters the system says
    'File name too long' (OSError), which was a traceback."""
    token = (ASSETS / name).read_text("ascii").strip()
    assert len(token) > 255
    result = run(token, "--jwks", str(JWKS), code=7)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("not valid: malformed")


def test_url_png_pdf_and_json(tmp_path: Path) -> None:
    url = f"https://cert.example.cn/v/{vector('good.jws')}"
    assert "from url" in run(url, "--jwks", str(JWKS), code=0).stdout
    png = qr_png(url, tmp_path / "scan.png")
    assert "from image" in run(str(png), "--jwks", str(JWKS), code=0).stdout
    pdf = qr_pdf(url, tmp_path / "certificate.pdf", tmp_path)
    out = run(str(pdf), "--jwks", str(JWKS), code=0).stdout
    assert "from pdf" in out
    data = json.loads(run(str(png), "--jwks", str(JWKS), "--json", code=0).stdout)
    assert data["status"] == "valid" and data["mode"] == "offline"
    assert data["not_checked"] == ["revocation", "supersession", "stored_record"]
    tampered = qr_png(
        f"https://cert.example.cn/v/{vector('tampered_name.jws')}", tmp_path / "t.png"
    )
    run(str(tampered), "--jwks", str(JWKS), code=5)


def test_unreadable_inputs_are_one_line_errors(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    pytest.importorskip("PIL.Image").new("L", (200, 200), 255).save(blank)
    assert "found no QR code" in run(str(blank), "--jwks", str(JWKS), code=65).stderr
    assert "no such file" in run(str(tmp_path / "x.pdf"), "--jwks", str(JWKS), code=65).stderr
    page = run("https://cert.example.cn/about", "--jwks", str(JWKS), code=65)
    assert "not a certificate verification URL" in page.stderr
    lying = ASSETS / "bad_jwks_lying_kid.json"
    assert "refusing the JWKS" in run(vector("good.jws"), "--jwks", str(lying), code=77).stderr


@pytest.fixture
def jwks_url() -> Iterator[str]:
    handler = partial(SimpleHTTPRequestHandler, directory=str(ASSETS))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_jwks_from_a_url(jwks_url: str) -> None:
    run(vector("good.jws"), "--jwks", jwks_url, code=0)
    gone = jwks_url.replace("jwks.json", "missing.json")
    assert "cannot fetch the JWKS" in run(vector("good.jws"), "--jwks", gone, code=77).stderr


def test_online_against_the_database(runtime: Runtime, body: str, tmp_path: Path) -> None:
    ctx = Context()
    ctx._runtime = runtime
    issued = issue(runtime, [row(1), row(2)]).certificates
    out = run(issued[0].token, obj=ctx, code=0).stdout
    assert "online, from token" in out and "NOT checked" not in out
    assert issued[0].number in out and "3201**********" in out
    revoke(runtime, issued[1].number, "考核记录不实")
    png = qr_png(f"https://cert.example.cn/v/{issued[1].token}", tmp_path / "r.png")
    result = run(str(png), obj=ctx, code=3)
    assert "考核记录不实" in result.stdout and result.stderr.startswith("not valid: revoked")


def test_real_certificate_pdf_offline_uses_its_embedded_record(
    runtime: Runtime, body: str, tmp_path: Path
) -> None:
    render = pytest.importorskip("certsvc.render")
    from sqlalchemy import select

    from certsvc import create_app
    from certsvc.errors import ConfigError
    from certsvc.models import Certificate

    issued = issue(runtime, [row(1, name="欧阳晓明")]).certificates[0]
    with runtime.db.session() as session:
        cert = session.scalar(select(Certificate).where(Certificate.number == issued.number))
        assert cert is not None
        face = render.face_from_certificate(cert, "https://cert.example.cn", id_number=person_id(1))
    try:
        pdf_bytes = render.render_certificate(face)
    except ConfigError as exc:  # the certificate font is not installed here
        pytest.skip(f"cannot render a certificate PDF: {exc.message}")
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(pdf_bytes)
    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(create_app(runtime=runtime).test_client().get("/.well-known/jwks.json").data)

    out = run(str(pdf), "--jwks", str(jwks), "--json", code=0).stdout
    data = json.loads(out)
    assert data["status"] == "valid" and data["not_checked"] == ["revocation", "supersession"]
    assert data["certificate"]["id_number_masked"].startswith("3201****")  # from the record
    assert "from pdf (embedded)" in run(str(pdf), "--jwks", str(jwks), code=0).stdout

    # Without the attachment (a scan, a re-saved file) the printed QR code is read instead.
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf_bytes)
    image = document[0].render(scale=4).to_pil()
    document.close()
    scan = tmp_path / "scan.pdf"
    image.convert("RGB").save(scan, "PDF", resolution=288)
    assert "from pdf (QR)" in run(str(scan), "--jwks", str(jwks), code=0).stdout


def test_the_output_names_the_host_it_trusted_and_a_url_on_another(
    runtime: Runtime, body: str, tmp_path: Path, jwks_url: str
) -> None:
    ctx = Context()
    ctx._runtime = runtime
    token = issue(runtime, [row(1)]).certificates[0].token
    own = run(f"https://cert.example.cn/v/{token}", obj=ctx, code=0)
    assert (
        "trusted          this installation's database (online), serving cert.example.cn"
        in own.stdout
    )
    chinese = run(f"https://cert.example.cn/v/{token}", obj=ctx, code=0, language="zh")
    assert "本机数据库（在线核验），服务地址 cert.example.cn" in chinese.stdout
    assert "核验方式" in chinese.stdout and "真实有效" in chinese.stdout
    assert "URL host         cert.example.cn\n" in own.stdout and own.stderr == ""

    phished = f"https://cert.example.cn.evil.example/v/{token}"
    for presented in (phished, str(qr_png(phished, tmp_path / "phished.png"))):
        other = run(presented, obj=ctx, code=0)  # the certificate itself is genuine
        assert "status           VALID" in other.stdout
        assert "NOT the trusted cert.example.cn!" in other.stdout
        assert other.stderr.startswith("warning: the URL's host cert.example.cn.evil.example is")
        warned = run(presented, obj=ctx, code=0, language="zh")
        assert "不是所信任的 cert.example.cn" in warned.stdout
        assert warned.stderr.startswith("警告：网址的主机 cert.example.cn.evil.example 不是")
    as_json = run(phished, "--json", obj=ctx, code=0)
    assert json.loads(as_json.stdout)["status"] == "valid" and "warning" in as_json.stderr

    offline = f"https://cert.example.cn/v/{vector('good.jws')}"
    fetched = run(offline, "--jwks", jwks_url, code=0)
    host = jwks_url.split("/")[2]
    assert f"the key set published by {host} (signature checked offline)" in fetched.stdout
    assert f"is not {host}, which was trusted" in fetched.stderr
    from_file = run(offline, "--jwks", str(JWKS), code=0).stdout
    assert f"the key set file {JWKS} (offline)" in from_file
    assert "URL host         cert.example.cn not checked: a key set file names no host" in from_file
    in_chinese = run(offline, "--jwks", str(JWKS), code=0, language="zh").stdout
    assert "cert.example.cn 未核对：密钥集文件不含主机" in in_chinese and "网址主机" in in_chinese
