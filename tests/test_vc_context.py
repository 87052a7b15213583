"""Every credential the feed hands out means something to a JSON-LD processor: no term dropped.

pyld expands each kind — a regular certificate, a direct certification, a correction (with
``supersedes``), a certificate with a holder photo (``relatedResource``), the signed revocation
and supersession statements, and the status list credential — with a document loader that
serves the W3C VC 2.0 context from tests/assets/jsonld/ and certsvc's own context from the app.
A term that expansion drops would silently vanish for every RDF/JSON-LD verifier. So expansion
runs with pyld's ``on_property_dropped`` hook (what jsonld.js's safe mode reports as an error)
and must drop nothing, each key of the credential must come back when the expanded form is
compacted again, and every type must expand to an absolute IRI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from pyld import jsonld

from certsvc import create_app
from certsvc.accounts.tokens import create_token
from certsvc.holders.photos import normalise_photo
from certsvc.issuance.service import revoke
from certsvc.runtime import Runtime
from certsvc.signing.b64 import b64url_decode
from tests.conftest import issue, issue_rows, photo_bytes, row

VC_V2 = "https://www.w3.org/ns/credentials/v2"
ASSETS = Path(__file__).parent / "assets" / "jsonld"
PUBLIC_URL = "https://cert.example.cn"
CONTEXT_URL = f"{PUBLIC_URL}/ns/skill-certificate/v1"


@pytest.fixture
def client(runtime: Runtime) -> FlaskClient:
    app = create_app(runtime=runtime)
    app.testing = True
    return app.test_client()


def loader_for(client: FlaskClient) -> Any:
    """A pyld document loader that never leaves the machine."""
    v2 = json.loads((ASSETS / "credentials-v2.jsonld").read_text("utf-8"))

    def load(url: str, options: Any = None) -> dict[str, Any]:
        if url == VC_V2:
            document = v2
        elif url == CONTEXT_URL:
            answer = client.get("/ns/skill-certificate/v1")
            assert answer.status_code == 200
            document = answer.get_json(force=True)
        else:
            raise AssertionError(f"the credential asked for an unexpected context {url}")
        return {"contextUrl": None, "documentUrl": url, "document": document}

    return load


def payload(token: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(b64url_decode(token.split(".")[1]))
    return result


def feed_credentials(runtime: Runtime, client: FlaskClient) -> dict[str, dict[str, Any]]:
    """One credential of each kind, as the registry feed (and the status list route) emit them."""
    issued = issue_rows(
        runtime,
        [
            row(1),
            row(
                2,
                level="技师",
                route="直接认定",
                direct_ground="师带徒绩效突出",
                direct_evidence="带徒十人，成效突出。" * 2,
            ),
        ],
    )
    old = issued.certificates[0].number
    issue_rows(runtime, [row(1, name="张三", corrects=old)])
    issue(runtime, [row(3)], photos={2: normalise_photo(photo_bytes())})
    revoke(runtime, issued.certificates[1].number, "考核材料不实")
    with runtime.db.transaction() as session:
        secret = create_token(session, "registry", "jsonld test", None).secret
    page = client.get(
        "/api/v1/registry/changes?after=0&limit=100",
        headers={"Authorization": f"Bearer {secret}"},
    ).get_json()
    kinds: dict[str, dict[str, Any]] = {}
    for event in page["events"]:
        if "record" not in event:
            continue
        credential = payload(event["record"])
        subject = credential["credentialSubject"]
        if event["kind"] == "issued":
            kind = (
                "photo"
                if "relatedResource" in credential
                else "correction"
                if "supersedes" in credential
                else "direct"
                if "directCertification" in subject
                else "regular"
            )
        else:
            kind = f"{event['kind']} statement"
        kinds[kind] = credential
    status_url = kinds["regular"]["credentialStatus"]["statusListCredential"]
    kinds["status list"] = payload(client.get(status_url.removeprefix(PUBLIC_URL)).text)
    return kinds


def key_paths(node: Any, prefix: str = "") -> Iterator[str]:
    """Every member name in a JSON document, as a path (``@context`` left out)."""
    if isinstance(node, list):
        for item in node:
            yield from key_paths(item, prefix)
    elif isinstance(node, dict):
        for name, value in node.items():
            if name == "@context":
                continue
            yield f"{prefix}/{name}"
            yield from key_paths(value, f"{prefix}/{name}")


def expanded_types(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from expanded_types(item)
    elif isinstance(node, dict):
        for name, value in node.items():
            if name == "@type" and not isinstance(value, str):
                yield from value
            elif name != "@value":
                yield from expanded_types(value)


def test_every_kind_of_credential_expands_without_dropping_a_term(
    runtime: Runtime, body: str, client: FlaskClient
) -> None:
    kinds = feed_credentials(runtime, client)
    assert set(kinds) == {
        "regular",
        "direct",
        "correction",
        "photo",
        "revoked statement",
        "superseded statement",
        "status list",
    }
    options = {"documentLoader": loader_for(client)}
    for kind, credential in kinds.items():
        if kind != "status list":  # a status list uses VC 2.0 terms only
            assert credential["@context"] == [VC_V2, CONTEXT_URL], kind
        dropped: list[str | None] = []
        expanded = jsonld.expand(credential, options, on_property_dropped=dropped.append)
        assert dropped == [], kind
        compacted = jsonld.compact(expanded, credential["@context"], options)
        assert sorted(set(key_paths(compacted))) == sorted(set(key_paths(credential))), kind
        types = list(expanded_types(expanded))
        assert types, kind
        for iri in types:
            assert iri.startswith(("https://", "http://")), (kind, iri)


def test_a_term_outside_the_context_is_caught(
    runtime: Runtime, body: str, client: FlaskClient
) -> None:
    """The check above can fail: an undefined member vanishes on expansion."""
    credential = feed_credentials(runtime, client)["regular"]
    credential["credentialSubject"]["undefinedTerm"] = "x"
    options = {"documentLoader": loader_for(client)}
    dropped: list[str | None] = []
    expanded = jsonld.expand(credential, options, on_property_dropped=dropped.append)
    assert dropped == ["undefinedTerm"]
    compacted = jsonld.compact(expanded, credential["@context"], options)
    assert "/credentialSubject/undefinedTerm" not in set(key_paths(compacted))


def test_the_context_maps_to_schema_org_and_is_cached_as_immutable(
    runtime: Runtime, client: FlaskClient
) -> None:
    answer = client.get("/ns/skill-certificate/v1")
    assert answer.mimetype == "application/ld+json"
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    context = answer.get_json(force=True)["@context"]
    assert context["@protected"] is True
    assert context["sc"] == f"{CONTEXT_URL}#"
    assert context["VocationalSkillLevelCertificate"] == "schema:EducationalOccupationalCredential"
    assert context["occupation"] == "schema:hasOccupation"
    assert client.head("/ns/skill-certificate/v1").status_code == 200
