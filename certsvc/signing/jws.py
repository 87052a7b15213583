"""Compact JWS (RFC 7515) signed with EdDSA over Ed25519 (RFC 8037), and nothing else.

The verifier is deliberately narrow: the only algorithm is ``EdDSA``, the key is chosen
only by ``kid`` from keys the caller trusts (never from ``jwk``/``jku``/``x5u``/``x5c``
in the header), no ``crit`` extension is understood, and every base64url segment and
header must have exactly one spelling.

Errors, so that the verification result names the right status:

* :class:`~certsvc.errors.MalformedToken` — the token cannot be read as a JWS: not three
  segments, too long, bad base64url, a header that is not a JSON object or has duplicate
  members, no ``kid`` or one that is not an RFC 7638 thumbprint (43 base64url characters, as
  every certsvc key id is), a signature that is not 64 bytes (cut short or damaged), or a
  ``typ`` other than the one the caller expects.
* :class:`~certsvc.errors.InvalidSignature` — the token is readable but cannot be accepted
  as signed by us: an ``alg`` other than ``EdDSA`` (``none``, ``HS256``, ``ES256``,
  ``Ed25519``, ...), any ``crit`` header, ``b64`` other than true, or a signature that does
  not verify.
* :class:`~certsvc.errors.UnknownKey` — raised by the caller's ``key_for_kid``, which is
  only ever given a kid of the thumbprint form (so it may send it to a database as it is).
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from certsvc.errors import InvalidSignature, MalformedToken, SigningKeyError
from certsvc.i18n import N_, Message
from certsvc.signing.b64 import b64url_decode, b64url_encode
from certsvc.signing.keys import is_valid_kid, kid_for
from certsvc.signing.strictjson import dumps_compact, loads_object

__all__ = [
    "ALG",
    "MAX_TOKEN_LENGTH",
    "JwsSigner",
    "ParsedJws",
    "VerifiedJws",
    "parse_compact",
    "sign_compact",
    "verify_compact",
]

ALG = "EdDSA"
MAX_TOKEN_LENGTH = 64 * 1024  # characters; a QR token is a few hundred, a VC a few thousand
SIGNATURE_LENGTH = 64
#: Helper threads that sign a batch (:meth:`JwsSigner.sign_all`): one per core, at most two.
SIGNING_THREADS = min(2, os.cpu_count() or 1)


class ParsedJws(NamedTuple):
    """A compact JWS split and decoded, signature not yet checked.

    A tuple, so ``header, payload, signing_input, signature = parse_compact(t)`` works.
    """

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes  # ASCII(BASE64URL(header) || "." || BASE64URL(payload))
    signature: bytes


@dataclass(frozen=True)
class VerifiedJws:
    """A JWS whose EdDSA signature verified under the key named by ``kid``."""

    header: dict[str, Any]
    payload: bytes
    kid: str


def _sign_with_header(header: dict[str, Any], payload: bytes, key: Ed25519PrivateKey) -> str:
    """Serialise *header* compactly in its given member order, sign, return compact JWS."""
    signing_input = b64url_encode(dumps_compact(header)) + "." + b64url_encode(payload)
    signature = key.sign(signing_input.encode("ascii"))
    return signing_input + "." + b64url_encode(signature)


#: One payload to sign with its ``typ`` and ``cty`` header values (None to leave out).
SigningJob = tuple[bytes, str | None, str | None]


class JwsSigner:
    """A private key bound to its ``kid``, checked once, for signing many payloads.

    Raises :class:`~certsvc.errors.SigningKeyError` if *kid* is not the RFC 7638
    thumbprint of *key*'s public key: a token whose kid names another key could never be
    verified, so a mix-up of key files is caught here rather than by every verifier.
    """

    def __init__(self, key: Ed25519PrivateKey, kid: str) -> None:
        expected = kid_for(key)
        if kid != expected:
            raise SigningKeyError(
                N_(
                    "kid {kid!r} is not the thumbprint of the signing key ({expected}); the key "
                    "file and the key record do not match — check the keys directory"
                ),
                kid=kid,
                expected=expected,
            )
        self.key = key
        self.kid = kid
        self._headers: dict[tuple[str | None, str | None], str] = {}

    def sign(self, payload: bytes, typ: str | None = None, *, cty: str | None = None) -> str:
        """Sign *payload* and return the compact JWS ``header.payload.signature``.

        The protected header is compact JSON with members in the order ``alg``, ``kid``,
        then ``typ`` and ``cty`` when given, e.g. ``{"alg":"EdDSA","kid":"..."}``. Ed25519
        is deterministic, so equal inputs give equal tokens.
        """
        return self._finish(self._signing_input(payload, typ, cty))

    def sign_all(
        self, jobs: Iterable[SigningJob], *, chunk: int = 64, threads: int = SIGNING_THREADS
    ) -> Iterator[str]:
        """Sign many payloads, yielding the compact tokens in the order of *jobs*.

        The Ed25519 operations run on ``threads`` helper threads, a chunk of jobs at a time
        (cryptography releases the GIL while signing), while this thread reads and encodes
        the next chunks of *jobs*, which is where the caller's own work (building the
        payloads) happens when *jobs* is a generator. On two cores, two helpers keep both
        busy while this thread waits for signatures: signing is most of a batch's CPU.
        """
        iterator = iter(jobs)
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="jws-sign") as pool:
            # One chunk more than there are helpers is in flight, so none of them idles
            # while this thread hands over the results of the oldest.
            pending: deque[Future[list[str]]] = deque()
            while True:
                group = [
                    self._signing_input(payload, typ, cty)
                    for payload, typ, cty in itertools.islice(iterator, chunk)
                ]
                if group:
                    pending.append(pool.submit(self._finish_all, group))
                if pending and (not group or len(pending) > threads):
                    yield from pending.popleft().result()
                elif not group:
                    return

    def _signing_input(self, payload: bytes, typ: str | None, cty: str | None) -> str:
        if not isinstance(payload, bytes):
            raise TypeError(f"payload must be bytes, not {type(payload).__name__}")
        encoded_header = self._headers.get((typ, cty))
        if encoded_header is None:
            header: dict[str, Any] = {"alg": ALG, "kid": self.kid}
            if typ is not None:
                header["typ"] = typ
            if cty is not None:
                header["cty"] = cty
            encoded_header = b64url_encode(dumps_compact(header))
            self._headers[(typ, cty)] = encoded_header
        return encoded_header + "." + b64url_encode(payload)

    def _finish(self, signing_input: str) -> str:
        signature = self.key.sign(signing_input.encode("ascii"))
        return signing_input + "." + b64url_encode(signature)

    def _finish_all(self, signing_inputs: list[str]) -> list[str]:
        return [self._finish(signing_input) for signing_input in signing_inputs]


def sign_compact(
    payload: bytes,
    key: Ed25519PrivateKey,
    kid: str,
    typ: str | None = None,
    *,
    cty: str | None = None,
) -> str:
    """Sign one *payload* with *key* under *kid*; see :class:`JwsSigner` for the details."""
    return JwsSigner(key, kid).sign(payload, typ, cty=cty)


def parse_compact(token: str) -> ParsedJws:
    """Split and decode a compact JWS without verifying it.

    Raises :class:`~certsvc.errors.MalformedToken` if the token is longer than
    :data:`MAX_TOKEN_LENGTH`, does not have exactly three segments, a segment is not
    canonical unpadded base64url, the header is not a JSON object (or repeats a member),
    ``alg`` is not a string, or ``kid`` is not a certsvc key id (an RFC 7638 thumbprint:
    :func:`~certsvc.signing.keys.is_valid_kid`).
    """
    if not isinstance(token, str):
        raise MalformedToken(N_("a token must be text, not {type}"), type=type(token).__name__)
    if len(token) > MAX_TOKEN_LENGTH:
        raise MalformedToken(
            N_("token is {length} characters; certsvc tokens are at most {max_token_length}"),
            length=len(token),
            max_token_length=MAX_TOKEN_LENGTH,
        )
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken(
            N_(
                "a compact JWS has 3 parts separated by '.', this has {length}; the token "
                "may have been copied incompletely"
            ),
            length=len(parts),
        )
    encoded_header, encoded_payload, encoded_signature = parts
    if not encoded_header:
        raise MalformedToken(N_("the JWS header is empty"))
    header = loads_object(b64url_decode(encoded_header), what=Message(N_("JWS header")))
    payload = b64url_decode(encoded_payload)
    signature = b64url_decode(encoded_signature)
    if not isinstance(header.get("alg"), str):
        raise MalformedToken(N_("JWS header has no string 'alg'"))
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise MalformedToken(
            N_("JWS header has no string 'kid'; certsvc tokens name their key by kid")
        )
    if not is_valid_kid(kid):
        raise MalformedToken(
            N_(
                "JWS header has kid {kid}, which is no certsvc key id (the 43-character RFC "
                "7638 thumbprint of the key); the token was damaged or not made by certsvc"
            ),
            kid=_short(kid),
        )
    signing_input = f"{encoded_header}.{encoded_payload}".encode("ascii")
    return ParsedJws(header, payload, signing_input, signature)


def _short(value: object, limit: int = 60) -> str:
    """repr() of untrusted header content, cut short so error messages stay one line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _normalise_typ(value: str) -> str:
    # RFC 7515 §4.1.9: compared case-insensitively, "application/" may be omitted.
    value = value.lower()
    return value.removeprefix("application/")


