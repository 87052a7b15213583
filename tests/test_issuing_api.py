"""The issuing API: batches with idempotency, per-row errors, revoke, reissue, history, fuzzing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from certsvc.accounts.tokens import create_token
from certsvc.models import AuditEntry, Batch, Certificate, Event
from certsvc.runtime import Runtime
from certsvc.web.issuing_api import openapi_paths, openapi_schemas, openapi_security_schemes
from tests.conftest import BODY_CODE, other_body, row

FIELDS = list(row(1))


class Api:
    """A client with one bearer token."""

    def __init__(self, client: FlaskClient, secret: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {secret}"}

    def post(self, url: str, payload: Any, key: str | None = None) -> Any:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(url, json=payload, headers=headers)

    def raw(self, url: str, data: bytes, key: str | None = "k") -> Any:
        headers = {**self.headers, "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        return self.client.post(url, data=data, headers=headers)

    def get(self, url: str) -> Any:
        return self.client.get(url, headers=self.headers)


def token(runtime: Runtime, role: str, body: str | None = BODY_CODE) -> str:
    with runtime.db.transaction() as session:
        return create_token(session, role, f"test {role}", body).secret


@pytest.fixture
def api(runtime: Runtime, body: str, app: Flask) -> Api:
    return Api(app.test_client(), token(runtime, "issuer"))


def certificates(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Certificate)) or 0)


def test_issue_a_batch_and_read_it_back(runtime: Runtime, api: Api) -> None:
    response = api.post("/api/v1/batches", {"rows": [row(1), row(2, name="李四")]}, key="b-1")
    assert response.status_code == 201, response.json
    data = response.json
    assert data["replayed"] is False and data["status"] == "issued"
    assert [c["index"] for c in data["certificates"]] == [0, 1]
    assert data["certificates"][1]["holder_name"] == "李四"
    assert data["certificates"][0]["verify_url"].startswith("https://cert.example.cn/v/")
    again = api.get(f"/api/v1/batches/{data['id']}")
    assert again.status_code == 200 and again.json["certificates"] == data["certificates"]
    assert again.headers["Cache-Control"] == "no-store"


def test_retries_with_the_same_key_never_issue_twice(runtime: Runtime, api: Api) -> None:
    rows = {"rows": [row(1), row(2)]}
    first = api.post("/api/v1/batches", rows, key="retry-me")
    second = api.post("/api/v1/batches", rows, key="retry-me")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["replayed"] is True and second.json["id"] == first.json["id"]
    assert certificates(runtime) == 2
    other = api.post("/api/v1/batches", {"rows": [row(3)]}, key="retry-me")
    assert other.status_code == 409 and other.json["error"]["code"] == "conflict"
    missing = api.post("/api/v1/batches", {"rows": [row(3)]})
    assert missing.status_code == 400 and "Idempotency-Key" in missing.json["error"]["message"]
    assert certificates(runtime) == 2


def test_row_errors_name_the_index_and_field_and_issue_nothing(runtime: Runtime, api: Api) -> None:
    rows = [
        row(1),
        row(2, id_number="110105194912310021"),
        {**row(3), "level": 4},
        {**row(4), "colour": "blue"},
        "not an object",
    ]
    response = api.post("/api/v1/batches", {"rows": rows}, key="bad")
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "batch_rejected"
    where = {(e["index"], e["field"]) for e in error["rows"]}
    assert {(1, "id_number"), (2, "level"), (3, "colour"), (4, None)} <= where
    assert 0 not in {e["index"] for e in error["rows"]}
    assert certificates(runtime) == 0
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Batch)) == 0


def test_control_characters_are_refused_with_the_character_named(
    runtime: Runtime, api: Api
) -> None:
    rows = [row(1, work_type="数控\u202e车工"), row(2, employer_name="示范\n公司")]
    response = api.post("/api/v1/batches", {"rows": rows}, key="ctl")
    assert response.status_code == 422
    found = {(e["index"], e["field"]): e["message"] for e in response.json["error"]["rows"]}
    assert set(found) == {(0, "work_type"), (1, "employer_name")}
    assert "U+202E" in found[(0, "work_type")] and "U+000A" in found[(1, "employer_name")]
    issued = api.post("/api/v1/batches", {"rows": [row(1, name="张三")]}, key="ok")
    number = issued.json["certificates"][0]["number"]
    reissue = api.post(
        f"/api/v1/certificates/{number}/reissue", {"changes": {"work_type": "车\u2066工"}}
    )
    assert reissue.status_code == 422 and "U+2066" in json.dumps(reissue.json)
    assert certificates(runtime) == 1


def test_revoke_reissue_and_history(runtime: Runtime, api: Api) -> None:
    issued = api.post("/api/v1/batches", {"rows": [row(1, name="张三"), row(2)]}, key="h")
    first, second = (c["number"] for c in issued.json["certificates"])
    no_reason = api.post(f"/api/v1/certificates/{second}/revoke", {"reason": ""})
    assert no_reason.status_code == 422
    revoked = api.post(f"/api/v1/certificates/{second}/revoke", {"reason": "材料不实，撤销"})
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    assert [h["kind"] for h in revoked.json["history"]] == ["issued", "revoked"]
    twice = api.post(f"/api/v1/certificates/{second}/revoke", {"reason": "材料不实，撤销"})
    assert twice.status_code == 409

    fixed = api.post(f"/api/v1/certificates/{first}/reissue", {"changes": {"name": "张三丰"}}, "r1")
    assert fixed.status_code == 201, fixed.json
    new = fixed.json["certificate"]
    assert new["holder_name"] == "张三丰" and new["supersedes"] == first
    assert new["id_number_masked"] == issued_masked(api, first)
    retry = api.post(f"/api/v1/certificates/{first}/reissue", {"changes": {"name": "张三丰"}}, "r1")
    assert retry.status_code == 200 and retry.json["certificate"]["number"] == new["number"]
    old = api.get(f"/api/v1/certificates/{first}").json
    assert old["status"] == "superseded" and old["superseded_by"] == new["number"]
    assert [(h["kind"], h["certificate"]) for h in old["history"]] == [
        ("issued", first),
        ("superseded", first),
        ("issued", new["number"]),
    ]
    bad = api.post(f"/api/v1/certificates/{new['number']}/reissue", {"changes": {"number": "x"}})
    assert bad.status_code == 422 and bad.json["error"]["rows"][0]["field"] == "number"
    with runtime.db.session() as session:
        kinds = session.scalars(select(Event.kind).order_by(Event.seq)).all()
        actions = set(session.scalars(select(AuditEntry.action)))
    assert kinds.count("superseded") == 1 and kinds.count("issued") == 3
    assert {"batch.issue", "certificate.revoke", "certificate.correct"} <= actions


def issued_masked(api: Api, number: str) -> str:
    return str(api.get(f"/api/v1/certificates/{number}").json["id_number_masked"])


def test_a_token_sees_only_its_own_body(runtime: Runtime, api: Api, app: Flask) -> None:
    other = other_body(runtime)
    theirs = Api(app.test_client(), token(runtime, "issuer", other))
    mine = api.post("/api/v1/batches", {"rows": [row(1)]}, key="x").json
    number = mine["certificates"][0]["number"]
    assert theirs.get(f"/api/v1/batches/{mine['id']}").status_code == 404
    assert theirs.get(f"/api/v1/certificates/{number}").status_code == 404
    assert (
        theirs.post(f"/api/v1/certificates/{number}/revoke", {"reason": "xxxxx"}).status_code == 404
    )
    unscoped = Api(app.test_client(), token(runtime, "issuer", None))
    assert unscoped.get(f"/api/v1/certificates/{number}").status_code == 403
    viewer = Api(app.test_client(), token(runtime, "viewer"))
    assert viewer.get(f"/api/v1/certificates/{number}").status_code == 200
    assert viewer.post("/api/v1/batches", {"rows": [row(2)]}, key="v").status_code == 403


def test_openapi_fragments_are_complete() -> None:
    paths = openapi_paths()
    schemas = openapi_schemas()
    assert set(paths) == {
        "/api/v1/batches",
        "/api/v1/batches/{batch_id}",
        "/api/v1/certificates/{number}",
        "/api/v1/certificates/{number}/revoke",
        "/api/v1/certificates/{number}/reissue",
    }
    refs = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"].rsplit("/", 1)[-1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(paths)
    walk(schemas)
    assert refs <= set(schemas)
    assert "issuingToken" in openapi_security_schemes()
    json.dumps([paths, schemas])  # plain JSON


# --- fuzzing --------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
cells = st.one_of(
    st.sampled_from(["", "四级", "9-99-99-99", "110105194912310021", "直接认定", "2099-01-01"]),
    st.text(max_size=40),
    st.integers(),
    st.none(),
)
rows_strategy = st.lists(
    st.dictionaries(st.sampled_from([*FIELDS, "extra"]), cells, max_size=14)
    | st.builds(
        lambda n, changes: {**row(n), **changes},
        st.integers(1, 30),
        st.dictionaries(st.sampled_from(FIELDS), cells, max_size=2),
    ),
    min_size=0,
    max_size=5,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=st.one_of(json_values, st.builds(lambda r: {"rows": r}, rows_strategy)))
def test_fuzzed_batches_give_clear_errors_and_never_half_issue(
    runtime: Runtime, api: Api, payload: Any
) -> None:
    before = certificates(runtime)
    response = api.post("/api/v1/batches", payload, key=f"fuzz-{hash(json.dumps(payload))}")
    assert response.status_code in (200, 201, 400, 409, 422), response.data
    after = certificates(runtime)
    if response.status_code == 201:
        assert after == before + len(payload["rows"])
    else:
        assert after == before
        if response.status_code != 200:
            error = response.json["error"]
            assert error["code"] and error["message"]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
    path=st.sampled_from(
        ["/api/v1/batches", "/api/v1/certificates/{n}/revoke", "/api/v1/certificates/{n}/reissue"]
    ),
)
def test_fuzzed_bodies_never_cause_a_server_error(
    runtime: Runtime, api: Api, data: bytes, path: str
) -> None:
    number = "Y000132010001264000001"
    response = api.raw(path.format(n=number), data)
    assert response.status_code in (400, 404, 409, 422), response.data
    assert response.json["error"]["code"]
    assert certificates(runtime) == 0


@pytest.mark.parametrize("depth", [1000, 100_000])
@pytest.mark.parametrize(
    "path",
    ["/api/v1/batches", "/api/v1/certificates/{n}/revoke", "/api/v1/certificates/{n}/reissue"],
)
def test_deeply_nested_json_is_a_bad_request(
    runtime: Runtime, api: Api, path: str, depth: int
) -> None:
    """Nesting beyond Python's recursion limit raised RecursionError, past get_json(silent)."""
    issued = api.post("/api/v1/batches", {"rows": [row(1)]}, key="nested").json
    number = issued["certificates"][0]["number"]
    for data in (b"[" * depth, b'{"rows":' * depth):
        response = api.raw(path.format(n=number), data, key=f"nested-{len(data)}")
        assert response.status_code == 400, response.data
        assert response.json["error"]["code"] == "invalid_request"
        assert "not JSON" in response.json["error"]["message"]
