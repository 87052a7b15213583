"""Compact JWS with EdDSA: RFC 8037 A.4, exact serialisation, and every way to fail."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from certsvc.errors import (
    InvalidSignature,
    MalformedToken,
    SignatureError,
    SigningKeyError,
    UnknownKey,
)
from certsvc.signing.b64 import b64url_decode, b64url_encode
from certsvc.signing.jws import (
    MAX_TOKEN_LENGTH,
    JwsSigner,
    ParsedJws,
    VerifiedJws,
    _sign_with_header,
    parse_compact,
    sign_compact,
    verify_compact,
)
from certsvc.signing.keys import generate_private_key, kid_for, public_jwk

# RFC 8037 Appendix A.1 and A.4.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_A4_PAYLOAD = b"Example of Ed25519 signing"
RFC8037_A4_COMPACT = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)

KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"certsvc test_signing_jws").digest())
KID = kid_for(KEY)


def keys(*private: Ed25519PrivateKey) -> Callable[[str], Ed25519PublicKey]:
    """A key_for_kid over *private* keys' public halves, raising UnknownKey otherwise."""
    known = {kid_for(k): k.public_key() for k in private}

    def key_for_kid(kid: str) -> Ed25519PublicKey:
        if kid not in known:
            raise UnknownKey(f"no key {kid}")
        return known[kid]

    return key_for_kid


def forge(header: str | bytes, payload: bytes, sign: Callable[[bytes], bytes]) -> str:
    raw = header.encode() if isinstance(header, str) else header
    signing_input = b64url_encode(raw) + "." + b64url_encode(payload)
    return signing_input + "." + b64url_encode(sign(signing_input.encode()))


def ed_sign(header: str | bytes, payload: bytes = b"{}", key: Ed25519PrivateKey = KEY) -> str:
    return forge(header, payload, key.sign)


# --- published vector ------------------------------------------------------------------


def test_rfc8037_a4_exact_compact_serialisation() -> None:
    key = Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_D))
    assert _sign_with_header({"alg": "EdDSA"}, RFC8037_A4_PAYLOAD, key) == RFC8037_A4_COMPACT


def test_rfc8037_a5_signature_verifies_and_is_refused_only_for_lacking_kid() -> None:
    key = Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_D))
    h, p, s = RFC8037_A4_COMPACT.split(".")
    key.public_key().verify(b64url_decode(s), f"{h}.{p}".encode())  # RFC 8037 A.5
    with pytest.raises(MalformedToken, match="kid"):
        verify_compact(RFC8037_A4_COMPACT, keys(key))


# --- signing ---------------------------------------------------------------------------


def test_header_is_exact_compact_json_in_order() -> None:
    token = sign_compact(b"{}", KEY, KID)
    header = b64url_decode(token.split(".")[0])
    assert header == f'{{"alg":"EdDSA","kid":"{KID}"}}'.encode()
    token = sign_compact(b"{}", KEY, KID, "vc+jwt", cty="vc")
    header = b64url_decode(token.split(".")[0])
    assert header == f'{{"alg":"EdDSA","kid":"{KID}","typ":"vc+jwt","cty":"vc"}}'.encode()


def test_signing_is_deterministic() -> None:
    assert sign_compact(b"abc", KEY, KID) == sign_compact(b"abc", KEY, KID)


def test_sign_refuses_kid_of_another_key() -> None:
    other = kid_for(generate_private_key())
    with pytest.raises(SigningKeyError, match="not the thumbprint"):
        sign_compact(b"{}", KEY, other)


def test_round_trip_any_payload() -> None:
    for payload in (b"", b"{}", b"\x00\xff binary", "张三".encode(), b"x" * 10_000):
        verified = verify_compact(sign_compact(payload, KEY, KID), keys(KEY))
        assert verified == VerifiedJws(
            header={"alg": "EdDSA", "kid": KID}, payload=payload, kid=KID
        )


def test_parse_compact_is_a_tuple_and_has_names() -> None:
    token = sign_compact(b"hi", KEY, KID)
    header, payload, signing_input, signature = parse_compact(token)
    parsed = parse_compact(token)
    assert isinstance(parsed, ParsedJws)
    assert parsed.header == header == {"alg": "EdDSA", "kid": KID}
    assert parsed.payload == payload == b"hi"
    assert signing_input == token.rsplit(".", 1)[0].encode()
    assert len(signature) == 64


# --- every change fails -----------------------------------------------------------------

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_every_single_character_change_fails() -> None:
    token = sign_compact(b'{"n":1}', KEY, KID)
    key_for_kid = keys(KEY)
    tried = 0
    for i, original in enumerate(token):
        for replacement in ALPHABET + ".=+/ \n\x00é":
            if replacement == original:
                continue
            changed = token[:i] + replacement + token[i + 1 :]
            with pytest.raises(SignatureError):
                verify_compact(changed, key_for_kid)
            tried += 1
        with pytest.raises(SignatureError):
            verify_compact(token[:i] + token[i + 1 :], key_for_kid)  # deletion
    assert tried > 10_000


