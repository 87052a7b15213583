"""The verification page in a real browser: headless Chromium at phone and desktop widths.

Screenshots go to ``tmp_path`` (or ``CERTSVC_SCREENSHOT_DIR`` to keep and look at them). The
test checks what a browser shows — the banner colour at the top, the on-device signature
check written by ``static/verify.js`` with WebCrypto Ed25519 — so a page that renders but
looks wrong, or whose script breaks, fails here. Skipped when Chromium is not installed
(Debian package ``chromium``; CI installs it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from werkzeug.serving import make_server

from certsvc import create_app
from certsvc.bodies.bodies import get_body
from certsvc.issuance.service import content_hash, issue_batch, revoke
from certsvc.runtime import Runtime
from certsvc.signing.b64 import b64url_decode
from tests.conftest import OTHER_BODY_USCC, issue, other_body, row

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get chromium)"),
    pytest.mark.parametrize("backend", ["sqlite"]),
]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--virtual-time-budget=4000",
]
PHONE, DESKTOP = (390, 844), (1280, 900)
GREEN, RED, AMBER = (0x17, 0x75, 0x3A), (0xB3, 0x26, 0x1E), (0x9A, 0x67, 0x00)
#: Backgrounds of the on-device line: confirmed (valid), genuine but revoked / superseded.
DEVICE_OK, DEVICE_REVOKED, DEVICE_SUPERSEDED = (
    (0xE7, 0xF1, 0xEA),
    (0xFB, 0xE9, 0xE7),
    (0xFD, 0xF3, 0xDC),
)


@pytest.fixture
def site(runtime: Runtime, body: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A live server on 127.0.0.1 with a valid, a revoked, a superseded and a forged token."""
    first = issue(runtime, [row(1, name="欧阳晓明"), row(2, name="张山")]).certificates
    revoke(runtime, first[0].number, "考核记录不实，经复核撤销")
    fixed = issue(runtime, [row(2, name="张三", corrects=first[1].number)]).certificates[0]
    valid = issue(
        runtime,
        [
            row(
                3,
                name="李雷",
                level="技师",
                route="直接认定",
                direct_ground="师带徒绩效突出",
                direct_evidence="近五年带徒32人，其中12人取得技师以上等级。",
            )
        ],
    ).certificates[0]
    header, payload, signature = valid.token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    with runtime.db.session() as session:  # our key, the valid number, another name
        signer = runtime.keyring.signer_for(session, get_body(session, body))
    claims = [1, valid.number, "王五", "6-31-01-03", 20261120]
    mismatch = signer.sign(json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode())
    # Our key over the exact signed fields of another body's certificate.
    numbered = [(2, row(4, name="韩梅梅", employer_uscc=OTHER_BODY_USCC))]
    theirs = issue_batch(
        runtime,
        other_body(runtime),
        numbered,
        source="api",
        content_sha256=content_hash(numbered),
    ).certificates[0]
    foreign = signer.sign(b64url_decode(theirs.token.split(".")[1]))
    tokens = {
        "valid": valid.token,
        "revoked": first[0].token,
        "superseded": first[1].token,
        "newer": fixed.token,
        "forged": forged,
        "mismatch": mismatch,
        "foreign": foreign,
    }
    server = make_server("127.0.0.1", 0, create_app(runtime=runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", tokens
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def chromium(url: str, profile: Path, *extra: str, accept: str = "zh-CN,zh") -> str:
    """Run Chromium on *url*; its Accept-Language is *accept* (the page follows it)."""
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--accept-lang={accept}", f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def screenshot(url: str, path: Path, size: tuple[int, int], profile: Path) -> Image.Image:
    chromium(url, profile, f"--window-size={size[0]},{size[1]}", f"--screenshot={path}")
    return Image.open(path).convert("RGB")


def share_of(
    image: Image.Image, colour: tuple[int, int, int], box: tuple[int, ...], within: int = 30
) -> float:
    """Fraction of pixels in *box* within a small distance (*within*) of *colour*."""
    region = image.crop(box)
    pixels = list(region.get_flattened_data())
    close = sum(
        1 for p in pixels if sum(abs(a - b) for a, b in zip(p, colour, strict=True)) < within
    )
    return close / len(pixels)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    keep = os.environ.get("CERTSVC_SCREENSHOT_DIR")
    path = Path(keep) if keep else tmp_path / "shots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_banner_colours_at_phone_and_desktop_widths(
    site: tuple[str, dict[str, str]], shots: Path, tmp_path: Path
) -> None:
    base, tokens = site
    cases = [
        ("valid", "", PHONE, GREEN),
        ("valid", "?lang=en", DESKTOP, GREEN),
        ("revoked", "", PHONE, RED),
        ("superseded", "?lang=en", PHONE, AMBER),
        ("forged", "", PHONE, RED),
        ("mismatch", "", PHONE, RED),
        ("revoked", "?lang=en", DESKTOP, RED),
    ]
    for name, query, size, colour in cases:
        width = "phone" if size == PHONE else "desktop"
        image = screenshot(
            f"{base}/v/{tokens[name]}{query}",
            shots / f"verify-{name}-{width}{query.replace('?lang=', '-')}.png",
            size,
            tmp_path / "profile",
        )
        assert image.size == size
        # The banner fills a good part of the top of the page (below the top bar).
        top = (0, 40, size[0], 200)
        assert share_of(image, colour, top) > 0.3, (name, width)
        if name in ("revoked", "superseded"):
            # One state: nothing green anywhere, and the device's line in the banner's tone.
            whole = (0, 0, *size)
            assert share_of(image, GREEN, whole) < 0.001, (name, width)
            assert share_of(image, DEVICE_OK, whole, within=6) < 0.001, (name, width)
            tone = DEVICE_REVOKED if name == "revoked" else DEVICE_SUPERSEDED
            assert share_of(image, tone, whole, within=6) > 0.01, (name, width)
    form = screenshot(f"{base}/lookup", shots / "lookup-phone.png", PHONE, tmp_path / "profile")
    assert share_of(form, (0x0B, 0x57, 0xD0), (0, 0, PHONE[0], PHONE[1])) > 0.005  # buttons


def device_line(dom: str) -> str:
    """The text the on-device check wrote into ``#device-check`` ('' if absent or hidden)."""
    found = re.search(r'<p id="device-check" class="([^"]*)"(?: [^>]*)?>([^<]*)</p>', dom)
    if found is None or re.search(r'<p id="device-check"[^>]* hidden', dom):
        return ""
    return f"[{found.group(1)}] {found.group(2)}"


def test_signature_is_checked_on_the_device(
    site: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, tokens = site

    def page(name: str, accept: str = "zh-CN,zh") -> tuple[str, str]:
        dom = chromium(f"{base}/v/{tokens[name]}", tmp_path / "p", "--dump-dom", accept=accept)
        return dom, device_line(dom)

    dom, line = page("valid", accept="en-US,en")
    assert "Valid certificate" in dom  # English from Accept-Language
    assert line.startswith("[device ] Signature checked on this device"), line
    # Under a red or amber banner the device never says plain "checked" (a green box under a
    # red banner): the signature is genuine, but the certificate is not current.
    dom, line = page("revoked")
    assert "证书已撤销" in dom  # Chinese from Accept-Language
    assert line.startswith("[device genuine-revoked] 签名真实，但证书已撤销"), line
    assert "已在本设备上核验签名" not in dom
    dom, line = page("revoked", accept="en")
    assert line.startswith(
        "[device genuine-revoked] Signature genuine, but the certificate has been revoked"
    ), line
    dom, line = page("superseded")
    assert "证书已被更正替代" in dom
    assert line.startswith("[device genuine-superseded] 签名真实，但证书已被更正后的新证书替代"), (
        line
    )
    assert f"/v/{tokens['newer']}" in dom  # the link to the current certificate
    dom, line = page("superseded", accept="en")
    assert line.startswith("[device genuine-superseded] Signature genuine, but the certificate"), (
        line
    )
    # Signed by our key for another name than the record shown: the device refuses it too.
    dom, line = page("mismatch", accept="en")
    assert "Invalid signature" in dom and line.startswith(
        "[device bad] Not confirmed on this device"
    )
    # Our key over another body's certificate: the signature is genuine, but a key certifies
    # for its own body only, so the device does not confirm it either.
    dom, line = page("foreign", accept="en")
    assert "Invalid signature" in dom and line.startswith(
        "[device bad] Not confirmed on this device"
    ), line
    # A broken signature shows no record, so there is nothing to check on the device.
    dom, line = page("forged", accept="en")
    assert "Invalid signature" in dom and line == ""


def signed_fields(token: str) -> tuple[str, str]:
    """The certificate number and holder name a (format 2) QR token signs."""
    fields = b64url_decode(token.split(".")[1]).decode().split("|")
    assert fields[0] == "2", fields
    return fields[1], "|".join(fields[2:-2])


def test_front_page_and_revoked_page_on_a_phone(
    site: tuple[str, dict[str, str]], shots: Path
) -> None:
    """At 390 px: the front page fits, its form finds a certificate; the revoked page shows
    one red state and the device says the signature is genuine but the certificate revoked."""
    sync_api = pytest.importorskip("playwright.sync_api")
    base, tokens = site
    number, name = signed_fields(tokens["valid"])
    width = "document.documentElement.scrollWidth"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            for locale, heading, valid in (
                ("zh-CN", "职业技能等级证书签发与核验", "证书有效"),
                ("en-US", "Skill certificates: issued and verified here", "Valid certificate"),
            ):
                context = browser.new_context(
                    viewport={"width": PHONE[0], "height": PHONE[1]}, locale=locale
                )
                page = context.new_page()
                page.goto(f"{base}/")
                sync_api.expect(page.locator("h1")).to_have_text(heading)
                assert page.evaluate(width) <= PHONE[0]  # no sideways scrolling
                page.screenshot(path=str(shots / f"front-{locale}-phone.png"), full_page=True)
                page.fill("#number", number)
                page.fill("#name1", name)
                page.click("form.card button[type=submit]")
                sync_api.expect(page.locator("section.banner")).to_have_attribute(
                    "data-status", "valid"
                )
                sync_api.expect(page.locator("section.banner h1")).to_have_text(valid)
                context.close()
            context = browser.new_context(
                viewport={"width": PHONE[0], "height": PHONE[1]}, locale="zh-CN"
            )
            page = context.new_page()
            page.goto(f"{base}/v/{tokens['revoked']}")
            device = page.locator("#device-check")
            sync_api.expect(device).to_contain_text("签名真实，但证书已撤销")
            sync_api.expect(device).to_have_class("device genuine-revoked")
            sync_api.expect(page.locator("section.banner")).to_have_count(1)
            assert page.evaluate(width) <= PHONE[0]
            page.screenshot(path=str(shots / "verify-revoked-zh-CN-phone.png"), full_page=True)
            context.close()
        finally:
            browser.close()
