"""Holder photos at rest and in the signed record (issue #16): sealed per body under their
SHA-256, and named by the certificate's vc+jwt as a related resource with that digest."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from certsvc.bodies.bodies import get_body
from certsvc.cli.context import Context
from certsvc.cli.demo import uscc
from certsvc.cli.main import cli
from certsvc.domain.ids import IdType
from certsvc.errors import BatchRejected, ConfigError, NotFound
from certsvc.holders.photos import normalise_photo
from certsvc.holders.photos_store import digest_sri, load_photo, sri_digest, store_photo
from certsvc.issuance.certificates import reissue
from certsvc.issuance.credential import photo_resource
from certsvc.models import Certificate, CertificationBody, Event, HolderPhoto
from certsvc.models.migrate import upgrade
from certsvc.runtime import Runtime
from certsvc.signing.b64 import b64url_decode
from tests.conftest import issue, make_body, photo_bytes, row


def credential_of(record: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(b64url_decode(record.split(".")[1]))
    return payload


def certificate(runtime: Runtime, number: str) -> Certificate:
    with runtime.db.session() as session:
        cert = session.scalar(select(Certificate).where(Certificate.number == number))
        assert cert is not None
        session.expunge(cert)
        return cert


def body_id(runtime: Runtime, code: str) -> int:
    with runtime.db.session() as session:
        found = session.scalar(select(CertificationBody.id).where(CertificationBody.code == code))
        assert found is not None
        return found


def test_the_record_signs_the_photo_digest_and_the_photo_is_stored_sealed(
    runtime: Runtime, body: str
) -> None:
    photo = normalise_photo(photo_bytes())
    digest = hashlib.sha256(photo).hexdigest()
    issued = issue(runtime, [row(1), row(2)], photos={2: photo})
    with_photo, without = (certificate(runtime, c.number) for c in issued.certificates)

    assert with_photo.photo_sha256 == digest
    cred = credential_of(with_photo.record)
    assert cred["relatedResource"] == [
        {
            "id": f"https://cert.example.cn/c/{with_photo.number}#photo",
            "mediaType": "image/jpeg",
            "digestSRI": "sha256-" + base64.b64encode(hashlib.sha256(photo).digest()).decode(),
        }
    ]
    assert photo_resource(cred) == digest
    # No photo, no relatedResource.
    assert without.photo_sha256 is None
    assert "relatedResource" not in credential_of(without.record)
    assert photo_resource(credential_of(without.record)) is None

    with runtime.db.session() as session:
        stored = session.scalars(select(HolderPhoto)).all()
        assert [p.sha256 for p in stored] == [digest]
        assert photo not in bytes(stored[0].sealed)  # encrypted, not the JPEG
        assert load_photo(session, runtime.vault, with_photo.body_id, digest) == photo


def test_a_sealed_photo_opens_only_as_that_photo_of_that_body(runtime: Runtime, body: str) -> None:
    photo = normalise_photo(photo_bytes())
    digest = hashlib.sha256(photo).hexdigest()
    vault = runtime.vault
    sealed = vault.seal_photo(1, digest, photo)
    assert vault.open_photo(1, digest, sealed) == photo
    with pytest.raises(ConfigError):
        vault.open_photo(2, digest, sealed)  # another body's
    # A sealed ID number or salt is not a photo, nor a sealed photo a salt.
    protected = vault.protect(IdType.RESIDENT_ID, row(1)["id_number"])
    with pytest.raises(ConfigError):
        vault.open_photo(1, digest, protected.ciphertext)
    with pytest.raises(ConfigError):
        vault.open_salt(IdType.RESIDENT_ID, protected.digest, sealed)
    with pytest.raises(ConfigError):
        vault.reveal(IdType.RESIDENT_ID, protected.digest, sealed)


def test_the_same_photo_is_stored_once_and_other_bodies_do_not_see_it(
    runtime: Runtime, body: str
) -> None:
    photo = normalise_photo(photo_bytes())
    own = body_id(runtime, body)
    with runtime.db.transaction() as session:
        first = store_photo(session, runtime.vault, own, photo)
        again = store_photo(session, runtime.vault, own, photo)
    assert first == again
    with runtime.db.session() as session:
        assert len(session.scalars(select(HolderPhoto)).all()) == 1
        with pytest.raises(NotFound):
            load_photo(session, runtime.vault, own + 1, first)


def test_a_photo_for_a_missing_row_or_not_a_jpeg_rejects_the_batch(
    runtime: Runtime, body: str
) -> None:
    photo = normalise_photo(photo_bytes())
    with pytest.raises(BatchRejected) as stray:
        issue(runtime, [row(1)], photos={9: photo})
    assert [(e.row, e.column) for e in stray.value.errors] == [(9, "photo")]
    with pytest.raises(BatchRejected) as png:
        issue(runtime, [row(1)], photos={2: photo_bytes(fmt="PNG")})
    assert [(e.row, e.column) for e in png.value.errors] == [(2, "photo")]
    with runtime.db.session() as session:
        assert session.scalars(select(Certificate)).all() == []
        assert session.scalars(select(HolderPhoto)).all() == []


def test_the_same_rows_with_another_photo_are_a_new_batch_not_a_replay(
    runtime: Runtime, body: str
) -> None:
    one = normalise_photo(photo_bytes())
    other = normalise_photo(photo_bytes(colour=(20, 40, 200)))
    first = issue(runtime, [row(1)], photos={2: one})
    assert issue(runtime, [row(1)], photos={2: one}).replayed
    with pytest.raises(BatchRejected):  # a new batch: the person is certified already
        issue(runtime, [row(1)], photos={2: other})
    assert first.certificates


def test_a_correction_keeps_the_photo_of_the_certificate_it_corrects(
    runtime: Runtime, body: str
) -> None:
    photo = normalise_photo(photo_bytes())
    old = issue(runtime, [row(1)], photos={2: photo}).certificates[0].number
    corrected = reissue(
        runtime, body_id(runtime, body), old, {"name": "李四"}, actor="t", source="api"
    ).certificates[0]
    cert = certificate(runtime, corrected.number)
    assert cert.photo_sha256 == hashlib.sha256(photo).hexdigest()
    assert photo_resource(credential_of(cert.record)) == cert.photo_sha256


def test_sri_digests_round_trip_and_refuse_other_forms() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert sri_digest(digest_sri(digest)) == digest
    for bad in ("sha384-" + base64.b64encode(b"\0" * 48).decode(), "sha256-***", "sha256-AAAA"):
        with pytest.raises(Exception, match="SRI"):
            sri_digest(bad)


def test_bodies_before_photos_do_not_require_them_and_new_ones_do(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0006")
    insert = (
        "INSERT INTO certification_bodies (code, name_zh, name_en, uscc, filing_number, "
        "chain_leader, status, created_at) VALUES (:code, '机构', '', :uscc, '', 0, 'active', "
        "'2026-01-01 00:00:00')"
    )
    with engine.begin() as conn:
        conn.execute(text(insert), {"code": "Y000132010001", "uscc": "A" * 18})
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(insert), {"code": "Y000132010002", "uscc": "B" * 18})
        required = dict(
            conn.execute(text("SELECT code, photo_required FROM certification_bodies")).all()
        )
    engine.dispose()
    assert required == {"Y000132010001": 0, "Y000132010002": 1}


def test_a_body_admin_setting_says_whether_imports_need_photos(runtime: Runtime) -> None:
    code = make_body(runtime, "Y000132010009", "测试机构", uscc("91320100MA1X7K3P9"))
    ctx = Context()
    ctx._runtime = runtime

    def required() -> bool:
        with runtime.db.session() as session:
            return get_body(session, code).photo_required

    assert required() is False  # test bodies do not (conftest)
    result = CliRunner().invoke(cli, ["body", "photos", code, "required"], obj=ctx)
    assert result.exit_code == 0, result.output
    assert required() is True
    CliRunner().invoke(cli, ["body", "photos", code, "optional"], obj=ctx)
    assert required() is False
    with runtime.db.session() as session:
        changes = session.scalars(
            select(Event.data).where(Event.kind == "body_changed").order_by(Event.seq)
        ).all()
    assert changes[-2:] == [{"photo_required": True}, {"photo_required": False}]
