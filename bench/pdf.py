"""Certificate PDFs per second on one core, and their size, next to WeasyPrint.

``section()`` returns the markdown lines for bench/results.md; ``python -m bench.pdf`` prints
them. Certificates carry real signed tokens and records (a throw-away Ed25519 key), so QR
versions and PDF sizes are what production gives. WeasyPrint renders an equivalent HTML
certificate (same fields, the same LXGW WenKai face through fontconfig, the QR as an inline
SVG path) in the same run; it is a bench-only dependency, and when it cannot be imported the
section says so. Rates are CPU time (``time.process_time``) of this process: the machine is
shared, and CPU time is what "per core" means.
"""

from __future__ import annotations

import datetime as dt
import html
import statistics
import sys
import time
from collections.abc import Callable

from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.holders.identity import id_commitment
from certsvc.issuance.credential import CertifiedFacts, credential, qr_payload
from certsvc.render import CertificateFace, render_certificate
from certsvc.render import qr as qrcode
from certsvc.signing.jws import JwsSigner
from certsvc.signing.keys import generate_private_key, kid_for
from certsvc.signing.vc import sign_credential_with

PUBLIC_URL = "https://cert.example.cn"
NAMES = ("李堃", "张伟", "阿依古丽·买买提", "欧阳晓明", "王赟", "刘䶮")
ROUNDS = 5
PER_ROUND = 200
WEASY_RUNS = 8


def sample_faces(n: int) -> list[CertificateFace]:
    """``n`` certificates with real signatures, cycling through names and routes."""
    key = generate_private_key()
    signer = JwsSigner(key, kid_for(key))
    faces = []
    for i in range(n):
        direct = i % 3 == 2
        number = f"Y00013201000126{3 if direct else 4}{i + 1:06d}"
        facts = CertifiedFacts(
            number=number,
            holder_name=NAMES[i % len(NAMES)],
            id_type=IdType.RESIDENT_ID,
            id_masked="3201**********123X",
            id_commitment=id_commitment(IdType.RESIDENT_ID, "32010219900101123X", b"bench-salt"),
            employer_uscc="91320100MA1X7K3P8X",
            employer_name="",
            occupation_code="6-31-01-03",
            occupation_name_zh="电工",
            occupation_name_en="Electrician",
            work_type="",
            level=Level.SENIOR if direct else Level.INTERMEDIATE,
            issue_date=dt.date(2026, 11, 20),
            route=Route.DIRECT if direct else Route.REGULAR,
            direct_ground=DirectGround.MENTORING if direct else None,
            direct_evidence="近五年带徒32人，其中12人取得技师以上等级。" if direct else "",
            body_code="Y000132010001",
            body_name_zh="南京测试装备集团有限公司",
            body_name_en="Nanjing Test Equipment Group",
        )
        token = signer.sign(qr_payload(facts))
        faces.append(
            CertificateFace(
                number=number,
                holder_name=facts.holder_name,
                id_type=facts.id_type,
                id_masked=facts.id_masked,
                occupation_code=facts.occupation_code,
                occupation_zh=facts.occupation_name_zh,
                occupation_en=facts.occupation_name_en,
                work_type="",
                level=facts.level,
                route=facts.route,
                direct_ground=facts.direct_ground,
                issue_date=facts.issue_date,
                body_code=facts.body_code,
                body_name_zh=facts.body_name_zh,
                body_name_en=facts.body_name_en,
                verify_url=f"{PUBLIC_URL}/v/{token}",
                token=token,
                record=sign_credential_with(signer, credential(facts, PUBLIC_URL)),
            )
        )
    return faces


def cpu_rate(work: Callable[[], int], rounds: int) -> tuple[float, list[float]]:
    rates = []
    for _ in range(rounds):
        start = time.process_time()
        done = work()
        rates.append(done / (time.process_time() - start))
    return statistics.median(rates), rates


