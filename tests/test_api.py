"""The public API /api/v1: results, JSON errors with the right status, rate limits."""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from certsvc import create_app
from certsvc.runtime import Runtime
from certsvc.signing.b64 import b64url_encode
from certsvc.web.limits import DEFAULT_LIMITS, ENDPOINT_SCOPES, RateLimits
from certsvc.web.openapi import openapi_document
from tests.conftest import issue, person_id, row

REDIS_URL = os.environ.get("CERTSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_verify_answers_200_with_the_result_for_every_status(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    token = issue(runtime, [row(1)]).certificates[0].token
    ok = client.post("/api/v1/verify", json={"token": token})
    assert ok.status_code == 200 and ok.headers["Cache-Control"] == "no-store"
    assert ok.json is not None
    assert ok.json["status"] == "valid" and ok.json["certificate"]["level_name"] == "四级/中级工"
    assert set(ok.json) >= {"status", "message", "checked_at", "kid", "certificate", "reason"}
    bad = client.post("/api/v1/verify", json={"token": token[:-3] + "AAA"})
    assert bad.status_code == 200 and bad.json is not None
    assert bad.json["status"] in {"invalid_signature", "malformed"}
    junk = client.post("/api/v1/verify", json={"token": "x.y.z"})
    assert junk.status_code == 200 and junk.json == {**junk.json, "status": "malformed"}


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        (None, b"not json"),
        (None, b"[1, 2]"),
        (None, b'"token"'),
        ({}, None),
        ({"token": 1}, None),
        ({"token": ""}, None),
        ({"token": None}, None),
        ({"token": "a.b.c", "extra": 1}, None),
        ({"token": "a" * 5000}, None),
        (None, b"\xff\xfe"),
    ],
)
def test_bad_requests_get_400_json_errors(
    client: FlaskClient, body: dict[str, Any] | None, raw: bytes | None
) -> None:
    if raw is not None:
        response = client.post(
            "/api/v1/verify", data=raw, headers={"Content-Type": "application/json"}
        )
    else:
        response = client.post("/api/v1/verify", json=body)
    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"]["code"] == "invalid_request"
    assert response.json["error"]["message"]


