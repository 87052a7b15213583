"""The console in a real browser (headless Chromium driven by Playwright).

Logs in, downloads the template, uploads a file with one bad row, sees the error marked,
uploads the fixed file, issues, starts the batch's ZIP job, watches its progress bar move
without a reload, and downloads the ZIP of PDFs. Then walks all 30 console pages with the
demo data at a phone's width (390 px, in Chinese and in English), a tablet's (660 and
820 px) and a desktop's (1280 px), and checks that nothing is wider than the window and no
name is broken one character per line. Screenshots go to ``$CERTSVC_SCREENSHOTS``
(default: the test's temporary directory), named by width, language and page.

Needs Debian's ``chromium`` (``/usr/bin/chromium``, or ``$CERTSVC_CHROMIUM``) and the
``playwright`` package; Playwright's own browser downloads are not used. Without them the
test is skipped locally and fails under CI (``CI=true``), so CI cannot go green without it.
"""

from __future__ import annotations

import io
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from certsvc import create_app
from certsvc.accounts.accounts import set_language
from certsvc.bodies.bodies import get_body, load_occupations, set_photo_required
from certsvc.cli.demo import DEMO_BODY, demo_rows, load_demo, resident_id
from certsvc.domain.occupations import shipped_catalogue
from certsvc.jobs import service
from certsvc.jobs.runner import run_job
from certsvc.models import Account, Certificate
from certsvc.runtime import Runtime
from tests.conftest import (
    PASSWORD,
    csv_file,
    make_account,
    make_settings,
    person_id,
    photo_bytes,
    photos_zip,
    row,
    seed_body,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

CHROMIUM = os.environ.get("CERTSVC_CHROMIUM", "/usr/bin/chromium")


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture
def backend() -> str:
    """One backend is enough here: the browser checks the pages, not the database."""
    return "sqlite"


@pytest.fixture
def live_runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(
        make_settings(tmp_path, database_url, public_url="http://127.0.0.1")
    )
    with runtime.db.transaction() as session:
        load_occupations(session, shipped_catalogue())
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def server(live_runtime: Runtime) -> Iterator[str]:
    """The app on 127.0.0.1 on a free port, stopped afterwards."""
    app = create_app(runtime=live_runtime)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CERTSVC_SCREENSHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_login_upload_fix_issue_download(
    live_runtime: Runtime, server: str, shots: Path, tmp_path: Path
) -> None:
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    live_runtime.settings = live_runtime.settings.with_overrides(job_lease_seconds=1)
    body = seed_body(live_runtime)
    make_account(live_runtime, "hr.issuer", "issuer", body)
    bad = tmp_path / "results-bad.csv"
    bad.write_bytes(csv_file([row(1, name="王小明"), row(2, id_number="110105194912310021")]))
    good = tmp_path / "results.csv"
    good.write_bytes(csv_file([row(1, name="王小明"), row(2, name="李华")]))

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_context(accept_downloads=True, locale="zh-CN").new_page()
            page.goto(f"{server}/console/login")
            page.fill("#username", "hr.issuer")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_contain_text("南京测试装备集团")
            page.screenshot(path=str(shots / "1-dashboard.png"), full_page=True)

            page.click("text=导入发证")
            with page.expect_download() as template:
                page.click("#template-xlsx")
            assert template.value.suggested_filename == "certsvc-template.xlsx"

            page.set_input_files("#file", str(bad))
            page.click("#upload")
            expect(page.locator("#preview-errors")).to_be_visible()
            expect(page.locator("#row-3")).to_have_class("bad")
            expect(page.locator("#row-3 td.bad")).to_have_count(1)
            expect(page.locator("#row-3")).to_contain_text("校验码")  # the Chinese console
            expect(page.locator("#confirm-issue")).to_have_count(0)
            page.screenshot(path=str(shots / "2-preview-with-error.png"), full_page=True)

            page.set_input_files("#file", str(good))
            page.click("#upload")
            expect(page.locator("#preview-ok")).to_be_visible()
            page.screenshot(path=str(shots / "3-preview-ok.png"), full_page=True)
            page.click("#confirm-issue")
            expect(page.locator("table")).to_contain_text("Y000132010001264000002")
            page.screenshot(path=str(shots / "4-batch.png"), full_page=True)

            if page.locator("#download-zip").count():
                # The ZIP is a job: its page shows a bar that the page's script moves.
                batch_page = page.url
                page.click("#download-zip")
                expect(page.locator("#job-progress")).to_be_visible()
                page.screenshot(path=str(shots / "5-job-queued.png"), full_page=True)
                job_id = page.url.rsplit("/", 1)[1]
                page.evaluate("window.notReloaded = true")
                attempt = service.claim(live_runtime, job_id, "a worker")  # takes the job
                assert attempt is not None
                attempt.progress(1, 2, force=True)
                expect(page.locator("#job-label")).to_contain_text("1 / 2", timeout=15_000)
                assert page.evaluate("window.notReloaded === true")  # moved without a reload
                time.sleep(1.1)  # that worker dies; its lease runs out; another one runs it
                service.sweep(live_runtime)
                run_job(live_runtime, job_id)
                expect(page.locator("#job-download")).to_be_visible(timeout=15_000)
                with page.expect_download(timeout=60_000) as download:
                    page.click("#job-download")
                archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
                names = sorted(archive.namelist())
                assert names == ["Y000132010001264000001.pdf", "Y000132010001264000002.pdf"]
                assert all(archive.read(n).startswith(b"%PDF") for n in names)
                page.goto(batch_page)
            else:  # the renderer is not installed: the list is the download there is
                with page.expect_download() as download:
                    page.click("#download-csv")
                assert "Y000132010001264000002" in Path(download.value.path()).read_text()

            page.click("text=Y000132010001264000001")
            page.click("text=English")
            expect(page.locator("body")).to_contain_text("History")
            page.screenshot(path=str(shots / "6-certificate-en.png"), full_page=True)
        finally:
            browser.close()
    assert len(list(shots.glob("*.png"))) >= 5


def test_upload_results_with_photos_one_bad_then_fixed_and_issued(
    live_runtime: Runtime, server: str, shots: Path, tmp_path: Path
) -> None:
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    body = seed_body(live_runtime)
    with live_runtime.db.transaction() as session:
        set_photo_required(session, get_body(session, body), True)
    make_account(live_runtime, "hr.photos", "issuer", body)
    results = tmp_path / "results.csv"
    results.write_bytes(csv_file([row(1, name="王小明"), row(2, name="李华")]))
    bad = tmp_path / "photos-bad.zip"
    bad.write_bytes(
        photos_zip(
            {f"{person_id(1)}.jpg": photo_bytes(), f"{person_id(2)}.jpg": photo_bytes(500, 500)}
        )
    )
    good = tmp_path / "photos.zip"
    good.write_bytes(
        photos_zip(
            {f"{person_id(1)}.jpg": photo_bytes(), f"{person_id(2)}.png": photo_bytes(fmt="PNG")}
        )
    )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_context(locale="zh-CN").new_page()
            page.goto(f"{server}/console/login")
            page.fill("#username", "hr.photos")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.click("text=导入发证")

            page.set_input_files("#file", str(results))
            page.set_input_files("#photos", str(bad))
            page.click("#upload")
            expect(page.locator("#preview-errors")).to_be_visible()
            expect(page.locator("#row-3")).to_have_class("bad")
            expect(page.locator("#row-3 td.photo")).to_contain_text("无有效照片")
            expect(page.locator("#row-3")).to_contain_text("5:7")
            expect(page.locator("#row-2 img.thumb")).to_have_count(1)
            expect(page.locator("#confirm-issue")).to_have_count(0)
            page.screenshot(path=str(shots / "photos-1-bad.png"), full_page=True)
            with live_runtime.db.session() as session:
                assert session.scalar(select(func.count()).select_from(Certificate)) == 0

            page.set_input_files("#file", str(results))
            page.set_input_files("#photos", str(good))
            page.click("#upload")
            expect(page.locator("#preview-ok")).to_be_visible()
            expect(page.locator("img.thumb")).to_have_count(2)
            page.screenshot(path=str(shots / "photos-2-ok.png"), full_page=True)
            page.click("#confirm-issue")
            expect(page.locator("table")).to_contain_text("Y000132010001264000002")
        finally:
            browser.close()
    with live_runtime.db.session() as session:
        digests = session.scalars(select(Certificate.photo_sha256)).all()
    assert len(digests) == 2 and all(digests)


# --- every console page at a phone's, a tablet's and a desktop's width --------------------------

#: Whatever the page, nothing may be wider than the window, neither the page itself nor a
#: box that scrolls sideways inside it (a table in ``overflow-x: auto`` fits the page and still
#: makes the reader swipe); only a desktop's import preview, the results file's 15 columns
#: side by side like the spreadsheet they came from, may. Each ``.name`` (a person's or an
#: organisation's name) must be at least two characters wide, and a short one (a person's
#: name) on one line.
MEASURE = """() => {
  const doc = document.documentElement;
  const visible = e => e.getClientRects().length > 0;
  const scrollers = [...document.querySelectorAll('body *')].filter(e => {
    const x = getComputedStyle(e).overflowX;
    return (x === 'auto' || x === 'scroll') && e.scrollWidth > e.clientWidth + 1;
  }).map(e => ({what: e.tagName + '.' + e.className, inside: e.firstElementChild?.id || '',
                 width: e.scrollWidth, room: e.clientWidth}));
  const names = [...document.querySelectorAll('.name')].filter(visible).map(e => {
    const style = getComputedStyle(e);
    const size = parseFloat(style.fontSize);
    const line = style.lineHeight === 'normal' ? 1.2 * size : parseFloat(style.lineHeight);
    const box = e.getBoundingClientRect();
    return {text: e.textContent.trim(), width: box.width, height: box.height, size, line};
  });
  return {scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, scrollers, names};
}"""


def _check_fits(page: Any, what: str, desktop: bool) -> list[str]:
    """What does not fit on ``page`` (empty when all does)."""
    found = page.evaluate(MEASURE)
    problems = []
    if found["scrollWidth"] > found["innerWidth"]:
        problems.append(f"{what}: page {found['scrollWidth']} px wide in {found['innerWidth']}")
    for box in found["scrollers"]:
        if not (desktop and box["inside"] == "preview-table"):
            problems.append(f"{what}: {box['width']} px scroll sideways in a {box['what']}")
    for name in found["names"]:
        chars = len(name["text"])
        if chars >= 2 and name["width"] < 1.8 * name["size"]:
            problems.append(f"{what}: name {name['text']!r} only {name['width']:.0f} px wide")
        if chars <= 8 and name["height"] > 1.6 * name["line"]:
            problems.append(f"{what}: name {name['text']!r} wraps ({name['height']:.0f} px)")
    return problems


def _log_in(page: Any, server: str, username: str, lang: str) -> None:
    page.goto(f"{server}/console/login?lang={lang}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{server}/console/?lang={lang}")  # in case logging in began a new session


def _log_out(page: Any) -> None:
    page.click("header.top form button")
    page.wait_for_load_state()


def _tour(page: Any, server: str, runtime: Runtime, tmp_path: Path, lang: str) -> Iterator[str]:
    """Walk every console page with the demo data in ``lang``, yielding each page's name once
    it shows.

    The demo body gets a second batch with a long name (a Uyghur name written in Chinese, as
    on an ID card), a revoked and a corrected certificate, a finished job, a new API token,
    and an admin waiting for activation, so each page shows the longest things it can.
    """
    from playwright.sync_api import expect

    list(load_demo(runtime, tmp_path / "demo-login.txt"))
    # The tour uploads results files without photos: the photo import has its own test.
    with runtime.db.transaction() as session:
        set_photo_required(session, get_body(session, DEMO_BODY), False)
    make_account(runtime, "demo.issuer", "issuer", DEMO_BODY)
    make_account(runtime, "demo.admin", "admin", DEMO_BODY)
    make_account(runtime, "ops.one", "operator", None)
    make_account(runtime, "feed.reader", "registry", None)
    # Each account reads the console in the language of this walk (its own setting, as the
    # switch in the top bar or `certsvc account language` sets it).
    with runtime.db.transaction() as session:
        for name in ("demo.issuer", "demo.admin", "ops.one", "feed.reader"):
            account = session.scalar(select(Account).where(Account.username == name))
            assert account is not None
            set_language(session, account.id, lang)

    page.goto(f"{server}/console/login?lang={lang}")
    yield "login"
    _log_in(page, server, "demo.issuer", lang)
    expect(page.locator("h1")).to_contain_text(DEMO_BODY)
    yield "dashboard"
    page.goto(f"{server}/console/import")
    yield "import"

    rows = demo_rows()
    bad = [dict(r, id_number=r["id_number"][:-1] + "0") for r in rows[:2]]
    bad_file = tmp_path / "成绩-有误.csv"
    bad_file.write_bytes(csv_file(bad))
    page.set_input_files("#file", str(bad_file))
    page.click("#upload")
    expect(page.locator("#preview-errors")).to_be_visible()
    yield "preview-errors"

    names = [
        "阿卜杜热依木·买买提艾力",
        "诸葛亮",
        "李",
        "司马相如",
        "阿依古丽·阿卜杜热合曼·买买提",
    ]
    fresh = [
        dict(r, name=name, id_number=resident_id(f"3205051988{n + 1:02d}01234"))
        for n, (r, name) in enumerate(zip(rows, names, strict=True))
    ]
    good_file = tmp_path / "2026年11月技能等级认定结果（苏州示范装备集团）.csv"
    good_file.write_bytes(csv_file(fresh))
    page.set_input_files("#file", str(good_file))
    page.click("#upload")
    expect(page.locator("#preview-ok")).to_be_visible()
    yield "preview-ok"
    page.click("#confirm-issue")
    expect(page.locator("table")).to_contain_text("阿卜杜热依木·买买提艾力")
    yield "batch"

    page.goto(f"{server}/console/batches")
    yield "batches"
    page.goto(f"{server}/console/certificates")
    yield "certificates"
    page.locator("tr", has_text="阿卜杜热依木·买买提艾力").locator("a").click()
    expect(page.locator("a[href*='/v/']")).to_be_visible()
    yield "certificate"
    cert_url = page.url
    page.goto(f"{cert_url}/correct")
    yield "correct"
    page.fill("#f-work_type", "数控车工（五轴联动加工中心方向）")
    page.click("form.stack button[type=submit]")
    expect(page.locator(".flash")).to_be_visible()
    yield "certificate-corrected"
    page.goto(f"{page.url}/revoke")
    yield "revoke"
    page.fill("#reason", "经复核，该人员考核期间存在替考行为，依规撤销证书。")
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
    yield "certificate-revoked"

    page.goto(f"{server}/console/jobs")
    page.click("#export-csv")
    expect(page.locator("#job-progress")).to_be_visible()
    yield "job-queued"
    run_job(runtime, page.url.rsplit("/", 1)[1])
    page.reload()
    expect(page.locator("#job-download")).to_be_visible()
    yield "job-done"
    page.goto(f"{server}/console/jobs")
    yield "jobs"
    page.goto(f"{server}/console/certificates/Y000032010001269999999")
    yield "error"
    _log_out(page)

    _log_in(page, server, "demo.admin", lang)
    page.goto(f"{server}/console/members")
    yield "members"
    page.goto(f"{server}/console/scope")
    yield "scope"
    page.goto(f"{server}/console/keys")
    yield "keys"
    page.goto(f"{server}/console/keys/rotate")
    yield "key-rotate"
    page.goto(f"{server}/console/keys")
    page.click("a[href$='/compromise']")
    page.wait_for_load_state()
    yield "key-compromise"
    page.goto(f"{server}/console/accounts")
    yield "accounts"
    page.goto(f"{server}/console/tokens")
    page.fill("#t-name", "人力资源系统（SAP SuccessFactors）对接")
    page.click("form.stack button[type=submit]")
    expect(page.locator("#token-secret")).to_be_visible()
    yield "token-created"
    page.goto(f"{server}/console/tokens")
    yield "tokens"
    page.goto(f"{server}/console/audit")
    yield "audit"
    page.goto(f"{server}/console/password")
    yield "password"
    _log_out(page)

    _log_in(page, server, "ops.one", lang)
    page.goto(f"{server}/console/bodies")
    row = page.locator("tr", has_text=DEMO_BODY)
    row.locator("input[name=username]").fill("suzhou.admin2")
    row.locator("input[name=password]").fill(PASSWORD)
    row.locator("button").click()
    expect(page.locator(".flash")).to_be_visible()
    yield "bodies"
    page.goto(f"{server}/console/audit")
    yield "audit-operator"
    _log_out(page)

    _log_in(page, server, "feed.reader", lang)
    yield "no-access"


def _every_page_fits(
    live_runtime: Runtime,
    server: str,
    shots: Path,
    tmp_path: Path,
    size: tuple[int, int],
    lang: str = "zh",
) -> None:
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    width, height = size
    problems: list[str] = []
    seen: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(
                locale="zh-CN", viewport={"width": width, "height": height}, device_scale_factor=1
            )
            page = context.new_page()
            for name in _tour(page, server, live_runtime, tmp_path, lang):
                seen.append(name)
                assert page.evaluate("document.documentElement.lang").startswith(lang), name
                page.screenshot(path=str(shots / f"{width}-{lang}-{name}.png"), full_page=True)
                problems += _check_fits(page, name, desktop=width > 1000)
        finally:
            browser.close()
    assert len(seen) == 30, seen
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_console_page_fits_a_phone(
    live_runtime: Runtime, server: str, shots: Path, tmp_path: Path, lang: str
) -> None:
    _every_page_fits(live_runtime, server, shots, tmp_path, (390, 844), lang)


@pytest.mark.parametrize("width", [660, 820])  # cards one, then two abreast
def test_every_console_page_fits_a_tablet(
    live_runtime: Runtime, server: str, shots: Path, tmp_path: Path, width: int
) -> None:
    _every_page_fits(live_runtime, server, shots, tmp_path, (width, 1180))


def test_every_console_page_fits_a_desktop(
    live_runtime: Runtime, server: str, shots: Path, tmp_path: Path
) -> None:
    _every_page_fits(live_runtime, server, shots, tmp_path, (1280, 800))
