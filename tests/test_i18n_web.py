"""Every page a person reads, in the reader's language (issue 19).

The console follows the account's language (switched with a POST), the public pages
``?lang=`` then ``Accept-Language`` (Chinese by default), the API's ``message`` follows
``Accept-Language`` while its ``code`` stays the same. A page rendered in Chinese must show
no English text of the catalogue: every page is rendered in both languages, and each long
catalogue id that appears in the English page must be gone from the Chinese one.
"""

from __future__ import annotations

import html
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from certsvc.cli.main import cli
from certsvc.config import generate_secrets
from certsvc.i18n import DIRECTORY
from certsvc.issuance.service import BatchResult, revoke
from certsvc.models import Account, SigningKey
from certsvc.runtime import Runtime
from tests.conftest import (
    BODY_CODE,
    PASSWORD,
    Console,
    LiveService,
    csv_file,
    issue,
    logged_in,
    make_account,
    person_id,
    row,
    token_for,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

#: Shorter ids ("Level", "Name") and single words can be part of data, codes or other words.
MIN_ID_LENGTH = 12
#: Console pages that are not HTML, or only redirect.
NOT_PAGES = {
    "console.index",
    "console.certificate_photo_image",
    "console.certificate_pdf",
    "console.batch_csv",
    "console.import_template_xlsx",
    "console.import_template_csv",
    "console.job_status",
    "console.job_result",
    "console.audit_export",
}


@pytest.fixture
def backend() -> str:
    """The language of a page does not depend on the database."""
    return "sqlite"


def catalogue_ids() -> list[str]:
    """The long English ids the Chinese catalogue translates (placeholders cut off)."""
    with (DIRECTORY / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = read_po(f)
    ids: set[str] = set()
    for message in catalogue:
        if not message.id or not message.string:
            continue
        for msgid in message.id if isinstance(message.id, tuple) else (message.id,):
            # The longest literal piece between placeholders is what a page would show.
            piece = max(re.split(r"\{[^}]*\}", msgid), key=len).strip()
            if len(piece) >= MIN_ID_LENGTH and " " in piece:  # words, not a code
                ids.add(piece)
    return sorted(ids)


def text_of(page: str) -> str:
    """What a reader sees and what attributes say, without tags and entities."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def english_left(zh_page: str, en_page: str, ids: list[str]) -> tuple[list[str], list[str]]:
    """(catalogue ids on the English page, those of them still on the Chinese page)."""
    zh_text, en_text = text_of(zh_page), text_of(en_page)

    def on(text: str, msgid: str) -> bool:
        return re.search(rf"(?<![\w]){re.escape(msgid)}(?![\w])", text) is not None

    shown = [i for i in ids if on(en_text, i)]
    return shown, [i for i in shown if on(zh_text, i)]


@pytest.fixture
def issued(runtime: Runtime, body: str) -> BatchResult:
    result = issue(runtime, [row(1, name="欧阳晓明"), row(2), row(3)])
    revoke(runtime, result.certificates[1].number, "考核记录不实")
    return result


@pytest.fixture
def consoles(runtime: Runtime, body: str, app: Flask) -> Iterator[list[Console]]:
    """A body admin, an issuer, a platform operator and a registry token admin, logged in."""
    yield [
        logged_in(app, runtime, "admin1", "admin", body),
        logged_in(app, runtime, "issuer1", "issuer", body),
        logged_in(app, runtime, "operator1", "operator", None),
        logged_in(app, runtime, "tokens1", "registry_admin", None),
    ]


def console_urls(app: Flask, runtime: Runtime, issued: BatchResult, job_id: str) -> list[str]:
    """A URL for every HTML page of the console, with real ids in it."""
    with runtime.db.session() as session:
        kid = session.scalars(select(SigningKey.kid)).first()
    values = {
        "batch_id": issued.batch_id,
        "number": issued.certificates[0].number,
        "job_id": job_id,
        "kid": kid,
    }
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("console.") or rule.endpoint in NOT_PAGES:
                continue
            if "GET" not in (rule.methods or ()):
                continue
            args = {name: values[name] for name in rule.arguments}
            urls.append(app.url_for(rule.endpoint, **args))
    return urls


def test_every_console_page_in_chinese_shows_no_english_of_the_catalogue(
    app: Flask, runtime: Runtime, issued: BatchResult, consoles: list[Console], console: Console
) -> None:
    admin, issuer = consoles[0], consoles[1]
    job = admin.post("/console/stats/export/csv")
    assert job.status_code == 303, job.get_data(as_text=True)
    job_id = job.headers["Location"].rsplit("/", 1)[1]
    ids = catalogue_ids()
    pages: dict[str, tuple[str, str]] = {}
    for url in console_urls(app, runtime, issued, job_id):
        for reader in consoles:
            zh = reader.get(url)
            if zh.status_code == 200 and zh.mimetype == "text/html":
                en = reader.get(url + ("&" if "?" in url else "?") + "lang=en")
                pages[url] = zh.get_data(as_text=True), en.get_data(as_text=True)
                break
        else:
            pytest.fail(f"no reader could open {url}")
    # Pages that only a POST shows: the log-in form, a preview with errors, an error page.
    pages["/console/login"] = (
        console.get("/console/login").get_data(as_text=True),
        console.get("/console/login?lang=en").get_data(as_text=True),
    )
    bad = csv_file([row(1), row(2, id_number="110105194912310021"), row(3, level="九级")])
    pages["preview"] = tuple(
        issuer.post(
            f"/console/import{query}",
            {"file": (io.BytesIO(bad), "results.csv")},
            content_type="multipart/form-data",
        ).get_data(as_text=True)
        for query in ("", "?lang=en")
    )
    pages["404"] = (
        issuer.get("/console/certificates/Y000000000000000000000").get_data(as_text=True),
        issuer.get("/console/certificates/Y000000000000000000000?lang=en").get_data(as_text=True),
    )
    seen: set[str] = set()
    for url, (zh, en) in pages.items():
        assert 'lang="zh-CN"' in zh and 'lang="en"' in en, url
        shown, left = english_left(zh, en, ids)
        seen.update(shown)
        assert left == [], f"{url} in Chinese still shows {left}"
    # The check can fail: many catalogue texts were on the English pages.
    assert len(seen) > 60, sorted(seen)


def test_every_public_page_in_chinese_shows_no_english_of_the_catalogue(
    client: FlaskClient, issued: BatchResult
) -> None:
    valid, revoked = issued.certificates[0], issued.certificates[1]
    ids = catalogue_ids()

    def both(method: str, url: str, **kwargs: object) -> tuple[str, str]:
        send = getattr(client, method)
        zh = send(url, headers={"Accept-Language": "zh-CN,zh;q=0.9"}, **kwargs)
        en = send(url, headers={"Accept-Language": "en-GB,en;q=0.9"}, **kwargs)
        return zh.get_data(as_text=True), en.get_data(as_text=True)

    pages = {
        "valid": both("get", f"/v/{valid.token}"),
        "revoked": both("get", f"/v/{revoked.token}"),
        "malformed": both("get", "/v/not-a-token"),
        "lookup": both("get", "/lookup"),
        "by number": both(
            "post", "/lookup/number", data={"number": valid.number, "name": "欧阳晓明"}
        ),
        "bad number": both("post", "/lookup/number", data={"number": "Y1", "name": "欧阳晓明"}),
        "by id": both(
            "post",
            "/lookup/id",
            data={"id_type": "resident_id", "id_number": person_id(1), "name": "欧阳晓明"},
        ),
    }
    if client.get("/").status_code == 200:  # the front page (another branch adds it)
        pages["front"] = both("get", "/")
    seen: set[str] = set()
    for name, (zh, en) in pages.items():
        shown, left = english_left(zh, en, ids)
        seen.update(shown)
        assert left == [], f"{name} in Chinese still shows {left}"
    assert len(seen) > 15, sorted(seen)


def test_the_language_switch_is_kept_on_the_account(
    runtime: Runtime, body: str, app: Flask
) -> None:
    admin = logged_in(app, runtime, "admin1", "admin", body)
    assert "有效证书" in admin.get("/console/dashboard").get_data(as_text=True)  # zh by default
    refused = admin.post("/console/language", {"language": "en"}, csrf=False)
    assert refused.status_code == 400  # a POST without its CSRF token changes nothing
    switched = admin.post("/console/language", {"language": "en", "next": "/console/keys"})
    assert switched.status_code == 302 and switched.headers["Location"] == "/console/keys"
    with runtime.db.session() as session:
        account = session.scalars(select(Account).where(Account.username == "admin1")).one()
        assert account.language == "en"
    # Another browser of the same account: English too, whatever it accepts.
    again = Console(app.test_client())
    assert again.login("admin1").status_code == 302
    page = again.get("/console/dashboard", headers={"Accept-Language": "zh-CN"})
    assert "Valid certificates" in page.get_data(as_text=True)
    # A redirect only inside the console; an unknown language is refused.
    away = admin.post("/console/language", {"language": "zh", "next": "https://evil.example/"})
    assert away.headers["Location"] == "/console/"
    assert admin.post("/console/language", {"language": "fr"}).status_code == 400
    assert "有效证书" in admin.get("/console/dashboard").get_data(as_text=True)


def test_the_switch_before_log_in_speaks_the_log_in_page(console: Console) -> None:
    assert "登录" in console.get("/console/login").get_data(as_text=True)
    console.post("/console/language", {"language": "en", "next": "/console/login"})
    assert "Log in" in console.get("/console/login").get_data(as_text=True)


@pytest.mark.parametrize(
    ("accept", "expected", "not_expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "证书有效", "Valid certificate"),
        ("en-US,en;q=0.9", "Valid certificate", "证书有效"),
        ("fr-FR", "证书有效", "Valid certificate"),  # none of ours: Chinese
        ("", "证书有效", "Valid certificate"),
    ],
)
def test_accept_language_picks_the_public_page_language(
    client: FlaskClient, issued: BatchResult, accept: str, expected: str, not_expected: str
) -> None:
    page = client.get(f"/v/{issued.certificates[0].token}", headers={"Accept-Language": accept})
    text = page.get_data(as_text=True)
    assert expected in text and not_expected not in text


def test_api_error_message_follows_accept_language_with_the_same_code(
    runtime: Runtime, body: str, client: FlaskClient
) -> None:
    secret = token_for(runtime, "issuer", body)
    bad = {"rows": [row(1, id_number="110105194912310021")]}

    def submit(accept: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": f"k-{accept}"}
        if accept is not None:
            headers["Accept-Language"] = accept
        response = client.post("/api/v1/batches", json=bad, headers=headers)
        assert response.status_code == 422
        assert "Accept-Language" in response.headers["Vary"]  # caches keep languages apart
        error: dict[str, str] = response.json["error"]  # type: ignore[index]
        return error

    chinese, english, default = submit("zh-CN,zh;q=0.9"), submit("en"), submit(None)
    assert chinese["code"] == english["code"] == default["code"] == "batch_rejected"
    assert chinese["message"].startswith("未发证"), chinese
    assert english["message"].startswith("nothing was issued"), english
    assert default["message"] == english["message"]  # an API speaks English unless asked


def test_bilingual_data_follows_the_page_language(
    runtime: Runtime, body: str, app: Flask, issued: BatchResult
) -> None:
    issuer = logged_in(app, runtime, "issuer1", "issuer", body)
    url = f"/console/certificates/{issued.certificates[0].number}"
    assert "四级/中级工" in issuer.get(url).get_data(as_text=True)
    assert "Level 4 / Intermediate Worker" in issuer.get(url + "?lang=en").get_data(as_text=True)


def test_no_tr_calls_are_left() -> None:
    """The old two-language helper is gone: every text is a catalogue id."""
    package = Path(__file__).resolve().parent.parent / "certsvc"
    found = [
        f"{path}:{n}"
        for path in [*package.rglob("*.py"), *package.rglob("*.html")]
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"(?<![\w.])tr\(", line)
    ]
    assert found == []


def test_a_new_account_reads_chinese_until_the_cli_says_otherwise(
    runtime: Runtime, body: str, database_url: str, tmp_path: Path, runner: CliRunner
) -> None:
    make_account(runtime, "viewer1", "viewer", body)

    def language() -> str:
        with runtime.db.session() as session:
            found = session.scalars(select(Account).where(Account.username == "viewer1")).one()
            return found.language

    assert language() == "zh"
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": database_url,
        "CERTSVC_KEY_DIR": str(tmp_path / "keys"),
    }
    done = runner.invoke(cli, ["account", "language", "viewer1", "en"], env=env)
    assert done.exit_code == 0, done.output
    assert language() == "en"
    refused = runner.invoke(cli, ["account", "language", "viewer1", "fr"], env=env)
    assert refused.exit_code == 2 and language() == "en"
    unknown = runner.invoke(cli, ["account", "language", "nobody", "zh"], env=env)
    assert unknown.exit_code != 0 and "nobody" in unknown.output


CHROMIUM = os.environ.get("CERTSVC_CHROMIUM", "/usr/bin/chromium")


def test_a_bad_file_in_the_chinese_console_shows_chinese_row_errors(
    live_service: LiveService, tmp_path: Path
) -> None:
    """A real browser, as a Chinese HR officer meets it: the ID check-character error in the
    preview is Chinese (issue 19's first complaint)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    make_account(live_service.runtime, "hr.issuer", "issuer", BODY_CODE)
    bad = tmp_path / "results-bad.csv"
    bad.write_bytes(csv_file([row(1), row(2, id_number="110105194912310021")]))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_context(locale="zh-CN").new_page()
            page.goto(f"{live_service.url}/console/login")
            page.fill("#username", "hr.issuer")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.click("text=导入发证")
            page.set_input_files("#file", str(bad))
            page.click("#upload")
            expect(page.locator("#preview-errors")).to_contain_text("发现 1 个问题")
            error = page.locator("#row-3 ul.errors li")
            expect(error).to_have_count(1)
            message = error.inner_text()
            # The column's label, then what is wrong, all in Chinese.
            assert message.startswith("证件号码："), message
            assert "校验码" in message, message
            assert not re.search(r"[A-Za-z]{4,}", message), message  # no English words
        finally:
            browser.close()