def verify_compact(
    token: str,
    key_for_kid: Callable[[str], Ed25519PublicKey],
    *,
    expected_typ: str | None = None,
) -> VerifiedJws:
    """Verify a compact EdDSA JWS and return its header, payload and kid.

    *key_for_kid* maps a kid to a trusted public key and raises
    :class:`~certsvc.errors.UnknownKey` for a kid it does not know (propagated as is).
    If *expected_typ* is given the header's ``typ`` must equal it (RFC 7515 rules:
    case-insensitive, ``application/`` optional); otherwise ``typ`` is not checked.
    Header checks come before the key look-up and the signature check. See the module
    docstring for which error means what.
    """
    header, payload, signing_input, signature = parse_compact(token)
    if "crit" in header:
        raise InvalidSignature(
            N_(
                "JWS header marks {crit} as critical; certsvc understands no JWS extensions, "
                "so it cannot accept this token"
            ),
            crit=_short(header["crit"]),
        )
    alg = header["alg"]
    if alg != ALG:
        raise InvalidSignature(
            N_(
                "token is signed with alg {alg}; certsvc accepts only {expected!r} (Ed25519), so "
                "this token was not issued by certsvc"
            ),
            alg=_short(alg),
            expected=ALG,
        )
    if header.get("b64", True) is not True:
        raise InvalidSignature(
            N_("JWS header sets 'b64' (RFC 7797 unencoded payload); certsvc does not accept it")
        )
    if expected_typ is not None:
        typ = header.get("typ")
        if not isinstance(typ, str) or _normalise_typ(typ) != _normalise_typ(expected_typ):
            raise MalformedToken(
                N_(
                    "token has typ {typ} where {expected_typ!r} is required; it is a different "
                    "kind of token"
                ),
                typ=_short(typ),
                expected_typ=expected_typ,
            )
    if len(signature) != SIGNATURE_LENGTH:
        raise MalformedToken(
            N_(
                "signature is {length} bytes, an Ed25519 signature is {signature_length}; "
                "the token was cut short or damaged"
            ),
            length=len(signature),
            signature_length=SIGNATURE_LENGTH,
        )
    kid: str = header["kid"]
    public_key = key_for_kid(kid)
    try:
        public_key.verify(signature, signing_input)
    except _CryptoInvalidSignature:
        raise InvalidSignature(
            N_(
                "signature does not match: the token was altered after signing, or was not "
                "signed with key {kid}"
            ),
            kid=kid,
        ) from None
    return VerifiedJws(header=header, payload=payload, kid=kid)
