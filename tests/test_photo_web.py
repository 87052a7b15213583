"""The holder photo in public: on the page behind the QR only, never cached, never in the
look-ups or the public API (issue #16)."""

from __future__ import annotations

import logging
import re

import pytest
from flask.testing import FlaskClient

from certsvc.holders.photos import normalise_photo
from certsvc.issuance.service import revoke
from certsvc.runtime import Runtime
from tests.conftest import issue, person_id, photo_bytes, row


@pytest.fixture
def photo() -> bytes:
    return normalise_photo(photo_bytes())


def test_the_verify_page_shows_the_stored_photo_served_no_store(
    client: FlaskClient, runtime: Runtime, body: str, photo: bytes
) -> None:
    cert = issue(runtime, [row(1)], photos={2: photo}).certificates[0]
    page = client.get(f"/v/{cert.token}").get_data(as_text=True)
    src = re.search(r'<img src="([^"]+)"[^>]*alt="持证人照片"', page)
    assert src is not None and src.group(1) == f"/v/{cert.token}/photo"
    served = client.get(src.group(1))
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.data == photo
    assert served.headers["Cache-Control"] == "private, no-store"
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_no_photo_for_a_certificate_without_one_or_a_token_that_is_not_valid(
    client: FlaskClient, runtime: Runtime, body: str, photo: bytes
) -> None:
    plain, pictured = issue(runtime, [row(1), row(2)], photos={3: photo}).certificates
    assert "/photo" not in client.get(f"/v/{plain.token}").get_data(as_text=True)
    assert client.get(f"/v/{plain.token}/photo").status_code == 404
    head, payload, signature = pictured.token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    assert client.get(f"/v/{forged}/photo").status_code == 404
    assert client.get("/v/not-a-token/photo").status_code == 404
    revoke(runtime, pictured.number, "考核材料不实")
    answer = client.get(f"/v/{pictured.token}/photo")
    assert answer.status_code == 404 and answer.headers["Cache-Control"] == "private, no-store"
    assert "/photo" not in client.get(f"/v/{pictured.token}").get_data(as_text=True)


def test_lookups_and_the_public_api_neither_return_nor_link_the_photo(
    client: FlaskClient, runtime: Runtime, body: str, photo: bytes
) -> None:
    cert = issue(runtime, [row(1, name="韩梅梅")], photos={2: photo}).certificates[0]
    answers = [
        client.post("/lookup/number", data={"number": cert.number, "name": "韩梅梅"}),
        client.post("/lookup/id", data={"id_number": person_id(1), "name": "韩梅梅"}),
        client.post("/api/v1/verify", json={"token": cert.token}),
        client.post("/api/v1/lookup/by-number", json={"number": cert.number, "name": "韩梅梅"}),
        client.post("/api/v1/lookup/by-id", json={"id_number": person_id(1), "name": "韩梅梅"}),
    ]
    for answer in answers:
        assert answer.status_code == 200
        assert cert.number in answer.get_data(as_text=True)  # the certificate was found
        text = answer.get_data(as_text=True)
        for trace in ("/photo", "#photo", "relatedResource", "digestSRI", "<img"):
            assert trace not in text
        assert photo not in answer.data
    assert "证书有效" in answers[0].get_data(as_text=True)


def test_photos_never_reach_the_logs(
    client: FlaskClient, runtime: Runtime, body: str, photo: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cert = issue(runtime, [row(1)], photos={2: photo}).certificates[0]
    assert client.get(f"/v/{cert.token}/photo").data == photo
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "JFIF" not in logged and "\\xff\\xd8" not in logged
