"""What outside verifiers rely on: CORS and caching, three JOSE libraries, the status list checks.

* Cross-origin reads (``Access-Control-Allow-Origin: *``) with the right ``Cache-Control``,
  ``HEAD`` and preflights on the JWKS, the context, the status lists, the checkpoint and
  ``POST /api/v1/verify`` — and on nothing else that was not open before.
* Interop: every vc+jwt the registry feed hands out, and the status list credential, verify
  with joserfc (``algorithms=["EdDSA"]``), PyJWT and jwcrypto against the published JWKS.
* ``certsvc registry pull`` compares the mirror with the signed status lists;
  ``certsvc verify --jwks … --status-list`` reads a certificate's bit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt as pyjwt
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from joserfc import jws as jose_jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet as JoseKeySet
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws
from sqlalchemy import select, update

from certsvc import create_app
from certsvc.accounts.tokens import create_token
from certsvc.cli.main import cli
from certsvc.issuance.service import revoke
from certsvc.models import Certificate, StatusList
from certsvc.registry.mirror import Mirror
from certsvc.registry.pull import pull
from certsvc.registry.transport import FeedClient, HttpResponse, RetryPolicy
from certsvc.render.batch import certificate_face
from certsvc.runtime import Runtime
from tests.conftest import BODY_CODE, LiveService, issue_rows, row

BASE = "https://certsvc.test"


@pytest.fixture
def client(runtime: Runtime) -> FlaskClient:
    app = create_app(runtime=runtime)
    app.testing = True
    return app.test_client()


class AppTransport:
    """The registry client's HTTP over the Flask test client."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.paths: list[str] = []

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> HttpResponse:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.paths.append(parts.path)
        answer = self.client.get(path, headers=dict(headers))
        names = {k.lower(): v for k, v in answer.headers.items()}
        return HttpResponse(answer.status_code, names, answer.get_data())


def registry_secret(runtime: Runtime) -> str:
    with runtime.db.transaction() as session:
        return create_token(session, "registry", "vc test", None).secret


def feed_records(runtime: Runtime, client: FlaskClient) -> list[str]:
    page = client.get(
        "/api/v1/registry/changes?after=0&limit=100",
        headers={"Authorization": f"Bearer {registry_secret(runtime)}"},
    ).get_json()
    return [e["record"] for e in page["events"] if "record" in e]


# --- CORS, caching, HEAD ------------------------------------------------------------------------


def test_verifier_endpoints_answer_any_origin_with_the_right_caching(
    runtime: Runtime, body: str, client: FlaskClient
) -> None:
    issue_rows(runtime, [row(1)])
    expected = {
        "/.well-known/jwks.json": "public, max-age=300",
        "/ns/skill-certificate/v1": "public, max-age=31536000, immutable",
        f"/status/{BODY_CODE}/1": "public, max-age=300, must-revalidate",
        "/transparency/checkpoint": "public, max-age=10",
    }
    for path, cache in expected.items():
        get = client.get(path, headers={"Origin": "https://verifier.example"})
        assert get.status_code == 200, path
        assert get.headers["Access-Control-Allow-Origin"] == "*", path
        assert get.headers["Cache-Control"] == cache, path
        head = client.head(path)
        assert head.status_code == 200 and head.data == b"", path
        assert head.headers["Content-Length"] == get.headers["Content-Length"], path
        preflight = client.options(
            path,
            headers={
                "Origin": "https://verifier.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "if-none-match",
            },
        )
        assert preflight.status_code == 200, path
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert set(preflight.headers["Access-Control-Allow-Methods"].split(", ")) == {
            "GET",
            "HEAD",
            "OPTIONS",
        }
        assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]
    missing = client.get(f"/status/{BODY_CODE}/9")
    assert missing.status_code == 404
    assert missing.headers["Access-Control-Allow-Origin"] == "*"


