"""The console in a real browser (headless Chromium driven by Playwright).

Logs in, downloads the template, uploads a file with one bad row, sees the error marked,
uploads the fixed file, issues, starts the batch's ZIP job, watches its progress bar move
without a reload, and downloads the ZIP of PDFs. Screenshots go to
``$CERTSVC_SCREENSHOTS`` (default: the test's temporary directory).

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

import pytest
from werkzeug.serving import make_server

from certsvc import create_app
from certsvc.bodies.bodies import load_occupations
from certsvc.domain.occupations import shipped_catalogue
from certsvc.jobs import service
from certsvc.jobs.runner import run_job
from certsvc.runtime import Runtime
from tests.conftest import (
    PASSWORD,
    csv_file,
    make_account,
    make_settings,
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