@pytest.mark.parametrize("depth", [1000, 100_000])
@pytest.mark.parametrize(
    "path", ["/api/v1/verify", "/api/v1/lookup/by-number", "/api/v1/lookup/by-id"]
)
def test_deeply_nested_json_is_a_bad_request(client: FlaskClient, path: str, depth: int) -> None:
    """Nesting beyond Python's recursion limit raised RecursionError, past get_json(silent)."""
    for data in (b"[" * depth, b'{"token":' * depth):
        response = client.post(path, data=data, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and response.json is not None
        assert response.json["error"]["code"] == "invalid_request"
        assert "not JSON" in response.json["error"]["message"]


def _token_with_kid(kid: str) -> str:
    header = json.dumps({"alg": "EdDSA", "kid": kid}).encode()  # ASCII: escapes \u0000, \udfff
    return ".".join(b64url_encode(part) for part in (header, b"2|x|y|z|20260101", b"\0" * 64))


@pytest.mark.parametrize(
    "kid",
    [
        "a\u0000",  # PostgreSQL refuses NUL in text: was a DataError, HTTP 500
        "\udfff",  # no UTF-8 form: was a UnicodeEncodeError on both backends, HTTP 500
        "k" * 42,
        "k" * 44,
        "A" * 42 + "B",  # 43 characters, but not canonical base64url of 32 bytes
    ],
)
def test_a_kid_that_is_no_key_id_is_malformed(client: FlaskClient, kid: str) -> None:
    token = _token_with_kid(kid)
    api = client.post("/api/v1/verify", json={"token": token})
    assert api.status_code == 200 and api.json is not None
    assert api.json["status"] == "malformed" and "key id" in api.json["message"]
    page = client.get(f"/v/{token}")
    assert page.status_code == 400 and "无法识别的二维码" in page.get_data(as_text=True)
    # A kid of the right form that is not ours is an unknown key, as before.
    other = client.post("/api/v1/verify", json={"token": _token_with_kid("A" * 43)})
    assert other.json is not None and other.json["status"] == "unknown_key"


def test_unknown_routes_and_methods_are_json_errors(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json is not None
    assert missing.json["error"]["code"] == "not_found"
    wrong = client.get("/api/v1/verify")
    assert wrong.status_code == 405 and wrong.json is not None and "error" in wrong.json


def test_lookups(client: FlaskClient, runtime: Runtime, body: str) -> None:
    issued = issue(runtime, [row(3, name="韩梅梅")]).certificates[0]
    found = client.post(
        "/api/v1/lookup/by-number", json={"number": issued.number, "name": "韩梅梅"}
    )
    assert found.status_code == 200 and found.json is not None
    assert found.json["status"] == "valid"
    wrong = client.post("/api/v1/lookup/by-number", json={"number": issued.number, "name": "李雷"})
    assert wrong.json is not None and wrong.json["status"] == "not_found"
    shape = client.post("/api/v1/lookup/by-number", json={"number": "123", "name": "韩梅梅"})
    assert shape.status_code == 422 and shape.json is not None
    assert shape.json["error"]["code"] == "invalid_certificate_number"

    by_id = client.post("/api/v1/lookup/by-id", json={"id_number": person_id(3), "name": "韩梅梅"})
    assert by_id.status_code == 200 and by_id.json is not None
    assert by_id.json["count"] == 1
    assert by_id.json["certificates"][0]["certificate"]["number"] == issued.number
    assert person_id(3) not in by_id.get_data(as_text=True)
    typed = client.post(
        "/api/v1/lookup/by-id",
        json={"id_number": person_id(3), "name": "韩梅梅", "id_type": "passport"},
    )
    assert typed.status_code == 422  # a resident ID is no passport number
    unknown_type = client.post(
        "/api/v1/lookup/by-id", json={"id_number": person_id(3), "name": "x", "id_type": "身份证"}
    )
    assert unknown_type.status_code == 400
    bad = client.post(
        "/api/v1/lookup/by-id", json={"id_number": person_id(3)[:-1] + "9", "name": "韩梅梅"}
    )
    assert bad.status_code == 422 and bad.json is not None
    assert bad.json["error"]["code"] == "invalid_id_number"
    assert person_id(3)[:-1] not in bad.get_data(as_text=True)


def test_openapi_document(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json")
    assert doc.status_code == 200 and doc.json is not None
    assert doc.json["openapi"].startswith("3.1")
    paths = {"/api/v1/verify", "/api/v1/lookup/by-number", "/api/v1/lookup/by-id"}
    assert paths <= set(doc.json["paths"])
    assert doc.json["servers"] == [{"url": "https://cert.example.cn"}]


def test_every_rate_limit_scope_names_real_endpoints(app: Flask) -> None:
    """An endpoint misspelt in ENDPOINT_SCOPES would be skipped, and so left unlimited."""
    assert set(ENDPOINT_SCOPES) <= set(app.view_functions), set(ENDPOINT_SCOPES) - set(
        app.view_functions
    )
    assert set(ENDPOINT_SCOPES.values()) == set(DEFAULT_LIMITS)


def test_rate_limit_gives_429_with_retry_after(app: Flask, client: FlaskClient) -> None:
    app.config["CERTSVC_RATELIMIT_LOOKUP"] = "3 per minute"
    answers = [
        client.post(
            "/api/v1/lookup/by-number", json={"number": "Y000132010001264000001", "name": "x"}
        )
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.json is not None and limited.json["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # The page's form shares the scope: also refused, as a page.
    page = client.post("/lookup/number", data={"number": "Y000132010001264000001", "name": "x"})
    assert page.status_code == 429 and "请求过于频繁" in page.get_data(as_text=True)
    assert "Retry-After" in page.headers
    # In the language the pages choose, by primary subtag.
    for accept, text in (("zh-CN,en;q=0.9", "请求过于频繁"), ("en-US,en;q=0.9", "Too many")):
        again = client.post(
            "/lookup/number",
            data={"number": "Y000132010001264000001", "name": "x"},
            headers={"Accept-Language": accept},
        )
        assert again.status_code == 429 and text in again.get_data(as_text=True), accept
    # Another client address has its own allowance; other scopes are untouched.
    other = client.post(
        "/api/v1/lookup/by-number",
        json={"number": "Y000132010001264000001", "name": "x"},
        environ_base={"REMOTE_ADDR": "192.0.2.9"},
    )
    assert other.status_code == 200
    assert client.post("/api/v1/verify", json={"token": "a.b.c"}).status_code == 200


def test_an_ipv6_client_is_limited_by_its_64_not_per_address(
    app: Flask, client: FlaskClient
) -> None:
    app.config["CERTSVC_RATELIMIT_VERIFY"] = "3 per minute"

    def verify(address: str) -> int:
        answer = client.post(
            "/api/v1/verify", json={"token": "a.b.c"}, environ_base={"REMOTE_ADDR": address}
        )
        return answer.status_code

    # Each request from a new address of the same /64: one allowance for all of them.
    codes = [verify(f"2001:db8:1:2::{n:x}") for n in range(1, 5)]
    assert codes == [200, 200, 200, 429]
    assert verify("2001:db8:1:3::1") == 200  # the next /64 is another client
    # An IPv4 client counts the same whether the socket reports it as IPv4 or IPv4-mapped.
    assert [verify("192.0.2.7"), verify("::ffff:192.0.2.7"), verify("192.0.2.7")] == [200] * 3
    assert verify("::ffff:192.0.2.7") == 429


def test_the_transparency_bundle_counts_as_a_verify_and_is_refused_as_json(
    app: Flask, client: FlaskClient
) -> None:
    app.config["CERTSVC_RATELIMIT_VERIFY"] = "3 per minute"
    url = "/api/v1/transparency/certificates/Y000132010001264{:06d}"
    probes = [client.get(url.format(n)) for n in range(1, 4)]
    assert [p.status_code for p in probes] == [404, 404, 404]
    refused = client.get(url.format(4))
    assert refused.status_code == 429
    assert refused.json is not None and refused.json["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # A cross-origin monitor can read the refusal and when to retry.
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert "Retry-After" in refused.headers["Access-Control-Expose-Headers"]
    assert probes[0].headers["Access-Control-Allow-Origin"] == "*"
    # One allowance with the verifications, per client.
    assert client.post("/api/v1/verify", json={"token": "a.b.c"}).status_code == 429
    other = client.get(url.format(5), environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert other.status_code == 404


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("proxies", [0, 1])
def test_x_forwarded_for_names_the_client_only_behind_trusted_proxies(
    runtime: Runtime, proxies: int
) -> None:
    """CERTSVC_TRUSTED_PROXIES=1: each client behind the proxy has its own allowance, and
    only the hop the proxy appended counts; unset, the header is ignored and every client
    shares the proxy's. The limit itself comes from Settings (the environment)."""
    settings = runtime.settings.with_overrides(
        trusted_proxies=proxies, rate_limits={"CERTSVC_RATELIMIT_LOOKUP": "2 per minute"}
    )
    client = create_app(runtime=Runtime(settings=settings, db=runtime.db)).test_client()

    def lookup(forwarded_for: str) -> int:
        return client.post(
            "/api/v1/lookup/by-number",
            json={"number": "Y000132010001264000001", "name": "x"},
            headers={"X-Forwarded-For": forwarded_for},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},  # the proxy
        ).status_code

    assert [lookup("203.0.113.7") for _ in range(3)] == [200, 200, 429]
    # A client that writes its own X-Forwarded-For only adds hops in front of the proxy's.
    assert lookup("198.51.100.1, 203.0.113.7") == 429
    assert lookup("203.0.113.8") == (200 if proxies else 429)


@pytest.fixture
def redis_runtime(runtime: Runtime) -> Iterator[Runtime]:
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError as exc:
        if "CERTSVC_TEST_REDIS_URL" in os.environ:
            raise
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    yield Runtime(settings=runtime.settings.with_overrides(redis_url=REDIS_URL), db=runtime.db)
    connection.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_rate_limit_counters_are_shared_through_redis(redis_runtime: Runtime) -> None:
    import redis

    # Two app instances stand for two gunicorn workers: only shared storage limits both.
    apps = [create_app(runtime=redis_runtime) for _ in range(2)]
    for app in apps:
        app.config["CERTSVC_RATELIMIT_VERIFY"] = "4 per minute"
    client_ip = f"198.51.100.{secrets.randbelow(250) + 1}"
    marker = secrets.token_hex(4)
    codes = [
        apps[i % 2]
        .test_client()
        .post(
            "/api/v1/verify",
            json={"token": f"t.{marker}.x"},
            environ_base={"REMOTE_ADDR": client_ip},
        )
        for i in range(5)
    ]
    assert [c.status_code for c in codes] == [200, 200, 200, 200, 429]
    assert int(codes[-1].headers["Retry-After"]) >= 1
    connection = redis.Redis.from_url(REDIS_URL)
    keys = list(connection.scan_iter(f"*{client_ip}*"))
    assert keys, "the counters live in Redis"
    connection.delete(*keys)
    connection.close()


def test_rate_limits_count_in_memory_while_redis_is_down(caplog: pytest.LogCaptureFixture) -> None:
    """Verification never fails because the counters' Redis is gone: they move to memory
    (one warning, not one per request) and still refuse a client over its limit."""
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    counters = RateLimits(dead)
    with caplog.at_level(logging.WARNING, logger="certsvc.limits"):
        answers = [counters.hit("verify", "192.0.2.1", "2 per minute") for _ in range(3)]
    assert answers[:2] == [None, None]
    assert answers[2] is not None and answers[2][0] == "2 per 1 minute"
    assert 1 <= answers[2][1] <= 60
    assert len([r for r in caplog.records if "counting in memory" in r.message]) == 1
    # Several windows in one spec: the tightest is counted first, every one must allow.
    assert counters.hit("lookup_id", "192.0.2.1", "10 per minute;1 per day") is None
    refused = counters.hit("lookup_id", "192.0.2.1", "10 per minute;1 per day")
    assert refused is not None and refused[0] == "1 per 1 day"


def test_a_refused_method_says_which_are_allowed(client: FlaskClient) -> None:
    """A 405 carries Allow (RFC 9110), also when the API answers it as a JSON error."""
    for method, path, allowed in (
        ("DELETE", "/api/v1/verify", {"POST"}),
        ("PUT", "/api/v1/openapi.json", {"GET", "HEAD"}),
        ("POST", "/.well-known/jwks.json", {"GET", "HEAD"}),
        ("POST", "/transparency/checkpoint", {"GET", "HEAD"}),
    ):
        response = client.open(path, method=method)
        assert response.status_code == 405, path
        assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}, path
        if path.startswith(("/api/", "/.well-known/")):
            assert response.json is not None
            assert response.json["error"]["code"] == "method_not_allowed"


def test_the_checkpoint_names_one_charset(client: FlaskClient, runtime: Runtime, body: str) -> None:
    issue(runtime, [row(1)])
    response = client.get("/transparency/checkpoint")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_a_public_route_without_a_description_is_refused(app: Flask) -> None:
    """The document is generated from the URL map, so no public route can go undescribed."""
    app.add_url_rule("/undescribed", "undescribed", lambda: "x")
    with pytest.raises(LookupError, match="/undescribed"):
        openapi_document(app, "https://cert.example.cn", 10)


@pytest.mark.parametrize(
    ("payload", "code", "english", "chinese"),
    [
        (b"not json", "invalid_request", "the request body is not JSON", "请求体不是 JSON"),
        (
            {"token": "a.b.c", "extra": 1},
            "invalid_request",
            "unknown member 'extra'; this operation takes token",
            "未知成员 'extra'；此操作接受 token",
        ),
        (
            {"number": "123", "name": "韩梅梅"},
            "invalid_certificate_number",
            "a certificate number has 22 characters",
            "证书编号共 22 个字符",
        ),
    ],
)
def test_an_error_keeps_its_code_and_speaks_the_readers_language(
    client: FlaskClient, payload: bytes | dict[str, Any], code: str, english: str, chinese: str
) -> None:
    """API errors: the ``code`` is for programs and never changes; the ``message`` is for a
    person, in the language of the request (English when nothing chose one)."""
    path = (
        "/api/v1/lookup/by-number"
        if isinstance(payload, dict) and "number" in payload
        else "/api/v1/verify"
    )

    def post(language: str | None = None) -> dict[str, Any]:
        headers = {"Accept-Language": language} if language else {}
        if isinstance(payload, bytes):
            headers["Content-Type"] = "application/json"
            response = client.post(path, data=payload, headers=headers)
        else:
            response = client.post(path, json=payload, headers=headers)
        assert response.status_code in (400, 422) and response.json is not None
        return dict(response.json["error"])

    in_english = post()
    in_chinese = post("zh-CN,zh;q=0.9")
    assert in_english["code"] == in_chinese["code"] == code
    assert english in in_english["message"] and chinese not in in_english["message"]
    assert chinese in in_chinese["message"] and english not in in_chinese["message"]


def test_a_verification_result_message_speaks_the_readers_language(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    token = issue(runtime, [row(1)]).certificates[0].token
    english = client.post("/api/v1/verify", json={"token": token}).json
    chinese = client.post(
        "/api/v1/verify", json={"token": token}, headers={"Accept-Language": "zh-CN"}
    ).json
    assert english is not None and chinese is not None
    assert english["status"] == chinese["status"] == "valid"
    assert (english["message"], chinese["message"]) == ("genuine and current", "真实有效")
