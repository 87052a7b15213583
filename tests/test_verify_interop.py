"""Independent JOSE libraries verify what the verify surfaces verify, with the served JWKS.

The QR token of an issued certificate is checked by joserfc and PyJWT against
``/.well-known/jwks.json`` as any outside verifier would fetch it; both reach the same
verdicts as certsvc on the verification vectors (genuine, tampered, alg none, HS256 with the
public key, unknown key).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from flask.testing import FlaskClient
from joserfc import jws as jose_jws
from joserfc.jwk import KeySet as JoseKeySet

from certsvc import create_app
from certsvc.runtime import Runtime
from certsvc.signing.jwks import KeySet
from certsvc.verify import verify_offline
from tests.conftest import issue, row

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
VECTORS = Path(__file__).parent / "assets" / "jose"


def joserfc_verifies(token: str, jwks: dict[str, Any]) -> bool:
    try:
        jose_jws.deserialize_compact(token, JoseKeySet.import_key_set(jwks), algorithms=["EdDSA"])
    except Exception:
        return False
    return True


def pyjwt_verifies(token: str, jwks: dict[str, Any]) -> bool:
    try:
        kid = pyjwt.get_unverified_header(token)["kid"]
        key = pyjwt.PyJWKSet.from_dict(jwks)[kid].key
        pyjwt.api_jws.decode_complete(token, key, algorithms=["EdDSA"])
    except Exception:
        return False
    return True


def test_issued_token_verifies_with_the_served_jwks(runtime: Runtime, body: str) -> None:
    issued = issue(runtime, [row(1, name="欧阳晓明")]).certificates[0]
    client: FlaskClient = create_app(runtime=runtime).test_client()
    jwks = client.get("/.well-known/jwks.json").json
    assert jwks is not None
    obj = jose_jws.deserialize_compact(
        issued.token,
        JoseKeySet.import_key_set(jwks),
        algorithms=["EdDSA"],
    )
    payload = obj.payload.decode().split("|")
    assert payload[1:3] == [issued.number, "欧阳晓明"]
    assert pyjwt_verifies(issued.token, jwks)
    api = client.post("/api/v1/verify", json={"token": issued.token}).json
    assert (
        api is not None and api["status"] == "valid" and api["signed"]["holder_name"] == "欧阳晓明"
    )


@pytest.mark.parametrize(
    "name",
    [
        "good.jws",
        "good_retired_key.jws",
        "tampered_name.jws",
        "tampered_signature.jws",
        "alg_none.jws",
        "alg_hs256_raw_public_key.jws",
        "alg_hs256_pem_public_key.jws",
        "alg_hs256_jwk_public_key.jws",
        "unknown_key.jws",
    ],
)
def test_independent_libraries_agree_on_the_signature(name: str) -> None:
    jwks = json.loads((VECTORS / "jwks.json").read_text("utf-8"))
    token = (VECTORS / "verify" / name).read_text("ascii").strip()
    ours = verify_offline(token, KeySet.from_document(jwks))
    signature_ok = ours.status == "valid"
    assert joserfc_verifies(token, jwks) is signature_ok
    assert pyjwt_verifies(token, jwks) is signature_ok
