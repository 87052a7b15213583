"""Signing and verification for certsvc: Ed25519 keys, compact JWS, JWKS, vc+jwt.

Pure: no Flask, no database. The public surface is re-exported here; errors come from
:mod:`certsvc.errors` (``SigningKeyError``, ``MalformedToken``, ``UnknownKey``,
``InvalidSignature``).
"""

from certsvc.signing.b64 import b64url_decode, b64url_encode
from certsvc.signing.jwks import KeySet, PublishedKey, jwks_document
from certsvc.signing.jws import ParsedJws, VerifiedJws, parse_compact, sign_compact, verify_compact
from certsvc.signing.keys import (
    KeyFiles,
    decrypt_private_key,
    encrypt_private_key,
    generate_private_key,
    jwk_thumbprint,
    kid_for,
    public_jwk,
    public_key_from_jwk,
)
from certsvc.signing.vc import VC_CONTEXT_V2, sign_credential, verify_credential

__all__ = [
    "VC_CONTEXT_V2",
    "KeyFiles",
    "KeySet",
    "ParsedJws",
    "PublishedKey",
    "VerifiedJws",
    "b64url_decode",
    "b64url_encode",
    "decrypt_private_key",
    "encrypt_private_key",
    "generate_private_key",
    "jwk_thumbprint",
    "jwks_document",
    "kid_for",
    "parse_compact",
    "public_jwk",
    "public_key_from_jwk",
    "sign_compact",
    "sign_credential",
    "verify_compact",
    "verify_credential",
]
