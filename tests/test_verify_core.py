"""The one verify() against issued certificates, on SQLite and PostgreSQL: every status."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging

import pytest
from sqlalchemy import select, update

from certsvc.bodies.bodies import get_body
from certsvc.bodies.keyring import published_keys
from certsvc.errors import InvalidCertificateNumber, InvalidIdNumber, InvalidInput
from certsvc.issuance.service import content_hash, issue_batch
from certsvc.models import Certificate
from certsvc.runtime import Runtime
from certsvc.signing.b64 import b64url_decode, b64url_encode
from certsvc.signing.jwks import KeySet
from certsvc.signing.jws import sign_compact
from certsvc.signing.keys import generate_private_key, kid_for
from certsvc.verify import (
    VerificationResult,
    lookup_by_id,
    lookup_by_number,
    verify_offline,
    verify_token,
)
from tests.conftest import BODY_CODE, OTHER_BODY_USCC, issue, other_body, person_id, row


def check(runtime: Runtime, token: str) -> VerificationResult:
    with runtime.db.session() as session:
        return verify_token(session, token)


def sign_as_body(runtime: Runtime, payload: list[object]) -> str:
    """A token signed with the body's real key over an arbitrary payload."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    with runtime.db.session() as session:
        return runtime.keyring.signer_for(session, get_body(session, BODY_CODE)).sign(data)


def test_valid_carries_every_field_key_and_time(runtime: Runtime, body: str) -> None:
    issued = issue(
        runtime,
        [
            row(
                1,
                name="欧阳晓明",
                level="技师",
                route="直接认定",
                direct_ground="师带徒绩效突出",
                direct_evidence="近五年带徒32人，其中12人取得技师以上等级。",
            )
        ],
    ).certificates[0]
    result = check(runtime, f"  {issued.token}\n")
    assert result.status == "valid" and result.reason is None and result.is_valid
    c = result.certificate
    assert c is not None
    assert c["number"] == issued.number and c["holder_name"] == "欧阳晓明"
    assert c["id_number_masked"] == person_id(1)[:4] + "*" * 10 + person_id(1)[-4:]
    assert (c["level_name"], c["occupation_name"], c["route"]) == ("二级/技师", "电工", "direct")
    assert c["direct_ground"] == "mentoring" and "带徒32人" in c["direct_evidence"]
    assert c["issuer"] == {
        "code": BODY_CODE,
        "name": "南京测试装备集团有限公司",
        "name_en": "Nanjing Test Equipment Group",
    }
    assert "employer_uscc" not in c and person_id(1) not in json.dumps(result.to_dict())
    assert result.kid and result.key_status == "active" and result.mode == "online"
    assert result.signed == {
        "number": issued.number,
        "holder_name": "欧阳晓明",
        "occupation_code": "6-31-01-03",
        "issue_date": "2026-11-20",
    }
    assert result.not_checked == ()


def test_revoked_and_superseded_say_so(runtime: Runtime, body: str) -> None:
    from certsvc.issuance.service import revoke

    first = issue(runtime, [row(1, name="张山"), row(2)]).certificates
    revoke(runtime, first[1].number, "考核记录不实")
    revoked = check(runtime, first[1].token)
    assert revoked.status == "revoked" and not revoked.is_valid
    assert revoked.certificate is not None
    assert revoked.certificate["status_reason"] == "考核记录不实"
    assert revoked.certificate["status_changed_at"].endswith("Z")

    fixed = issue(runtime, [row(1, name="张三", corrects=first[0].number)]).certificates[0]
    old = check(runtime, first[0].token)
    assert old.status == "superseded" and not old.is_valid
    assert old.superseded_by == fixed.number and old.superseded_by_token == fixed.token
    assert check(runtime, fixed.token).is_valid


