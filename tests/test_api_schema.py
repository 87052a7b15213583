"""Schemathesis against /api/v1/openapi.json: generated requests, bounded, no failures.

Every operation gets positive (schema-valid) and negative (schema-violating) requests; each
response is checked by schemathesis' default checks: no server error, a documented status,
content type and body conforming to the document. Runs on SQLite only (the API code is the
same on both backends) with real certificates on record and rate limits lifted.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from certsvc import create_app
from certsvc.issuance.service import revoke
from certsvc.runtime import Runtime
from tests.conftest import issue, person_id, row

EXAMPLES = 40  # per operation and generation mode: about ten seconds in all


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    "mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)
def test_api_conforms_to_its_openapi_document(
    runtime: Runtime, body: str, mode: schemathesis.GenerationMode
) -> None:
    issued = issue(runtime, [row(1, name="张三"), row(2, name="李四")]).certificates
    revoke(runtime, issued[1].number, "考核记录不实")
    app = create_app(runtime=runtime)
    for key in ("VERIFY", "LOOKUP", "LOOKUP_ID"):
        app.config[f"CERTSVC_RATELIMIT_{key}"] = "1000000 per minute"
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/verify",
        "/lookup/by-number",
        "/lookup/by-id",
        "/transparency/inclusion",
        "/transparency/consistency",
        "/transparency/certificates/{number}",
    }
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            # A schema cannot say "a valid ID check character" or "a real certificate
            # number shape", so schema-valid values may rightly get 422 (documented); the
            # 422 rules are tested in test_api.py. Every other default check applies.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        run()

    # Real certificates too, so valid and revoked results are checked against the document.
    by_path = {op.path: op for op in operations}
    for case in (
        by_path["/verify"].Case(body={"token": issued[0].token}),
        by_path["/verify"].Case(body={"token": issued[1].token}),
        by_path["/lookup/by-number"].Case(body={"number": issued[0].number, "name": "张三"}),
        by_path["/lookup/by-id"].Case(body={"id_number": person_id(2), "name": "李四"}),
    ):
        response = case.call_and_validate()
        assert response.status_code == 200
        data = response.json()
        assert data.get("status") in {"valid", "revoked"} or data.get("count") == 1
    bundle = by_path["/transparency/certificates/{number}"].Case(
        path_parameters={"number": issued[0].number}
    )
    answer = bundle.call_and_validate()
    assert answer.status_code == 200 and answer.json()["verified"] is True
    size = answer.json()["tree_size"]
    for case in (
        by_path["/transparency/inclusion"].Case(query={"seq": 1, "tree_size": size}),
        by_path["/transparency/consistency"].Case(query={"old": 1, "new": size}),
    ):
        assert case.call_and_validate().status_code == 200
