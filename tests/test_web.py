"""The public routes: health, JWKS, and the page behind each QR code."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from certsvc import create_app
from certsvc.bodies.bodies import get_body
from certsvc.issuance.service import revoke
from certsvc.models import Certificate
from certsvc.runtime import Runtime
from certsvc.signing.jwks import KeySet
from tests.conftest import issue, row


@pytest.fixture
def client(runtime: Runtime) -> FlaskClient:
    app = create_app(runtime=runtime)
    app.testing = True
    return app.test_client()


def test_health(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_jwks_lists_every_key_with_status_and_caching(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    with runtime.db.transaction() as session:
        runtime.keyring.rotate(session, get_body(session, body))
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.mimetype == "application/jwk-set+json"
    assert "max-age" in response.headers["Cache-Control"]
    keys = KeySet.from_document(response.json)  # kid == RFC 7638 thumbprint, or it raises
    assert sorted(k.status for k in keys) == ["active", "retired"]
    again = client.get(
        "/.well-known/jwks.json", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


def test_verify_page_shows_status_and_every_field(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    result = issue(runtime, [row(1, name="欧阳晓明"), row(2)])
    token = result.certificates[0].token
    page = client.get(f"/v/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "证书有效" in html and "Valid certificate" not in html  # Chinese by default
    for text in ("欧阳晓明", result.certificates[0].number, "四级/中级工", "电工", "南京测试装备"):
        assert text in html
    assert "noindex" in page.headers["X-Robots-Tag"]
    assert '<meta name="robots" content="noindex' in html
    english = client.get(f"/v/{token}?lang=en").get_data(as_text=True)
    assert "Valid certificate" in english and "Level 4 / Intermediate Worker" in english

    revoke(runtime, result.certificates[1].number, "考核记录不实 assessment record false")
    html = client.get(f"/v/{result.certificates[1].token}").get_data(as_text=True)
    assert "证书已撤销" in html and "考核记录不实" in html


def test_tampered_and_malformed_tokens_are_not_valid(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    token = issue(runtime, [row(1)]).certificates[0].token
    header, payload, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    html = client.get(f"/v/{header}.{payload}.{flipped}").get_data(as_text=True)
    assert "签名无效" in html or "无法识别" in html
    assert "证书有效" not in html
    page = client.get("/v/not-a-token")
    assert page.status_code == 400 and "无法识别的二维码" in page.get_data(as_text=True)


def test_compromised_key_cutoff_separates_old_and_new_signatures(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    before = issue(runtime, [row(1)]).certificates[0]
    with runtime.db.session() as session:
        kid = session.scalar(select(Certificate.kid))
        assert kid is not None
    cutoff = dt.datetime.now(dt.UTC)
    with runtime.db.transaction() as session:
        runtime.keyring.mark_compromised(session, kid, cutoff)
    html = client.get(f"/v/{before.token}").get_data(as_text=True)
    assert "证书有效" in html  # signed before the cutoff: still trusted
    with runtime.db.transaction() as session:
        runtime.keyring.mark_compromised(session, kid, cutoff - dt.timedelta(hours=1))
    html = client.get(f"/v/{before.token}").get_data(as_text=True)
    assert "签名无效" in html and "compromised" in html


def test_lookup_forms_post_and_show_masked_results(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    from tests.conftest import person_id

    issued = issue(runtime, [row(5, name="韩梅梅"), row(5, name="韩梅梅", level="三级")])
    form = client.get("/lookup")
    assert form.status_code == 200 and 'method="post"' in form.get_data(as_text=True)
    page = client.post("/lookup/id", data={"id_number": person_id(5), "name": "韩梅梅"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "共 2 张证书" in html
    assert all(c.number in html for c in issued.certificates)
    assert person_id(5) not in html and person_id(5)[:4] + "**********" in html
    one = client.post(
        "/lookup/number", data={"number": issued.certificates[0].number, "name": "韩梅梅"}
    )
    assert "证书有效" in one.get_data(as_text=True)
    bad_id = person_id(5)[:-1] + ("0" if person_id(5)[-1] != "0" else "1")
    wrong = client.post("/lookup/id", data={"id_number": bad_id, "name": "韩梅梅", "lang": "en"})
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "Please check your entry" in text
    assert bad_id not in text  # never echoed back
    nothing = client.post("/lookup/number", data={"number": "Y000132010001264999999", "name": "x"})
    assert "查无此证书" in nothing.get_data(as_text=True)


def test_language_follows_accept_language_unless_switched(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    token = issue(runtime, [row(1)]).certificates[0].token
    english = client.get(f"/v/{token}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Valid certificate" in english.get_data(as_text=True)
    assert english.headers["Vary"] == "Accept-Language"
    chinese = client.get(f"/v/{token}", headers={"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"})
    assert "证书有效" in chinese.get_data(as_text=True)
    switched = client.get(f"/v/{token}?lang=zh", headers={"Accept-Language": "en"})
    assert "证书有效" in switched.get_data(as_text=True)
    assert "证书有效" in client.get(f"/v/{token}", headers={"Accept-Language": "fr"}).get_data(
        as_text=True
    )
    csp = english.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-eval'" not in csp


@pytest.mark.parametrize("backend", ["sqlite"])  # the language does not depend on the database
@pytest.mark.parametrize(
    ("accept", "lang"),
    [
        ("zh-CN,zh-Hans;q=0.9,en;q=0.8", "zh"),  # iOS Safari in Chinese: was English
        ("zh-CN,en;q=0.9", "zh"),  # was English
        ("zh-TW,zh-Hant;q=0.9,en;q=0.8", "zh"),  # was English
        ("zh-Hans-CN", "zh"),
        ("zh_CN", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("en;q=0.8,zh-CN", "zh"),  # quality, not the header's order, decides
        ("fr-FR,en;q=0.5,zh;q=0.4", "en"),
        ("en;q=0,zh-CN", "zh"),
        ("fr, de;q=0.5", "zh"),
        ("*", "zh"),
        ("", "zh"),
    ],
)
def test_language_by_primary_subtag_in_order_of_preference(
    client: FlaskClient, runtime: Runtime, body: str, accept: str, lang: str
) -> None:
    token = issue(runtime, [row(1)]).certificates[0].token
    html = client.get(f"/v/{token}", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert ("证书有效" if lang == "zh" else "Valid certificate") in html, accept


@pytest.mark.parametrize(
    ("form", "zh", "en"),
    [
        (
            {"number": "Y0001", "name": "韩梅梅"},
            "证书编号应为 22 位",
            "A certificate number has 22 characters",
        ),
        ({"number": "Y000132010001264000001", "name": "  "}, "请输入证书上印制的姓名", "Enter"),
    ],
)
def test_lookup_errors_speak_the_pages_language(
    client: FlaskClient, form: dict[str, str], zh: str, en: str
) -> None:
    for lang, expected in (("zh", zh), ("en", en)):
        page = client.post("/lookup/number", data={**form, "lang": lang})
        html = page.get_data(as_text=True)
        assert page.status_code == 422 and expected in html
    zh_page = client.post("/lookup/number", data={**form, "lang": "zh"}).get_data(as_text=True)
    assert "copy it exactly" not in zh_page and "enter the holder" not in zh_page


def test_id_lookup_errors_speak_the_pages_language(client: FlaskClient) -> None:
    bad_type = client.post("/lookup/id", data={"id_number": "x", "name": "韩梅梅", "id_type": "?"})
    assert bad_type.status_code == 422 and "证件类型有误" in bad_type.get_data(as_text=True)
    bad_id = client.post("/lookup/id", data={"id_number": "11010519491231002Y", "name": "韩梅梅"})
    assert bad_id.status_code == 422 and "证件号码有误" in bad_id.get_data(as_text=True)
