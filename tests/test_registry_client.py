"""The reference registry client against the app in-process: verify, apply, reject, follow keys.

The fault cases against a real server process are in test_registry_faults.py.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select, update

from certsvc.bodies.bodies import get_body
from certsvc.cli.main import cli
from certsvc.errors import (
    FeedIntegrityError,
    InvalidInput,
    PermissionDenied,
    RedirectRefused,
    RegistryUnavailable,
    Unauthenticated,
)
from certsvc.models import Certificate, Event, utcnow
from certsvc.registry.transport import FeedClient, HttpResponse
from certsvc.runtime import Runtime
from certsvc.signing.b64 import b64url_decode
from certsvc.signing.vc import VC_CTY, VC_JWT_TYP
from tests.conftest import (
    BASE,
    NO_WAIT,
    Faulty,
    FlaskTransport,
    assert_mirror_matches,
    history,
    issue,
    mirror_certificates,
    row,
    run_pull,
    token_for,
)


def edit_events(
    response: HttpResponse, edit: Callable[[list[dict[str, Any]]], None]
) -> HttpResponse:
    page = json.loads(response.body)
    edit(page["events"])
    page["count"] = len(page["events"])
    return HttpResponse(response.status, response.headers, json.dumps(page).encode())


def test_a_pull_mirrors_every_certificate_and_status(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path
) -> None:
    history(runtime)
    path = tmp_path / "mirror.db"
    summary = run_pull(runtime, FlaskTransport(client), path)
    assert not summary.rejections and summary.applied >= 10
    assert summary.kinds["issued"] == 5 and summary.kinds["revoked"] == 2
    assert_mirror_matches(runtime, path)
    assert (path.stat().st_mode & 0o777) == 0o600  # clear ID numbers inside
    with sqlite3.connect(path) as db:
        stored = dict(db.execute("SELECT number, id_number FROM mirror_certificates").fetchall())
    assert row(2)["id_number"] in stored.values()
    again = run_pull(runtime, FlaskTransport(client), path)
    assert again.events == 0 and again.pages == 1
    issue(runtime, [row(9)])
    more = run_pull(runtime, FlaskTransport(client), path)
    assert more.kinds == {"issued": 1}
    assert_mirror_matches(runtime, path)


def test_the_client_follows_key_rotation_by_refetching_the_jwks(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path
) -> None:
    issue(runtime, [row(1)])
    path = tmp_path / "mirror.db"
    transport = FlaskTransport(client)
    assert run_pull(runtime, transport, path).jwks_fetches == 1
    with runtime.db.transaction() as session:
        runtime.keyring.rotate(session, get_body(session, body))
    issue(runtime, [row(2)])
    transport.requests.clear()
    summary = run_pull(runtime, transport, path)
    assert not summary.rejections
    assert summary.jwks_fetches == 1  # once, for the new kid
    assert sum("jwks" in r for r in transport.requests) == 1
    assert_mirror_matches(runtime, path)
    with sqlite3.connect(path) as db:
        keys = dict(db.execute("SELECT kid, status FROM mirror_keys").fetchall())
    assert sorted(keys.values()) == ["active", "retired"]


def test_a_compromise_marks_later_signatures_untrusted(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path
) -> None:
    issue(runtime, [row(1)])
    cutoff = utcnow()
    issue(runtime, [row(2)])  # signed after the cutoff by the key later reported compromised
    with runtime.db.transaction() as session:
        key = runtime.keyring.active_key(session, get_body(session, body))
        assert key is not None
        runtime.keyring.mark_compromised(session, key.kid, cutoff)
    issue(runtime, [row(3)])  # the fresh key
    path = tmp_path / "mirror.db"
    summary = run_pull(runtime, FlaskTransport(client), path)
    assert not summary.rejections and summary.untrusted == 1
    with sqlite3.connect(path) as db:
        trusted = dict(
            db.execute("SELECT holder_name || issued_seq, trusted FROM mirror_certificates")
        )
    assert sorted(trusted.values()) == [0, 1, 1]


def test_a_record_that_does_not_verify_is_rejected_and_reported(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path
) -> None:
    numbers = [c.number for c in issue(runtime, [row(1), row(2), row(3)]).certificates]
    with runtime.db.transaction() as session:
        record = session.scalar(select(Certificate.record).where(Certificate.number == numbers[1]))
        assert record is not None
        header, payload, signature = record.split(".")
        forged = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BA")
        session.execute(
            update(Certificate)
            .where(Certificate.number == numbers[1])
            .values(record=f"{header}.{payload}.{forged}")
        )
    path = tmp_path / "mirror.db"
    summary = run_pull(runtime, FlaskTransport(client), path)
    assert [r.certificate for r in summary.rejections] == [numbers[1]]
    assert "signature" in summary.rejections[0].reason
    assert set(mirror_certificates(path)) == {numbers[0], numbers[2]}
    with sqlite3.connect(path) as db:
        (detail,) = db.execute(
            "SELECT detail FROM mirror_events WHERE outcome = 'rejected'"
        ).fetchone()
    assert "signature" in detail
    # A later revocation of the rejected certificate cannot be applied either.
    from certsvc.issuance.service import revoke

    revoke(runtime, numbers[1], "测试撤销 testing")
    assert (
        "not in the mirror" in run_pull(runtime, FlaskTransport(client), path).rejections[0].reason
    )


def test_a_record_signed_by_one_body_for_another_bodys_number_is_rejected(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path
) -> None:
    """Body A's key, A as the record's issuer, but a number of body B: a genuine signature
    that must not put a certificate of B into the mirror."""
    issue(runtime, [row(1)])
    foreign = "Y000244010002264000001"

    def change(_call: int, response: HttpResponse) -> HttpResponse:
        def tamper(events: list[dict[str, Any]]) -> None:
            for event in events:
                if event["kind"] != "issued":
                    continue
                credential = json.loads(b64url_decode(event["record"].split(".")[1]))
                credential["certificateNumber"] = foreign
                with runtime.db.session() as session:
                    signer = runtime.keyring.signer_for(session, get_body(session, body))
                    event["record"] = signer.sign(
                        json.dumps(credential, ensure_ascii=False).encode(),
                        VC_JWT_TYP,
                        cty=VC_CTY,
                    )
                event["certificate"] = foreign

        return edit_events(response, tamper)

    summary = run_pull(runtime, Faulty(client, change), tmp_path / "m.db", limit=100)
    assert [r.certificate for r in summary.rejections] == [foreign]
    assert f"numbered for body Y000244010002; the key of body {body}" in (
        summary.rejections[0].reason
    )
    assert mirror_certificates(tmp_path / "m.db") == {}


@pytest.mark.parametrize(
    ("what", "edit", "reason"),
    [
        (
            "ID number",
            lambda e: e["holder"].update(id_number=e["holder"]["id_number"][:-2] + "00"),
            "commitment",
        ),
        ("salt", lambda e: e["holder"].update(id_salt="A" * 22), "commitment"),
        ("number", lambda e: e.update(certificate="Y000132010001264999999"), "signed for"),
        ("body", lambda e: e.update(body="Y000244010002"), "body"),
        ("record", lambda e: e.update(record=None), "no signed record"),
    ],
)
def test_a_record_changed_on_the_way_is_rejected(
    client: FlaskClient,
    runtime: Runtime,
    body: str,
    tmp_path: Path,
    what: str,
    edit: Callable[[dict[str, Any]], None],
    reason: str,
) -> None:
    issue(runtime, [row(1), row(2)])

    def change(_call: int, response: HttpResponse) -> HttpResponse:
        def tamper(events: list[dict[str, Any]]) -> None:
            issued = [e for e in events if e["kind"] == "issued"]
            if issued:
                edit(issued[0])

        return edit_events(response, tamper)

    summary = run_pull(runtime, Faulty(client, change), tmp_path / "m.db", limit=100)
    assert len(summary.rejections) == 1, what
    assert reason in summary.rejections[0].reason
    assert len(mirror_certificates(tmp_path / "m.db")) == 1


def test_an_unsigned_status_change_is_rejected(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path
) -> None:
    number = issue(runtime, [row(1)]).certificates[0].number
    with runtime.db.transaction() as session:  # as the log looked before statements were signed
        cert = session.scalar(select(Certificate).where(Certificate.number == number))
        assert cert is not None
        cert.status = "revoked"
        session.add(
            Event(
                kind="revoked",
                body_id=cert.body_id,
                certificate_id=cert.id,
                data={"number": number, "reason": "old"},
            )
        )
    summary = run_pull(runtime, FlaskTransport(client), tmp_path / "m.db")
    assert "not signed" in summary.rejections[0].reason
    assert mirror_certificates(tmp_path / "m.db")[number][0] == "valid"


def test_duplicate_delivery_changes_nothing(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path
) -> None:
    history(runtime)

    def replay(call: int, response: HttpResponse) -> HttpResponse:
        if call % 2:
            return response

        def prepend_earlier(events: list[dict[str, Any]]) -> None:
            if events:
                earlier = client.get(
                    f"/api/v1/registry/changes?after={max(events[0]['seq'] - 4, 0)}&limit=3",
                    headers={"Authorization": f"Bearer {secret}"},
                ).json
                events[:0] = earlier["events"]

        return edit_events(response, prepend_earlier)

    secret = token_for(runtime)
    path = tmp_path / "m.db"
    summary = run_pull(runtime, Faulty(client, replay), path, secret=secret)
    assert summary.duplicates > 0 and not summary.rejections
    assert_mirror_matches(runtime, path)


def test_a_gap_in_the_sequence_stops_the_pull(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path
) -> None:
    issue(runtime, [row(n) for n in range(1, 6)])

    def drop(call: int, response: HttpResponse) -> HttpResponse:
        return edit_events(
            response, lambda events: events.pop(1) if call == 2 and len(events) > 2 else None
        )

    path = tmp_path / "m.db"
    with pytest.raises(FeedIntegrityError, match="skipped"):
        run_pull(runtime, Faulty(client, drop), path)
    with sqlite3.connect(path) as db:
        (cursor,) = db.execute("SELECT cursor FROM mirror_state").fetchone()
    assert cursor == 4  # the first page only: nothing of the broken page was applied
    run_pull(runtime, FlaskTransport(client), path)
    assert_mirror_matches(runtime, path)


def test_network_errors_and_5xx_are_retried(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path
) -> None:
    issue(runtime, [row(n) for n in range(1, 6)])

    def flaky(call: int, response: HttpResponse) -> HttpResponse | Exception:
        if call == 1 or call % 5 == 0:
            return ConnectionResetError("connection reset by peer")
        if call == 2:
            busy = b'{"error":{"code":"x","message":"busy"}}'
            return HttpResponse(503, {"retry-after": "0"}, busy)
        if call == 3:  # the connection dropped half-way through the page
            return HttpResponse(200, response.headers, response.body[: len(response.body) // 2])
        return response

    path = tmp_path / "m.db"
    summary = run_pull(runtime, Faulty(client, flaky), path)
    assert summary.retries >= 4
    assert_mirror_matches(runtime, path)
    always = Faulty(client, lambda _c, _r: ConnectionRefusedError("refused"))
    with pytest.raises(RegistryUnavailable, match="failed 4 times"):
        run_pull(runtime, always, tmp_path / "other.db")


def test_a_bad_token_fails_at_once(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path
) -> None:
    transport = FlaskTransport(client)
    with pytest.raises(Unauthenticated):
        run_pull(runtime, transport, tmp_path / "m.db", secret="cst_" + "x" * 43)
    assert sum("changes" in r for r in transport.requests) == 1
    with pytest.raises(PermissionDenied):
        run_pull(runtime, transport, tmp_path / "m.db", secret=token_for(runtime, "viewer"))


def test_the_pull_command_reports_rejections_with_exit_code_65(
    client: FlaskClient,
    runtime: Runtime,
    body: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issue(runtime, [row(1), row(2)])
    with runtime.db.transaction() as session:
        session.execute(
            update(Certificate)
            .where(Certificate.number == "Y000132010001264000002")
            .values(record=Certificate.record + "x")
        )
    import certsvc.registry.transport as client_module

    monkeypatch.setattr(client_module, "UrllibTransport", lambda: FlaskTransport(client))
    result = CliRunner().invoke(
        cli,
        [
            "registry",
            "pull",
            "--url",
            BASE,
            "--token",
            token_for(runtime),
            "--db",
            str(tmp_path / "m.db"),
        ],
    )
    assert result.exit_code == 65, result.output
    assert "rejected: seq" in result.stderr and "Y000132010001264000002" in result.stderr
    assert "applied" in result.stdout and "rejected 1" in result.stdout
    assert "1 record did not verify" in result.stderr


# --- redirects and plain http ----------------------------------------------------------------


class Recorder(ThreadingHTTPServer):
    """A local server that answers every GET from ``routes`` and records what it was sent."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        self.routes = routes
        self.seen: list[tuple[str, str | None]] = []  # (path, Authorization header)
        super().__init__(("127.0.0.1", 0), _RecordingHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _RecordingHandler(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        path = self.path.split("?", 1)[0]
        status, headers, body = self.server.routes.get(path, (404, {}, b"{}"))
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[Callable[..., Recorder]]:
    started: list[Recorder] = []

    def start(**routes: tuple[int, dict[str, str], bytes]) -> Recorder:
        server = Recorder({"/" + k.replace("__", "/"): v for k, v in routes.items()})
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


EMPTY_PAGE = (200, {"Content-Type": "application/json"}, b'{"events": [], "count": 0, "next": 0}')
CHANGES = "api__v1__registry__changes"


@pytest.mark.parametrize("target", ["other port", "other host", "https"])
def test_a_redirect_to_another_origin_is_refused_and_gets_no_token(
    servers: Callable[..., Recorder], target: str
) -> None:
    elsewhere = servers(**{CHANGES: EMPTY_PAGE})
    service = servers()
    location = {
        "other port": f"http://127.0.0.1:{elsewhere.port}/api/v1/registry/changes",
        "other host": f"http://localhost:{service.port}/api/v1/registry/changes?x=1",
        "https": f"https://127.0.0.1:{service.port}/api/v1/registry/changes",
    }[target]
    service.routes["/api/v1/registry/changes"] = (302, {"Location": location}, b"")
    feed = FeedClient(f"http://127.0.0.1:{service.port}", "cst_secret", policy=NO_WAIT)
    with pytest.raises(RedirectRefused, match=r"redirect to .*not followed") as info:
        feed.page(0, 10)
    assert location in info.value.message and "--url" in info.value.message
    assert len(service.seen) == 1  # refused at once, not retried, not sent again
    assert elsewhere.seen == []


def test_a_redirect_within_the_service_is_followed_with_the_token(
    servers: Callable[..., Recorder],
) -> None:
    service = servers(moved__changes=EMPTY_PAGE)
    service.routes["/api/v1/registry/changes"] = (307, {"Location": "/moved/changes"}, b"")
    feed = FeedClient(f"http://localhost:{service.port}/", "cst_secret", policy=NO_WAIT)
    assert feed.page(0, 10)["count"] == 0
    assert [auth for _, auth in service.seen] == ["Bearer cst_secret"] * 2


@pytest.mark.parametrize(
    "url", ["http://cert.example.cn", "http://10.0.0.5:8000", "http://[fe80::1]/", "ftp://x"]
)
def test_plain_http_is_refused_except_to_this_machine(url: str) -> None:
    with pytest.raises(InvalidInput, match="--url"):
        FeedClient(url, "cst_secret")


@pytest.mark.parametrize(
    "url", ["http://localhost:5000", "http://127.0.0.1", "http://[::1]:8000/", "https://x.cn"]
)
def test_https_and_plain_http_to_this_machine_are_accepted(url: str) -> None:
    assert FeedClient(url, "cst_secret").base_url == url.rstrip("/")
