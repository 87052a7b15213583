"""No raw status words on any page: every console and public page, walked with demo data.

A person reads names (证书已撤销, 下载证书 PDF, 已完成, 上传 Excel 文件), not the codes the
service stores (``revoked``, ``certificate.pdf``, ``succeeded``, ``xlsx``). The walk fills the
database with every kind of thing a page can show — valid, revoked and superseded
certificates, batches from the API, a CSV and an Excel upload, queued and finished jobs, audit
entries of log-ins, failed log-ins, downloads, refusals — then reads the visible text of each
page (code, preformatted and number fields excepted: ``mono``/``num`` cells show numbers, ids
and file names on purpose) and looks for the codes.

Codes that are also English words (``valid``, ``failed``) are looked for on the Chinese pages,
where any of them can only be a code; codes that are no word (``invalid_signature``,
``certificate.pdf``, ``csv``) on the pages of both languages. Both languages render the same
templates, so a code printed raw shows up on the Chinese page whatever the language.

The second half checks the tables behind the names: every action, outcome and event kind the
code writes has a name in both languages.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import Workbook
from sqlalchemy import select

from certsvc.domain.statuses import CERTIFICATE_STATUSES, KEY_STATUSES, VERIFICATION_STATUSES
from certsvc.i18n import gettext, use_language
from certsvc.issuance.columns import COLUMNS
from certsvc.issuance.service import revoke
from certsvc.jobs.runner import run_job
from certsvc.models import Batch, Job, SigningKey
from certsvc.models.jobs import JOB_KINDS, JOB_STATES
from certsvc.runtime import Runtime
from certsvc.web.console import i18n
from tests.conftest import Console, csv_file, issue, make_account, person_id, row

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def backend() -> str:
    """One backend is enough: the pages are checked, not the database."""
    return "sqlite"


#: Codes that are English words too: raw on a Chinese page, possibly prose on an English one.
WORD_CODES = frozenset(
    {
        *CERTIFICATE_STATUSES,
        *KEY_STATUSES,
        "issued",
        "login",
        "logout",
        "tampered",
        "malformed",
        "suspended",
        "ok",
        "rejected",
        "replayed",
        "denied",
        "refused",
        "locked",
        "disabled",
        "pending",
        *JOB_STATES,
        "import",
        "regular",
        "direct",
        "console",
        "corrected",  # the stored note of a superseded certificate, "corrected by …"
    }
)
#: Codes that are no word: raw on a page of either language.
NON_WORD_CODES = frozenset(
    {
        *(s for s in VERIFICATION_STATUSES if "_" in s),
        "tampered",
        "key_compromised",
        "record_mismatch",
        "unsupported_header",
        *(a for a in i18n.ACTION_NAMES if "." in a or "_" in a),
        *(k for k in i18n.EVENT_NAMES if "_" in k),
        *(k for k in JOB_KINDS if "_" in k),
        "rate_limited",
        "certificate.pdf",
        "batch.zip",
        "csv",
        "xlsx",
        "api",
        "json",
    }
)
_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}
_SKIP_TAGS = {"script", "style", "code", "pre", "textarea", "svg"}
_FIELD_CLASSES = {"mono", "num"}


class _Visible(HTMLParser):
    """The text a person sees: free text, and the whole text of each number field (``mono``,
    ``num``); code, preformatted text and scripts left out."""

    def __init__(self) -> None:
        super().__init__()
        #: open elements: (tag, skipped, the text of a number field or None)
        self.stack: list[tuple[str, bool, list[str] | None]] = []
        self.parts: list[str] = []
        self.fields: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        classes = set((dict(attrs).get("class") or "").split())
        skipped = tag in _SKIP_TAGS or any(s for _, s, _ in self.stack[-1:])
        self.stack.append((tag, skipped, [] if classes & _FIELD_CLASSES else None))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                for _, _, field in self.stack[depth:]:
                    if field is not None:
                        self.fields.append("".join(field).strip())
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][1]:
            return
        fields = [field for _, _, field in self.stack if field is not None]
        for field in fields:
            field.append(data)
        if not fields:
            self.parts.append(data)


def raw_codes(html: str, lang: str) -> set[str]:
    """The codes a person sees on *html*, a page in *lang*: in free text, any word that is a
    code; in a number field (which shows numbers, ids, paths and file names on purpose), a
    whole field that is one."""
    parser = _Visible()
    parser.feed(html)
    parser.close()
    codes = NON_WORD_CODES | (WORD_CODES if lang == "zh" else frozenset())
    words = {w.strip(".") for w in re.findall(r"[A-Za-z0-9_.]+", " ".join(parser.parts))}
    return (words & codes) | (set(parser.fields) & codes)


def test_the_detector_finds_codes_and_leaves_code_fields_alone() -> None:
    assert raw_codes("<td>revoked</td>", "zh") == {"revoked"}
    assert raw_codes("<td>revoked</td>", "en") == set()
    assert raw_codes("<p>状态：invalid_signature · tampered</p>", "en") == {
        "invalid_signature",
        "tampered",
    }
    assert raw_codes("<td>下载 <b>certificate.pdf</b></td><td>xlsx</td>", "zh") == {
        "certificate.pdf",
        "xlsx",
    }
    # Code is left alone; a number field may hold a path or a file name, not a bare code.
    assert raw_codes("<details><code>valid</code> <pre>revoked</pre></details>", "zh") == set()
    html = '<p>x<br><span class="mono">/console/audit</span> <b class="num">batch-1.zip</b></p>'
    assert raw_codes(html, "zh") == set()
    assert raw_codes('<td class="mono">certificate.pdf</td><td class="num">csv</td>', "en") == {
        "certificate.pdf",
        "csv",
    }


# --- the walk -------------------------------------------------------------------------------------


def xlsx_file(rows: list[dict[str, str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([c.header for c in COLUMNS])
    for r in rows:
        sheet.append([r[c.key] for c in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def walk(runtime: Runtime, body: str, app: Flask) -> Iterator[dict[str, object]]:
    """A body with every kind of thing a page shows, and its admin, issuer and an operator."""
    first = issue(runtime, [row(1, name="欧阳晓明"), row(3, name="李雷"), row(2, name="张山")])
    valid, revoked, old = first.certificates
    revoke(runtime, revoked.number, "考核记录不实，经复核撤销")
    newer = issue(runtime, [row(2, name="张三", corrects=old.number)]).certificates[0]
    make_account(runtime, "walk-admin", "admin", body)
    make_account(runtime, "walk-issuer", "issuer", body)
    make_account(runtime, "walk-operator", "operator", None)
    admin, issuer, operator = (Console(app.test_client()) for _ in range(3))
    assert admin.login("walk-admin").status_code == 302
    assert operator.login("walk-operator").status_code == 302
    assert issuer.login("nobody-here").status_code != 302  # a failed log-in, audited
    assert issuer.login("walk-issuer", "wrong password").status_code != 302
    assert issuer.login("walk-issuer").status_code == 302
    # Batches from a CSV and an Excel upload, and a refused upload.
    for content, name in (
        (csv_file([row(11, name="王五")]), "results.csv"),
        (xlsx_file([row(12, name="赵六")]), "results.xlsx"),
    ):
        preview = issuer.upload(content, name=name)
        assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
        assert issuer.confirm(preview).status_code in (200, 302, 303)
    assert issuer.upload(csv_file([row(13, name="X1", id_number="123")])).status_code == 422
    issuer.get("/console/audit")  # denied to an issuer, audited
    # Downloads and views, each audited.
    admin.get(f"/console/certificates/{valid.number}")
    assert admin.get(f"/console/certificates/{valid.number}.pdf").status_code == 200
    assert admin.get(f"/console/batches/{first.batch_id}/certificates.csv").status_code == 200
    # Jobs: a ZIP that ran, a print PDF still queued, a statistics export that ran.
    zipped = admin.post(f"/console/batches/{first.batch_id}/zip")
    assert zipped.status_code == 303
    admin.post(f"/console/batches/{first.batch_id}/print")
    admin.post("/console/stats/export/xlsx")
    with runtime.db.session() as session:
        jobs = {j.kind: j.id for j in session.scalars(select(Job))}
        batches = list(session.scalars(select(Batch.id)))
        kid = session.scalars(select(SigningKey.kid)).first()
    run_job(runtime, jobs["batch_zip"])
    run_job(runtime, jobs["stats_export"])
    assert admin.get(f"/console/jobs/{jobs['batch_zip']}/result").status_code == 200
    admin.post("/console/logout")
    assert admin.login("walk-admin").status_code == 302
    yield {
        "admin": admin,
        "issuer": issuer,
        "operator": operator,
        "numbers": [valid.number, revoked.number, old.number, newer.number],
        "tokens": {
            "valid": valid.token,
            "revoked": revoked.token,
            "superseded": old.token,
            "newer": newer.token,
        },
        "batches": batches,
        "jobs": list(jobs.values()),
        "kid": kid,
        "name": {valid.number: "欧阳晓明", revoked.number: "李雷"},
    }


def console_pages(walk: dict[str, object]) -> list[str]:
    numbers = walk["numbers"]
    assert isinstance(numbers, list)
    pages = [
        "/console/dashboard",
        "/console/import",
        "/console/certificates",
        "/console/certificates?status=revoked",
        "/console/batches",
        "/console/jobs",
        "/console/members",
        "/console/scope",
        "/console/keys",
        "/console/keys/rotate",
        f"/console/keys/{walk['kid']}/compromise",
        "/console/accounts",
        "/console/tokens",
        "/console/audit",
        "/console/password",
        f"/console/certificates/{numbers[0]}/revoke",
        f"/console/certificates/{numbers[0]}/correct",
    ]
    pages += [f"/console/certificates/{n}" for n in numbers]
    pages += [f"/console/batches/{b}" for b in walk["batches"]]  # type: ignore[attr-defined]
    pages += [f"/console/jobs/{j}" for j in walk["jobs"]]  # type: ignore[attr-defined]
    return pages


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_console_page_shows_a_raw_code(walk: dict[str, object], lang: str) -> None:
    admin, issuer, operator = walk["admin"], walk["issuer"], walk["operator"]
    assert isinstance(admin, Console) and isinstance(operator, Console)
    assert isinstance(issuer, Console)
    found: dict[str, set[str]] = {}
    seen = 0
    for who, pages in (
        (admin, console_pages(walk)),
        (operator, ["/console/bodies", "/console/accounts", "/console/audit"]),
        (issuer, ["/console/audit", "/console/login"]),  # the error page (403) too
    ):
        for path in pages:
            # ?lang= sets the language of that one page (an account keeps its own choice).
            page = who.get(f"{path}{'&' if '?' in path else '?'}lang={lang}")
            assert page.status_code in (200, 403), (path, page.status_code)
            html = page.get_data(as_text=True)
            seen += 1
            if codes := raw_codes(html, lang):
                found[path] = codes
    assert found == {}
    assert seen > 25
    # A superseded certificate says so in words and links the one that replaced it.
    numbers = walk["numbers"]
    assert isinstance(numbers, list)
    old = admin.get(f"/console/certificates/{numbers[2]}?lang={lang}").get_data(as_text=True)
    replaced = "已由更正后的新证书替代" if lang == "zh" else "Replaced by a corrected certificate"
    assert replaced in old and f'href="/console/certificates/{numbers[3]}"' in old
    # The audit page shows what the walk did, by name.
    audit = admin.get(f"/console/audit?lang={lang}").get_data(as_text=True)
    expected = ["certificate.pdf", "batch.export", "login", "logout", "import.preview"]
    expected += ["job.batch_zip", "job.download", "batch.issue", "certificate.view"]
    for action in expected:
        with use_language(lang):
            name = gettext(i18n.ACTION_NAMES[action])
        assert f">{name}<" in audit, action


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_public_page_shows_a_raw_code(
    walk: dict[str, object], app: Flask, lang: str, tmp_path: Path
) -> None:
    client = app.test_client()
    tokens = walk["tokens"]
    names = walk["name"]
    assert isinstance(tokens, dict) and isinstance(names, dict)
    header = {"Accept-Language": "zh-CN,zh" if lang == "zh" else "en"}
    found: dict[str, set[str]] = {}
    pages = {
        "/": client.get("/", headers=header),
        "/lookup": client.get("/lookup", headers=header),
        "/v/malformed": client.get("/v/abc", headers=header),
        "/v/forged": client.get(f"/v/{tokens['valid'][:-4]}AAAA", headers=header),
    }
    for status, token in tokens.items():
        pages[f"/v/{status}"] = client.get(f"/v/{token}", headers=header)
    for number, name in names.items():
        pages[f"number {number}"] = client.post(
            "/lookup/number", data={"number": number, "name": name, "lang": lang}
        )
    pages["not found"] = client.post(
        "/lookup/number", data={"number": names and next(iter(names)), "name": "某某", "lang": lang}
    )
    pages["by id"] = client.post(
        "/lookup/id",
        data={"id_type": "resident_id", "id_number": person_id(2), "name": "张三", "lang": lang},
    )
    for path, page in pages.items():
        assert page.status_code in (200, 400), (path, page.status_code)
        if codes := raw_codes(page.get_data(as_text=True), lang):
            found[path] = codes
    assert found == {}
    statuses = {
        re.search(r'data-status="(\w+)"', p.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        for k, p in pages.items()
        if k.startswith("/v/") or k.startswith("number") or k == "not found"
    }
    assert statuses == {
        "valid",
        "revoked",
        "superseded",
        "malformed",
        "invalid_signature",
        "not_found",
    }


# --- the names behind the pages -------------------------------------------------------------------

SOURCE = Path(__file__).resolve().parent.parent / "certsvc"
_AUDIT_CALL = re.compile(
    r"\b(?:audit_request|audited_request|audited|audit\.record|record)\(\s*"
    r"(?:[\w.]+,\s*){0,2}(f?)\"([a-z_.{}]+)\"(?:\s+if\s[^\n]*?else\s+\"([a-z_.]+)\")?"
)
_OUTCOME = re.compile(r"outcome\s*=\s*\"(\w+)\"(?:\s+if\s[^\n]*?else\s+\"(\w+)\")?")


def written_actions() -> set[str]:
    """Every audit action a ``certsvc`` module writes (``job.{kind}`` for every job kind)."""
    actions: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for formatted, action, other in _AUDIT_CALL.findall(text):
            if formatted:
                assert action == "job.{kind}", (path, action)
                actions |= {f"job.{k}" for k in ("batch_zip", "batch_print")}
            else:
                actions.add(action)
            if other:
                actions.add(other)
        actions |= set(re.findall(r"\"(account\.(?:disable|enable))\"", text))
    return actions


def written_outcomes() -> set[str]:
    outcomes: set[str] = {"ok", "rejected", "failed"}  # audited()'s own
    for path in SOURCE.rglob("*.py"):
        if path.parts[-2] in ("registry", "jobs"):  # a mirror's and a job's outcomes
            continue
        for first, other in _OUTCOME.findall(path.read_text(encoding="utf-8")):
            outcomes |= {first, other} - {""}
    return outcomes


def event_kinds() -> set[str]:
    """The event kinds the schema allows (its check constraint)."""
    schema = (SOURCE / "migrations" / "versions" / "0001_initial_schema.py").read_text()
    allowed = re.search(r"kind IN \(([^)]*)\)", schema)
    assert allowed
    return set(re.findall(r"'(\w+)'", allowed.group(1)))


def test_every_code_the_service_writes_has_a_name_in_both_languages(app: Flask) -> None:
    actions = written_actions()
    assert {"login", "certificate.pdf", "token.refused", "denied", "account.enable"} <= actions
    tables = [
        (actions, i18n.ACTION_NAMES),
        (written_outcomes(), i18n.OUTCOME_NAMES),
        (set(JOB_KINDS), i18n.JOB_KIND_NAMES),
        (set(JOB_STATES), i18n.JOB_STATE_NAMES),
        ({"csv", "xlsx", "api", "console"}, i18n.BATCH_SOURCE_NAMES),
        (event_kinds(), i18n.EVENT_NAMES),
    ]
    for codes, names in tables:
        assert codes - names.keys() == set()
        for code in codes:
            en = names[code]
            with use_language("zh"):
                zh = gettext(en)
            assert zh != code and en != code and re.search(r"[\u4e00-\u9fff]", zh), code
    for lang in ("zh", "en"):
        with app.test_request_context("/"), use_language(lang):
            assert i18n.action_name("certificate.pdf") == (
                "下载证书 PDF" if lang == "zh" else "Certificate PDF downloaded"
            )
            assert i18n.detail_items("login", {"reason": "password", "client": "ab12"}) == [
                ("客户端", "ab12", True) if lang == "zh" else ("Client", "ab12", True),
                ("原因", "密码错误", False)
                if lang == "zh"
                else ("Reason", "Wrong password", False),
            ]
