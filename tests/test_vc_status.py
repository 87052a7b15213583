"""Revocation through W3C Bitstring Status List v1.0, checked with a decoder written from the spec.

The decoder below follows the spec's text, not certsvc's code: ``encodedList`` is the
multibase prefix ``u`` then base64url without padding of a GZIP stream; the bitstring's
index 0 is its left-most bit; at least 131,072 entries. The list credential is verified with
joserfc against the service's JWKS.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest
from alembic import command
from flask.testing import FlaskClient
from joserfc import jws
from joserfc.jwk import KeySet as JoseKeySet
from sqlalchemy import create_engine, select

from certsvc import create_app
from certsvc.errors import MalformedToken
from certsvc.issuance.service import revoke
from certsvc.issuance.status import FILL, assign_entries
from certsvc.models import Certificate, CertificationBody, StatusList
from certsvc.models.migrate import alembic_config, upgrade
from certsvc.runtime import Runtime
from certsvc.signing.statuslist import decode_list, encode_list
from tests.conftest import BODY_CODE, issue_rows, row

PUBLIC_URL = "https://cert.example.cn"
LIST_PATH = f"/status/{BODY_CODE}/1"


@pytest.fixture
def client(runtime: Runtime) -> FlaskClient:
    app = create_app(runtime=runtime)
    app.testing = True
    return app.test_client()


# --- an independent decoder, from the spec ------------------------------------------------------


def spec_bitstring(encoded_list: str) -> bytes:
    assert encoded_list[0] == "u", "multibase base64url"
    text = encoded_list[1:]
    assert "=" not in text
    return gzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def spec_bit(bitstring: bytes, index: int) -> int:
    return (bitstring[index // 8] >> (7 - index % 8)) & 1


def verified_list(client: FlaskClient, path: str = LIST_PATH) -> dict[str, Any]:
    """GET the list, verify its JWS with joserfc and the JWKS; the credential."""
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    keys = JoseKeySet.import_key_set(client.get("/.well-known/jwks.json").get_json(force=True))
    token = jws.deserialize_compact(answer.text, keys, algorithms=["EdDSA"])
    assert token.protected["typ"] == "vc+jwt"
    credential: dict[str, Any] = json.loads(token.payload)
    return credential


def record_of(runtime: Runtime, number: str) -> dict[str, Any]:
    with runtime.db.session() as session:
        record = session.scalar(select(Certificate.record).where(Certificate.number == number))
    assert record is not None
    payload = record.split(".")[1]
    result: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return result


# --- tests ---------------------------------------------------------------------------------------


def test_every_credential_names_its_revocation_entry(runtime: Runtime, body: str) -> None:
    issued = issue_rows(runtime, [row(n) for n in range(1, 6)])
    indexes = set()
    for cert in issued.certificates:
        status = record_of(runtime, cert.number)["credentialStatus"]
        url = f"{PUBLIC_URL}{LIST_PATH}"
        assert status["type"] == "BitstringStatusListEntry"
        assert status["statusPurpose"] == "revocation"
        assert status["statusListCredential"] == url
        assert status["id"] == f"{url}#{status['statusListIndex']}"
        index = int(status["statusListIndex"])
        assert 0 <= index < 131_072
        indexes.add(index)
    assert len(indexes) == 5


def test_the_list_is_a_signed_bitstring_of_131072_entries(
    runtime: Runtime, body: str, client: FlaskClient
) -> None:
    issue_rows(runtime, [row(1)])
    credential = verified_list(client)
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert credential["id"] == f"{PUBLIC_URL}{LIST_PATH}"
    assert credential["issuer"] == f"{PUBLIC_URL}/bodies/{BODY_CODE}"
    subject = credential["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    bits = spec_bitstring(subject["encodedList"])
    assert len(bits) * 8 >= 131_072
    assert not any(bits)
    answer = client.get(LIST_PATH)
    assert answer.mimetype == "application/vc+jwt"
    assert answer.headers["Cache-Control"] == "public, max-age=300, must-revalidate"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["ETag"]
    assert client.head(LIST_PATH).status_code == 200
    assert client.get(f"/status/{BODY_CODE}/2").status_code == 404


def test_revocation_and_correction_set_the_bit(
    runtime: Runtime, body: str, client: FlaskClient
) -> None:
    issued = issue_rows(runtime, [row(1), row(2), row(3)])
    first, second, third = (c.number for c in issued.certificates)
    index = {
        n: int(record_of(runtime, n)["credentialStatus"]["statusListIndex"])
        for n in (first, second, third)
    }
    before = client.get(LIST_PATH)
    revoke(runtime, second, "考核材料不实")
    after = client.get(LIST_PATH)
    assert after.headers["ETag"] != before.headers["ETag"]
    stale = client.get(LIST_PATH, headers={"If-None-Match": before.headers["ETag"]})
    assert stale.status_code == 200
    fresh = client.get(LIST_PATH, headers={"If-None-Match": after.headers["ETag"]})
    assert fresh.status_code == 304
    bits = spec_bitstring(verified_list(client)["credentialSubject"]["encodedList"])
    assert (spec_bit(bits, index[first]), spec_bit(bits, index[second])) == (0, 1)
    assert sum(bin(b).count("1") for b in bits) == 1

    issue_rows(runtime, [row(1, corrects=first)])  # a correction supersedes the first
    bits = spec_bitstring(verified_list(client)["credentialSubject"]["encodedList"])
    assert [spec_bit(bits, index[n]) for n in (first, second, third)] == [1, 1, 0]


def test_indexes_do_not_reveal_the_issue_order(runtime: Runtime, body: str) -> None:
    issued = issue_rows(runtime, [row(n) for n in range(1, 41)])
    indexes = [
        int(record_of(runtime, c.number)["credentialStatus"]["statusListIndex"])
        for c in issued.certificates
    ]
    assert len(set(indexes)) == 40
    assert indexes != sorted(indexes) and indexes != sorted(indexes, reverse=True)
    assert max(indexes) - min(indexes) > 40_000  # spread over the list, not a block


def test_a_full_list_opens_the_next_one(runtime: Runtime, body: str) -> None:
    with runtime.db.transaction() as session:
        found = session.scalar(select(CertificationBody).where(CertificationBody.code == body))
        assert found is not None
        entries = assign_entries(session, found, FILL + 2, PUBLIC_URL)
        lists = session.scalars(select(StatusList).order_by(StatusList.number)).all()
        assert [(x.number, x.assigned) for x in lists] == [(1, FILL), (2, 2)]
        first = {index for list_id, index, _ in entries if list_id == lists[0].id}
        assert len(first) == FILL  # unique within the list
        assert entries[-1][2].list_url == f"{PUBLIC_URL}/status/{body}/2"


def test_a_new_key_signs_the_list_again(runtime: Runtime, body: str, client: FlaskClient) -> None:
    issue_rows(runtime, [row(1)])
    old = client.get(LIST_PATH).text
    with runtime.db.transaction() as session:
        found = session.scalar(select(CertificationBody).where(CertificationBody.code == body))
        assert found is not None
        new_kid = runtime.keyring.rotate(session, found).kid
    token = client.get(LIST_PATH).text
    assert token != old
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"] == new_kid
    verified_list(client)


def test_certificates_from_before_the_lists_get_entries(
    runtime: Runtime, body: str, client: FlaskClient, database_url: str
) -> None:
    """The migration gives old certificates random entries, bits set for those not current.

    Their signed records cannot change (they are in the transparency log), so the records
    stay as signed; the list, signed when first served, counts them.
    """
    issued = issue_rows(runtime, [row(1), row(2)])
    revoke(runtime, issued.certificates[1].number, "考核材料不实")
    records = {c.number: record_of(runtime, c.number) for c in issued.certificates}
    engine = create_engine(database_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    upgrade(engine)
    engine.dispose()
    with runtime.db.session() as session:
        rows = session.execute(
            select(Certificate.number, Certificate.status_index, Certificate.record)
        ).all()
        assert session.scalar(select(StatusList.credential)) is None  # not signed yet
    assert {number: records[number] == record_of(runtime, number) for number, _, _ in rows} == {
        c.number: True for c in issued.certificates
    }
    bits = spec_bitstring(verified_list(client)["credentialSubject"]["encodedList"])
    index = {number: i for number, i, _ in rows}
    assert spec_bit(bits, index[issued.certificates[0].number]) == 0
    assert spec_bit(bits, index[issued.certificates[1].number]) == 1


def test_the_decoder_refuses_what_the_spec_does_not_allow() -> None:
    """certsvc's own decoder: the spec's minimum size and the multibase prefix."""
    assert len(decode_list(encode_list(bytes(16_384)))) == 16_384
    with pytest.raises(MalformedToken):
        decode_list(encode_list(bytes(16_383)))
    with pytest.raises(MalformedToken):
        decode_list("z" + encode_list(bytes(16_384))[1:])
    assert spec_bitstring(encode_list(bytes(16_384))) == bytes(16_384)
