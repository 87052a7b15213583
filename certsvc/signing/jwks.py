"""The published key set (JWKS, RFC 7517 §5) and its parsed, verified form.

Contract (DESIGN.md, "JWKS"): every public key that ever signed is listed, OKP/Ed25519,
``kid`` = RFC 7638 thumbprint, with its status; a compromised key carries the time after
which its signatures are not trusted. Members beyond RFC 7517/8037 (``status``,
``created_at``, ``compromised_after``, ``body``) are ignored by standard JOSE libraries.

A key set whose kid does not match its key is refused as a whole: if a kid could lie, a
token could be shown as signed by one key while verified against another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certsvc.domain.statuses import KEY_STATUSES, KeyStatus
from certsvc.errors import CertsvcError, MalformedToken, SigningKeyError, UnknownKey
from certsvc.i18n import N_, Message
from certsvc.signing.jws import ALG
from certsvc.signing.keys import jwk_thumbprint, public_key_from_jwk
from certsvc.signing.strictjson import loads_object

__all__ = [
    "KEY_STATUSES",
    "KeySet",
    "PublishedKey",
    "format_rfc3339",
    "jwks_document",
    "parse_rfc3339",
]


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def format_rfc3339(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC, whole seconds (deterministic, sorts as text).

    Fractions of a second are dropped; for ``compromised_after`` that moves the cut-off
    earlier, i.e. towards distrust. Raises ValueError for a naive datetime.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("refusing a datetime without a time zone; use an aware UTC datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: object, *, what: str | Message) -> datetime:
    """Parse an RFC 3339 date-time with an explicit offset into an aware UTC datetime.

    Raises :class:`~certsvc.errors.MalformedToken` if *text* is not such a string.
    """
    if not isinstance(text, str) or not _RFC3339.fullmatch(text):
        raise MalformedToken(
            N_("{what} must be an RFC 3339 date-time with Z or an offset"), what=what
        )
    # fromisoformat takes at most 6 fraction digits.
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text.upper())
    try:
        return datetime.fromisoformat(trimmed).astimezone(UTC)
    except ValueError as exc:
        raise MalformedToken(
            N_("{what} is not a real date-time: {exc}"), what=what, exc=exc
        ) from exc


@dataclass(frozen=True)
class PublishedKey:
    """One public signing key as published in the JWKS.

    Validated on construction: *jwk* is a public OKP/Ed25519 key, *kid* is its RFC 7638
    thumbprint, *status* is one of :data:`KEY_STATUSES`, and *compromised_after* is set
    exactly when the status is ``compromised``. Datetimes must be time-zone aware.
    """

    kid: str
    jwk: Mapping[str, str]
    status: KeyStatus
    created_at: datetime
    compromised_after: datetime | None = None
    body_code: str | None = None  # the certification body (评价机构) that owns the key
    public_key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        public_key = public_key_from_jwk(self.jwk)
        # Keep only the RFC 8037 members, so nothing else can leak into the JWKS.
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": self.jwk["x"]}
        thumbprint = jwk_thumbprint(jwk)
        if self.kid != thumbprint:
            raise SigningKeyError(
                N_(
                    "key id {kid!r} is not the RFC 7638 thumbprint of its key ({thumbprint}); "
                    "refusing the key set — a kid must not lie"
                ),
                kid=self.kid,
                thumbprint=thumbprint,
            )
        if self.status not in KEY_STATUSES:
            raise SigningKeyError(
                N_("key {kid} has status {status!r}; expected one of {key_statuses}"),
                kid=self.kid,
                status=self.status,
                key_statuses=KEY_STATUSES,
            )
        if (self.status == "compromised") != (self.compromised_after is not None):
            raise SigningKeyError(
                N_(
                    "key {kid}: a compromised key needs compromised_after (the time after which "
                    "its signatures are not trusted), and only a compromised key has one"
                ),
                kid=self.kid,
            )
        for name in ("created_at", "compromised_after"):
            moment = getattr(self, name)
            if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
                raise SigningKeyError(
                    N_("key {kid}: {name} must be time-zone aware"), kid=self.kid, name=name
                )
        if self.body_code is not None and (
            not isinstance(self.body_code, str) or not self.body_code
        ):
            raise SigningKeyError(N_("key {kid}: body must be a non-empty string"), kid=self.kid)
        object.__setattr__(self, "jwk", jwk)
        object.__setattr__(self, "public_key", public_key)

    def to_jwk(self) -> dict[str, str]:
        """This key's member of the JWKS ``keys`` array."""
        entry = {
            **self.jwk,
            "kid": self.kid,
            "alg": ALG,
            "use": "sig",
            "status": self.status,
            "created_at": format_rfc3339(self.created_at),
        }
        if self.compromised_after is not None:
            entry["compromised_after"] = format_rfc3339(self.compromised_after)
        if self.body_code is not None:
            entry["body"] = self.body_code
        return entry

    @classmethod
    def from_jwk(cls, entry: Mapping[str, Any]) -> PublishedKey:
        """Parse one member of a JWKS ``keys`` array; raises SigningKeyError if invalid."""
        if not isinstance(entry, Mapping):
            raise SigningKeyError(N_("each member of a JWKS 'keys' array must be an object"))
        kid = entry.get("kid")
        if not isinstance(kid, str):
            raise SigningKeyError(N_("a JWKS key has no string 'kid'"))
        if entry.get("alg", ALG) != ALG or entry.get("use", "sig") != "sig":
            raise SigningKeyError(
                N_(
                    "JWKS key {kid} is for alg {alg!r} use {use!r}; certsvc keys are alg "
                    "{expected_alg!r} use 'sig'"
                ),
                kid=kid,
                alg=entry.get("alg"),
                use=entry.get("use"),
                expected_alg=ALG,
            )
        body = entry.get("body")
        try:
            created_at = parse_rfc3339(
                entry.get("created_at"), what=Message(N_("key {kid} created_at"), kid=kid)
            )
            compromised_after = (
                parse_rfc3339(
                    entry["compromised_after"],
                    what=Message(N_("key {kid} compromised_after"), kid=kid),
                )
                if entry.get("compromised_after") is not None
                else None
            )
        except MalformedToken as exc:
            raise SigningKeyError(exc.text) from exc
        return cls(
            kid=kid,
            jwk=entry,
            status=entry.get("status", ""),  # checked in __post_init__
            created_at=created_at,
            compromised_after=compromised_after,
            body_code=body,
        )


