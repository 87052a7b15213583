"""W3C Bitstring Status List v1.0: the list credential, its bitstring, and a credential's entry.

A credential names its place in a list (``credentialStatus``)::

    {"id": "<list URL>#<index>", "type": "BitstringStatusListEntry",
     "statusPurpose": "revocation", "statusListIndex": "<index>",
     "statusListCredential": "<list URL>"}

and the list is itself a vc+jwt, signed by the same issuer::

    {"@context": ["https://www.w3.org/ns/credentials/v2"],
     "id": "<list URL>", "type": ["VerifiableCredential", "BitstringStatusListCredential"],
     "issuer": "<issuer id>", "validFrom": "<time of the last change>",
     "credentialSubject": {"id": "<list URL>#list", "type": "BitstringStatusList",
                           "statusPurpose": "revocation", "encodedList": "u<base64url>"}}

``encodedList`` is the bitstring GZIP-compressed (RFC 1952), base64url without padding, with
the multibase prefix ``u``. Bit 0 is the left-most (most significant) bit of the first byte; a
set bit means the credential at that index is revoked. The spec's privacy minimum is 16 KiB,
131,072 entries (:data:`MIN_ENTRIES`); a decoded list shorter than that is refused.

This module is pure (no database, no network): the service builds and signs lists with it,
and ``certsvc verify`` and the registry client check them with it.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certsvc.errors import MalformedToken
from certsvc.i18n import N_
from certsvc.signing.b64 import b64url_decode, b64url_encode
from certsvc.signing.vc import VC_CONTEXT_V2, verify_credential

__all__ = [
    "ENTRY_TYPE",
    "LIST_CREDENTIAL_TYPE",
    "MIN_ENTRIES",
    "PURPOSE",
    "StatusEntry",
    "StatusList",
    "bit_is_set",
    "decode_list",
    "encode_list",
    "list_credential",
    "set_bit",
    "status_entry",
    "verify_list",
]

MIN_ENTRIES = 131_072
#: The one purpose certsvc publishes: revocation (which cannot be undone).
PURPOSE = "revocation"
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"
#: A decompressed list larger than this is refused (16 MiB, a bomb guard; ours are 16 KiB).
_MAX_BYTES = 16 * 1024 * 1024


def encode_list(bits: bytes) -> str:
    """``encodedList`` of a bitstring: GZIP, then multibase base64url (``u``, no padding).

    ``mtime=0`` keeps the output a function of the bits alone, so the same list signs to the
    same bytes.
    """
    return "u" + b64url_encode(gzip.compress(bits, compresslevel=9, mtime=0))


def decode_list(encoded: object) -> bytes:
    """The bitstring of an ``encodedList``; MalformedToken if it is not one of ≥ 131,072 bits."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise MalformedToken(N_("encodedList must be a multibase base64url string (prefix 'u')"))
    compressed = b64url_decode(encoded[1:])
    try:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing only
        bits = inflater.decompress(compressed, _MAX_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise MalformedToken(
                N_("encodedList is not one complete GZIP stream of at most 16 MiB")
            )
    except zlib.error as exc:
        raise MalformedToken(N_("encodedList is not GZIP data ({exc})"), exc=exc) from exc
    if len(bits) * 8 < MIN_ENTRIES:
        raise MalformedToken(
            N_("the status list has {length} entries; the spec's minimum is {min_entries}"),
            length=len(bits) * 8,
            min_entries=MIN_ENTRIES,
        )
    return bits


def bit_is_set(bits: bytes | bytearray, index: int) -> bool:
    """Whether entry ``index`` is set (bit 0 is the most significant bit of byte 0)."""
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_bit(bits: bytearray, index: int) -> None:
    """Set entry ``index`` (in place)."""
    bits[index // 8] |= 0x80 >> (index % 8)


def list_credential(*, url: str, issuer_id: str, bits: bytes, valid_from: str) -> dict[str, Any]:
    """The unsigned BitstringStatusListCredential at ``url`` (sign it as a vc+jwt)."""
    return {
        "@context": [VC_CONTEXT_V2],
        "id": url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer_id,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": LIST_TYPE,
            "statusPurpose": PURPOSE,
            "encodedList": encode_list(bits),
        },
    }


@dataclass(frozen=True)
class StatusEntry:
    """Where a credential's revocation bit is: the list's URL and the index in it."""

    list_url: str
    index: int

    def to_json(self) -> dict[str, str]:
        """The ``credentialStatus`` member (``statusListIndex`` is a string, per the spec)."""
        return {
            "id": f"{self.list_url}#{self.index}",
            "type": ENTRY_TYPE,
            "statusPurpose": PURPOSE,
            "statusListIndex": str(self.index),
            "statusListCredential": self.list_url,
        }


def status_entry(credential: Mapping[str, Any]) -> StatusEntry | None:
    """The revocation entry a credential names; None when it carries no ``credentialStatus``.

    Certificates signed before status lists existed carry none (their signed record cannot
    change). MalformedToken when the member is there but is not a revocation entry.
    """
    status = credential.get("credentialStatus")
    if status is None:
        return None
    entries = status if isinstance(status, list) else [status]
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("type") != ENTRY_TYPE:
            continue
        if entry.get("statusPurpose") != PURPOSE:
            continue
        index, url = entry.get("statusListIndex"), entry.get("statusListCredential")
        if not (isinstance(index, str) and index.isascii() and index.isdigit() and len(index) < 10):
            raise MalformedToken(N_("statusListIndex must be a whole number written as a string"))
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise MalformedToken(N_("statusListCredential must be the list's http(s) URL"))
        return StatusEntry(url, int(index))
    raise MalformedToken(N_("credentialStatus holds no BitstringStatusListEntry for revocation"))


@dataclass(frozen=True)
class StatusList:
    """A verified status list credential."""

    url: str
    issuer_id: str
    kid: str
    bits: bytes

    def is_set(self, index: int) -> bool:
        """Whether entry ``index`` is set; MalformedToken if the list has no such entry."""
        if not 0 <= index < len(self.bits) * 8:
            raise MalformedToken(N_("the status list has no entry {index}"), index=index)
        return bit_is_set(self.bits, index)


def verify_list(
    token: str, key_for_kid: Callable[[str], Ed25519PublicKey], *, url: str
) -> StatusList:
    """Verify the status list credential fetched from ``url``.

    Checks the vc+jwt signature (errors of :func:`~certsvc.signing.vc.verify_credential`),
    then that it is a BitstringStatusListCredential for revocation whose ``id`` is ``url`` —
    a genuine list of another URL cannot stand in — and decodes its bitstring.
    """
    credential, verified = verify_credential(token, key_for_kid)
    types = credential.get("type")
    subject = credential.get("credentialSubject")
    if not isinstance(types, list) or LIST_CREDENTIAL_TYPE not in types:
        raise MalformedToken(
            N_("the status list is not a {list_credential_type}"),
            list_credential_type=LIST_CREDENTIAL_TYPE,
        )
    if credential.get("id") != url:
        raise MalformedToken(
            N_("the status list fetched from {url} says it is another list"), url=url
        )
    if not isinstance(subject, Mapping) or subject.get("statusPurpose") != PURPOSE:
        raise MalformedToken(N_("the status list is not a list for revocation"))
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(issuer_id, str):
        raise MalformedToken(N_("the status list names no issuer"))
    return StatusList(url, issuer_id, verified.kid, decode_list(subject.get("encodedList")))
