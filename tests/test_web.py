"""The public routes built so far: health, JWKS, and the page behind each QR code."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from certsvc import create_app
from certsvc.bodies import get_body
from certsvc.issuance.service import revoke
from certsvc.models import Certificate
from certsvc.services import Services
from certsvc.signing.jwks import KeySet
from tests.conftest import row
from tests.test_issuance import issue


@pytest.fixture
def client(services: Services) -> FlaskClient:
    app = create_app(services=services)
    app.testing = True
    return app.test_client()


def test_health(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_jwks_lists_every_key_with_status_and_caching(
    client: FlaskClient, services: Services, body: str
) -> None:
    with services.db.transaction() as session:
        services.keyring.rotate(session, get_body(session, body))
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
    client: FlaskClient, services: Services, body: str
) -> None:
    result = issue(services, [row(1, name="欧阳晓明"), row(2)])
    token = result.certificates[0].token
    page = client.get(f"/v/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "证书有效" in html and "Valid certificate" in html
    for text in ("欧阳晓明", result.certificates[0].number, "四级/中级工", "电工", "南京测试装备"):
        assert text in html
    assert page.headers["X-Robots-Tag"] == "noindex"

    revoke(services, result.certificates[1].number, "考核记录不实 assessment record false")
    html = client.get(f"/v/{result.certificates[1].token}").get_data(as_text=True)
    assert "证书已撤销" in html and "考核记录不实" in html


def test_tampered_and_malformed_tokens_are_not_valid(
    client: FlaskClient, services: Services, body: str
) -> None:
    token = issue(services, [row(1)]).certificates[0].token
    header, payload, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    html = client.get(f"/v/{header}.{payload}.{flipped}").get_data(as_text=True)
    assert "签名无效" in html or "无法识别" in html
    assert "证书有效" not in html
    page = client.get("/v/not-a-token")
    assert page.status_code == 400 and "无法识别的二维码" in page.get_data(as_text=True)


def test_compromised_key_cutoff_separates_old_and_new_signatures(
    client: FlaskClient, services: Services, body: str
) -> None:
    before = issue(services, [row(1)]).certificates[0]
    with services.db.session() as session:
        kid = session.scalar(select(Certificate.kid))
        assert kid is not None
    cutoff = dt.datetime.now(dt.UTC)
    with services.db.transaction() as session:
        services.keyring.mark_compromised(session, kid, cutoff)
    html = client.get(f"/v/{before.token}").get_data(as_text=True)
    assert "证书有效" in html  # signed before the cutoff: still trusted
    with services.db.transaction() as session:
        services.keyring.mark_compromised(session, kid, cutoff - dt.timedelta(hours=1))
    html = client.get(f"/v/{before.token}").get_data(as_text=True)
    assert "签名无效" in html and "compromised" in html
