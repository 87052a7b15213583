"""Ed25519 signing keys: generation, encryption at rest, JWK form, key files.

A key is named by its ``kid``, the RFC 7638 JWK thumbprint of its public JWK, so the name
cannot drift from the key and a JWKS can be checked against itself (see ``jwks.py``).
Private keys only ever touch disk as encrypted PKCS#8 PEM, written atomically with mode
0600 and never overwritten.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from certsvc.errors import MalformedToken, SigningKeyError
from certsvc.i18n import N_
from certsvc.private_files import private_directory
from certsvc.signing.b64 import b64url_decode, b64url_encode

__all__ = [
    "KeyFiles",
    "decrypt_private_key",
    "encrypt_private_key",
    "generate_private_key",
    "is_valid_kid",
    "jwk_thumbprint",
    "kid_for",
    "public_jwk",
    "public_key_from_jwk",
]


# RFC 7638 §3.2: the required members of each key type, the only ones hashed.
_THUMBPRINT_MEMBERS: dict[str, tuple[str, ...]] = {
    "OKP": ("crv", "kty", "x"),  # RFC 8037 §2
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "oct": ("k", "kty"),
}

_KID = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256 digest, unpadded
_ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


def generate_private_key() -> Ed25519PrivateKey:
    """Make a new Ed25519 signing key from the operating system's CSPRNG."""
    return Ed25519PrivateKey.generate()


def encrypt_private_key(key: Ed25519PrivateKey, passphrase: bytes) -> bytes:
    """Serialise *key* as PEM PKCS#8 encrypted under *passphrase* (best available cipher).

    Raises :class:`~certsvc.errors.SigningKeyError` if the passphrase is empty: a key
    written in the clear would be readable by anyone with a copy of the backup.
    """
    if not isinstance(passphrase, bytes) or not passphrase:
        raise SigningKeyError(
            N_(
                "refusing to write a signing key without encryption: set "
                "CERTSVC_KEY_PASSPHRASE to a long random passphrase"
            )
        )
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.BestAvailableEncryption(passphrase),
    )