def _sort_key(key: PublishedKey) -> tuple[datetime, str]:
    return (key.created_at, key.kid)


def jwks_document(keys: Iterable[PublishedKey]) -> dict[str, Any]:
    """The JWKS served at ``/.well-known/jwks.json``, keys sorted by created_at then kid.

    Raises :class:`~certsvc.errors.SigningKeyError` if two keys share a kid.
    """
    ordered = sorted(keys, key=_sort_key)
    kids = [k.kid for k in ordered]
    if len(set(kids)) != len(kids):
        raise SigningKeyError(N_("the key set lists the same kid twice"))
    return {"keys": [k.to_jwk() for k in ordered]}


class KeySet:
    """Trusted public keys by kid, from a JWKS every kid of which matched its key."""

    def __init__(self, keys: Iterable[PublishedKey]) -> None:
        self._keys: dict[str, PublishedKey] = {}
        for key in sorted(keys, key=_sort_key):
            if key.kid in self._keys:
                raise SigningKeyError(
                    N_("the key set lists kid {kid} twice; refusing it"), kid=key.kid
                )
            self._keys[key.kid] = key

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> KeySet:
        """Validate a parsed JWKS document; the whole set is refused if any key is invalid.

        Raises :class:`~certsvc.errors.SigningKeyError` naming the problem (a kid that is
        not its key's thumbprint, a private member, a non-Ed25519 key, a bad status or
        date, a duplicate kid).
        """
        if not isinstance(doc, Mapping) or not isinstance(doc.get("keys"), list):
            raise SigningKeyError(N_("a JWKS must be a JSON object with a 'keys' array"))
        try:
            return cls(PublishedKey.from_jwk(entry) for entry in doc["keys"])
        except SigningKeyError as exc:
            raise SigningKeyError(
                N_(
                    "refusing the JWKS: {reason}; fetch it again from the issuer's "
                    "/.well-known/jwks.json"
                ),
                reason=exc.text,
            ) from exc

    @classmethod
    def from_file(cls, path: Path) -> KeySet:
        """Read and validate a JWKS file; SigningKeyError names the file on any problem."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise SigningKeyError(
                N_("cannot read JWKS file {path}: {strerror}"), path=path, strerror=exc.strerror
            ) from exc
        try:
            return cls.from_document(
                loads_object(data, what=Message(N_("JWKS file {path}"), path=path))
            )
        except CertsvcError as exc:
            raise SigningKeyError(N_("{path}: {reason}"), path=path, reason=exc.text) from exc

    def to_document(self) -> dict[str, Any]:
        """This set as a JWKS document (see :func:`jwks_document`)."""
        return jwks_document(self._keys.values())

    def entry(self, kid: str) -> PublishedKey:
        """The published key *kid* with its status; raises :class:`UnknownKey`."""
        try:
            return self._keys[kid]
        except (KeyError, TypeError):
            raise UnknownKey(
                N_(
                    "no key with kid {kid!r} in the key set; the token was signed by a key this "
                    "verifier does not know — fetch the issuer's current /.well-known/jwks.json"
                ),
                kid=kid,
            ) from None

    def public_key(self, kid: str) -> Ed25519PublicKey:
        """The public key *kid*, whatever its status; raises :class:`UnknownKey`.

        Status is not judged here: a compromised key's signatures made before
        ``compromised_after`` stay valid, and only the caller knows when a token was signed.
        """
        return self.entry(kid).public_key

    def __contains__(self, kid: object) -> bool:
        return isinstance(kid, str) and kid in self._keys

    def __iter__(self) -> Iterator[PublishedKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeySet({list(self._keys)!r})"
