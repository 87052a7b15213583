"""Regenerate the JOSE test vectors in this directory.

    cd /work/main && .venv/bin/python tests/assets/jose/make_vectors.py

TEST KEYS ONLY. The private keys below are derived from fixed, published labels, so anyone
can recompute them: they must never sign anything real. The output is deterministic
(Ed25519 signatures are deterministic and every header is spelled out), and
``tests/test_signing_vectors.py`` checks that the files on disk equal a fresh run, so edit
this script, re-run it, and commit both together.

Bad vectors build their headers and signatures by hand from the standard library and
``cryptography`` (not through ``certsvc.signing``), so they do not inherit our own bugs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the repository root, when run as a script

from certsvc.signing import (  # noqa: E402
    VC_CONTEXT_V2,
    PublishedKey,
    jwks_document,
    kid_for,
    public_jwk,
    sign_compact,
    sign_credential,
)

# name -> label; private key = SHA-256(label). Published on purpose: TEST KEYS ONLY.
TEST_KEY_LABELS = {
    "active": b"certsvc TEST ONLY signing key 1 (active) - never use in production",
    "retired": b"certsvc TEST ONLY signing key 2 (retired) - never use in production",
    "compromised": b"certsvc TEST ONLY signing key 3 (compromised) - never use in production",
    "outsider": b"certsvc TEST ONLY signing key 4 (not in jwks.json) - never use in production",
}
COMPROMISED_AFTER = datetime(2025, 3, 1, tzinfo=UTC)

# Illustrative short form of a certificate (the QR payload); the real field names belong
# to the issuance module. Number: Y 0001 32 000101 25 3 000001 (22 characters).
QR_PAYLOAD: dict[str, Any] = {
    "b": "Y0001",
    "d": "2025-06-30",
    "h": "张三",
    "l": 3,
    "n": "Y000132000101253000001",
    "o": "6-18-01-01",
}

CREDENTIAL: dict[str, Any] = {
    "@context": [VC_CONTEXT_V2],
    "id": "urn:certsvc:certificate:Y000132000101253000001",
    "type": ["VerifiableCredential", "VocationalSkillLevelCertificate"],
    "issuer": {"id": "https://certsvc.example/bodies/Y0001", "name": "示例链主企业有限公司"},
    "validFrom": "2025-06-30T00:00:00Z",
    "credentialSubject": {
        "name": "张三",
        "occupation": {"code": "6-18-01-01", "name": "车工"},
        "level": {"code": 3, "name": "高级工"},
    },
}


def test_private_key(name: str) -> Ed25519PrivateKey:
    """The TEST-ONLY private key *name* (see TEST_KEY_LABELS)."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(TEST_KEY_LABELS[name]).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _signed(header: str, payload: bytes, key: Ed25519PrivateKey) -> str:
    """A compact JWS over a header given as exact JSON text, signed with *key*."""
    signing_input = _b64(header.encode("utf-8")) + "." + _b64(payload)
    return signing_input + "." + _b64(key.sign(signing_input.encode("ascii")))


#: The certification body every test key belongs to (its 13-character code, as certsvc
#: publishes it in a JWKS); the verify vectors' certificate numbers are of this body.
BODY_CODE = "Y000132010001"


def published_keys() -> list[PublishedKey]:
    """The keys of jwks.json: one active, one retired, one compromised."""
    created = {
        "retired": datetime(2023, 1, 1, tzinfo=UTC),
        "active": datetime(2024, 1, 1, tzinfo=UTC),
        "compromised": datetime(2024, 6, 1, tzinfo=UTC),
    }
    return [
        PublishedKey(
            kid=kid_for(test_private_key(name)),
            jwk=public_jwk(test_private_key(name).public_key()),
            status=name,
            created_at=created[name],
            compromised_after=COMPROMISED_AFTER if name == "compromised" else None,
            body_code=BODY_CODE,
        )
        for name in ("active", "retired", "compromised")
    ]


