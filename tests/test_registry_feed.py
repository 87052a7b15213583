"""The registry change feed: auth, order, signed records (and statements), replay, streaming."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet as JoseKeySet
from sqlalchemy import select, update

from certsvc.bodies.bodies import get_body
from certsvc.bodies.keyring import published_keys
from certsvc.domain.ids import IdType
from certsvc.holders.identity import id_commitment
from certsvc.models import Certificate, Event
from certsvc.registry import feed as feed_module
from certsvc.registry.statements import verify_status_statement
from certsvc.runtime import Runtime
from certsvc.signing.b64 import b64url_decode
from certsvc.signing.jwks import KeySet
from certsvc.signing.vc import verify_credential
from tests.conftest import (
    BODY_CODE,
    OTHER_BODY,
    add_other_body,
    bearer,
    history,
    issue,
    row,
    token_for,
)


def all_events(client: FlaskClient, secret: str, limit: int = 1000) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = client.get(
            f"/api/v1/registry/changes?after={after}&limit={limit}", headers=bearer(secret)
        )
        assert page.status_code == 200, page.get_data(as_text=True)
        data = page.json
        assert data is not None and data["count"] == len(data["events"])
        if not data["events"]:
            return events
        events += data["events"]
        after = data["next"]


def test_the_feed_needs_a_registry_token(client: FlaskClient, runtime: Runtime, body: str) -> None:
    url = "/api/v1/registry/changes"
    missing = client.get(url)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="certsvc"'
    assert missing.json == {
        "error": {"code": "unauthenticated", "message": missing.json["error"]["message"]}
    }
    wrong = client.get(url, headers=bearer("cst_" + "A" * 43))
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    garbage = client.get(url, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert garbage.status_code == 401
    issuer = client.get(url, headers=bearer(token_for(runtime, "issuer", body)))
    assert issuer.status_code == 403
    assert issuer.json["error"]["code"] == "permission_denied"
    assert "WWW-Authenticate" not in issuer.headers
    ok = client.get(url, headers=bearer(token_for(runtime)))
    assert ok.status_code == 200
    assert ok.headers["Cache-Control"] == "no-store"


def test_events_come_in_seq_order_with_records_the_registry_can_verify(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    numbers = history(runtime)
    events = all_events(client, token_for(runtime), limit=3)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["kind"] for e in events if e["kind"] not in ("body_created", "body_changed")]
    assert kinds == [
        "key_created",
        "issued",
        "issued",
        "issued",
        "superseded",
        "issued",
        "revoked",
        "key_rotated",
        "issued",
        "revoked",
    ]
    keys = KeySet.from_document(client.get("/.well-known/jwks.json").json)
    jose_keys = JoseKeySet.import_key_set(client.get("/.well-known/jwks.json").json)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_kind.setdefault(event["kind"], []).append(event)
        assert event["occurred_at"].endswith("Z")
    for event in by_kind["issued"]:
        credential, verified = verify_credential(event["record"], keys.public_key)
        assert verified.kid == event["kid"] and event["body"] == BODY_CODE
        assert credential["certificateNumber"] == event["certificate"]
        # An independent JOSE library agrees.
        jose_jwt.decode(event["record"], jose_keys, algorithms=["EdDSA"])
        holder = event["holder"]
        subject = credential["credentialSubject"]
        salt = b64url_decode(holder["id_salt"])
        commitment = id_commitment(IdType(holder["id_type"]), holder["id_number"], salt)
        assert commitment == subject["idNumberCommitment"]
        assert holder["id_number"][-4:] == subject["idNumberMasked"][-4:]
    # The revocations are signed by the key active at the time: old key, then the new one.
    first_revocation, second_revocation = by_kind["revoked"]
    assert first_revocation["certificate"] == numbers["b"]
    claim = verify_status_statement(first_revocation["record"], keys.public_key)
    assert (claim.number, claim.status, claim.body_code) == (numbers["b"], "revoked", BODY_CODE)
    assert claim.reason == "考核记录造假 falsified assessment"
    later = verify_status_statement(second_revocation["record"], keys.public_key)
    assert later.kid == by_kind["key_rotated"][0]["key"]["kid"] != claim.kid
    (superseded,) = by_kind["superseded"]
    statement = verify_status_statement(superseded["record"], keys.public_key)
    assert statement.superseded_by == numbers["fixed"] == superseded["superseded_by"]
    assert statement.number == numbers["a"]
    new_key = by_kind["key_rotated"][0]["key"]
    assert new_key["kid"] in keys and new_key["body"] == BODY_CODE and "d" not in new_key


def test_a_compromise_event_carries_the_cutoff(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    with runtime.db.transaction() as session:
        kid = runtime.keyring.active_key(session, get_body(session, body)).kid  # type: ignore[union-attr]
        cutoff = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        runtime.keyring.mark_compromised(session, kid, cutoff)
    events = all_events(client, token_for(runtime))
    compromised = [e for e in events if e["kind"] == "key_compromised"]
    assert compromised[0]["key"]["kid"] == kid
    assert compromised[0]["compromised_after"] == "2026-11-26T00:00:00.000000Z"
    assert events[-1]["kind"] == "key_rotated"  # a fresh key replaced the compromised one


def test_replay_from_any_cursor_returns_the_same_events(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    history(runtime)
    secret = token_for(runtime)
    whole = all_events(client, secret)
    # State changes after the events were written do not change them.
    with runtime.db.transaction() as session:
        runtime.keyring.rotate(session, get_body(session, body))
    again = all_events(client, secret, limit=2)
    assert len(again) == len(whole) + 1
    assert json.dumps(again[:-1], ensure_ascii=False) == json.dumps(whole, ensure_ascii=False)
    for cursor in (0, 1, 5, len(whole) - 1):
        page = client.get(
            f"/api/v1/registry/changes?after={cursor}&limit=4", headers=bearer(secret)
        ).json
        assert page["events"] == again[cursor : cursor + 4]
        assert page["next"] == page["events"][-1]["seq"]


def test_after_and_limit_are_checked(client: FlaskClient, runtime: Runtime, body: str) -> None:
    secret = token_for(runtime)
    queries = ("after=-1", "after=abc", "limit=0", "limit=10001", "limit=x")
    # Empty values were read as the defaults, and "²" (a digit to str.isdigit) failed in int().
    for query in (*queries, "limit=", "after=", "after=²", "limit=²"):
        response = client.get(f"/api/v1/registry/changes?{query}", headers=bearer(secret))
        assert response.status_code == 422, query
        assert response.json["error"]["code"] == "invalid_input"
    end = client.get("/api/v1/registry/changes?after=999999", headers=bearer(secret)).json
    assert end["events"] == [] and end["count"] == 0 and end["next"] == 999999


def test_a_body_token_sees_only_its_body(client: FlaskClient, runtime: Runtime, body: str) -> None:
    issue(runtime, [row(1)])
    add_other_body(runtime)
    secret = token_for(runtime, "registry", OTHER_BODY)
    scoped = all_events(client, secret)
    assert scoped and {e["body"] for e in scoped} == {OTHER_BODY}
    assert len(all_events(client, token_for(runtime))) > len(scoped)
    page = client.get("/api/v1/registry/changes", headers=bearer(secret)).json
    assert page["scope"] == OTHER_BODY


def test_the_page_streams_in_chunks(
    runtime: Runtime, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue(runtime, [row(n) for n in range(1, 8)])
    monkeypatch.setattr(feed_module, "FETCH_ROWS", 3)
    chunks = list(feed_module.stream_changes(runtime, feed_module.FeedRequest(0, 100)))
    assert len(chunks) >= 5  # head, at least 3 chunks of rows, tail
    page = json.loads("".join(chunks))
    assert page["count"] == len(page["events"]) == page["next"]
    cut = json.loads(
        "".join(list(feed_module.stream_changes(runtime, feed_module.FeedRequest(2, 4))))
    )
    assert [e["seq"] for e in cut["events"]] == [3, 4, 5, 6]


def test_clear_id_numbers_are_not_logged_or_stored(
    client: FlaskClient, runtime: Runtime, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    issue(runtime, [row(7)])
    caplog.set_level(logging.DEBUG)
    events = all_events(client, token_for(runtime))
    number = next(e for e in events if e["kind"] == "issued")["holder"]["id_number"]
    assert number == row(7)["id_number"]
    assert number not in caplog.text
    with runtime.db.session() as session:
        for event in session.scalars(select(Event)):
            assert number not in json.dumps(event.data)
        for cert in session.scalars(select(Certificate)):
            assert number not in cert.record


def test_revocation_and_supersession_events_store_a_signed_statement(
    runtime: Runtime, body: str
) -> None:
    numbers = history(runtime)
    with runtime.db.session() as session:
        data = {
            e.data["number"]: e.data
            for e in session.scalars(select(Event).where(Event.kind.in_(["revoked", "superseded"])))
        }
        keys = KeySet(published_keys(session))
    for number in (numbers["a"], numbers["b"], numbers["c"]):
        claim = verify_status_statement(data[number]["record"], keys.public_key)
        assert claim.number == number and claim.kid == data[number]["kid"]
    assert verify_status_statement(data[numbers["a"]]["record"], keys.public_key).status == (
        "superseded"
    )


def test_the_fast_path_writes_the_same_json_as_json_dumps(runtime: Runtime, body: str) -> None:
    history(runtime)
    number = issue(runtime, [row(30)]).certificates[0].number
    with runtime.db.transaction() as session:  # a damaged row must still give valid JSON
        damaged = Certificate.record + '"\\\n报'
        session.execute(
            update(Certificate).where(Certificate.number == number).values(record=damaged)
        )
    items = feed_module._Items(runtime.db, runtime.vault)
    rows = feed_module._fetch(runtime.db, feed_module.FeedRequest(), 0, 1000)
    assert sum(r.kind == "issued" for r in rows) == 6
    for r in rows:
        assert items.text(r) == json.dumps(items.item(r), ensure_ascii=False, separators=(",", ":"))
    assert json.loads(items.text(rows[-1]))["record"].endswith('"\\\n报')


@given(
    st.text()
    | st.sampled_from(["", "a.b-c_d", 'say "hi"', "back\\slash", "\x00\x1f\x7f", "报/:+=@ "])
)
def test_strings_are_spelled_as_json_dumps_spells_them(value: str) -> None:
    assert feed_module._string(value) == json.dumps(value, ensure_ascii=False)
    assert feed_module._string(None) == "null"


def test_occurred_at_is_the_stored_moment_in_utc(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    history(runtime)
    events = all_events(client, token_for(runtime), limit=4)
    with runtime.db.session() as session:
        stored = dict(session.execute(select(Event.seq, Event.occurred_at)).all())
    assert len(stored) == len(events)
    for event in events:
        moment = stored[event["seq"]]
        assert event["occurred_at"] == moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def test_the_openapi_fragment_is_whole_and_describes_real_responses(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    whole = client.get("/api/v1/openapi.json").json
    assert whole is not None
    schemas, schemes = whole["components"]["schemas"], whole["components"]["securitySchemes"]
    paths = {p: item for p, item in whole["paths"].items() if p.startswith("/api/v1/registry/")}
    assert set(paths) == {
        "/api/v1/registry/changes",
        "/api/v1/registry/stats",
        "/api/v1/registry/photos/{sha256}",
    }
    for ref in [*_refs(paths), *_refs(schemas)]:
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    for operation in (p["get"] for p in paths.values()):
        for requirement in operation["security"]:
            assert set(requirement) <= set(schemes)
    history(runtime)
    secret = token_for(runtime)
    page = client.get("/api/v1/registry/changes?limit=100", headers=bearer(secret)).json
    stats = client.get("/api/v1/registry/stats", headers=bearer(secret)).json
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    document = {"components": {"schemas": schemas}}
    for name, instance in (("RegistryChangePage", page), ("RegistryStats", stats)):
        schema = {**document, "$ref": f"#/components/schemas/{name}"}
        validator = jsonschema_rs.validator_for(schema)
        validator.validate(instance)
        assert not validator.is_valid({**instance, "by": [], "events": [{"seq": "1"}]})
