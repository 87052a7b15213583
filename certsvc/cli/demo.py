"""Demo data for ``make run``: a chain leader, two member enterprises, scope, a key, certificates.

Everything is idempotent: a second run finds the body, the key and the batch (same content →
same batch) and only prints the URLs again. The names, ID numbers and credit codes are made
up; their check characters are computed, so they pass the same rules as real ones.

Each demo holder has a generated placeholder photo (:func:`placeholder_photo`): a drawn
silhouette on white marked 示例 SAMPLE, never a real face, so the certificate's face is whole.
A demo database from before photos gets them once, as replaced photos.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
from collections.abc import Generator, Iterator
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.accounts.accounts import hash_password
from certsvc.bodies import bodies
from certsvc.domain.ids import resident_id_check_char
from certsvc.domain.levels import CERTIFIED_LEVELS, Level
from certsvc.domain.uscc import uscc_check_char
from certsvc.holders.photos import normalise_photo
from certsvc.i18n import gettext
from certsvc.issuance.photos import replace_photo
from certsvc.issuance.service import content_hash, issue_batch
from certsvc.models import Account, Batch, Certificate, CertificationBody
from certsvc.private_files import write_private
from certsvc.render.typeface import FONT_PATH
from certsvc.runtime import Runtime

DEMO_BODY = "Y000032010001"
DEMO_ACCOUNTS = (("demo-admin", "admin"), ("demo-issuer", "issuer"))
OCCUPATIONS = ("6-31-01-03", "6-18-02-04", "4-04-05-05", "6-18-01-05")


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def resident_id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


LEADER_USCC = uscc("91320594MA1W8K7R2")
MEMBER_A_USCC = uscc("91320505MA27HQ3N4")
MEMBER_B_USCC = uscc("91320583MA1MX5TC1")


def demo_rows() -> list[dict[str, str]]:
    """The demo results file, as rows."""
    common = {"id_type": "居民身份证", "route": "", "direct_ground": "", "direct_evidence": ""}
    return [
        {
            **common,
            "name": "张伟",
            "id_number": resident_id("32050519900101123"),
            "employer_uscc": LEADER_USCC,
            "employer_name": "苏州示范装备集团有限公司",
            "occupation_code": "6-31-01-03",
            "work_type": "",
            "level": "四级/中级工",
            "issue_date": "2026-11-20",
        },
        {
            **common,
            "name": "李堃",
            "id_number": resident_id("32058319851212456"),
            "employer_uscc": MEMBER_A_USCC,
            "employer_name": "苏州精工焊接技术有限公司",
            "occupation_code": "6-18-02-04",
            "work_type": "",
            "level": "三级/高级工",
            "issue_date": "2026-11-20",
        },
        {
            **common,
            "name": "欧阳晓明",
            "id_number": resident_id("32050219780315789"),
            "employer_uscc": LEADER_USCC,
            "employer_name": "苏州示范装备集团有限公司",
            "occupation_code": "6-18-01-05",
            "work_type": "数控镗工",
            "level": "技师",
            "issue_date": "2026-11-20",
            "route": "直接认定",
            "direct_ground": "解决重大工艺技术难题",
            "direct_evidence": "主持解决大型风电主轴轴承座精密镗削变形难题，废品率由6%降至0.5%，"
            "获集团2025年度技术攻关一等奖。",
        },
        {
            **common,
            "name": "王芳",
            "id_number": resident_id("32058119920808024"),
            "employer_uscc": MEMBER_B_USCC,
            "employer_name": "常熟智能数据服务有限公司",
            "occupation_code": "4-04-05-05",
            "work_type": "数据标注员",
            "level": "五级/初级工",
            "issue_date": "2026-11-20",
        },
        {
            **common,
            "name": "陈建国",
            "id_number": resident_id("32050519700606031"),
            "employer_uscc": LEADER_USCC,
            "employer_name": "苏州示范装备集团有限公司",
            "occupation_code": "6-18-02-04",
            "work_type": "",
            "level": "特级技师",
            "issue_date": "2026-11-20",
            "route": "直接认定",
            "direct_ground": "师带徒绩效突出",
            "direct_evidence": "近五年带徒32人，其中12人取得技师以上等级，2人获省技术能手称号。",
        },
    ]


#: Clothing colours of the placeholder silhouettes, one per demo row.
_CLOTHES = ((38, 70, 120), (120, 52, 40), (40, 96, 72), (96, 70, 130), (70, 70, 70))


def placeholder_photo(index: int) -> bytes:
    """A generated 1-inch placeholder photo (600 × 840, white background): a head-and-shoulders
    silhouette drawn with shapes and marked 示例 SAMPLE — visibly not a person's photo.
    The same index always gives the same bytes (so the demo batch is recognised on rerun)."""
    width, height = 600, 840
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    clothes = _CLOTHES[index % len(_CLOTHES)]
    draw.ellipse((60, 560, 540, 1100), fill=clothes)  # shoulders
    draw.rectangle((250, 430, 350, 600), fill=(214, 196, 178))  # neck
    draw.ellipse((170, 170, 430, 500), fill=(224, 206, 188))  # head
    draw.pieslice((160, 150, 440, 420), 180, 360, fill=(60, 50, 45))  # hair
    font = ImageFont.truetype(str(FONT_PATH), 64)
    draw.text((width / 2, 90), "示例 SAMPLE", font=font, fill=(180, 30, 30), anchor="mm")
    out = io.BytesIO()
    img.save(out, "PNG")
    return normalise_photo(out.getvalue())


def load_demo(runtime: Runtime, credentials_file: Path | None = None) -> Iterator[str]:
    """Create the demo data if missing; yield the lines to show the person."""
    credentials_file = credentials_file or runtime.settings.instance_dir / "demo-login.txt"
    with runtime.db.transaction() as session:
        body = session.scalar(select(CertificationBody).where(CertificationBody.code == DEMO_BODY))
        if body is None:
            body = bodies.create_body(
                session,
                bodies.NewBody(
                    code=DEMO_BODY,
                    name_zh="苏州示范装备集团有限公司（演示）",
                    name_en="Suzhou Demo Equipment Group Co., Ltd. (demo)",
                    uscc=LEADER_USCC,
                    filing_number="苏人社评备〔2026〕001号",
                    chain_leader=True,
                ),
                extra_provinces=dict(runtime.settings.extra_provinces),
                actor="demo",
            )
            runtime.keyring.create_key(session, body, "demo")
            start = dt.date(2026, 1, 1)
            bodies.add_member(session, body, MEMBER_A_USCC, "苏州精工焊接技术有限公司", start)
            bodies.add_member(session, body, MEMBER_B_USCC, "常熟智能数据服务有限公司", start)
            levels = [lv for lv in CERTIFIED_LEVELS if lv is not Level.CHIEF_TECHNICIAN]
            bodies.add_scope(session, body, OCCUPATIONS, levels, actor="demo")
            yield gettext(
                "created demo chain leader {body} with 2 member enterprises", body=DEMO_BODY
            )
        logins = _demo_accounts(session, body, credentials_file)

    rows = list(enumerate(demo_rows(), start=2))
    photos = {number: placeholder_photo(i) for i, (number, _) in enumerate(rows)}
    before_photos = yield from _photos_for_old_demo(runtime, rows, photos)
    result = issue_batch(
        runtime,
        DEMO_BODY,
        rows,
        source="api",
        content_sha256=content_hash(rows),
        actor="demo",
        photos=None if before_photos else photos,  # an old batch is replayed as it was
    )
    count = len(result.certificates)
    if result.replayed:
        yield gettext("demo certificates: {n} (already issued)", n=count)
    else:
        yield gettext("demo certificates: {n} (issued now)", n=count)
    yield gettext("console: {url}", url=f"{runtime.settings.public_url}/console/login")
    for username, password in logins.items():
        yield f"  {username} / {password}"
    yield gettext(
        "verify URLs (open one in a browser; `certsvc pdf NUMBER` prints it with its QR):"
    )
    for cert in result.certificates:
        yield f"  {cert.number}  {cert.holder_name}  {runtime.settings.public_url}/v/{cert.token}"


def _photos_for_old_demo(
    runtime: Runtime, rows: list[tuple[int, dict[str, str]]], photos: dict[int, bytes]
) -> Generator[str, None, bool]:
    """A demo database made before photos holds the batch without them: give its valid
    certificates their placeholder photos (as replaced photos, once) and return True; the
    batch with photos is then not issued, since the same people are certified already."""
    with runtime.db.session() as session:
        old = session.scalar(select(Batch.id).where(Batch.content_sha256 == content_hash(rows)))
        if old is None:
            return False
        bare = session.execute(
            select(Certificate.number, Certificate.batch_row).where(
                Certificate.batch_id == old,
                Certificate.status == "valid",
                Certificate.photo_sha256.is_(None),
            )
        ).all()
    for number, batch_row in bare:
        replace_photo(runtime, None, number, photos[batch_row], actor="demo")
    if bare:
        yield f"added placeholder photos to {len(bare)} demo certificates"
    return True


def _demo_accounts(
    session: Session, body: CertificationBody, credentials_file: Path
) -> dict[str, str]:
    """Demo console users and their passwords, kept (0600) in instance/ for reruns.

    An admin manages members, scope, keys and tokens; an issuer imports and issues.
    """
    known: dict[str, str] = {}
    if credentials_file.exists():
        for line in credentials_file.read_text().splitlines():
            username, _, password = line.partition(" ")
            if username and password:
                known[username] = password
    for username, role in DEMO_ACCOUNTS:
        account = session.scalar(select(Account).where(Account.username == username))
        if account is not None and username in known:
            continue
        known[username] = secrets.token_urlsafe(12)
        if account is None:
            account = Account(username=username, role=role, body_id=body.id, password_hash="")
            session.add(account)
        account.password_hash = hash_password(known[username])
    write_private(credentials_file, "".join(f"{u} {p}\n" for u, p in known.items()).encode())
    return known
