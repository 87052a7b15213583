"""The transparency log's own signing keys: create, rotate, unlock; the log's origin.

The log key is an Ed25519 key of its own, separate from the bodies' keys, stored like them as
encrypted PKCS#8 in ``keys/<kid>.pem`` under ``CERTSVC_KEY_PASSPHRASE`` and published with the
log's origin in ``/.well-known/transparency.json``. The first append creates it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.errors import InvalidInput, SigningKeyError
from certsvc.i18n import N_
from certsvc.models import utcnow
from certsvc.models.transparency import LogKey
from certsvc.signing.keys import (
    KeyFiles,
    decrypt_private_key,
    encrypt_private_key,
    generate_private_key,
    jwk_thumbprint,
    public_jwk,
    public_key_from_jwk,
)
from certsvc.transparency.note import Checkpoint, NoteVerifier, format_checkpoint, sign_note

if TYPE_CHECKING:
    from certsvc.runtime import Runtime

__all__ = ["LogKeys", "LogSigner", "log_origin", "log_verifiers"]

log = logging.getLogger("certsvc.transparency")


def log_origin(public_url: str) -> str:
    """The log origin for a service at ``public_url``, schema-less: ``cert.example.cn/log``."""
    parts = urlsplit(public_url)
    origin = f"{parts.netloc}{parts.path.rstrip('/')}/log"
    if not parts.netloc or any(c.isspace() or c == "+" for c in origin):
        raise InvalidInput(
            N_("cannot name a transparency log after {public_url!r}"), public_url=public_url
        )
    return origin


@dataclass(frozen=True)
class LogSigner:
    """The unlocked log key: signs checkpoints of the log ``origin``."""

    kid: str
    origin: str
    key: Ed25519PrivateKey

    def sign(self, checkpoint: Checkpoint) -> str:
        """The signed note of ``checkpoint``."""
        return sign_note(format_checkpoint(checkpoint), self.origin, self.key)


class LogKeys:
    """The log's signing keys over the ``log_keys`` table and the key directory."""

    def __init__(self, files: KeyFiles, passphrase: bytes) -> None:
        self._files = files
        self._passphrase = passphrase

    @classmethod
    def of(cls, runtime: Runtime) -> LogKeys:
        """The log keys of a running certsvc (same directory and passphrase as body keys)."""
        return cls(KeyFiles(runtime.settings.key_dir), runtime.settings.key_passphrase)

    def active(self, session: Session) -> LogKey | None:
        """The key that signs new checkpoints, if one was made."""
        return session.scalar(select(LogKey).where(LogKey.status == "active"))

    def create(self, session: Session, origin: str) -> LogKey:
        """Make the log key (refused if one is active: use :meth:`rotate`)."""
        if self.active(session) is not None:
            raise SigningKeyError(N_("the transparency log already has an active key"))
        private = generate_private_key()
        jwk = public_jwk(private.public_key())
        kid = jwk_thumbprint(jwk)
        NoteVerifier.of(origin, private.public_key())  # the origin must be a valid key name
        self._files.write(kid, encrypt_private_key(private, self._passphrase))
        key = LogKey(kid=kid, origin=origin, public_jwk=dict(jwk), status="active")
        session.add(key)
        session.flush()
        log.info("created transparency log key %s for %s", kid, origin)
        return key

    def rotate(self, session: Session) -> LogKey:
        """Retire the active key (its checkpoints stay verifiable) and make a new one."""
        old = self.active(session)
        if old is None:
            raise SigningKeyError(N_("the transparency log has no key to rotate; run an append"))
        old.status = "retired"
        old.retired_at = utcnow()
        session.flush()
        return self.create(session, old.origin)

    def signer(self, session: Session, origin: str) -> LogSigner:
        """Unlock the active key, creating the log key under ``origin`` on first use."""
        key = self.active(session) or self.create(session, origin)
        private = decrypt_private_key(self._files.read(key.kid), self._passphrase)
        if jwk_thumbprint(public_jwk(private.public_key())) != key.kid:
            raise SigningKeyError(
                N_("key file {kid}.pem does not hold the log key {kid}"), kid=key.kid
            )
        return LogSigner(key.kid, key.origin, private)


def log_verifiers(session: Session) -> list[NoteVerifier]:
    """Verifiers of every log key that ever signed a checkpoint."""
    keys = session.scalars(select(LogKey)).all()
    return [NoteVerifier.of(k.origin, public_key_from_jwk(k.public_jwk)) for k in keys]
