"""Schemathesis against /api/v1/openapi.json: every public route, every check, no failures.

Every operation gets positive (schema-valid) and negative (schema-violating) requests, and
each response goes through every check schemathesis has — among them: no server error, a
documented status, content type and body conforming to the document, schema-violating data
refused (``negative_data_rejection``: the server is as strict as the document) and
schema-valid data accepted (``positive_data_acceptance``: the document is as strict as the
server), 405 with ``Allow`` for other methods. Runs on SQLite only (the API code is the same on
both backends) with real certificates and tokens on record and rate limits lifted.

``positive_data_acceptance`` allows 422 only where the server checks what a JSON Schema cannot
say, each named in :data:`SEMANTIC_422`; 400 is never allowed for schema-valid data.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation

from certsvc import create_app
from certsvc.accounts.tokens import create_token
from certsvc.issuance.service import BatchResult, content_hash, issue_batch, revoke
from certsvc.runtime import Runtime
from certsvc.web.openapi import NOT_API
from tests.conftest import BODY_CODE, person_id, row

EXAMPLES = 25  # per operation and generation mode

#: Operations whose schema-valid requests the server may refuse with 422, and why.
SEMANTIC_422 = {
    "/api/v1/lookup/by-number": "a holder name that is blank once normalised (NFKC)",
    "/api/v1/lookup/by-id": "an ID number's check character",
    "/lookup/number": "the form's number or name, as in the API",
    "/lookup/id": "the form's ID number check character",
    "/api/v1/batches": "row content: check digits, the body's scope, members, duplicates",
    "/api/v1/certificates/{number}/revoke": "control characters in the reason",
    "/api/v1/certificates/{number}/reissue": "the corrected row's content",
    "/api/v1/transparency/inclusion": "sizes beyond the log",
    "/api/v1/transparency/consistency": "sizes beyond the log",
}
#: The one answer to schema-valid data that is a 400: the page behind a QR code reports a
#: token that does not decode (status ``malformed``, as POST /api/v1/verify does with 200)
#: with 400, and whether a well-shaped token decodes is not a JSON Schema rule.
SEMANTIC_400 = {"/v/{token}": "a token of the right shape whose parts do not decode"}
#: Rows per batch in this test's service (the document's maxItems follows the setting):
#: small, so that generated batches stay quick.
MAX_BATCH_ROWS = 3


def _issue(runtime: Runtime, rows: list[dict[str, str]]) -> BatchResult:
    numbered = list(enumerate(rows, start=2))
    return issue_batch(
        runtime, BODY_CODE, numbered, source="api", content_sha256=content_hash(numbered)
    )


def _config() -> SchemathesisConfig:
    accepted = ["2xx", "401", "403", "404", "409", "429"]
    return SchemathesisConfig.from_dict(
        {
            # Query strings and headers may carry parameters the server ignores (a cache
            # buster, a proxy's headers); bodies may not (additionalProperties: false).
            "generation": {"allow-extra-parameters": False},
            "checks": {"positive_data_acceptance": {"expected-statuses": accepted}},
            "operations": [
                {
                    "include-path": path,
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": [*accepted, "422"]}
                    },
                }
                for path in SEMANTIC_422
            ]
            + [
                {
                    "include-path": path,
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": [*accepted, "400"]}
                    },
                }
                for path in SEMANTIC_400
            ],
        }
    )


def _app(runtime: Runtime) -> Flask:
    settings = runtime.settings.with_overrides(max_batch_rows=MAX_BATCH_ROWS)
    app = create_app(runtime=Runtime(settings=settings, db=runtime.db))
    for key in ("VERIFY", "LOOKUP", "LOOKUP_ID"):
        app.config[f"CERTSVC_RATELIMIT_{key}"] = "1000000 per minute"
    return app


def _exercise(operation: Any, mode: schemathesis.GenerationMode, token: str | None) -> None:
    """Generated requests for ``operation``, each checked by every check (with ``token``
    as the bearer token)."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        # Sent as the caller's own credentials, so the auth checks also send the request
        # without them, and with invalid ones, and expect 401 — except where the generated
        # headers are the thing made invalid (a missing Authorization among them).
        mine = token and not (case.meta and case.meta.is_negative_at(ParameterLocation.HEADER))
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"} if mine else None)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    "mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)
def test_every_public_route_conforms_to_the_openapi_document(
    runtime: Runtime, body: str, mode: schemathesis.GenerationMode
) -> None:
    issued = _issue(runtime, [row(1, name="张三"), row(2, name="李四")]).certificates
    revoke(runtime, issued[1].number, "考核记录不实")
    with runtime.db.transaction() as session:
        tokens = {
            "issuingToken": create_token(session, "issuer", "schema", BODY_CODE).secret,
            "registryToken": create_token(session, "registry", "schema").secret,
        }
    app = _app(runtime)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=_config())
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = {
        (path, method) for path, item in schema.raw_schema["paths"].items() for method in item
    }
    public = [r for r in app.url_map.iter_rules() if not r.rule.startswith(NOT_API)]
    assert len(documented) == sum(len(r.methods - {"HEAD", "OPTIONS"}) for r in public)
    assert {path for path, _ in documented} >= {
        "/.well-known/jwks.json",
        "/.well-known/transparency.json",
        "/transparency/checkpoint",
        "/v/{token}",
        "/api/v1/openapi.json",
        "/api/v1/verify",
        "/api/v1/batches",
        "/api/v1/registry/changes",
        "/api/v1/transparency/certificates/{number}",
    }
    # schemathesis leaves out the document's own path; every other operation is exercised.
    assert {(op.path, op.method.lower()) for op in operations} == documented - {
        ("/api/v1/openapi.json", "get")
    }
    failures = []
    for operation in operations:
        scheme = next(iter(operation.definition.raw.get("security", [{}])[0]), None)
        try:
            _exercise(operation, mode, tokens.get(scheme) if scheme else None)
        except Unsatisfiable:
            # Nothing to violate: no body and no parameter a value could break (a free-text
            # ?lang= at most). Only negative mode can come up empty.
            assert mode == schemathesis.GenerationMode.NEGATIVE, operation.path
        except Exception as exc:  # collected, so one run reports every operation at fault
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)

    # Real certificates too, so valid and revoked results are checked against the document.
    by_path = {(op.path, op.method.upper()): op for op in operations}

    def call(path: str, method: str = "GET", **parts: Any) -> Any:
        return by_path[(path, method)].Case(**parts).call_and_validate()

    for answer in (
        call("/api/v1/verify", "POST", body={"token": issued[0].token}),
        call("/api/v1/verify", "POST", body={"token": issued[1].token}),
        call("/api/v1/lookup/by-number", "POST", body={"number": issued[0].number, "name": "张三"}),
        call("/api/v1/lookup/by-id", "POST", body={"id_number": person_id(2), "name": "李四"}),
    ):
        assert answer.status_code == 200
        data = answer.json()
        assert data.get("status") in {"valid", "revoked"} or data.get("count") == 1
    assert call("/v/{token}", path_parameters={"token": issued[0].token}).status_code == 200
    bundle = call(
        "/api/v1/transparency/certificates/{number}", path_parameters={"number": issued[0].number}
    )
    assert bundle.status_code == 200 and bundle.json()["verified"] is True
    size = bundle.json()["tree_size"]
    assert (
        call("/api/v1/transparency/inclusion", query={"seq": 1, "tree_size": size}).status_code
        == 200
    )
    assert (
        call("/api/v1/transparency/consistency", query={"old": 1, "new": size}).status_code == 200
    )
    assert call("/transparency/checkpoint").text.startswith("cert.example.cn/log\n")
    for path in ("/.well-known/jwks.json", "/.well-known/transparency.json", "/healthz"):
        assert call(path).status_code == 200
    auth = {"Authorization": f"Bearer {tokens['issuingToken']}"}
    mine = call(
        "/api/v1/certificates/{number}", path_parameters={"number": issued[0].number}, headers=auth
    )
    assert mine.status_code == 200 and mine.json()["history"]
    registry = {"Authorization": f"Bearer {tokens['registryToken']}"}
    assert call("/api/v1/registry/changes", headers=registry).json()["count"] >= 3
    assert call("/api/v1/registry/stats", headers=registry).status_code == 200