def build_vectors() -> dict[str, bytes]:
    """Every vector file's name and exact content."""
    active = test_private_key("active")
    kid = kid_for(active)
    other_kid = kid_for(test_private_key("retired"))
    payload = json.dumps(QR_PAYLOAD, separators=(",", ":"), ensure_ascii=False).encode()
    good = sign_compact(payload, active, kid)
    h, p, s = good.split(".")
    jwks = jwks_document(published_keys())
    public_pem = active.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_input = _b64(json.dumps({"alg": "HS256", "kid": kid}).encode()) + "." + p
    es_input = _b64(f'{{"alg":"ES256","kid":"{kid}"}}'.encode()) + "." + p
    tampered = dict(QR_PAYLOAD, h="李四")
    tampered_p = _b64(json.dumps(tampered, separators=(",", ":"), ensure_ascii=False).encode())
    # The signature's last character carries 2 bits and 4 zero bits: set one of those.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    noncanonical = s[:-1] + alphabet[alphabet.index(s[-1]) + 1]
    flipped = s[:20] + ("A" if s[20] != "A" else "B") + s[21:]
    lying = json.loads(json.dumps(jwks))
    lying["keys"][0]["kid"] = lying["keys"][1]["kid"]  # another key's kid
    private = json.loads(json.dumps(jwks))
    private["keys"][0]["d"] = _b64(active.private_bytes_raw())
    wrapped = {"iss": CREDENTIAL["issuer"]["id"], "vc": CREDENTIAL}
    vc_payload = json.dumps(CREDENTIAL, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    tokens: dict[str, tuple[str, str, str, str]] = {
        # file: (kind, expected result, token, what it is)
        "good_qr.jws": ("jws", "valid", good, "QR token signed by the active key"),
        "good_qr_retired_key.jws": (
            "jws",
            "valid",
            sign_compact(payload, test_private_key("retired"), other_kid),
            "QR token signed by the retired key (still verifies)",
        ),
        "compromised_key.jws": (
            "jws",
            "valid",
            sign_compact(
                payload, test_private_key("compromised"), kid_for(test_private_key("compromised"))
            ),
            "signature verifies, but the key is compromised after 2025-03-01: the verify "
            "service must judge the certificate's date against compromised_after",
        ),
        "good_vc.jwt": ("vc", "valid", sign_credential(CREDENTIAL, active, kid), "vc+jwt"),
        "bad_signature.jws": (
            "jws",
            "invalid_signature",
            f"{h}.{p}.{flipped}",
            "one char of the signature changed",
        ),
        "bad_payload_tampered.jws": (
            "jws",
            "invalid_signature",
            f"{h}.{tampered_p}.{s}",
            "holder name changed, original signature kept",
        ),
        "bad_alg_none.jws": (
            "jws",
            "invalid_signature",
            _b64(f'{{"alg":"none","kid":"{kid}"}}'.encode()) + f".{p}.",
            "alg none, empty signature",
        ),
        "bad_alg_hs256.jws": (
            "jws",
            "invalid_signature",
            hs_input + "." + _b64(hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest()),
            "HS256 keyed with the public key's PEM (key confusion)",
        ),
        "bad_alg_es256.jws": (
            "jws",
            "invalid_signature",
            es_input + "." + _b64(hashlib.sha512(es_input.encode()).digest()),
            "alg ES256 with a 64-byte garbage signature",
        ),
        "bad_alg_ed25519.jws": (
            "jws",
            "invalid_signature",
            _signed(f'{{"alg":"Ed25519","kid":"{kid}"}}', payload, active),
            "RFC 9864 alg Ed25519, correctly signed; only EdDSA is accepted",
        ),
        "bad_unknown_kid.jws": (
            "jws",
            "unknown_key",
            sign_compact(
                payload, test_private_key("outsider"), kid_for(test_private_key("outsider"))
            ),
            "signed by a key not in jwks.json",
        ),
        "bad_crit.jws": (
            "jws",
            "invalid_signature",
            _signed(f'{{"alg":"EdDSA","kid":"{kid}","crit":["exp"],"exp":1}}', payload, active),
            "crit header, correctly signed",
        ),
        "bad_b64_false.jws": (
            "jws",
            "invalid_signature",
            _signed(f'{{"alg":"EdDSA","kid":"{kid}","b64":false}}', payload, active),
            "RFC 7797 b64:false, correctly signed",
        ),
        "bad_padding.jws": (
            "jws",
            "malformed",
            f"{h}.{p}.{s}==",
            "signature base64url padded with '='",
        ),
        "bad_noncanonical_signature.jws": (
            "jws",
            "malformed",
            f"{h}.{p}.{noncanonical}",
            "unused trailing bits of the signature set",
        ),
        "bad_illegal_char.jws": (
            "jws",
            "malformed",
            f"{h}.{p}.+{s[1:]}",
            "'+' (standard base64) in the signature",
        ),
        "bad_duplicate_header_member.jws": (
            "jws",
            "malformed",
            _signed(f'{{"alg":"EdDSA","kid":"{kid}","kid":"{other_kid}"}}', payload, active),
            "kid twice in the header, correctly signed",
        ),
        "bad_missing_kid.jws": (
            "jws",
            "malformed",
            _signed('{"alg":"EdDSA"}', payload, active),
            "no kid, correctly signed",
        ),
        "bad_kid_not_thumbprint.jws": (
            "jws",
            "malformed",
            _signed('{"alg":"EdDSA","kid":"a\\u0000"}', payload, active),
            "kid 'a' + NUL, correctly signed: a kid is a 43-character RFC 7638 thumbprint",
        ),
        "bad_kid_lone_surrogate.jws": (
            "jws",
            "malformed",
            _signed('{"alg":"EdDSA","kid":"\\udfff"}', payload, active),
            "kid a lone UTF-16 surrogate (not encodable as UTF-8), correctly signed",
        ),
        "bad_two_parts.jws": ("jws", "malformed", f"{h}.{p}", "signature segment missing"),
        "bad_truncated_signature.jws": (
            "jws",
            "malformed",
            f"{h}.{p}.{_b64(base64.urlsafe_b64decode(s + '==')[:63])}",
            "signature of 63 bytes",
        ),
        "bad_vc_wrong_typ.jwt": (
            "vc",
            "malformed",
            _signed(f'{{"alg":"EdDSA","kid":"{kid}","typ":"JWT"}}', vc_payload.encode(), active),
            "credential signed with typ JWT instead of vc+jwt",
        ),
        "bad_vc_wrapped_claim.jwt": (
            "vc",
            "malformed",
            _signed(
                f'{{"alg":"EdDSA","kid":"{kid}","typ":"vc+jwt","cty":"vc"}}',
                json.dumps(
                    wrapped, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                ).encode(),
                active,
            ),
            "VC 1.1 style: credential inside a 'vc' claim",
        ),
    }
    files: dict[str, bytes] = {}
    manifest: list[dict[str, str]] = []
    for name, (kind, expect, token, note) in tokens.items():
        files[name] = token.encode("ascii") + b"\n"
        manifest.append({"file": name, "kind": kind, "expect": expect, "note": note})
    for name, doc, note in (
        ("jwks.json", jwks, "the test key set: active, retired, compromised"),
        ("bad_jwks_lying_kid.json", lying, "first key's kid is another key's thumbprint"),
        ("bad_jwks_private_member.json", private, "first key carries its private 'd'"),
    ):
        files[name] = json.dumps(doc, indent=2, ensure_ascii=False).encode() + b"\n"
        expect = "valid" if name == "jwks.json" else "refused"
        manifest.append({"file": name, "kind": "jwks", "expect": expect, "note": note})
    files["vectors.json"] = json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"
    return files


def main() -> None:
    for name, content in build_vectors().items():
        (HERE / name).write_bytes(content)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
