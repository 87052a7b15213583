"""Photos with imported results: the issuing API (base64 per row) and the console (a ZIP),
checked against the body's setting, which the console's admin changes (audited)."""

from __future__ import annotations

import base64
import io
import logging
import re

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from certsvc.accounts.tokens import create_token
from certsvc.jobs.runner import run_job
from certsvc.models import AuditEntry, Certificate, CertificationBody
from certsvc.models.jobs import Job
from certsvc.runtime import Runtime
from certsvc.web import issuing_api
from tests.conftest import (
    BODY_CODE,
    Console,
    csv_file,
    logged_in,
    person_id,
    photo_bytes,
    photos_zip,
    row,
)


def _require_photos(runtime: Runtime, required: bool = True) -> None:
    with runtime.db.transaction() as session:
        body = session.scalars(
            select(CertificationBody).where(CertificationBody.code == BODY_CODE)
        ).one()
        body.photo_required = required


def _photo_digests(runtime: Runtime) -> list[str | None]:
    with runtime.db.session() as session:
        return list(
            session.scalars(select(Certificate.photo_sha256).order_by(Certificate.batch_row))
        )


# --- the issuing API ----------------------------------------------------------------------------


def _post(app: Flask, secret: str, rows: list[dict[str, str]], key: str) -> object:
    return app.test_client().post(
        "/api/v1/batches",
        json={"rows": rows},
        headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key},
    )


@pytest.fixture
def issuer_token(runtime: Runtime, body: str) -> str:
    with runtime.db.transaction() as session:
        return create_token(session, "issuer", "hr system", body).secret


def test_api_rows_carry_base64_photos_checked_per_row(
    runtime: Runtime, app: Flask, issuer_token: str
) -> None:
    _require_photos(runtime)
    good = base64.b64encode(photo_bytes()).decode()
    small = base64.b64encode(photo_bytes(200, 280)).decode()
    rows = [
        {**row(1), "photo": good},
        {**row(2), "photo": small},
        row(3),
        {**row(4), "photo": "not base64!"},
    ]
    response = _post(app, issuer_token, rows, "photos-1")
    assert response.status_code == 422, response.json  # type: ignore[attr-defined]
    problems = {
        (p["index"], p["field"]): p["message"]
        for p in response.json["error"]["rows"]  # type: ignore[attr-defined]
    }
    assert set(problems) == {(1, "photo"), (2, "photo"), (3, "photo")}
    assert "200 × 280 pixels" in problems[(1, "photo")]
    assert "no photo" in problems[(2, "photo")]
    assert "not base64" in problems[(3, "photo")]
    assert _photo_digests(runtime) == []

    fixed = [
        {**row(n), "photo": good if n % 2 else base64.b64encode(photo_bytes(fmt="PNG")).decode()}
        for n in (1, 2)
    ]
    response = _post(app, issuer_token, fixed, "photos-2")
    assert response.status_code == 201, response.json  # type: ignore[attr-defined]
    digests = _photo_digests(runtime)
    assert len(digests) == 2 and all(digests)


def test_api_photos_are_optional_where_the_body_says_so(
    runtime: Runtime, app: Flask, issuer_token: str
) -> None:
    _require_photos(runtime, False)
    response = _post(
        app,
        issuer_token,
        [row(1), {**row(2), "photo": base64.b64encode(photo_bytes()).decode()}],
        "k",
    )
    assert response.status_code == 201, response.json  # type: ignore[attr-defined]
    first, second = _photo_digests(runtime)
    assert first is None and second


def test_openapi_documents_the_photo_field(app: Flask) -> None:
    document = app.test_client().get("/api/v1/openapi.json").json
    assert document is not None
    photo = document["components"]["schemas"]["IssuingRow"]["properties"]["photo"]
    text = photo["anyOf"][0]
    assert text["contentEncoding"] == "base64" and text["maxLength"] > 6_000_000
    assert "295 × 413" in photo["description"]


# --- the console --------------------------------------------------------------------------------


@pytest.fixture
def issuer(app: Flask, runtime: Runtime, body: str) -> Console:
    return logged_in(app, runtime, "hr.issuer", "issuer", body)


