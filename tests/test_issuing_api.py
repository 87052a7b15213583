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

from certsvc import create_app
from certsvc.accounts.tokens import create_token
from certsvc.errors import BodySuspended
from certsvc.models import AuditEntry, Batch, Certificate, Event
from certsvc.runtime import Runtime
from tests.conftest import BODY_CODE, other_body, person_id, row

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


def test_pdf_download_marks_revoked_and_superseded_certificates(
    runtime: Runtime, api: Api, app: Flask
) -> None:
    import pypdfium2

    issued = api.post("/api/v1/batches", {"rows": [row(1), row(2), row(3)]}, key="p").json
    valid, revoked, corrected = (c["number"] for c in issued["certificates"])
    api.post(f"/api/v1/certificates/{revoked}/revoke", {"reason": "材料不实，撤销"})
    fixed = api.post(f"/api/v1/certificates/{corrected}/reissue", {"changes": {"name": "张三丰"}})
    successor = fixed.json["certificate"]["number"]

    def text(number: str) -> str:
        response = api.get(f"/api/v1/certificates/{number}/pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Cache-Control"] == "no-store"
        doc = pypdfium2.PdfDocument(response.data)
        found = str(doc[0].get_textpage().get_text_bounded())
        doc.close()
        return found

    plain = text(valid)
    assert person_id(1) in plain and "REVOKED" not in plain and "SUPERSEDED" not in plain
    assert "已撤销 REVOKED" in text(revoked) and "材料不实，撤销" in text(revoked)
    superseded = text(corrected)
    assert "已更正 SUPERSEDED" in superseded and successor in superseded
    other = Api(app.test_client(), token(runtime, "issuer", other_body(runtime)))
    assert other.get(f"/api/v1/certificates/{valid}/pdf").status_code == 404
    with runtime.db.session() as session:
        assert "certificate.pdf" in set(session.scalars(select(AuditEntry.action)))


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


def test_the_openapi_document_describes_the_issuing_api_whole(runtime: Runtime) -> None:
    document = create_app(runtime=runtime).test_client().get("/api/v1/openapi.json").json
    assert document is not None
    paths = {p: item for p, item in document["paths"].items() if "issuingToken" in json.dumps(item)}
    schemas = document["components"]["schemas"]
    assert set(paths) == {
        "/api/v1/batches",
        "/api/v1/batches/{batch_id}",
        "/api/v1/certificates/{number}",
        "/api/v1/certificates/{number}/pdf",
        "/api/v1/certificates/{number}/revoke",
        "/api/v1/certificates/{number}/reissue",
        # long work as jobs, with the same token (certsvc.web.jobs_api)
        "/api/v1/batches/{batch_id}/zip",
        "/api/v1/batches/{batch_id}/print",
        "/api/v1/jobs/{job_id}",
        "/api/v1/jobs/{job_id}/result",
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
    assert "issuingToken" in document["components"]["securitySchemes"]
    rows = schemas["IssuingBatchRequest"]["properties"]["rows"]
    assert rows["maxItems"] == runtime.settings.max_batch_rows


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


def test_a_suspended_bodys_token_may_revoke_and_read_but_not_issue(
    runtime: Runtime, api: Api
) -> None:
    """Issue #13: what suspension means for API tokens (README "Security")."""
    from certsvc.bodies import bodies

    issued = api.post("/api/v1/batches", {"rows": [row(1), row(2)]}, key="before")
    first, second = (c["number"] for c in issued.json["certificates"])
    with runtime.db.transaction() as session:
        bodies.set_status(session, bodies.get_body(session, BODY_CODE), "suspended")
    refused = api.post("/api/v1/batches", {"rows": [row(3)]}, key="during")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "body_suspended"
    fix = api.post(f"/api/v1/certificates/{first}/reissue", {"changes": {"name": "张三丰"}}, "r")
    assert fix.status_code == 409 and fix.json["error"]["code"] == "body_suspended"
    assert api.get(f"/api/v1/certificates/{first}").status_code == 200
    revoked = api.post(f"/api/v1/certificates/{second}/revoke", {"reason": "材料不实，撤销"})
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    assert certificates(runtime) == 2
    with runtime.db.transaction() as session, pytest.raises(BodySuspended):
        create_token(session, "issuer", "new one", BODY_CODE)


# --- refused requests are audited ------------------------------------------------------------


def refusals(runtime: Runtime) -> list[AuditEntry]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.outcome.in_(["denied", "refused"]))
                .order_by(AuditEntry.id)
            )
        )


