"""Strict base64url: one spelling per byte string."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certsvc.errors import MalformedToken
from certsvc.signing.b64 import b64url_decode, b64url_encode

# RFC 4648 §10 test vectors, in the URL-safe alphabet and without padding.
RFC4648 = [
    (b"", ""),
    (b"f", "Zg"),
    (b"fo", "Zm8"),
    (b"foo", "Zm9v"),
    (b"foob", "Zm9vYg"),
    (b"fooba", "Zm9vYmE"),
    (b"foobar", "Zm9vYmFy"),
]


@pytest.mark.parametrize(("data", "text"), RFC4648)
def test_rfc4648_vectors(data: bytes, text: str) -> None:
    assert b64url_encode(data) == text
    assert b64url_decode(text) == data


def test_url_safe_alphabet() -> None:
    assert b64url_encode(b"\xfb\xff") == "-_8"
    assert b64url_decode("-_8") == b"\xfb\xff"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Zg==", "padded"),
        ("Zm8=", "padded"),
        ("Zg=", "padded"),
        ("+_8", "not base64url"),
        ("-/8", "not base64url"),
        ("Zm9v Yg", "not base64url"),
        ("Zm9v\nYg", "not base64url"),
        ("Zm9vYg\n", "not base64url"),
        ("Zm9v.", "not base64url"),
        ("Zm9vé", "not base64url"),
        ("Ｚm9v", "not base64url"),  # full-width Z
        ("Z", "length"),
        ("Zm9vY", "length"),
        ("Zh", "canonical"),  # 'f' is Zg; Zh sets an unused bit
        ("Zm9", "canonical"),  # 'fo' is Zm8
        ("Zm9vYh", "canonical"),
    ],
)
def test_rejects_non_canonical_or_foreign_text(text: str, reason: str) -> None:
    with pytest.raises(MalformedToken, match=reason):
        b64url_decode(text)


def test_rejects_bytes_input() -> None:
    with pytest.raises(MalformedToken):
        b64url_decode(b"Zm9v")  # type: ignore[arg-type]


@given(st.binary(max_size=200))
def test_round_trip(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text
    assert b64url_decode(text) == data
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ."))
def test_decode_accepts_exactly_the_canonical_spelling(text: str) -> None:
    """Whatever decodes must re-encode to the very same text: no two spellings verify."""
    try:
        data = b64url_decode(text)
    except MalformedToken:
        return
    assert b64url_encode(data) == text