def decrypt_private_key(pem: bytes, passphrase: bytes) -> Ed25519PrivateKey:
    """Load an encrypted PEM PKCS#8 Ed25519 key written by :func:`encrypt_private_key`.

    Raises :class:`~certsvc.errors.SigningKeyError` if the passphrase is empty or wrong,
    the file is damaged or not encrypted, or the key is not Ed25519.
    """
    if not isinstance(passphrase, bytes) or not passphrase:
        raise SigningKeyError(
            N_(
                "cannot decrypt signing key: CERTSVC_KEY_PASSPHRASE is empty; set it to the "
                "passphrase the key was created with"
            )
        )
    if _ENCRYPTED_PEM not in pem:
        raise SigningKeyError(
            N_(
                "signing key file is not an encrypted PKCS#8 PEM key; certsvc stores keys "
                "only encrypted — restore the original key file from backup"
            )
        )
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(
            N_("cannot decrypt signing key: wrong CERTSVC_KEY_PASSPHRASE or damaged key file")
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(
            N_(
                "signing key is {kind}, not Ed25519; certsvc signs only with Ed25519 — "
                "generate a new key"
            ),
            kind=type(key).__name__.removeprefix("_"),
        )
    return key


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The public JWK of *key*: ``{"kty": "OKP", "crv": "Ed25519", "x": ...}`` (RFC 8037 §2)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of *jwk*, base64url without padding.

    Only the required members of the key type are hashed (other members such as ``kid``,
    ``alg`` or ``use`` do not change it). Supports OKP, EC, RSA and oct. Raises
    :class:`~certsvc.errors.SigningKeyError` for an unknown ``kty`` or a missing or
    non-string required member.
    """
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise SigningKeyError(N_("cannot compute a JWK thumbprint for kty {kty!r}"), kty=kty)
    canonical: dict[str, str] = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise SigningKeyError(
                N_("JWK of kty {kty} needs the string member {name!r} to compute its thumbprint"),
                kty=kty,
                name=name,
            )
        canonical[name] = value
    # RFC 7638 §3.3: members in code-point order, no whitespace, UTF-8.
    data = json.dumps(canonical, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return b64url_encode(hashlib.sha256(data.encode("utf-8")).digest())


def kid_for(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The ``kid`` certsvc uses for *key*: the RFC 7638 thumbprint of its public JWK."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return jwk_thumbprint(public_jwk(public))


def is_valid_kid(kid: object) -> bool:
    """Whether *kid* has the form of a certsvc key id (43 canonical base64url characters)."""
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        return False
    try:
        return len(b64url_decode(kid)) == 32
    except MalformedToken:
        return False


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    """Turn a public OKP/Ed25519 JWK into a key for verification.

    Raises :class:`~certsvc.errors.SigningKeyError` (the key set is unusable, which is a
    fault of whoever supplied it, not of the token being verified) if ``kty`` is not
    ``OKP``, ``crv`` is not ``Ed25519``, ``x`` is not 32 bytes of canonical base64url, or
    the JWK contains the private member ``d``.
    """
    if not isinstance(jwk, Mapping):
        raise SigningKeyError(
            N_("a JWK must be a JSON object, not {type}"), type=type(jwk).__name__
        )
    if "d" in jwk:
        raise SigningKeyError(
            N_(
                "JWK contains the private key member 'd'; a public key set must never "
                "contain private keys — if this key was published, treat it as compromised"
            )
        )
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise SigningKeyError(
            N_("JWK is kty {kty!r} crv {crv!r}; certsvc keys are kty 'OKP' crv 'Ed25519'"),
            kty=jwk.get("kty"),
            crv=jwk.get("crv"),
        )
    x = jwk.get("x")
    if not isinstance(x, str):
        raise SigningKeyError(N_("Ed25519 JWK is missing its public key member 'x'"))
    try:
        raw = b64url_decode(x)
    except MalformedToken as exc:
        raise SigningKeyError(
            N_("Ed25519 JWK member 'x' is invalid: {reason}"), reason=exc.text
        ) from exc
    if len(raw) != 32:
        raise SigningKeyError(
            N_("Ed25519 JWK member 'x' holds {length} bytes; an Ed25519 public key is 32"),
            length=len(raw),
        )
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:  # pragma: no cover - length checked above
        raise SigningKeyError(
            N_("Ed25519 JWK member 'x' is not a public key: {exc}"), exc=exc
        ) from exc


class KeyFiles:
    """The directory of encrypted signing key files, one ``<kid>.pem`` per key.

    The directory is created with mode 0700 on the first :meth:`write` (not on
    construction, so a read-only verifier never needs write access to its parent).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, kid: str) -> Path:
        """``<directory>/<kid>.pem``; *kid* must be a thumbprint, so no path can escape."""
        if not is_valid_kid(kid):
            raise SigningKeyError(
                N_(
                    "{kid!r} is not a key id: a kid is the 43-character RFC 7638 thumbprint of "
                    "the key (list keys with `certsvc keys`)"
                ),
                kid=kid,
            )
        return self.directory / f"{kid}.pem"

    def exists(self, kid: str) -> bool:
        """Whether the key file for *kid* is present."""
        return self.path_for(kid).is_file()

    def read(self, kid: str) -> bytes:
        """The encrypted PEM of *kid*; raises :class:`SigningKeyError` if the file is missing."""
        path = self.path_for(kid)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise SigningKeyError(
                N_(
                    "signing key file {path} is missing: restore it from the backup of the keys "
                    "directory, or mark key {kid} as retired so nothing signs with it"
                ),
                path=path,
                kid=kid,
            ) from None
        except OSError as exc:
            raise SigningKeyError(
                N_(
                    "cannot read signing key file {path}: {strerror}; check that the service "
                    "user owns it and it has mode 0600"
                ),
                path=path,
                strerror=exc.strerror,
            ) from exc

    def write(self, kid: str, pem: bytes) -> Path:
        """Store *pem* as the key file of *kid*, atomically, mode 0600; never overwrite.

        The data goes to a temporary file in the same directory, is flushed to disk and
        then hard-linked to its final name, which fails if a file of that name exists
        (atomic no-clobber; a check-then-rename would race). Only encrypted PKCS#8 PEM is
        accepted.
        """
        path = self.path_for(kid)
        if not isinstance(pem, bytes) or not pem.lstrip().startswith(_ENCRYPTED_PEM):
            raise SigningKeyError(
                N_(
                    "refusing to write a signing key file that is not encrypted PKCS#8 PEM; use "
                    "encrypt_private_key()"
                )
            )
        self._ensure_directory()
        tmp = self.directory / f".{kid}.{secrets.token_hex(8)}.tmp"
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)  # in case the umask or filesystem changed the mode
            self._link_no_clobber(tmp, path, kid)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._fsync_directory()
        return path

    def _link_no_clobber(self, tmp: Path, path: Path, kid: str) -> None:
        exists = SigningKeyError(
            N_(
                "signing key file {path} already exists; key files are never overwritten — "
                "if key {kid} is really to be replaced, move the old file away first"
            ),
            path=path,
            kid=kid,
        )
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise exists from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # The filesystem has no hard links: fall back to check, then atomic rename.
            if path.exists():
                raise exists from None
            os.replace(tmp, path)

    def _ensure_directory(self) -> None:
        # Owned: a checked-out keys/ (git keeps no directory modes) loses group/world access.
        private_directory(self.directory, owned=True)

    def _fsync_directory(self) -> None:
        try:
            fd = os.open(self.directory, os.O_RDONLY)
        except OSError:  # pragma: no cover - platforms without directory fds
            return
        try:
            os.fsync(fd)
        except OSError:  # pragma: no cover
            pass
        finally:
            os.close(fd)
