"""W3C VC 2.0 secured as vc+jwt (Securing Verifiable Credentials using JOSE and COSE)."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from certsvc.errors import InvalidInput, InvalidSignature, MalformedToken, UnknownKey
from certsvc.signing.b64 import b64url_decode, b64url_encode
from certsvc.signing.jws import sign_compact
from certsvc.signing.keys import kid_for
from certsvc.signing.vc import VC_CONTEXT_V2, credential_bytes, sign_credential, verify_credential

KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"certsvc test_signing_vc").digest())
KID = kid_for(KEY)

CREDENTIAL: dict[str, Any] = {
    "@context": [VC_CONTEXT_V2],
    "id": "urn:certsvc:certificate:Y000132000101253000001",
    "type": ["VerifiableCredential", "VocationalSkillLevelCertificate"],
    "issuer": {"id": "https://certsvc.example/bodies/Y0001", "name": "示例链主企业"},
    "validFrom": "2025-06-30T00:00:00Z",
    "credentialSubject": {"name": "张三", "level": 3, "occupation": "6-18-01-01"},
}


def key_for_kid(kid: str) -> Ed25519PublicKey:
    if kid != KID:
        raise UnknownKey(kid)
    return KEY.public_key()


def test_header_and_payload_follow_the_spec() -> None:
    token = sign_credential(CREDENTIAL, KEY, KID)
    h, p, _ = token.split(".")
    assert json.loads(b64url_decode(h)) == {
        "alg": "EdDSA",
        "kid": KID,
        "typ": "vc+jwt",
        "cty": "vc",
    }
    payload = json.loads(b64url_decode(p))
    assert payload == CREDENTIAL  # the payload IS the credential: no "vc" wrapper
    for claim in ("vc", "vp", "iss", "iat", "nbf", "exp"):
        assert claim not in payload


def test_payload_is_deterministic_sorted_compact_utf8() -> None:
    shuffled = dict(reversed(list(CREDENTIAL.items())))
    assert sign_credential(shuffled, KEY, KID) == sign_credential(CREDENTIAL, KEY, KID)
    payload = credential_bytes(CREDENTIAL)
    assert payload == json.dumps(
        CREDENTIAL, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert "张三".encode() in payload


def test_round_trip() -> None:
    credential, verified = verify_credential(sign_credential(CREDENTIAL, KEY, KID), key_for_kid)
    assert credential == CREDENTIAL
    assert verified.kid == KID
    assert verified.header["typ"] == "vc+jwt"


def _without(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda c: c.pop(name)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (_without("@context"), "@context"),
        (lambda c: c.update({"@context": VC_CONTEXT_V2}), "@context"),
        (lambda c: c.update({"@context": ["https://www.w3.org/2018/credentials/v1"]}), "@context"),
        (lambda c: c.update({"@context": ["https://example.org", VC_CONTEXT_V2]}), "@context"),
        (_without("type"), "VerifiableCredential"),
        (lambda c: c.update(type=["VerifiablePresentation"]), "VerifiableCredential"),
        (_without("issuer"), "issuer"),
        (lambda c: c.update(issuer={"name": "x"}), "issuer"),
        (lambda c: c.update(issuer=""), "issuer"),
        (_without("credentialSubject"), "credentialSubject"),
        (lambda c: c.update(credentialSubject=[]), "credentialSubject"),
        (lambda c: c.update(credentialSubject="张三"), "credentialSubject"),
        (_without("validFrom"), "validFrom"),
        (lambda c: c.update(validFrom="2025-06-30"), "validFrom"),
        (lambda c: c.update(validUntil="tomorrow"), "validUntil"),
        (lambda c: c.update(vc={}), "'vc'"),
        (lambda c: c.update(vp={}), "'vp'"),
        (lambda c: c.update(iss="https://elsewhere.example"), "iss"),
    ],
)
def test_sign_refuses_non_credentials(mutate: Callable[[dict[str, Any]], None], match: str) -> None:
    credential = copy.deepcopy(CREDENTIAL)
    mutate(credential)
    with pytest.raises(InvalidInput, match=match):
        sign_credential(credential, KEY, KID)


def test_accepted_variants() -> None:
    for change in (
        {"type": "VerifiableCredential"},
        {"issuer": "https://certsvc.example/bodies/Y0001"},
        {"credentialSubject": [{"name": "a"}, {"name": "b"}]},
        {"iss": "https://certsvc.example/bodies/Y0001"},
        {"validUntil": "2030-06-30T00:00:00+08:00"},
    ):
        credential = {**CREDENTIAL, **change}
        assert (
            verify_credential(sign_credential(credential, KEY, KID), key_for_kid)[0] == credential
        )


def test_not_plain_json_refused() -> None:
    with pytest.raises(InvalidInput, match="plain JSON"):
        sign_credential({**CREDENTIAL, "extra": {1, 2}}, KEY, KID)
    with pytest.raises(InvalidInput, match="plain JSON"):
        sign_credential({**CREDENTIAL, "extra": float("nan")}, KEY, KID)


@pytest.mark.parametrize(
    ("typ", "cty", "ok"),
    [
        ("vc+jwt", "vc", True),
        ("vc+jwt", None, True),
        ("application/vc+jwt", "application/vc", True),
        ("JWT", "vc", False),
        (None, "vc", False),
        ("vp+jwt", "vp", False),
        ("vc+jwt", "vp", False),
        ("vc+sd-jwt", "vc", False),
    ],
)
def test_verify_checks_typ_and_cty(typ: str | None, cty: str | None, ok: bool) -> None:
    token = sign_compact(credential_bytes(CREDENTIAL), KEY, KID, typ, cty=cty)
    if ok:
        assert verify_credential(token, key_for_kid)[0] == CREDENTIAL
    else:
        with pytest.raises(MalformedToken, match=r"typ|cty"):
            verify_credential(token, key_for_kid)


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b'"credential"',
        json.dumps({"iss": "https://certsvc.example/bodies/Y0001", "vc": CREDENTIAL}).encode(),
        json.dumps({**CREDENTIAL, "validFrom": None}).encode(),
        credential_bytes(CREDENTIAL)[:-1] + b',"id":"urn:other"}',  # duplicate member
        b"\xff",
    ],
    ids=["array", "string", "vc-1.1-wrapper", "no-validFrom", "duplicate-id", "not-utf8"],
)
def test_verify_refuses_signed_non_credentials(payload: bytes) -> None:
    token = sign_compact(payload, KEY, KID, "vc+jwt", cty="vc")
    with pytest.raises(MalformedToken):
        verify_credential(token, key_for_kid)


def test_tampered_credential_fails() -> None:
    h, _, s = sign_credential(CREDENTIAL, KEY, KID).split(".")
    forged = b64url_encode(credential_bytes({**CREDENTIAL, "validFrom": "2020-01-01T00:00:00Z"}))
    with pytest.raises(InvalidSignature):
        verify_credential(f"{h}.{forged}.{s}", key_for_kid)
