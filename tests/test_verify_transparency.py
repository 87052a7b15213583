"""The verification result and page carry the transparency log: the certificate's inclusion
proof in the latest signed checkpoint, and a key-compromise cutoff tied to a log position.
Both backends (the ``runtime`` fixture)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import create_engine, delete, select, update

from certsvc import create_app
from certsvc.cli.context import Context
from certsvc.cli.main import cli
from certsvc.issuance.service import revoke
from certsvc.models import Certificate, Event
from certsvc.models.transparency import MerkleNode
from certsvc.runtime import Runtime
from certsvc.transparency.log import latest_checkpoint, log_position_at, transparency_document
from certsvc.transparency.offline import verify_bundle
from certsvc.verify import VerificationResult, verify_token
from tests.conftest import issue, row

LOGGED_ZH = "已记入公开签发日志"
LOGGED_EN = "Logged in the public issuance log, checkpoint size"


@pytest.fixture
def client(runtime: Runtime) -> FlaskClient:
    app = create_app(runtime=runtime)
    app.testing = True
    return app.test_client()


def check(runtime: Runtime, token: str) -> VerificationResult:
    with runtime.db.session() as session:
        return verify_token(session, token)


def test_a_valid_certificate_carries_its_verified_inclusion_proof(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    first = issue(runtime, [row(1), row(2)]).certificates[1]
    issue(runtime, [row(3)])  # a later checkpoint: the proof is against the newest
    result = check(runtime, first.token)
    assert result.is_valid and result.transparency is not None
    with runtime.db.session() as session:
        latest = latest_checkpoint(session)
        document = transparency_document(session)
    assert latest is not None
    proof = result.transparency
    assert proof["verified"] is True
    assert (proof["tree_size"], proof["checkpoint"]) == (latest.tree_size, latest.note)
    assert json.loads(proof["leaf_data"])["certificate"] == first.number
    bundle = json.loads(json.dumps(result.to_dict()))["transparency"]
    checked = verify_bundle(  # what a relying party can redo with the log key alone
        bundle,
        trusted_keys=[k["note_key"] for k in document["keys"]],
        origin=document["origin"],
        token=first.token,
        certificate_number=first.number,
    )
    assert checked.size == latest.tree_size

    api = client.post("/api/v1/verify", json={"token": first.token})
    assert api.status_code == 200 and api.json is not None
    assert api.json["transparency"] == proof
    zh = client.get(f"/v/{first.token}").get_data(as_text=True)
    assert f"{LOGGED_ZH}，检查点大小 {latest.tree_size}" in zh
    assert latest.note.splitlines()[2] in zh  # the checkpoint itself is shown
    en = client.get(f"/v/{first.token}?lang=en").get_data(as_text=True)
    assert f"{LOGGED_EN} {latest.tree_size}" in en


def test_a_record_changed_after_logging_is_not_shown_as_logged(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    cert = issue(runtime, [row(1)]).certificates[0]
    with runtime.db.transaction() as session:  # someone with database access re-signs it
        session.execute(
            update(Certificate)
            .where(Certificate.number == cert.number)
            .values(record=Certificate.record + "x")
        )
    result = check(runtime, cert.token)
    assert result.transparency is not None and result.transparency["verified"] is False
    page = client.get(f"/v/{cert.token}").get_data(as_text=True)
    assert LOGGED_ZH not in page and "公开签发日志核对未通过" in page
    api = client.post("/api/v1/verify", json={"token": cert.token})
    assert api.json is not None and api.json["transparency"]["verified"] is False


def test_results_without_a_certificate_carry_no_proof(runtime: Runtime, body: str) -> None:
    result = check(runtime, "not-a-token")
    assert result.transparency is None and result.to_dict()["transparency"] is None


def test_a_compromise_cutoff_is_a_log_position_not_a_stored_time(
    runtime: Runtime, body: str
) -> None:
    before = issue(runtime, [row(1)]).certificates[0]
    with runtime.db.session() as session:
        cutoff = session.scalar(
            select(Event.occurred_at)
            .join(Certificate, Certificate.id == Event.certificate_id)
            .where(Certificate.number == before.number, Event.kind == "issued")
        )
        assert cutoff is not None
        kid = session.scalar(select(Certificate.kid).where(Certificate.number == before.number))
        assert kid is not None
    after = issue(runtime, [row(2)]).certificates[0]  # same key, logged after the cutoff
    with runtime.db.session() as session:
        position = log_position_at(session, cutoff)
        seqs = dict(
            session.execute(
                select(Certificate.number, Event.seq)
                .join(Event, Event.certificate_id == Certificate.id)
                .where(Event.kind == "issued")
            ).all()
        )
    assert seqs[before.number] <= position < seqs[after.number]
    with runtime.db.transaction() as session:
        runtime.keyring.mark_compromised(session, kid, cutoff)

    assert check(runtime, before.token).is_valid
    late = check(runtime, after.token)
    assert (late.status, late.reason) == ("invalid_signature", "key_compromised")
    assert "logged after the compromise cut-off" in late.message

    # Moving the stored creation times changes nothing: the log position decides.
    with runtime.db.transaction() as session:
        session.execute(
            update(Certificate)
            .where(Certificate.number == after.number)
            .values(created_at=cutoff - dt.timedelta(days=365))
        )
        session.execute(
            update(Certificate)
            .where(Certificate.number == before.number)
            .values(created_at=cutoff + dt.timedelta(days=365))
        )
    assert check(runtime, before.token).is_valid
    assert check(runtime, after.token).reason == "key_compromised"


# --- certsvc verify ---------------------------------------------------------------------------


def test_the_cli_says_so_online_and_checks_a_bundle_offline(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path, runner: CliRunner
) -> None:
    ctx = Context()
    ctx._runtime = runtime
    cert, other = issue(runtime, [row(1), row(2)]).certificates
    with runtime.db.session() as session:
        latest = latest_checkpoint(session)
        log_key = transparency_document(session)["keys"][0]["note_key"]
    assert latest is not None
    online = runner.invoke(cli, ["verify", cert.token], obj=ctx)
    assert online.exit_code == 0, online.output
    assert f"logged, checkpoint size {latest.tree_size}" in online.stdout

    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(client.get("/.well-known/jwks.json").data)
    bundle = tmp_path / "result.json"  # a whole online result, as `--json` or the API gives
    bundle.write_text(runner.invoke(cli, ["verify", cert.token, "--json"], obj=ctx).stdout)
    offline = ["verify", cert.token, "--jwks", str(jwks), "--log-bundle", str(bundle)]
    result = runner.invoke(cli, [*offline, "--log-key", log_key, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "offline" and data["transparency"]["verified"] is True
    assert data["transparency"]["tree_size"] == latest.tree_size

    # The bundle of another certificate, or a forged checkpoint, is one line and exit 65.
    wrong = ["verify", other.token, "--jwks", str(jwks), "--log-bundle", str(bundle)]
    refused = runner.invoke(cli, [*wrong, "--log-key", log_key])
    assert refused.exit_code == 65 and "not the issuance of this" in refused.stderr
    forged = json.loads(bundle.read_text())
    note = forged["transparency"]["checkpoint"].split("\n")
    note[1] = str(int(note[1]) + 1)
    forged["transparency"]["checkpoint"] = "\n".join(note)
    bundle.write_text(json.dumps(forged))
    refused = runner.invoke(cli, [*offline, "--log-key", log_key])
    assert refused.exit_code == 65 and "does not verify" in refused.stderr
    usage = runner.invoke(cli, ["verify", cert.token, "--log-bundle", str(bundle)], obj=ctx)
    assert usage.exit_code == 2


def test_a_broken_log_never_breaks_verification(runtime: Runtime, body: str) -> None:
    cert = issue(runtime, [row(1)]).certificates[0]
    with runtime.db.transaction() as session:  # the stored tree is gone
        session.execute(delete(MerkleNode))
    result = check(runtime, cert.token)
    assert result.is_valid and result.transparency is None  # valid, but not claimed logged


def test_warm_caches_never_hide_a_revocation_or_a_newer_checkpoint(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    """Keys, checkpoints and proofs are cached per process; status and the latest checkpoint
    are read with the certificate on every verification, so neither can go stale."""
    cert = issue(runtime, [row(1), row(2)]).certificates[0]
    first = check(runtime, cert.token)
    assert first.is_valid and first.transparency is not None
    assert check(runtime, cert.token).transparency == first.transparency  # from the caches

    issue(runtime, [row(3)])  # a new batch: a larger tree and a new checkpoint
    newer = check(runtime, cert.token)
    assert newer.transparency is not None and newer.transparency["verified"] is True
    assert newer.transparency["tree_size"] > first.transparency["tree_size"]
    assert newer.transparency["proof"] != first.transparency["proof"]

    revoke(runtime, cert.number, "证书信息有误")
    revoked = client.post("/api/v1/verify", json={"token": cert.token}).json
    assert revoked is not None and revoked["status"] == "revoked"
    assert "revoked" in check(runtime, cert.token).status


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite has no server to drop it
def test_a_read_survives_connections_the_server_dropped(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    """After a database restart (here: every pooled connection killed), every verification
    still answers: the first dead connection replaces the whole pool and the read is retried
    once, on a fresh connection rather than the next stale one."""
    cert = issue(runtime, [row(1)]).certificates[0]
    assert client.post("/api/v1/verify", json={"token": cert.token}).status_code == 200
    held = [runtime.db.engine.connect() for _ in range(3)]  # three connections in the pool
    pids = [conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() for conn in held]
    for conn in held:
        conn.close()
    admin = create_engine(runtime.db.url.split("?")[0])
    with admin.begin() as conn:
        killed = conn.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE pid = ANY(%(pids)s)",
            {"pids": pids},
        ).scalar()
    admin.dispose()
    assert killed == 3
    for _ in range(3):
        answer = client.post("/api/v1/verify", json={"token": cert.token})
        assert answer.status_code == 200 and answer.json is not None
        assert answer.json["status"] == "valid"


def test_verification_caches_belong_to_the_service_that_verified(
    runtime: Runtime, body: str
) -> None:
    """Keys, checkpoints and proofs read for a verification are kept on that app's runtime,
    not in the process: another service in the same process starts empty, and a revocation
    still shows at once through a warm cache."""
    cert = issue(runtime, [row(1)]).certificates[0]
    client = create_app(runtime=runtime).test_client()
    for _ in range(2):
        answer = client.post("/api/v1/verify", json={"token": cert.token})
        assert answer.json is not None and answer.json["status"] == "valid"
    kept = runtime.caches
    assert (len(kept.public_keys), len(kept.checkpoints), len(kept.proofs)) == (1, 1, 1)
    other = Runtime.from_settings(runtime.settings)
    try:
        assert len(other.caches.public_keys) == len(other.caches.checkpoints) == 0
    finally:
        other.db.dispose()
    revoke(runtime, cert.number, "考核记录不实")
    answer = client.post("/api/v1/verify", json={"token": cert.token})
    assert answer.json is not None and answer.json["status"] == "revoked"
