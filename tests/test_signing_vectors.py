"""The shared vectors in tests/assets/jose/: current, and each gives its stated result."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from certsvc.errors import SignatureError, SigningKeyError
from certsvc.signing.jwks import KeySet
from certsvc.signing.jws import verify_compact
from certsvc.signing.vc import verify_credential

ASSETS = Path(__file__).parent / "assets" / "jose"
MANIFEST: list[dict[str, str]] = json.loads((ASSETS / "vectors.json").read_text("utf-8"))


def _make_vectors() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_vectors", ASSETS / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vectors_are_current() -> None:
    """The files equal a fresh run of make_vectors.py (re-run it after changing it)."""
    built: dict[str, bytes] = _make_vectors().build_vectors()
    on_disk = {p.name for p in ASSETS.iterdir() if p.suffix in {".jws", ".jwt", ".json"}}
    assert on_disk == set(built)
    for name, content in built.items():
        assert (ASSETS / name).read_bytes() == content, f"{name} is stale: run make_vectors.py"


def _result(kind: str, token: str, key_set: KeySet) -> str:
    try:
        if kind == "vc":
            verify_credential(token, key_set.public_key)
        else:
            verify_compact(token, key_set.public_key)
    except SignatureError as exc:
        return exc.code
    return "valid"


@pytest.mark.parametrize(
    "vector", [v for v in MANIFEST if v["kind"] != "jwks"], ids=lambda v: v["file"]
)
def test_token_vector(vector: dict[str, str]) -> None:
    key_set = KeySet.from_file(ASSETS / "jwks.json")
    token = (ASSETS / vector["file"]).read_text("ascii").removesuffix("\n")
    assert _result(vector["kind"], token, key_set) == vector["expect"], vector["note"]


@pytest.mark.parametrize(
    "vector", [v for v in MANIFEST if v["kind"] == "jwks"], ids=lambda v: v["file"]
)
def test_jwks_vector(vector: dict[str, str]) -> None:
    path = ASSETS / vector["file"]
    if vector["expect"] == "valid":
        assert len(KeySet.from_file(path)) == 3
    else:
        with pytest.raises(SigningKeyError, match="refusing the JWKS"):
            KeySet.from_file(path)


def test_compromised_vector_carries_its_cut_off() -> None:
    key_set = KeySet.from_file(ASSETS / "jwks.json")
    token = (ASSETS / "compromised_key.jws").read_text("ascii").strip()
    entry = key_set.entry(verify_compact(token, key_set.public_key).kid)
    assert entry.status == "compromised"
    assert entry.compromised_after is not None
    assert entry.compromised_after.isoformat() == "2025-03-01T00:00:00+00:00"


def test_vc_vector_payload() -> None:
    key_set = KeySet.from_file(ASSETS / "jwks.json")
    token = (ASSETS / "good_vc.jwt").read_text("ascii").strip()
    credential: dict[str, Any]
    credential, verified = verify_credential(token, key_set.public_key)
    assert credential["credentialSubject"]["name"] == "张三"
    assert key_set.entry(verified.kid).status == "active"
