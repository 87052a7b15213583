"""Signing keys of certification bodies: create, rotate, mark compromised, load for signing.

Each body signs with its own Ed25519 key. The public half and the key's status live in the
database (``SigningKey``) and are published in the JWKS; the private half is written once to
``keys/<kid>.pem`` as encrypted PKCS#8 under ``CERTSVC_KEY_PASSPHRASE`` and never leaves it
unencrypted except in memory.
"""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.errors import Conflict, InvalidInput, NotFound, SigningKeyError, UnknownKey
from certsvc.i18n import N_
from certsvc.models import CertificationBody, Event, SigningKey, utcnow
from certsvc.signing.jwks import PublishedKey
from certsvc.signing.jws import JwsSigner
from certsvc.signing.keys import (
    KeyFiles,
    decrypt_private_key,
    encrypt_private_key,
    generate_private_key,
    jwk_thumbprint,
    public_jwk,
    public_key_from_jwk,
)


class Keyring:
    """Key management over the database and the key directory."""

    def __init__(self, files: KeyFiles, passphrase: bytes) -> None:
        self._files = files
        self._passphrase = passphrase
        self._unlocked: dict[str, JwsSigner] = {}

    def create_key(self, session: Session, body: CertificationBody, actor: str = "") -> SigningKey:
        """Generate a new active key for ``body``; refuses if it already has one."""
        if self.active_key(session, body, required=False) is not None:
            raise Conflict(
                N_("body {body} already has an active signing key; use `certsvc keys rotate`"),
                body=body.code,
            )
        return self._new_key(session, body, actor, kind="key_created")

    def rotate(self, session: Session, body: CertificationBody, actor: str = "") -> SigningKey:
        """Retire the active key (its signatures stay valid) and make a new one active."""
        old = self.active_key(session, body, required=False)
        if old is not None:
            old.status = "retired"
            old.retired_at = utcnow()
            session.flush()
        return self._new_key(session, body, actor, kind="key_rotated")

    def mark_compromised(
        self, session: Session, kid: str, after: dt.datetime, actor: str = ""
    ) -> SigningKey:
        """Distrust signatures of ``kid`` made after ``after``; a new key replaces an active one.

        Certificates signed before the cutoff stay valid; those signed after it verify as not
        valid. If the key was the body's active key, a fresh key is made active at once.
        """
        if after.tzinfo is None:
            raise InvalidInput(
                N_("the compromise cutoff needs a time zone, e.g. 2026-11-26T08:00Z")
            )
        key = session.get(SigningKey, kid)
        if key is None:
            raise NotFound(
                N_("no signing key with kid {kid}; `certsvc keys list` shows them"), kid=kid
            )
        was_active = key.status == "active"
        if key.compromised_after is not None and key.compromised_after <= after:
            after = key.compromised_after  # a cutoff only ever moves earlier
        key.status = "compromised"
        key.compromised_after = after
        key.retired_at = key.retired_at or utcnow()
        session.flush()
        session.add(
            Event(
                kind="key_compromised",
                body_id=key.body_id,
                actor=actor,
                data={"kid": kid, "compromised_after": after.isoformat()},
            ),
        )
        if was_active:
            self._new_key(session, key.body, actor, kind="key_rotated")
        return key

    def active_key(
        self, session: Session, body: CertificationBody, *, required: bool = True
    ) -> SigningKey | None:
        key = session.scalar(
            select(SigningKey).where(SigningKey.body_id == body.id, SigningKey.status == "active")
        )
        if key is None and required:
            raise SigningKeyError(
                N_(
                    "body {body} has no active signing key; create one with "
                    "`certsvc keys rotate {body}`"
                ),
                body=body.code,
            )
        return key

    def signer_for(self, session: Session, body: CertificationBody) -> JwsSigner:
        """Unlock the body's active key (kept in memory after the first use).

        Raises SigningKeyError when the key file is missing, cannot be decrypted, or holds
        another key than its name says.
        """
        key = self.active_key(session, body)
        assert key is not None
        signer = self._unlocked.get(key.kid)
        if signer is None:
            private = decrypt_private_key(self._files.read(key.kid), self._passphrase)
            signer = JwsSigner(private, key.kid)
            self._unlocked[key.kid] = signer
        return signer

    def _new_key(
        self, session: Session, body: CertificationBody, actor: str, *, kind: str
    ) -> SigningKey:
        private = generate_private_key()
        jwk = public_jwk(private.public_key())
        kid = jwk_thumbprint(jwk)
        self._files.write(kid, encrypt_private_key(private, self._passphrase))
        key = SigningKey(kid=kid, body_id=body.id, public_jwk=dict(jwk), status="active")
        session.add(key)
        session.flush()
        session.add(Event(kind=kind, body_id=body.id, actor=actor, data={"kid": kid}))
        self._unlocked[kid] = JwsSigner(private, kid)
        return key


def published_keys(session: Session) -> list[PublishedKey]:
    """Every key that ever signed, for the JWKS."""
    rows = session.execute(
        select(SigningKey, CertificationBody.code)
        .join(CertificationBody, CertificationBody.id == SigningKey.body_id)
        .order_by(SigningKey.created_at, SigningKey.kid)
    ).all()
    return [
        PublishedKey(
            kid=key.kid,
            jwk=key.public_jwk,
            status=key.status,
            created_at=key.created_at,
            compromised_after=key.compromised_after,
            body_code=code,
        )
        for key, code in rows
    ]


def public_key(session: Session, kid: str) -> tuple[SigningKey, Ed25519PublicKey]:
    key = session.get(SigningKey, kid)
    if key is None:
        raise UnknownKey(N_("no key with kid {kid} ever signed here"), kid=kid)
    return key, public_key_from_jwk(key.public_jwk)