def test_verify_api_allows_a_cross_origin_post_after_a_preflight(
    runtime: Runtime, body: str, client: FlaskClient
) -> None:
    token = issue_rows(runtime, [row(1)]).certificates[0].token
    preflight = client.options(
        "/api/v1/verify",
        headers={
            "Origin": "https://verifier.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    assert int(preflight.headers["Access-Control-Max-Age"]) > 0
    answer = client.post(
        "/api/v1/verify", json={"token": token}, headers={"Origin": "https://verifier.example"}
    )
    assert answer.get_json()["status"] == "valid"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Cache-Control"] == "no-store"


def test_other_endpoints_stay_same_origin(runtime: Runtime, body: str, client: FlaskClient) -> None:
    for path in ("/api/v1/lookup/by-number", "/api/v1/registry/changes", "/console/login"):
        answer = client.get(path, headers={"Origin": "https://verifier.example"})
        assert "Access-Control-Allow-Origin" not in answer.headers, path


# --- three JOSE libraries -----------------------------------------------------------------------


def test_every_feed_credential_verifies_with_three_jose_libraries(
    runtime: Runtime, body: str, client: FlaskClient
) -> None:
    issued = issue_rows(runtime, [row(1), row(2)])
    issue_rows(runtime, [row(1, corrects=issued.certificates[0].number)])
    revoke(runtime, issued.certificates[1].number, "考核材料不实")
    records = feed_records(runtime, client)
    records.append(client.get(f"/status/{BODY_CODE}/1").text)
    assert len(records) == 6  # 3 issued, 1 superseded, 1 revoked, the status list
    document = client.get("/.well-known/jwks.json").get_json(force=True)
    jose_keys = JoseKeySet.import_key_set(document)
    for record in records:
        header = json.loads(pyjwt.utils.base64url_decode(record.split(".")[0]))
        assert header["typ"] == "vc+jwt" and header["alg"] == "EdDSA"
        entry = next(k for k in document["keys"] if k["kid"] == header["kid"])

        jose = jose_jws.deserialize_compact(record, jose_keys, algorithms=["EdDSA"])
        expected = json.loads(jose.payload)

        # PyJWT: a vc+jwt has no exp/iat, so only the signature and alg are asked for.
        key = pyjwt.PyJWK(entry, algorithm="EdDSA")
        claims = pyjwt.decode(record, key.key, algorithms=["EdDSA"], options={"verify_aud": False})
        assert claims == expected

        verifier = jc_jws.JWS()
        verifier.deserialize(record)
        verifier.verify(jc_jwk.JWK(**entry), alg="EdDSA")
        assert json.loads(verifier.payload) == expected


def test_a_tampered_record_fails_all_three(
    runtime: Runtime, body: str, client: FlaskClient
) -> None:
    issue_rows(runtime, [row(1)])
    record = feed_records(runtime, client)[0]
    header, payload, signature = record.split(".")
    forged = f"{header}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    document = client.get("/.well-known/jwks.json").get_json(force=True)
    entry = document["keys"][0]
    with pytest.raises(BadSignatureError):
        jose_jws.deserialize_compact(
            forged, JoseKeySet.import_key_set(document), algorithms=["EdDSA"]
        )
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(forged, pyjwt.PyJWK(entry, algorithm="EdDSA").key, algorithms=["EdDSA"])
    verifier = jc_jws.JWS()
    verifier.deserialize(forged)
    with pytest.raises(jc_jws.InvalidJWSSignature):
        verifier.verify(jc_jwk.JWK(**entry), alg="EdDSA")


# --- the registry client checks the lists -------------------------------------------------------


def run_pull(runtime: Runtime, client: FlaskClient, path: Path) -> Any:
    transport = AppTransport(client)
    feed = FeedClient(
        BASE,
        registry_secret(runtime),
        transport=transport,
        policy=RetryPolicy(attempts=2, sleep=lambda _: None),
    )
    mirror = Mirror(str(path))
    try:
        return pull(feed, mirror), transport
    finally:
        mirror.dispose()


def test_the_registry_client_compares_the_mirror_with_the_lists(
    runtime: Runtime, body: str, client: FlaskClient, tmp_path: Path
) -> None:
    issued = issue_rows(runtime, [row(1), row(2), row(3)])
    revoke(runtime, issued.certificates[0].number, "考核材料不实")
    summary, transport = run_pull(runtime, client, tmp_path / "m.db")
    assert f"/status/{BODY_CODE}/1" in transport.paths
    assert (summary.status_lists, summary.status_checked) == (1, 3)
    assert summary.status_conflicts == [] and summary.status_pending == []
    assert any("status lists: 1 verified" in line for line in summary.lines())


def test_a_list_that_hides_a_revocation_fails_the_pull(
    runtime: Runtime,
    body: str,
    client: FlaskClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issued = issue_rows(runtime, [row(1), row(2)])
    revoked = issued.certificates[0].number
    revoke(runtime, revoked, "考核材料不实")
    with runtime.db.transaction() as session:  # the issuer re-signs a list without the bit
        session.execute(update(StatusList).values(bits=bytes(16_384), credential=None))
    import certsvc.registry.transport as transport_module

    monkeypatch.setattr(transport_module, "UrllibTransport", lambda: AppTransport(client))
    args = [
        "registry",
        "pull",
        "--url",
        BASE,
        "--token",
        registry_secret(runtime),
        "--db",
        str(tmp_path / "m.db"),
        "--quiet",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 65, result.output
    assert f"certificate {revoked} is revoked by a signed statement" in result.output
    assert "status_list_conflict" in result.output or "disagree" in result.output


def test_a_bit_set_before_the_feed_delivers_is_pending(
    runtime: Runtime, body: str, client: FlaskClient, tmp_path: Path
) -> None:
    issued = issue_rows(runtime, [row(1)])
    number = issued.certificates[0].number
    with runtime.db.transaction() as session:  # the bit is set, the event not yet read
        cert = session.scalar(select(Certificate).where(Certificate.number == number))
        assert cert is not None and cert.status_index is not None
        bits = bytearray(16_384)
        bits[cert.status_index // 8] |= 0x80 >> (cert.status_index % 8)
        session.execute(update(StatusList).values(bits=bytes(bits), credential=None))
    summary, _ = run_pull(runtime, client, tmp_path / "m.db")
    assert summary.status_conflicts == []
    assert len(summary.status_pending) == 1 and number in str(summary.status_pending[0])


# --- certsvc verify --status-list ---------------------------------------------------------------


def certificate_pdf(live: LiveService, number: str, tmp_path: Path) -> Path:
    render = pytest.importorskip("certsvc.render")
    with live.runtime.db.session() as session:
        face = certificate_face(session, number, live.url, live.runtime.vault)
    path = tmp_path / f"{number}.pdf"
    path.write_bytes(render.render_certificate(face))
    return path


def test_verify_reads_the_bit_from_the_list_the_record_names(
    live_service: LiveService, tmp_path: Path
) -> None:
    live = live_service
    issued = issue_rows(live.runtime, [row(1), row(2)])
    kept, revoked = (certificate_pdf(live, c.number, tmp_path) for c in issued.certificates)
    revoke(live.runtime, issued.certificates[1].number, "考核材料不实")
    jwks = f"{live.url}/.well-known/jwks.json"
    runner = CliRunner()

    plain = runner.invoke(cli, ["verify", str(revoked), "--jwks", jwks, "--json"])
    assert plain.exit_code == 0  # offline, genuine as signed; revocation not checked
    assert "revocation" in json.loads(plain.stdout)["not_checked"]

    ok = runner.invoke(cli, ["verify", str(kept), "--jwks", jwks, "--status-list", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["not_checked"] == []

    out = runner.invoke(cli, ["verify", str(revoked), "--jwks", jwks, "--status-list", "--json"])
    assert out.exit_code == 3, out.output
    result = json.loads(out.stdout)
    assert result["status"] == "revoked" and "status list" in result["message"]

    token_only = runner.invoke(
        cli, ["verify", issued.certificates[0].token, "--jwks", jwks, "--status-list"]
    )
    assert token_only.exit_code == 65 and "certificate PDF" in token_only.output