def html_certificate(face: CertificateFace) -> str:
    """The same certificate as HTML/CSS for WeasyPrint (fields, seal ring, QR as SVG)."""
    symbol = qrcode.encode(face.verify_url.encode())
    path = "".join(
        f"M{x} {y}h{w}v1h-{w}z"
        for x, y, w, _h, _op in (op.split() for op in qrcode.path_operators(symbol).splitlines())
    )
    rows = [
        ("姓名", "Name", face.holder_name, ""),
        ("证件类型", "ID type", face.id_type.label_zh, face.id_type.label_en),
        ("证件号码", "ID number", face.id_masked, ""),
        ("职业名称", "Occupation", face.occupation_zh, face.occupation_en),
        ("工种/职业方向", "Work type", face.work_type or "--", ""),
        ("职业技能等级", "Skill level", face.level.printed_zh, face.level.printed_en),
        ("认定方式", "Route", face.route.label_zh, face.route.label_en),
        ("证书编号", "Certificate No.", face.number, ""),
        ("发证日期", "Date of issue", face.issue_date.isoformat(), ""),
        ("评价机构", "Certification body", face.body_name_zh, face.body_name_en),
    ]
    cells = "".join(
        f"<tr><th>{html.escape(a)}<small>{html.escape(b)}</small></th>"
        f"<td>{html.escape(c)}<small>{html.escape(d)}</small></td></tr>"
        for a, b, c, d in rows
    )
    w = symbol.width
    return f"""<!doctype html><html lang="zh"><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 22mm }}
body {{ font-family: 'LXGW WenKai'; border: 2pt solid #9e1a17; padding: 10mm }}
h1 {{ text-align: center; color: #9e1a17; letter-spacing: 7pt; font-size: 30pt }}
small {{ display: block; font-size: 7.5pt; color: #666 }}
th {{ text-align: left; font-weight: normal; width: 46mm; padding: 4pt 0 }}
.seal {{ width: 40mm; height: 40mm; border: 2mm solid #dc1419; border-radius: 50% }}
.photo {{ width: 25mm; height: 35mm; border: 0.6pt dashed #888; float: right }}
</style></head><body><h1>职业技能等级证书</h1><p>Vocational Skill Level Certificate</p>
<div class="photo">照片 Photo</div><table>{cells}</table><div class="seal"></div>
<p>验证网址 Verify URL: {html.escape(face.verify_url)}</p>
<p>全国联网查询 National online query: jndj.osta.org.cn<br>
评价机构查询 Certification body query: pjjg.osta.org.cn</p>
<svg width="{w * 0.5}mm" height="{w * 0.5}mm" viewBox="0 0 {w} {w}"><path d="{path}"/></svg>
<p>扫码验证 · Scan to verify</p></body></html>"""


def section() -> list[str]:
    """Markdown lines: certsvc PDFs/s on one core, size, QR version, and WeasyPrint beside it."""
    faces = sample_faces(PER_ROUND)
    render_certificate(faces[0])  # warm-up: font file, static subset, QR layouts
    sizes = [len(render_certificate(f)) for f in faces]
    versions = sorted({qrcode.encode(f.verify_url.encode()).version for f in faces})

    def work() -> int:
        for f in faces:
            render_certificate(f)
        return len(faces)

    rate, rounds = cpu_rate(work, ROUNDS)
    print(f"certsvc: {rate:,.0f} PDFs/s", file=sys.stderr)
    lines = [
        "## Certificate PDFs",
        "",
        f"{PER_ROUND} certificates per round (six names from 2 to 7 characters, one in three a "
        "direct certification), real Ed25519 tokens and records; CPU time of one process, "
        f"median of {ROUNDS} rounds.",
        "",
        "| renderer | rate (one core) | PDF size |",
        "|---|---|---|",
        f"| certsvc (own PDF writer, cached static font subset) | **{rate:,.0f} PDFs/s** "
        f"(rounds: {', '.join(f'{r:,.0f}' for r in rounds)}) | {min(sizes) / 1024:.1f}–"
        f"{max(sizes) / 1024:.1f} KB (median {statistics.median(sizes) / 1024:.1f} KB) |",
    ]
    try:
        import weasyprint  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        lines += ["", f"WeasyPrint is not installed here ({exc}); no comparison this run."]
    else:
        documents = [html_certificate(f) for f in faces[:WEASY_RUNS]]
        weasyprint.HTML(string=documents[0]).write_pdf()  # warm-up: fontconfig, CSS

        def weasy() -> int:
            return sum(1 for d in documents if weasyprint.HTML(string=d).write_pdf())

        w_rate, _ = cpu_rate(weasy, 3)
        w_size = len(weasyprint.HTML(string=documents[0]).write_pdf())
        print(f"WeasyPrint {weasyprint.__version__}: {w_rate:,.1f} PDFs/s", file=sys.stderr)
        lines.append(
            f"| WeasyPrint {weasyprint.__version__}, equivalent HTML | {w_rate:,.1f} PDFs/s | "
            f"{w_size / 1024:.1f} KB |"
        )
        lines += ["", f"certsvc renders **{rate / w_rate:,.0f}×** as many PDFs per second."]
    lines += [
        "",
        f"QR versions seen: {', '.join(map(str, versions))} (level Q, 0.5 mm modules). "
        "Goals (issue #4): ≥ 300 PDFs/s per core, ≥ 100× WeasyPrint, ≤ 40 KB per certificate.",
        "",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(section()))
