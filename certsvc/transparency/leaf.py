"""The leaf of each event: a canonical JSON statement of what the event fixed, version 1.

Event ``seq`` is leaf ``seq − 1``; its leaf hash is ``SHA-256(0x00 || leaf data)``. The leaf
data is the RFC 8785 (JCS) serialisation — members sorted, no whitespace, UTF-8 — of one JSON
object with exactly these members (``null`` where a member does not apply to the kind)::

    v                  1 (the leaf format version)
    seq                the event's sequence number
    kind               issued | revoked | superseded | photo_replaced | key_created |
                       key_rotated | key_compromised | body_created | body_changed
    at                 when the event occurred: RFC 3339 UTC with microseconds,
                       e.g. "2026-11-20T08:00:00.000000Z" (the registry feed's occurred_at)
    body               the certification body's 13-character code, or null
    certificate        the certificate number (issued, revoked, superseded, photo_replaced)
    kid                the signing key: the key that signed (issued, revoked, superseded,
                       photo_replaced), or the key the event is about (key_*)
    token_sha256       issued: hex SHA-256 of the QR token (the compact JWS, ASCII)
    record_sha256      issued: hex SHA-256 of the vc+jwt record; revoked/superseded: of the
                       signed status statement; null for events logged before statements;
                       photo_replaced: of the re-signed vc+jwt record
    compromised_after  key_compromised: the cutoff, RFC 3339 UTC with microseconds
    data_sha256        any other kind (body_created, body_changed): hex SHA-256 of the JCS
                       serialisation of the event's data object, as the registry feed carries it

Everything in a leaf is public: hashes of signed documents, never a name or an ID number. A
certificate's QR token plus its leaf data and an inclusion proof show that exactly that token
was logged; the registry recomputes every leaf from its feed (it needs the token too, or the
leaf data alongside the feed item).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from certsvc.transparency.merkle import leaf_hash

__all__ = ["LEAF_VERSION", "EventFacts", "canonical_json", "leaf_data", "leaf_hash_of"]

LEAF_VERSION = 1
_CERTIFICATE_KINDS = ("issued", "revoked", "superseded", "photo_replaced")
_KEY_KINDS = ("key_created", "key_rotated", "key_compromised")


def canonical_json(value: Any) -> bytes:
    """RFC 8785 JSON for objects of strings, integers, booleans and null (UTF-8, sorted keys)."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode()


@functools.lru_cache(maxsize=64)  # the events of one batch share their time
def _time(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("a leaf time must be timezone-aware")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(value: Any) -> str:
    """One member value as :func:`canonical_json` writes it (strings and null directly)."""
    if value is None:
        return "null"
    if type(value) is str:
        return encode_basestring(value)
    return canonical_json(value).decode()


def _sha256(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class EventFacts:
    """What a leaf is made of: one event row with its certificate's number and signed forms."""

    seq: int
    kind: str
    occurred_at: dt.datetime
    data: Mapping[str, Any]
    body_code: str | None = None
    certificate_number: str | None = None
    #: The certificate's QR token and record; only read for ``issued`` events.
    token: str | None = None
    record: str | None = None


def leaf_data(facts: EventFacts) -> bytes:
    """The canonical leaf data of one event (see the module docstring)."""
    data = facts.data or {}
    certificate = kid = token_sha256 = record_sha256 = compromised_after = data_sha256 = None
    if facts.kind in _CERTIFICATE_KINDS:
        certificate = facts.certificate_number or data.get("number")
        kid = data.get("kid")
        if facts.kind == "issued":
            token_sha256 = _sha256(facts.token)
            record_sha256 = _sha256(facts.record)
        else:
            record_sha256 = _sha256(data.get("record"))
    elif facts.kind in _KEY_KINDS:
        kid = data.get("kid")
        cutoff = data.get("compromised_after")
        if facts.kind == "key_compromised" and cutoff is not None:
            compromised_after = _time(dt.datetime.fromisoformat(str(cutoff)))
    else:
        data_sha256 = hashlib.sha256(canonical_json(dict(data))).hexdigest()
    # canonical_json of the statement object, written out: its members in JCS (sorted)
    # order, each value as canonical_json writes it. A leaf is made for every event logged,
    # and this is several times faster than building and sorting a dictionary.
    return (
        f'{{"at":{_json(_time(facts.occurred_at))},"body":{_json(facts.body_code)},'
        f'"certificate":{_json(certificate)},"compromised_after":{_json(compromised_after)},'
        f'"data_sha256":{_json(data_sha256)},"kid":{_json(kid)},"kind":{_json(facts.kind)},'
        f'"record_sha256":{_json(record_sha256)},"seq":{_json(facts.seq)},'
        f'"token_sha256":{_json(token_sha256)},"v":{LEAF_VERSION}}}'
    ).encode()


def leaf_hash_of(facts: EventFacts) -> bytes:
    """``SHA-256(0x00 || leaf_data(facts))``."""
    return leaf_hash(leaf_data(facts))
