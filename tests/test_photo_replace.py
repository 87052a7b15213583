"""Replacing a holder's photo after issuance (issue #16): same number and QR, the record
re-signed with the new digest as a ``photo_replaced`` event, audited without the image, and
followed by the registry client, which checks every photo against the signed digest."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from certsvc.bodies.bodies import get_body
from certsvc.cli.context import Context
from certsvc.cli.main import cli
from certsvc.errors import Conflict, InvalidInput, NotFound
from certsvc.holders.photos import normalise_photo
from certsvc.issuance.credential import photo_resource
from certsvc.issuance.photos import replace_photo
from certsvc.issuance.service import revoke
from certsvc.models import AuditEntry, Certificate, Event
from certsvc.registry.transport import HttpResponse
from certsvc.render.batch import certificate_face
from certsvc.runtime import Runtime
from certsvc.signing.b64 import b64url_decode
from tests.conftest import (
    FlaskTransport,
    bearer,
    issue,
    other_body,
    photo_bytes,
    row,
    run_pull,
    token_for,
)

RED = (200, 40, 40)
BLUE = (20, 40, 200)


def payload(record: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(b64url_decode(record.split(".")[1]))
    return result


def stored(runtime: Runtime, number: str) -> Certificate:
    with runtime.db.session() as session:
        cert = session.scalar(select(Certificate).where(Certificate.number == number))
        assert cert is not None
        session.expunge(cert)
        return cert


def cli_replace(runtime: Runtime, number: str, photo: Path) -> Any:
    ctx = Context()
    ctx._runtime = runtime
    return CliRunner().invoke(cli, ["photo", "replace", number, str(photo)], obj=ctx)


def test_the_cli_replaces_a_photo_keeping_number_and_qr_and_re_signs_the_record(
    runtime: Runtime, body: str, client: FlaskClient, tmp_path: Path
) -> None:
    old_photo = normalise_photo(photo_bytes(colour=RED))
    cert = issue(runtime, [row(1)], photos={2: old_photo}).certificates[0]
    before = stored(runtime, cert.number)
    new_file = tmp_path / "new.png"
    new_file.write_bytes(photo_bytes(colour=BLUE, fmt="PNG"))

    result = cli_replace(runtime, cert.number, new_file)
    assert result.exit_code == 0, result.output
    after = stored(runtime, cert.number)
    new_photo = client.get(f"/v/{cert.token}/photo").data
    assert hashlib.sha256(new_photo).hexdigest() == after.photo_sha256
    assert after.photo_sha256 != before.photo_sha256 and after.photo_sha256 in result.output
    assert (after.number, after.token, after.status) == (cert.number, cert.token, "valid")
    assert after.record == before.record  # the issued record, as logged, stays

    with runtime.db.session() as session:
        event = session.scalars(select(Event).where(Event.kind == "photo_replaced")).one()
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "photo.replace"))
        entry = audit.one()
    new_record = event.data["record"]
    assert photo_resource(payload(new_record)) == after.photo_sha256
    # Every other member of the credential is the issued one.
    old, new = payload(before.record), payload(new_record)
    assert {k: v for k, v in new.items() if k != "relatedResource"} == {
        k: v for k, v in old.items() if k != "relatedResource"
    }
    assert entry.target == cert.number and entry.outcome == "ok"
    assert entry.detail == {"sha256": after.photo_sha256, "previous_sha256": before.photo_sha256}
    # The PDF embeds the current record (its photo's digest) and prints the new photo.
    with runtime.db.session() as session:
        face = certificate_face(session, cert.number, "https://cert.example.cn", runtime.vault)
    assert face.record == new_record and face.photo is not None
    # The transparency log's leaves, recomputed from the events, still match every checkpoint.
    ctx = Context()
    ctx._runtime = runtime
    audit = CliRunner().invoke(cli, ["log", "audit"], obj=ctx)
    assert audit.exit_code == 0 and "ok:" in audit.output, audit.output


def test_only_a_valid_certificate_of_the_acting_body_gets_a_new_photo(
    runtime: Runtime, body: str
) -> None:
    photo = normalise_photo(photo_bytes())
    first, second = issue(runtime, [row(1), row(2)], photos={2: photo}).certificates
    with pytest.raises(InvalidInput, match="already"):
        replace_photo(runtime, None, first.number, photo, actor="t")
    other = other_body(runtime)
    with runtime.db.session() as session:
        other_id = get_body(session, other).id
    with pytest.raises(NotFound):  # another body's number is not found, as if none existed
        replace_photo(runtime, other_id, first.number, photo, actor="t")
    revoke(runtime, second.number, "考核材料不实")
    with pytest.raises(Conflict):
        replace_photo(
            runtime, None, second.number, normalise_photo(photo_bytes(colour=BLUE)), actor="t"
        )


def test_the_registry_fetches_photos_by_digest_with_its_token_only(
    runtime: Runtime, body: str, client: FlaskClient
) -> None:
    photo = normalise_photo(photo_bytes())
    digest = hashlib.sha256(photo).hexdigest()
    issue(runtime, [row(1)], photos={2: photo})
    url = f"/api/v1/registry/photos/{digest}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(token_for(runtime, "issuer", body))).status_code == 403
    answer = client.get(url, headers=bearer(token_for(runtime)))
    assert answer.status_code == 200 and answer.data == photo
    assert answer.headers["Cache-Control"] == "private, no-store"
    other = other_body(runtime)
    of_other = bearer(token_for(runtime, "registry", other))
    assert client.get(url, headers=of_other).status_code == 404
    missing = f"/api/v1/registry/photos/{'0' * 64}"
    assert client.get(missing, headers=bearer(token_for(runtime))).status_code == 404
    bad = client.get("/api/v1/registry/photos/XYZ", headers=bearer(token_for(runtime)))
    assert bad.status_code == 422


def test_a_pull_follows_a_replaced_photo_and_keeps_each_checked_photo(
    runtime: Runtime, body: str, client: FlaskClient, tmp_path: Path
) -> None:
    cert = issue(
        runtime, [row(1), row(2)], photos={2: normalise_photo(photo_bytes())}
    ).certificates[0]
    mirror = tmp_path / "mirror.sqlite"
    first = run_pull(runtime, FlaskTransport(client), mirror)
    assert first.rejections == [] and first.photos == 1
    replaced = replace_photo(
        runtime, None, cert.number, normalise_photo(photo_bytes(colour=BLUE)), actor="t"
    )
    second = run_pull(runtime, FlaskTransport(client), mirror)
    assert second.rejections == [] and second.photos == 1
    assert second.kinds == {"photo_replaced": 1}
    with sqlite3.connect(mirror) as db:
        (record,) = db.execute(
            "SELECT record FROM mirror_certificates WHERE number = ?", (cert.number,)
        ).fetchone()
        photos = {d for (d,) in db.execute("SELECT sha256 FROM mirror_photos")}
    assert record == replaced.record
    assert replaced.sha256 in photos and len(photos) == 2


class SwappedPhoto(FlaskTransport):
    """Serves another image in place of every holder photo."""

    def get(self, url: str, headers: Any, timeout: float) -> HttpResponse:
        response = super().get(url, headers, timeout)
        if "/registry/photos/" not in url:
            return response
        return HttpResponse(200, response.headers, normalise_photo(photo_bytes(colour=BLUE)))


def test_a_photo_that_does_not_match_the_signed_digest_is_rejected_by_the_pull(
    runtime: Runtime, body: str, client: FlaskClient, tmp_path: Path
) -> None:
    cert = issue(runtime, [row(1)], photos={2: normalise_photo(photo_bytes())}).certificates[0]
    summary = run_pull(runtime, SwappedPhoto(client), tmp_path / "mirror.sqlite")
    assert [(r.kind, r.certificate) for r in summary.rejections] == [("photo", cert.number)]
    assert "signed record" in summary.rejections[0].reason and summary.photos == 0
    with sqlite3.connect(tmp_path / "mirror.sqlite") as db:
        assert db.execute("SELECT count(*) FROM mirror_photos").fetchone() == (0,)


def test_erasing_removes_every_photo_of_the_holder_but_not_the_signed_digests(
    runtime: Runtime, body: str, client: FlaskClient, tmp_path: Path
) -> None:
    first = normalise_photo(photo_bytes())
    mine, theirs = issue(
        runtime, [row(1), row(2)], photos={2: first, 3: normalise_photo(photo_bytes(colour=BLUE))}
    ).certificates
    second = normalise_photo(photo_bytes(colour=(30, 160, 60)))
    replace_photo(runtime, None, mine.number, second, actor="t")
    ctx = Context()
    ctx._runtime = runtime
    result = CliRunner().invoke(cli, ["photo", "erase", mine.number, "--yes"], obj=ctx)
    assert result.exit_code == 0 and "erased 2 photos" in result.output
    assert client.get(f"/v/{mine.token}/photo").status_code == 404
    assert "/photo" not in client.get(f"/v/{mine.token}").get_data(as_text=True)
    assert client.get(f"/v/{theirs.token}/photo").status_code == 200  # another holder's
    after = stored(runtime, mine.number)
    assert after.photo_sha256 == hashlib.sha256(second).hexdigest()  # still signed
    with runtime.db.session() as session:
        face = certificate_face(session, mine.number, "https://cert.example.cn", runtime.vault)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "photo.erase")).one()
    assert face.photo is None
    assert sorted(entry.detail["erased_sha256"]) == sorted(
        hashlib.sha256(p).hexdigest() for p in (first, second)
    )
