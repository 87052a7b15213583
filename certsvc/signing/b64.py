"""Strict base64url without padding (RFC 7515 §2, RFC 4648 §5).

JOSE requires unpadded base64url. We also refuse every input that has more than one
spelling of the same bytes (padding, whitespace, the standard ``+/`` alphabet, non-zero
trailing bits): if two different strings decoded to the same signature or payload, a
single-character change to a token could still verify, which makes "this QR code was
altered" impossible to tell from "this QR code is genuine".
"""

from __future__ import annotations

import base64
import binascii
import re

from certsvc.errors import MalformedToken
from certsvc.i18n import N_

__all__ = ["b64url_decode", "b64url_encode"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """Encode *data* as base64url with no ``=`` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, accepting only the one canonical spelling of the bytes.

    Raises :class:`~certsvc.errors.MalformedToken` on padding, characters outside
    ``A-Z a-z 0-9 - _``, an impossible length, or non-zero trailing bits.
    """
    if not isinstance(text, str):
        raise MalformedToken(
            N_("base64url text must be a string, not {type}"), type=type(text).__name__
        )
    if "=" in text:
        raise MalformedToken(
            N_(
                "base64url must not be padded with '=' (RFC 7515 §2); the text was altered "
                "or produced by a non-conforming encoder"
            )
        )
    if not _ALPHABET.fullmatch(text):
        bad = next(c for c in text if not _ALPHABET.fullmatch(c))
        raise MalformedToken(
            N_(
                "character {bad!r} is not base64url (allowed: A-Z a-z 0-9 - _); the text may "
                "have been copied incompletely or altered"
            ),
            bad=bad,
        )
    if len(text) % 4 == 1:
        raise MalformedToken(
            N_("base64url text of length {length} cannot be valid; it was probably cut short"),
            length=len(text),
        )
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - excluded by checks above
        raise MalformedToken(N_("invalid base64url: {exc}"), exc=exc) from exc
    if b64url_encode(data) != text:
        raise MalformedToken(
            N_(
                "base64url text is not canonical (unused trailing bits are set); the text "
                "was altered"
            )
        )
    return data
