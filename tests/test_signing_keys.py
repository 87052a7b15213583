"""Keys: RFC 8037 / RFC 7638 vectors, encryption at rest, key files."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certsvc.errors import SigningKeyError
from certsvc.signing.b64 import b64url_decode
from certsvc.signing.keys import (
    KeyFiles,
    decrypt_private_key,
    encrypt_private_key,
    generate_private_key,
    is_valid_kid,
    jwk_thumbprint,
    kid_for,
    public_jwk,
    public_key_from_jwk,
)

# RFC 8037 Appendix A.1 (private key) and A.2 (public key).
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
# RFC 8037 Appendix A.3.
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

# RFC 7638 §3.1.
RFC7638_RSA_JWK = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
    "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
    "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6"
    "WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

PASSPHRASE = b"correct horse battery staple"


def rfc8037_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_D))


def test_rfc8037_a2_public_jwk_from_a1_private_key() -> None:
    assert public_jwk(rfc8037_key().public_key()) == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": RFC8037_X,
    }


def test_rfc8037_a3_thumbprint() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}
    assert jwk_thumbprint(jwk) == RFC8037_THUMBPRINT
    assert kid_for(rfc8037_key()) == RFC8037_THUMBPRINT
    assert kid_for(rfc8037_key().public_key()) == RFC8037_THUMBPRINT


def test_rfc7638_rsa_thumbprint_ignores_optional_members() -> None:
    assert jwk_thumbprint(RFC7638_RSA_JWK) == RFC7638_THUMBPRINT
    bare = {k: RFC7638_RSA_JWK[k] for k in ("kty", "n", "e")}
    assert jwk_thumbprint(bare) == RFC7638_THUMBPRINT


def test_thumbprint_ignores_extra_okp_members() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "kid": "x", "use": "sig", "d": "y"}
    assert jwk_thumbprint(jwk) == RFC8037_THUMBPRINT


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "OKP", "crv": "Ed25519", "x": 5},
        {"kty": "XYZ", "x": RFC8037_X},
        {"crv": "Ed25519", "x": RFC8037_X},
        {"kty": "RSA", "n": "AQAB"},
    ],
)
def test_thumbprint_refuses_incomplete_jwk(jwk: dict[str, object]) -> None:
    with pytest.raises(SigningKeyError):
        jwk_thumbprint(jwk)


def test_public_key_from_jwk_round_trip() -> None:
    key = generate_private_key()
    jwk = public_jwk(key.public_key())
    restored = public_key_from_jwk(jwk)
    assert public_jwk(restored) == jwk


@pytest.mark.parametrize(
    ("jwk", "match"),
    [
        ({"kty": "EC", "crv": "P-256", "x": RFC8037_X, "y": RFC8037_X}, "OKP"),
        ({"kty": "OKP", "crv": "Ed448", "x": RFC8037_X}, "Ed25519"),
        ({"kty": "OKP", "crv": "X25519", "x": RFC8037_X}, "Ed25519"),
        ({"kty": "OKP", "crv": "Ed25519"}, "'x'"),
        ({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X[:-1]}, "'x'"),
        ({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X + "AAAA"}, "35 bytes"),
        ({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X + "="}, "padded"),
        ({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "d": RFC8037_D}, "private"),
    ],
)
def test_public_key_from_jwk_refuses(jwk: dict[str, str], match: str) -> None:
    with pytest.raises(SigningKeyError, match=match):
        public_key_from_jwk(jwk)


def test_encrypt_decrypt_round_trip() -> None:
    key = generate_private_key()
    pem = encrypt_private_key(key, PASSPHRASE)
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    restored = decrypt_private_key(pem, PASSPHRASE)
    assert kid_for(restored) == kid_for(key)


def test_encrypt_refuses_empty_passphrase() -> None:
    with pytest.raises(SigningKeyError, match="CERTSVC_KEY_PASSPHRASE"):
        encrypt_private_key(generate_private_key(), b"")


def test_wrong_passphrase() -> None:
    pem = encrypt_private_key(generate_private_key(), PASSPHRASE)
    with pytest.raises(SigningKeyError) as info:
        decrypt_private_key(pem, b"wrong")
    assert info.value.message == (
        "cannot decrypt signing key: wrong CERTSVC_KEY_PASSPHRASE or damaged key file"
    )
    assert info.value.code == "signing_key_error"


def test_empty_passphrase_on_decrypt() -> None:
    pem = encrypt_private_key(generate_private_key(), PASSPHRASE)
    with pytest.raises(SigningKeyError, match="empty"):
        decrypt_private_key(pem, b"")


def test_damaged_key_file() -> None:
    pem = bytearray(encrypt_private_key(generate_private_key(), PASSPHRASE))
    middle = len(pem) // 2
    pem[middle] = ord("A") if pem[middle] != ord("A") else ord("B")
    with pytest.raises(SigningKeyError, match="damaged key file"):
        decrypt_private_key(bytes(pem), PASSPHRASE)


def test_refuses_unencrypted_key() -> None:
    pem = generate_private_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(SigningKeyError, match="not an encrypted"):
        decrypt_private_key(pem, PASSPHRASE)


@pytest.mark.parametrize(
    "other",
    [lambda: ec.generate_private_key(ec.SECP256R1()), ed448.Ed448PrivateKey.generate],
)
def test_refuses_non_ed25519_key(other: object) -> None:
    key = other()  # type: ignore[operator]
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE),
    )
    with pytest.raises(SigningKeyError, match="not Ed25519"):
        decrypt_private_key(pem, PASSPHRASE)


# --- key files -------------------------------------------------------------------------


@pytest.fixture
def key_and_pem() -> tuple[str, bytes]:
    key = generate_private_key()
    return kid_for(key), encrypt_private_key(key, PASSPHRASE)


def test_key_files_write_read(tmp_path: Path, key_and_pem: tuple[str, bytes]) -> None:
    kid, pem = key_and_pem
    files = KeyFiles(tmp_path / "keys")
    assert not files.exists(kid)
    path = files.write(kid, pem)
    assert path == tmp_path / "keys" / f"{kid}.pem"
    assert files.exists(kid)
    assert files.read(kid) == pem
    assert kid_for(decrypt_private_key(files.read(kid), PASSPHRASE)) == kid
    assert [p.name for p in (tmp_path / "keys").iterdir()] == [f"{kid}.pem"]  # no temp left


def test_key_file_modes(tmp_path: Path, key_and_pem: tuple[str, bytes]) -> None:
    kid, pem = key_and_pem
    old_umask = os.umask(0)  # the modes must not depend on a permissive umask
    try:
        path = KeyFiles(tmp_path / "keys").write(kid, pem)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_key_files_refuse_overwrite(tmp_path: Path, key_and_pem: tuple[str, bytes]) -> None:
    kid, pem = key_and_pem
    files = KeyFiles(tmp_path)
    files.write(kid, pem)
    other = encrypt_private_key(generate_private_key(), PASSPHRASE)
    with pytest.raises(SigningKeyError, match="already exists"):
        files.write(kid, other)
    assert files.read(kid) == pem
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{kid}.pem"]


def test_key_files_refuse_plaintext_pem(tmp_path: Path) -> None:
    key = generate_private_key()
    plain = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(SigningKeyError, match="not encrypted"):
        KeyFiles(tmp_path).write(kid_for(key), plain)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "kid",
    [
        "../" + "A" * 40,
        "..",
        "/etc/passwd",
        "A" * 42,
        "A" * 44,
        "A" * 42 + "/",
        "A" * 42 + "B",  # right length, non-canonical last character
        "A" * 42 + "\u0410",  # Cyrillic A
        "",
        "kid",
    ],
)
def test_key_files_refuse_path_tricks(tmp_path: Path, kid: str) -> None:
    files = KeyFiles(tmp_path)
    with pytest.raises(SigningKeyError, match="not a key id"):
        files.path_for(kid)
    with pytest.raises(SigningKeyError):
        files.write(kid, b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    with pytest.raises(SigningKeyError):
        files.read(kid)
    assert list(tmp_path.iterdir()) == []


def test_key_files_missing_says_what_to_do(tmp_path: Path) -> None:
    kid = kid_for(generate_private_key())
    with pytest.raises(SigningKeyError) as info:
        KeyFiles(tmp_path).read(kid)
    assert str(tmp_path / f"{kid}.pem") in info.value.message
    assert "backup" in info.value.message
    assert "retired" in info.value.message


def test_is_valid_kid() -> None:
    assert is_valid_kid(RFC8037_THUMBPRINT)
    assert not is_valid_kid(RFC8037_THUMBPRINT + "A")
    assert not is_valid_kid(None)


def test_key_files_without_hard_links(
    tmp_path: Path, key_and_pem: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a filesystem without hard links the write falls back to check-then-rename."""

    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    kid, pem = key_and_pem
    files = KeyFiles(tmp_path)
    path = files.write(kid, pem)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(SigningKeyError, match="already exists"):
        files.write(kid, pem)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{kid}.pem"]


def test_key_files_construction_touches_nothing(tmp_path: Path) -> None:
    files = KeyFiles(tmp_path / "keys")
    assert not files.exists(kid_for(generate_private_key()))
    assert not (tmp_path / "keys").exists()