def test_every_single_bit_flip_of_the_signed_bytes_fails() -> None:
    _, payload, _, signature = parse_compact(sign_compact(b"{}", KEY, KID))
    h, p, s = sign_compact(b"{}", KEY, KID).split(".")
    for segment, data in ((0, b64url_decode(h)), (1, payload), (2, signature)):
        for bit in range(len(data) * 8):
            flipped = bytearray(data)
            flipped[bit // 8] ^= 1 << (bit % 8)
            parts = [h, p, s]
            parts[segment] = b64url_encode(bytes(flipped))
            with pytest.raises(SignatureError):
                verify_compact(".".join(parts), keys(KEY))


# --- algorithm confusion ------------------------------------------------------------------


def test_alg_none_rejected() -> None:
    header = b64url_encode(json.dumps({"alg": "none", "kid": KID}).encode())
    for token in (f"{header}.e30.", f"{header}.e30"):
        with pytest.raises(SignatureError):
            verify_compact(token, keys(KEY))
    with pytest.raises(InvalidSignature, match="'none'"):
        verify_compact(f"{header}.e30.", keys(KEY))


@pytest.mark.parametrize(
    "secret",
    [
        KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        json.dumps(public_jwk(KEY.public_key())).encode(),
    ],
    ids=["pem", "raw", "jwk"],
)
def test_hs256_with_public_key_as_secret_rejected(secret: bytes) -> None:
    token = forge(
        f'{{"alg":"HS256","kid":"{KID}"}}',
        b"{}",
        lambda m: hmac.new(secret, m, hashlib.sha256).digest(),
    )
    with pytest.raises(InvalidSignature, match="HS256"):
        verify_compact(token, keys(KEY))


def test_es256_rejected_even_with_a_valid_es256_signature() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())

    def es256(m: bytes) -> bytes:
        r, s = decode_dss_signature(ec_key.sign(m, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # 64 bytes, like Ed25519

    token = forge(f'{{"alg":"ES256","kid":"{KID}"}}', b"{}", es256)
    with pytest.raises(InvalidSignature, match="ES256"):
        verify_compact(token, keys(KEY))


@pytest.mark.parametrize("alg", ["Ed25519", "eddsa", "EDDSA", "EdDSA ", "Ed448", "RS256"])
def test_other_alg_spellings_rejected_even_when_correctly_signed(alg: str) -> None:
    with pytest.raises(InvalidSignature):
        verify_compact(ed_sign(f'{{"alg":"{alg}","kid":"{KID}"}}'), keys(KEY))


def test_header_checks_come_before_key_lookup() -> None:
    stranger = kid_for(generate_private_key())
    token = forge(f'{{"alg":"none","kid":"{stranger}"}}', b"{}", lambda m: b"")
    with pytest.raises(InvalidSignature):
        verify_compact(token, keys(KEY))


def test_embedded_jwk_is_ignored() -> None:
    attacker = generate_private_key()
    header = json.dumps({"alg": "EdDSA", "kid": KID, "jwk": public_jwk(attacker.public_key())})
    with pytest.raises(InvalidSignature):
        verify_compact(ed_sign(header, key=attacker), keys(KEY))


# --- keys ------------------------------------------------------------------------------------


def test_unknown_kid_propagates() -> None:
    stranger = generate_private_key()
    with pytest.raises(UnknownKey):
        verify_compact(sign_compact(b"{}", stranger, kid_for(stranger)), keys(KEY))


def test_signature_by_another_key_under_our_kid() -> None:
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_compact(
            ed_sign(f'{{"alg":"EdDSA","kid":"{KID}"}}', key=generate_private_key()), keys(KEY)
        )


# --- header policy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        f'{{"alg":"EdDSA","kid":"{KID}","crit":["exp"],"exp":1}}',
        f'{{"alg":"EdDSA","kid":"{KID}","crit":[]}}',
        f'{{"alg":"EdDSA","kid":"{KID}","b64":false,"crit":["b64"]}}',
    ],
)
def test_crit_rejected(header: str) -> None:
    with pytest.raises(InvalidSignature, match="critical"):
        verify_compact(ed_sign(header), keys(KEY))


@pytest.mark.parametrize("b64", ["false", "0", '"false"', "null"])
def test_b64_other_than_true_rejected(b64: str) -> None:
    with pytest.raises(InvalidSignature, match="b64"):
        verify_compact(ed_sign(f'{{"alg":"EdDSA","kid":"{KID}","b64":{b64}}}'), keys(KEY))


