"""Independent implementations (joserfc, PyJWT) agree with certsvc.signing both ways."""

from __future__ import annotations

import hashlib
import json
import warnings
from datetime import UTC, datetime
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws as jose_jws
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet as JoseKeySet
from joserfc.jwk import OKPKey

from certsvc.errors import InvalidSignature
from certsvc.signing.b64 import b64url_decode, b64url_encode
from certsvc.signing.jwks import KeySet, PublishedKey, jwks_document
from certsvc.signing.jws import sign_compact, verify_compact
from certsvc.signing.keys import jwk_thumbprint, kid_for, public_jwk
from certsvc.signing.vc import VC_CONTEXT_V2, sign_credential, verify_credential

# joserfc warns that RFC 9864 deprecates "EdDSA" in favour of "Ed25519"; the QR contract
# fixes "EdDSA", which every deployed JOSE library understands.
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"certsvc test_signing_interop").digest())
KID = kid_for(KEY)
OTHER = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"certsvc interop other").digest())

PAYLOAD = json.dumps(
    {"n": "Y000132000101253000001", "h": "张三", "l": 3}, separators=(",", ":"), ensure_ascii=False
).encode()
CREDENTIAL: dict[str, Any] = {
    "@context": [VC_CONTEXT_V2],
    "type": ["VerifiableCredential"],
    "issuer": "https://certsvc.example/bodies/Y0001",
    "validFrom": "2025-06-30T00:00:00Z",
    "credentialSubject": {"name": "张三"},
}


def jwks() -> dict[str, Any]:
    """A published JWKS with our key and another, as a client would download it."""
    keys = [
        PublishedKey(
            kid=kid_for(k),
            jwk=public_jwk(k.public_key()),
            status="active",
            created_at=datetime(2024, 1, 1, tzinfo=UTC),
            body_code="Y0001",
        )
        for k in (KEY, OTHER)
    ]
    doc: dict[str, Any] = json.loads(json.dumps(jwks_document(keys)))
    return doc


# --- joserfc ---------------------------------------------------------------------------


def test_joserfc_verifies_sign_compact() -> None:
    key_set = JoseKeySet.import_key_set(jwks())  # type: ignore[arg-type]
    obj = jose_jws.deserialize_compact(
        sign_compact(PAYLOAD, KEY, KID), key_set, algorithms=["EdDSA"]
    )
    assert obj.payload == PAYLOAD
    assert obj.protected == {"alg": "EdDSA", "kid": KID}


def test_joserfc_verifies_vc_jwt() -> None:
    key_set = JoseKeySet.import_key_set(jwks())  # type: ignore[arg-type]
    token = sign_credential(CREDENTIAL, KEY, KID)
    decoded = jose_jwt.decode(token, key_set, algorithms=["EdDSA"])
    assert decoded.claims == CREDENTIAL
    assert decoded.header == {"alg": "EdDSA", "kid": KID, "typ": "vc+jwt", "cty": "vc"}


def test_joserfc_rejects_tampered_token() -> None:
    key_set = JoseKeySet.import_key_set(jwks())  # type: ignore[arg-type]
    h, _, s = sign_compact(PAYLOAD, KEY, KID).split(".")
    with pytest.raises(Exception, match=r"(?i)signature"):
        jose_jws.deserialize_compact(
            f"{h}.{b64url_encode(b'{}')}.{s}", key_set, algorithms=["EdDSA"]
        )


def test_joserfc_token_verifies_with_verify_compact() -> None:
    jose_key = OKPKey.import_key(
        {**public_jwk(KEY.public_key()), "d": b64url_encode(KEY.private_bytes_raw())}
    )
    token = jose_jws.serialize_compact(
        {"alg": "EdDSA", "kid": KID}, PAYLOAD, jose_key, algorithms=["EdDSA"]
    )
    key_set = KeySet.from_document(jwks())
    verified = verify_compact(token, key_set.public_key)
    assert verified.payload == PAYLOAD
    # Same header bytes and deterministic Ed25519: byte-identical to our own token.
    assert token == sign_compact(PAYLOAD, KEY, KID)


def test_joserfc_jwt_verifies_with_verify_credential() -> None:
    jose_key = OKPKey.import_key(
        {**public_jwk(KEY.public_key()), "d": b64url_encode(KEY.private_bytes_raw())}
    )
    header = {"alg": "EdDSA", "kid": KID, "typ": "vc+jwt", "cty": "vc"}
    token = jose_jwt.encode(header, CREDENTIAL, jose_key, algorithms=["EdDSA"])
    credential, _ = verify_credential(token, KeySet.from_document(jwks()).public_key)
    assert credential == CREDENTIAL


def test_joserfc_thumbprints_agree() -> None:
    for key in (KEY, OTHER, Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_D))):
        jwk: dict[str, str | list[str]] = {**public_jwk(key.public_key())}
        assert OKPKey.import_key(jwk).thumbprint() == jwk_thumbprint(jwk) == kid_for(key)


def test_joserfc_rfc8037_key_signs_a4_exactly() -> None:
    key = Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_D))
    jose_key = OKPKey.import_key({**public_jwk(key.public_key()), "d": RFC8037_D})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        token = jose_jws.serialize_compact(
            {"alg": "EdDSA"}, b"Example of Ed25519 signing", jose_key, algorithms=["EdDSA"]
        )
    assert token.startswith("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_")


# --- PyJWT -----------------------------------------------------------------------------


def pyjwt_key(kid: str) -> Any:
    return pyjwt.PyJWKSet.from_dict(jwks())[kid].key


def test_pyjwt_verifies_sign_compact() -> None:
    token = sign_compact(PAYLOAD, KEY, KID)
    assert pyjwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": KID}
    assert pyjwt.decode(token, pyjwt_key(KID), algorithms=["EdDSA"]) == json.loads(PAYLOAD)


def test_pyjwt_verifies_non_object_payload() -> None:
    token = sign_compact(b"\x00\x01 not json", KEY, KID)
    decoded = pyjwt.api_jws.decode_complete(token, pyjwt_key(KID), algorithms=["EdDSA"])
    assert decoded["payload"] == b"\x00\x01 not json"


def test_pyjwt_verifies_vc_jwt() -> None:
    token = sign_credential(CREDENTIAL, KEY, KID)
    decoded = pyjwt.decode_complete(token, pyjwt_key(KID), algorithms=["EdDSA"])
    assert decoded["payload"] == CREDENTIAL
    assert decoded["header"]["typ"] == "vc+jwt"


def test_pyjwt_rejects_wrong_key() -> None:
    token = sign_compact(PAYLOAD, KEY, KID)
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(token, pyjwt_key(kid_for(OTHER)), algorithms=["EdDSA"])


def test_pyjwt_token_verifies_with_verify_compact() -> None:
    token = pyjwt.encode({"n": "1"}, KEY, algorithm="EdDSA", headers={"kid": KID})
    assert verify_compact(token, KeySet.from_document(jwks()).public_key).payload == b'{"n":"1"}'


def test_pyjwt_other_key_under_our_kid_fails() -> None:
    token = pyjwt.encode({"n": "1"}, OTHER, algorithm="EdDSA", headers={"kid": KID})
    with pytest.raises(InvalidSignature):
        verify_compact(token, KeySet.from_document(jwks()).public_key)
