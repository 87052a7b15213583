"""The published JWKS and the KeySet verifiers build from it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from certsvc.errors import SigningKeyError, UnknownKey
from certsvc.signing.jwks import (
    KeySet,
    PublishedKey,
    format_rfc3339,
    jwks_document,
    parse_rfc3339,
)
from certsvc.signing.jws import sign_compact, verify_compact
from certsvc.signing.keys import generate_private_key, kid_for, public_jwk

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def published(status: str = "active", created_at: datetime = T0, **kw: Any) -> PublishedKey:
    key = generate_private_key()
    if status == "compromised":
        kw.setdefault("compromised_after", T0 + timedelta(days=30))
    return PublishedKey(
        kid=kid_for(key),
        jwk=public_jwk(key.public_key()),
        status=status,
        created_at=created_at,
        **kw,
    )


def test_document_shape() -> None:
    key = generate_private_key()
    entry = PublishedKey(
        kid=kid_for(key),
        jwk=public_jwk(key.public_key()),
        status="compromised",
        created_at=datetime(2024, 1, 1, 8, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8))),
        compromised_after=datetime(2025, 3, 1, 12, 30, 15, 999999, tzinfo=UTC),
        body_code="Y0001",
    )
    assert jwks_document([entry]) == {
        "keys": [
            {
                **public_jwk(key.public_key()),
                "kid": kid_for(key),
                "alg": "EdDSA",
                "use": "sig",
                "status": "compromised",
                "created_at": "2024-01-01T00:00:00Z",
                "compromised_after": "2025-03-01T12:30:15Z",
                "body": "Y0001",
            }
        ]
    }


def test_optional_members_absent_when_unset() -> None:
    (entry,) = jwks_document([published()])["keys"]
    assert "compromised_after" not in entry
    assert "body" not in entry
    assert list(entry) == ["kty", "crv", "x", "kid", "alg", "use", "status", "created_at"]


def test_sorted_by_created_at_then_kid() -> None:
    keys = [published(created_at=T0 + timedelta(days=d % 3)) for d in range(7)]
    expected = sorted(keys, key=lambda k: (k.created_at, k.kid))
    for order in (keys, list(reversed(keys))):
        assert [e["kid"] for e in jwks_document(order)["keys"]] == [k.kid for k in expected]


def test_document_is_json_and_round_trips() -> None:
    keys = [published(), published("retired"), published("compromised", body_code="S1234")]
    doc = json.loads(json.dumps(jwks_document(keys)))
    key_set = KeySet.from_document(doc)
    assert key_set.to_document() == doc
    assert len(key_set) == 3
    for key in keys:
        assert key.kid in key_set
        assert key_set.entry(key.kid).status == key.status
        assert key_set.entry(key.kid).compromised_after == (
            key.compromised_after.replace(microsecond=0) if key.compromised_after else None
        )
    assert [k.kid for k in key_set] == [e["kid"] for e in doc["keys"]]


def test_private_member_is_never_published() -> None:
    key = generate_private_key()
    jwk = {**public_jwk(key.public_key()), "d": "secret"}
    with pytest.raises(SigningKeyError, match="private"):
        PublishedKey(kid=kid_for(key), jwk=jwk, status="active", created_at=T0)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"status": "revoked"}, "status"),
        ({"status": "compromised"}, "compromised_after"),
        ({"status": "active", "compromised_after": T0}, "compromised_after"),
        ({"created_at": datetime(2024, 1, 1)}, "time-zone"),
        ({"body_code": ""}, "body"),
    ],
)
def test_published_key_validation(kw: dict[str, Any], match: str) -> None:
    key = generate_private_key()
    args: dict[str, Any] = {
        "kid": kid_for(key),
        "jwk": public_jwk(key.public_key()),
        "status": "active",
        "created_at": T0,
    }
    with pytest.raises(SigningKeyError, match=match):
        PublishedKey(**{**args, **kw})


def test_published_key_with_lying_kid() -> None:
    key, other = generate_private_key(), generate_private_key()
    with pytest.raises(SigningKeyError, match="thumbprint"):
        PublishedKey(
            kid=kid_for(other), jwk=public_jwk(key.public_key()), status="active", created_at=T0
        )


def test_duplicate_kid_refused() -> None:
    key = published()
    with pytest.raises(SigningKeyError, match="twice"):
        jwks_document([key, key])
    doc = jwks_document([key])
    doc["keys"].append(doc["keys"][0])
    with pytest.raises(SigningKeyError, match="twice"):
        KeySet.from_document(doc)


def _doc() -> dict[str, Any]:
    return jwks_document([published(), published("retired")])


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d["keys"][0].update(kid=d["keys"][1]["kid"]), "thumbprint"),
        (lambda d: d["keys"][0].update(x=d["keys"][1]["x"]), "thumbprint"),
        (lambda d: d["keys"][0].update(d="AAAA"), "private"),
        (lambda d: d["keys"][0].update(crv="Ed448"), "Ed25519"),
        (lambda d: d["keys"][0].update(kty="EC"), "OKP"),
        (lambda d: d["keys"][0].update(alg="ES256"), "alg"),
        (lambda d: d["keys"][0].update(use="enc"), "use"),
        (lambda d: d["keys"][0].pop("kid"), "kid"),
        (lambda d: d["keys"][0].pop("status"), "status"),
        (lambda d: d["keys"][0].update(status="valid"), "status"),
        (lambda d: d["keys"][0].update(created_at="2024-01-01"), "created_at"),
        (lambda d: d["keys"][0].update(created_at="2024-01-01T00:00:00"), "created_at"),
        (
            lambda d: d["keys"][0].update(compromised_after="2024-02-30T00:00:00Z"),
            "compromised_after",
        ),
        (lambda d: d["keys"][0].update(compromised_after="2024-02-01T00:00:00Z"), "compromised"),
        (lambda d: d["keys"].append("key"), "object"),
        (lambda d: d.update(keys={}), "'keys' array"),
        (lambda d: d.pop("keys"), "'keys' array"),
    ],
)
def test_from_document_refuses_whole_set(mutate: Any, match: str) -> None:
    doc = _doc()
    mutate(doc)
    with pytest.raises(SigningKeyError, match=match) as info:
        KeySet.from_document(doc)
    assert "refusing the JWKS" in info.value.message or "'keys' array" in info.value.message


def test_extra_members_ignored() -> None:
    doc = _doc()
    doc["keys"][0]["x5t"] = "whatever"
    doc["other"] = 1
    assert len(KeySet.from_document(doc)) == 2


def test_public_key_and_unknown_kid() -> None:
    key = generate_private_key()
    entry = PublishedKey(
        kid=kid_for(key), jwk=public_jwk(key.public_key()), status="retired", created_at=T0
    )
    key_set = KeySet([entry])
    token = sign_compact(b"{}", key, entry.kid)
    assert verify_compact(token, key_set.public_key).kid == entry.kid
    stranger = kid_for(generate_private_key())
    assert stranger not in key_set
    assert 5 not in key_set
    with pytest.raises(UnknownKey, match=r"jwks\.json"):
        key_set.public_key(stranger)
    with pytest.raises(UnknownKey):
        key_set.entry(stranger)


def test_from_file(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(_doc()))
    assert len(KeySet.from_file(path)) == 2
    with pytest.raises(SigningKeyError, match="cannot read"):
        KeySet.from_file(tmp_path / "missing.json")
    path.write_text('{"keys": [], "keys": []}')
    with pytest.raises(SigningKeyError, match=str(path)):
        KeySet.from_file(path)
    path.write_text("not json")
    with pytest.raises(SigningKeyError, match="not valid JSON"):
        KeySet.from_file(path)


def test_rfc3339() -> None:
    assert (
        format_rfc3339(datetime(2025, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)) == "2025-01-02T03:04:05Z"
    )
    assert parse_rfc3339("2025-01-02T11:04:05.123456789+08:00", what="t") == datetime(
        2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="time zone"):
        format_rfc3339(datetime(2025, 1, 1))
