"""The front page at ``/``: what the service is, who issues here, verify by number + name.

Driven through the HTTP client with the demo data of ``make run`` (``certsvc demo``): the page
names the demo body in both languages, and its own form — read from the page, not written
here — finds a demo certificate.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask.testing import FlaskClient

from certsvc.bodies.bodies import get_body, set_status
from certsvc.cli.demo import DEMO_BODY, load_demo
from certsvc.runtime import Runtime


def demo(runtime: Runtime, tmp_path: Path) -> list[tuple[str, str]]:
    """Load the demo data; its certificates as (number, holder name)."""
    lines = list(load_demo(runtime, tmp_path / "demo-login.txt"))
    found = [re.match(r"\s+([YS]\w{21})\s+(\S+)\s+http", line) for line in lines]
    return [(m.group(1), m.group(2)) for m in found if m]


def number_form(html: str) -> tuple[str, dict[str, str]]:
    """The front page's number + name form: its action and its hidden fields."""
    form = re.search(r'<form class="card" method="post" action="([^"]+)">(.*?)</form>', html, re.S)
    assert form, html
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form.group(2)))
    assert re.search(r'name="number"', form.group(2)) and re.search(r'name="name"', form.group(2))
    return form.group(1), hidden


def test_front_page_in_chinese_by_default(
    runtime: Runtime, client: FlaskClient, tmp_path: Path
) -> None:
    demo(runtime, tmp_path)
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "在本服务签发证书的评价机构" in html
    assert "苏州示范装备集团有限公司（演示）" in html and DEMO_BODY in html
    assert "Suzhou Demo Equipment" not in html  # no English name on the Chinese page
    assert "链主企业" in html  # the demo body is a chain leader
    assert "二维码" in html and "相机" in html  # where to scan
    assert 'href="/console/?lang=zh"' in html
    for path in (
        "/api/v1/openapi.json",
        "/.well-known/jwks.json",
        "/.well-known/transparency.json",
    ):
        assert f'href="{path}"' in html
    assert 'href="/?lang=en"' in html  # the language switch
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "Content-Security-Policy" in page.headers
    # Without any Accept-Language: Chinese too.
    assert "在本服务签发证书的评价机构" in client.get("/").get_data(as_text=True)


def test_front_page_in_english(runtime: Runtime, client: FlaskClient, tmp_path: Path) -> None:
    demo(runtime, tmp_path)
    for page in (
        client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}),
        client.get("/?lang=en", headers={"Accept-Language": "zh-CN"}),
    ):
        html = page.get_data(as_text=True)
        assert '<html lang="en">' in html
        assert "Certification bodies issuing here" in html
        assert "Suzhou Demo Equipment Group Co., Ltd. (demo)" in html
        assert "QR code" in html and "Verify a certificate" in html
        assert 'href="/console/?lang=en"' in html and 'href="/?lang=zh"' in html
        assert "评价机构" not in html  # the body's own Chinese name is the only Chinese
        assert "在本服务" not in html


def test_front_page_form_finds_a_demo_certificate(
    runtime: Runtime, client: FlaskClient, tmp_path: Path
) -> None:
    certificates = demo(runtime, tmp_path)
    assert certificates
    number, name = certificates[0]
    for lang, valid in (("zh", "证书有效"), ("en", "Valid certificate")):
        html = client.get(f"/?lang={lang}").get_data(as_text=True)
        action, hidden = number_form(html)
        assert hidden == {"lang": lang}
        found = client.post(action, data={**hidden, "number": number, "name": name})
        assert found.status_code == 200
        result = found.get_data(as_text=True)
        assert 'data-status="valid"' in result and valid in result and number in result
    # The wrong name: the same page says so, without telling whether the number exists.
    action, hidden = number_form(client.get("/").get_data(as_text=True))
    wrong = client.post(action, data={**hidden, "number": number, "name": "王某"})
    assert 'data-status="not_found"' in wrong.get_data(as_text=True)


def test_front_page_lists_only_bodies_that_issue_now(
    runtime: Runtime, client: FlaskClient, body: str, tmp_path: Path
) -> None:
    demo(runtime, tmp_path)
    html = client.get("/").get_data(as_text=True)
    assert f'data-code="{body}"' in html and f'data-code="{DEMO_BODY}"' in html
    with runtime.db.transaction() as session:
        set_status(session, get_body(session, body), "suspended", actor="test")
    html = client.get("/").get_data(as_text=True)
    assert f'data-code="{body}"' not in html and f'data-code="{DEMO_BODY}"' in html


def test_front_page_without_bodies_says_so(client: FlaskClient) -> None:
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "No certification body issues here yet." in html