def test_tampered_unknown_key_malformed_not_found(runtime: Runtime, body: str) -> None:
    token = issue(runtime, [row(1)]).certificates[0].token
    header, payload, signature = token.split(".")
    claims = b64url_decode(payload).decode().split("|")

    claims[2] = "李四"
    forged = f"{header}.{b64url_encode('|'.join(claims).encode())}.{signature}"
    assert (check(runtime, forged).status, check(runtime, forged).reason) == (
        "invalid_signature",
        "tampered",
    )
    outsider = generate_private_key()
    foreign = sign_compact(b64url_decode(payload), outsider, kid_for(outsider))
    assert check(runtime, foreign).status == "unknown_key"
    assert check(runtime, "not-a-token").status == "malformed"
    assert check(runtime, sign_as_body(runtime, [1, "x"])).status == "malformed"

    missing = sign_as_body(runtime, [1, "Y000132010001264999999", "张三", "6-31-01-03", 20261120])
    result = check(runtime, missing)
    assert result.status == "not_found" and result.kid and result.certificate is None


def test_alg_none_and_hs256_with_the_public_key_are_rejected(runtime: Runtime, body: str) -> None:
    token = issue(runtime, [row(1)]).certificates[0].token
    header, payload, _ = token.split(".")
    kid = json.loads(b64url_decode(header))["kid"]
    with runtime.db.session() as session:
        from certsvc.models import SigningKey

        jwk = session.get(SigningKey, kid)
        assert jwk is not None
        raw = b64url_decode(jwk.public_jwk["x"])
    for alg, secret in (("HS256", raw), ("HS256", json.dumps(jwk.public_jwk).encode())):
        head = b64url_encode(json.dumps({"alg": alg, "kid": kid}).encode())
        mac = hmac.new(secret, f"{head}.{payload}".encode(), hashlib.sha256).digest()
        result = check(runtime, f"{head}.{payload}.{b64url_encode(mac)}")
        assert (result.status, result.reason) == ("invalid_signature", "unsupported_header")
    none = b64url_encode(json.dumps({"alg": "none", "kid": kid}).encode())
    assert check(runtime, f"{none}.{payload}.").status == "invalid_signature"


def test_signed_fields_must_equal_the_record(runtime: Runtime, body: str) -> None:
    issued = issue(runtime, [row(1, name="张三")]).certificates[0]
    with runtime.db.transaction() as session:
        session.execute(
            update(Certificate)
            .where(Certificate.number == issued.number)
            .values(holder_name="李四")
        )
    result = check(runtime, issued.token)
    assert (result.status, result.reason) == ("invalid_signature", "record_mismatch")
    assert "holder_name" in result.message
    # A token correctly signed by our key with the right number but another name.
    with runtime.db.transaction() as session:
        session.execute(
            update(Certificate)
            .where(Certificate.number == issued.number)
            .values(holder_name="张三")
        )
    other = sign_as_body(runtime, [1, issued.number, "王五", "6-31-01-03", 20261120])
    assert check(runtime, other).reason == "record_mismatch"


def test_a_body_key_cannot_certify_for_another_body(runtime: Runtime, body: str) -> None:
    """Body A's key over a number of body B is never valid: online (B's certificate on
    record, or no such certificate) nor offline against the service's own JWKS."""
    other = other_body(runtime)
    numbered = [(2, row(1, name="李雷", employer_uscc=OTHER_BODY_USCC))]
    theirs = issue_batch(
        runtime, other, numbered, source="api", content_sha256=content_hash(numbered)
    ).certificates[0]
    keys = KeySet(runtime.db.read(published_keys))
    assert {key.body_code for key in keys} == {body, other}
    assert verify_offline(theirs.token, keys).is_valid  # B's own key: fine
    payload = b64url_decode(theirs.token.split(".")[1])
    with runtime.db.session() as session:
        forged = runtime.keyring.signer_for(session, get_body(session, body)).sign(payload)
    online = check(runtime, forged)
    assert (online.status, online.reason) == ("invalid_signature", "record_mismatch")
    offline = verify_offline(forged, keys)
    assert (offline.status, offline.reason) == ("invalid_signature", "record_mismatch")
    assert f"the key of body {body} cannot certify for body {other}" in offline.message
    # A number of B that is not on record, signed by A's key: not found online either.
    unknown = sign_as_body(runtime, [1, f"{other}264999999", "张三", "6-31-01-03", 20261120])
    assert check(runtime, unknown).status == "not_found"
    assert verify_offline(unknown, keys).reason == "record_mismatch"