def test_console_preview_shows_thumbnails_marks_bad_photos_then_issues_with_photos(
    runtime: Runtime, issuer: Console
) -> None:
    _require_photos(runtime)
    results = csv_file([row(1), row(2), row(3)])
    bad = photos_zip(
        {
            f"{person_id(1)}.jpg": photo_bytes(),
            f"{person_id(2)}.jpg": b"GIF89a" + b"\0" * 100,
            f"{person_id(9)}.jpg": photo_bytes(),
        }
    )
    preview = issuer.upload(results, photos=bad)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 422
    assert 'id="confirm-issue"' not in html
    assert len(re.findall(r'<img class="thumb" src="data:image/jpeg;base64,', html)) == 1
    row3 = html[html.index('id="row-3"') : html.index('id="row-4"')]
    assert "not a JPEG or PNG" in row3 or "不是 JPEG 或 PNG" in row3
    row4 = html[html.index('id="row-4"') :]
    assert "缺少该证件号码的照片" in row4 or "no photo for this ID number" in row4
    assert "没有对应的行" in html or "matches no row" in html
    assert _photo_digests(runtime) == []

    good = photos_zip({f"{person_id(n)}.jpg": photo_bytes(350 + n, 490 + n) for n in (1, 2, 3)})
    preview = issuer.upload(results, photos=good)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:3000]
    done = issuer.confirm(preview)
    assert done.status_code == 303
    digests = _photo_digests(runtime)
    assert len(digests) == 3 and all(digests) and len(set(digests)) == 3


def test_console_confirm_refuses_photos_altered_after_the_preview(
    runtime: Runtime, issuer: Console
) -> None:
    results = csv_file([row(1)])
    preview = issuer.upload(results, photos=photos_zip({f"{person_id(1)}.jpg": photo_bytes()}))
    html = preview.get_data(as_text=True)
    ticket = re.search(r'name="ticket" type="hidden" value="([^"]+)"', html)
    content = re.search(r'name="content" type="hidden" value="([^"]+)"', html)
    assert ticket and content
    other = io.BytesIO()
    Image.new("RGB", (350, 490), "black").save(other, "JPEG")
    swapped = photos_zip({"2.jpg": other.getvalue()})
    response = issuer.post(
        "/console/import/confirm",
        {
            "ticket": ticket.group(1),
            "content": content.group(1),
            "photos": base64.b64encode(swapped).decode(),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert _photo_digests(runtime) == []


def test_console_admin_sets_photos_required_audited(
    runtime: Runtime, app: Flask, body: str
) -> None:
    admin = logged_in(app, runtime, "boss", "admin", body)
    page = admin.get("/console/scope").get_data(as_text=True)
    assert 'id="photo-required"' in page
    assert admin.post("/console/settings/photos", {"photo_required": "y"}).status_code == 303
    with runtime.db.session() as session:
        body_row = session.scalars(select(CertificationBody)).one()
        assert body_row.photo_required is True
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "body.photos")).one()
        assert entry.detail == {"photo_required": True}
    assert admin.post("/console/settings/photos", {}).status_code == 303
    with runtime.db.session() as session:
        assert session.scalars(select(CertificationBody.photo_required)).one() is False

    viewer = logged_in(app, runtime, "reader", "viewer", body)
    assert viewer.post("/console/settings/photos", {"photo_required": "y"}).status_code == 403


def test_a_large_api_batch_with_photos_runs_as_a_job_and_logs_no_photo(
    runtime: Runtime,
    app: Flask,
    issuer_token: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(issuing_api, "ASYNC_IMPORT_ROWS", 2)  # "large" without 1,001 photos
    caplog.set_level(logging.DEBUG)
    _require_photos(runtime)
    photos = [base64.b64encode(photo_bytes(350 + n, 490 + n)).decode() for n in range(3)]
    rows = [{**row(n), "photo": photos[n]} for n in range(3)]
    response = _post(app, issuer_token, rows, "job-with-photos")
    assert response.status_code == 202, response.json  # type: ignore[attr-defined]
    job_id = response.json["id"]  # type: ignore[attr-defined]
    run_job(runtime, job_id)
    digests = _photo_digests(runtime)
    assert len(digests) == 3 and all(digests) and len(set(digests)) == 3
    logged = caplog.text
    assert all(p[40:120] not in logged for p in photos)
    with runtime.db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.state == "succeeded"


def test_console_shows_a_photos_file_that_is_not_a_zip_under_the_photos_field(
    issuer: Console,
) -> None:
    response = issuer.upload(csv_file([row(1)]), photos=photo_bytes())
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    photos_field = html[html.index('id="photos"') :]
    assert "不是 ZIP 压缩包" in photos_field  # the console speaks Chinese by default