@pytest.mark.parametrize(
    ("header", "match"),
    [
        (f'{{"alg":"EdDSA","kid":"{KID}","kid":"{KID}"}}', "twice"),
        (f'{{"alg":"EdDSA","alg":"EdDSA","kid":"{KID}"}}', "twice"),
        (f'{{"alg":"EdDSA","kid":"{KID}","x":{{"a":1,"a":2}}}}', "twice"),
        ('{"alg":"EdDSA"}', "kid"),
        ('{"alg":"EdDSA","kid":""}', "kid"),
        ('{"alg":"EdDSA","kid":5}', "kid"),
        ('{"alg":"EdDSA","kid":null}', "kid"),
        (f'{{"kid":"{KID}"}}', "alg"),
        (f'{{"alg":null,"kid":"{KID}"}}', "alg"),
        (f'["EdDSA","{KID}"]', "object"),
        ('"EdDSA"', "object"),
        ("null", "object"),
        ("", "empty"),
        (f'{{"alg":"EdDSA","kid":"{KID}"', "JSON"),
        (f'{{"alg":"EdDSA","kid":"{KID}","n":NaN}}', "JSON"),
        (f'\ufeff{{"alg":"EdDSA","kid":"{KID}"}}', "JSON"),
        (b'{"alg":"EdDSA","kid":"\xff"}', "UTF-8"),
        ("[" * 100_00 + "]" * 100_00, "object|deeply"),
    ],
)
def test_malformed_headers(header: str | bytes, match: str) -> None:
    with pytest.raises(MalformedToken, match=match):
        verify_compact(ed_sign(header), keys(KEY))


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "..",
        "a.b",
        "a.b.c.d",
        "eyJhbGciOiJFZERTQSJ9.e30",
        "eyJhbGciOiJFZERTQSJ9.e30.AA.AA",
    ],
)
def test_wrong_number_of_parts(token: str) -> None:
    with pytest.raises(MalformedToken):
        verify_compact(token, keys(KEY))


def test_padding_and_illegal_characters() -> None:
    token = sign_compact(b"{}", KEY, KID)
    h, p, s = token.split(".")
    for bad in (
        f"{h}.{p}.{s}==",
        f"{h}==.{p}.{s}",
        f"{h}.{p}=.{s}",
        f"{h}.{p}.{s[:-2]}+/",
        f" {token}",
        f"{token}\n",
    ):
        with pytest.raises(MalformedToken):
            verify_compact(bad, keys(KEY))


@pytest.mark.parametrize("length", [0, 32, 63, 65, 128])
def test_signature_must_be_64_bytes(length: int) -> None:
    h, p, s = sign_compact(b"{}", KEY, KID).split(".")
    signature = (b64url_decode(s) * 3)[:length]
    with pytest.raises(MalformedToken, match="64"):
        verify_compact(f"{h}.{p}.{b64url_encode(signature)}", keys(KEY))


def test_token_length_cap() -> None:
    token = sign_compact(b"x" * (MAX_TOKEN_LENGTH * 3 // 4), KEY, KID)
    assert len(token) > MAX_TOKEN_LENGTH
    with pytest.raises(MalformedToken, match="at most"):
        verify_compact(token, keys(KEY))
    with pytest.raises(MalformedToken):
        parse_compact(b"a.b.c")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typ", "ok"),
    [
        ("vc+jwt", True),
        ("VC+JWT", True),
        ("application/vc+jwt", True),
        ("JWT", False),
        (None, False),
    ],
)
def test_expected_typ(typ: str | None, ok: bool) -> None:
    token = sign_compact(b"{}", KEY, KID, typ)
    if ok:
        assert verify_compact(token, keys(KEY), expected_typ="vc+jwt").header["typ"] == typ
    else:
        with pytest.raises(MalformedToken, match="typ"):
            verify_compact(token, keys(KEY), expected_typ="vc+jwt")
    assert verify_compact(token, keys(KEY)).payload == b"{}"  # unchecked by default


def test_error_codes_match_verification_statuses() -> None:
    assert MalformedToken.code == "malformed"
    assert InvalidSignature.code == "invalid_signature"
    assert UnknownKey.code == "unknown_key"


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("count", [0, 1, 5, 64, 65, 301])
def test_sign_all_gives_each_token_in_order(threads: int, count: int) -> None:
    """Chunks signed on several helper threads come back in the order of the jobs."""
    signer = JwsSigner(KEY, KID)
    jobs = [
        (f"payload {n}".encode(), "vc+jwt" if n % 2 else None, "vc" if n % 3 == 0 else None)
        for n in range(count)
    ]
    tokens = list(signer.sign_all(iter(jobs), chunk=7, threads=threads))
    assert tokens == [signer.sign(payload, typ, cty=cty) for payload, typ, cty in jobs]
