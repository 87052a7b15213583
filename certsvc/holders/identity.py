"""ID numbers at rest: a keyed hash for look-up, AES-GCM for the registry, a mask for display.

Credentials carry a **commitment** to the ID number instead of the number:
``base64url(SHA-256("certsvc-id-commitment/v1|<id type>|<number>|" + salt))`` with a random
128-bit salt per holder. The signed record can then travel (in PDFs, to verifiers) without
revealing the number — ID numbers have far too little entropy for a plain hash — while the
national registry, given the number and salt over its authenticated feed, checks that they
are the ones the issuer signed.

The clear ID number exists only in memory while a batch is issued or a look-up is answered.
The hash is HMAC-SHA256 under ``CERTSVC_ID_HASH_KEY`` over ``"<id type>:<normalized number>"``
(so the same number under two ID types never collides). The ciphertext is AES-256-GCM under
``CERTSVC_ID_ENCRYPTION_KEY`` with a random 96-bit nonce and the ID type plus hash as associated
data, so a ciphertext cannot be moved to another holder row unnoticed.

The salt is sealed the same way (its own nonce and associated data). Stored in clear, it
would undo the commitment for anyone holding a copy of the database: the signed record in
``certificates.record`` carries the commitment, the mask shows 8 of 18 characters, and the
remaining birth date and district digits (about 230,000 candidates once the check digit is
applied) are a few seconds of SHA-256. Sealed, a database copy without the keys reveals no
ID number. Salts written in clear by earlier versions (16 bytes) are still read, and
``certsvc seal-salts`` (:func:`certsvc.models.migrate.seal_clear_id_salts`) seals them once every
server runs a version that reads sealed salts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from certsvc.domain.ids import IdType, mask_id_number
from certsvc.errors import ConfigError
from certsvc.i18n import N_

NONCE_BYTES = 12
SALT_BYTES = 16
#: A sealed salt: nonce, encrypted salt, 16-byte GCM tag.
SEALED_SALT_BYTES = NONCE_BYTES + SALT_BYTES + 16


@dataclass(frozen=True)
class ProtectedId:
    """The stored forms of one ID number, and its commitment salt (clear and sealed)."""

    id_type: IdType
    digest: str
    ciphertext: bytes
    masked: str
    salt: bytes
    sealed_salt: bytes


class IdVault:
    """Hashes, encrypts and decrypts ID numbers with the service's two keys."""

    def __init__(self, hash_key: bytes, encryption_key: bytes) -> None:
        if len(hash_key) != 32 or len(encryption_key) != 32:
            raise ConfigError(
                N_("CERTSVC_ID_HASH_KEY and CERTSVC_ID_ENCRYPTION_KEY must each be 32 bytes")
            )
        if hmac.compare_digest(hash_key, encryption_key):
            raise ConfigError(N_("CERTSVC_ID_HASH_KEY and CERTSVC_ID_ENCRYPTION_KEY must differ"))
        self._hash_key = hash_key
        self._aead = AESGCM(encryption_key)

    def digest(self, id_type: IdType, number: str) -> str:
        """The keyed hash used to find a holder; ``number`` must be normalized already."""
        return hmac.new(self._hash_key, _hash_message(id_type, number), hashlib.sha256).hexdigest()

    def protect(self, id_type: IdType, number: str) -> ProtectedId:
        digest = self.digest(id_type, number)
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, number.encode(), _aad(id_type, digest))
        salt = os.urandom(SALT_BYTES)
        return ProtectedId(
            id_type,
            digest,
            nonce + sealed,
            mask_id_number(number),
            salt,
            self.seal_salt(id_type, digest, salt),
        )

    def seal_salt(self, id_type: IdType, digest: str, salt: bytes) -> bytes:
        """The stored form of a holder's commitment salt, bound to the holder's hash."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, salt, _salt_aad(id_type, digest))

    def open_salt(self, id_type: IdType, digest: str, stored: bytes) -> bytes:
        """A holder's commitment salt from its stored form (sealed, or clear from before)."""
        return self.open_salts([(id_type, digest, stored)])[0]

    def open_salts(self, stored: Iterable[tuple[IdType, str, bytes]]) -> list[bytes]:
        """:meth:`open_salt` for many holders (a registry feed page, an issuance batch)."""
        decrypt = self._aead.decrypt
        salts = []
        for id_type, digest, value in stored:
            value = bytes(value)
            if len(value) == SALT_BYTES:  # written in clear before salts were sealed
                salts.append(value)
                continue
            nonce, sealed = value[:NONCE_BYTES], value[NONCE_BYTES:]
            try:
                salts.append(decrypt(nonce, sealed, _salt_aad(id_type, digest)))
            except InvalidTag as exc:
                raise ConfigError(
                    N_(
                        "an ID commitment salt cannot be decrypted: CERTSVC_ID_ENCRYPTION_KEY "
                        "differs from the key it was stored with, or the row was altered"
                    )
                ) from exc
        return salts

    def reveal(self, id_type: IdType, digest: str, ciphertext: bytes) -> str:
        """Decrypt a stored ID number (for the national registry only)."""
        return self.reveal_all([(id_type, digest, ciphertext)])[0]

    def reveal_all(self, stored: Iterable[tuple[IdType, str, bytes]]) -> list[str]:
        """Decrypt many stored ID numbers (a registry feed page), each checked as by reveal.

        The keyed hash that checks each number starts from one keyed state, copied per number,
        instead of keying HMAC again for every number.
        """
        keyed = hmac.new(self._hash_key, digestmod=hashlib.sha256)
        decrypt = self._aead.decrypt
        numbers = []
        for id_type, digest, ciphertext in stored:
            nonce, sealed = ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:]
            try:
                number = decrypt(nonce, sealed, _aad(id_type, digest)).decode()
            except InvalidTag as exc:
                raise ConfigError(
                    N_(
                        "an ID number cannot be decrypted: CERTSVC_ID_ENCRYPTION_KEY differs "
                        "from the key it was stored with, or the row was altered"
                    )
                ) from exc
            check = keyed.copy()
            check.update(_hash_message(id_type, number))
            if not hmac.compare_digest(check.hexdigest(), digest):
                raise ConfigError(
                    N_("a decrypted ID number does not match its hash: the row was altered")
                )
            numbers.append(number)
        return numbers


# What the keyed hash and the AEAD's associated data say before the number or hash, per ID
# type (written once: an enum's value and an f-string cost more than the hashing itself).
_HASH_PREFIX = {t: f"{t.value}:".encode() for t in IdType}
_AAD_PREFIX = {t: f"certsvc-id/v1|{t.value}|".encode() for t in IdType}
_SALT_AAD_PREFIX = {t: f"certsvc-id-salt/v1|{t.value}|".encode() for t in IdType}


def _hash_message(id_type: IdType, number: str) -> bytes:
    return _HASH_PREFIX[id_type] + number.encode()


def _aad(id_type: IdType, digest: str) -> bytes:
    return _AAD_PREFIX[id_type] + digest.encode()


def _salt_aad(id_type: IdType, digest: str) -> bytes:
    return _SALT_AAD_PREFIX[id_type] + digest.encode()


def id_commitment(id_type: IdType, number: str, salt: bytes) -> str:
    """The salted commitment to an ID number that credentials carry (see module docstring)."""
    message = f"certsvc-id-commitment/v1|{id_type.value}|{number}|".encode() + salt
    digest = hashlib.sha256(message).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