def test_refused_token_requests_are_audited_with_the_token_as_actor(
    runtime: Runtime, body: str, app: Flask
) -> None:
    from certsvc.accounts.tokens import revoke_token

    client = app.test_client()
    viewer, revoked, platform = token(runtime, "viewer"), token(runtime, "issuer"), None
    with runtime.db.transaction() as session:
        platform = create_token(session, "issuer", "test platform issuer").secret
        revoke_token(session, revoked[:12])
    as_viewer = Api(client, viewer)
    assert as_viewer.post("/api/v1/batches", {"rows": [row(1)]}, key="v").status_code == 403
    assert as_viewer.get("/api/v1/registry/changes").status_code == 403
    assert Api(client, revoked).get("/api/v1/batches/x").status_code == 401
    assert Api(client, platform).get("/api/v1/certificates/x").status_code == 403
    found = refusals(runtime)
    assert [(e.action, e.outcome, e.target) for e in found] == [
        ("denied", "denied", "/api/v1/batches"),
        ("denied", "denied", "/api/v1/registry/changes"),
        ("token.refused", "refused", "/api/v1/batches/x"),
        ("denied", "denied", "/api/v1/certificates/x"),
    ]
    names = [e.actor for e in found]
    assert all(n.startswith("token cst_") for n in names)
    assert "test viewer" in names[0] and "test platform issuer" in names[3]
    assert all(e.token_id is not None for e in found)
    assert found[2].detail["reason"] == "revoked"
    assert found[0].body_id is not None and found[3].body_id is None
    text = json.dumps([(e.actor, e.target, e.detail) for e in found])
    for secret in (viewer, revoked, platform):
        assert secret not in text and secret[12:] not in text


def test_refusals_without_a_known_token_are_audited_within_bounds(
    runtime: Runtime, body: str, app: Flask
) -> None:
    from certsvc.web.refusals import AUDITED_IN_ALL, AUDITED_PER_CLIENT

    client = app.test_client()
    bogus = {"Authorization": "Bearer cst_" + "x" * 43}
    for n in range(30):  # one client: each of the first few, then the 10th
        headers = bogus if n % 2 else {}
        assert client.get("/api/v1/batches/x", headers=headers).status_code == 401
    found = refusals(runtime)
    assert [e.detail["count"] for e in found] == [*range(1, AUDITED_PER_CLIENT + 1), 10]
    assert {e.actor for e in found} == {"anonymous"} and found[0].ip == "127.0.0.1"
    assert [e.detail["reason"] for e in found[:2]] == ["missing", "unknown"]
    for n in range(AUDITED_IN_ALL + 50):  # many clients: at most AUDITED_IN_ALL a minute
        address = f"2001:db8:{n:x}::1"
        answer = client.get("/api/v1/registry/stats", environ_base={"REMOTE_ADDR": address})
        assert answer.status_code == 401
    assert len(refusals(runtime)) == AUDITED_IN_ALL


def test_asking_for_another_bodys_certificate_is_audited(
    runtime: Runtime, api: Api, app: Flask
) -> None:
    number = api.post("/api/v1/batches", {"rows": [row(1)]}, key="mine").json["certificates"][0][
        "number"
    ]
    stranger = Api(app.test_client(), token(runtime, "issuer", other_body(runtime)))
    url = f"/api/v1/certificates/{number}"
    assert stranger.get(url).status_code == 404
    assert stranger.post(f"{url}/revoke", {"reason": "不是我们的证书"}).status_code == 404
    assert stranger.post(f"{url}/reissue", {"changes": {"name": "李四"}}).status_code == 404
    with runtime.db.session() as session:
        found = session.execute(
            select(AuditEntry.action, AuditEntry.outcome, AuditEntry.detail)
            .where(AuditEntry.target == number, AuditEntry.actor.contains("test issuer"))
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(f) for f in found][-3:] == [
        ("certificate.view", "failed", {"error": "not_found"}),
        ("certificate.revoke", "failed", {"error": "not_found"}),
        ("certificate.correct", "failed", {"error": "not_found"}),
    ]