def test_compromised_key_cutoff_uses_the_stored_creation_time(runtime: Runtime, body: str) -> None:
    issued = issue(runtime, [row(1)]).certificates[0]
    with runtime.db.session() as session:
        cert = session.scalar(select(Certificate).where(Certificate.number == issued.number))
        assert cert is not None
        kid, created = cert.kid, cert.created_at
    with runtime.db.transaction() as session:
        runtime.keyring.mark_compromised(session, kid, created + dt.timedelta(seconds=1))
    result = check(runtime, issued.token)
    assert result.is_valid and result.key_status == "compromised"
    with runtime.db.transaction() as session:
        runtime.keyring.mark_compromised(session, kid, created - dt.timedelta(seconds=1))
    result = check(runtime, issued.token)
    assert (result.status, result.reason) == ("invalid_signature", "key_compromised")


def test_every_single_byte_change_of_an_issued_token_is_not_valid(
    runtime: Runtime, body: str
) -> None:
    token = issue(runtime, [row(1)]).certificates[0].token
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    with runtime.db.session() as session:
        assert verify_token(session, token).is_valid
        for i, char in enumerate(token):
            # The next character of the alphabet, then one byte outside it.
            for other in (alphabet[(alphabet.index(char) + 1) % len(alphabet)], "\x00"):
                changed = token[:i] + other + token[i + 1 :]
                assert not verify_token(session, changed).is_valid, (i, other)


def test_lookup_by_number_and_name(runtime: Runtime, body: str) -> None:
    issued = issue(runtime, [row(1, name="阿卜杜·热合曼")]).certificates[0]
    with runtime.db.session() as session:
        found = lookup_by_number(session, f" {issued.number.lower()} ", "阿卜杜・热合曼")
        assert found.is_valid and found.certificate is not None
        assert found.certificate["number"] == issued.number
        assert lookup_by_number(session, issued.number, "阿卜杜").status == "not_found"
        unknown = "Y000132010001264000999"
        assert lookup_by_number(session, unknown, "阿卜杜·热合曼").status == "not_found"
        with pytest.raises(InvalidCertificateNumber):
            lookup_by_number(session, "12345", "张三")
        with pytest.raises(InvalidInput):
            lookup_by_number(session, issued.number, "   ")


def test_lookup_by_id_lists_masked_certificates_and_never_logs_the_id(
    runtime: Runtime, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    from certsvc.issuance.service import revoke

    issued = issue(
        runtime,
        [
            row(7, name="李雷"),
            row(7, name="李雷", occupation_code="6-18-02-04", level="三级"),
            row(8, name="李雷"),
        ],
    ).certificates
    revoke(runtime, issued[0].number, "证书信息有误")
    clear = person_id(7)
    caplog.set_level(logging.DEBUG)
    with runtime.db.session() as session:
        results = lookup_by_id(session, runtime.vault, clear, "李雷")
        assert sorted(r.certificate["number"] for r in results if r.certificate) == sorted(
            [issued[0].number, issued[1].number]
        )
        assert sorted(r.status for r in results) == ["revoked", "valid"]
        spaced = f"{clear[:6]} {clear[6:14]} {clear[14:].lower()}"
        assert len(lookup_by_id(session, runtime.vault, spaced, "李雷")) == 2
        assert lookup_by_id(session, runtime.vault, clear, "韩梅梅") == []
        bad = clear[:-1] + ("0" if clear[-1] != "0" else "1")
        with pytest.raises(InvalidIdNumber) as info:
            lookup_by_id(session, runtime.vault, bad, "李雷")
        assert bad[6:14] not in info.value.message and bad not in info.value.message
    text = json.dumps([r.to_dict() for r in results], ensure_ascii=False)
    assert clear not in text and clear[:4] + "**********" + clear[-4:] in text
    assert clear not in caplog.text and bad not in caplog.text
