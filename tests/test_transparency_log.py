"""The transparency log over the database, on SQLite and PostgreSQL: append, checkpoints,
proofs for certificates, tampering, concurrency, the CLI and the public routes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from certsvc import create_app
from certsvc.cli.context import Context
from certsvc.cli.main import cli
from certsvc.errors import InvalidInput, LogIntegrityError, LogRangeError
from certsvc.issuance.service import revoke
from certsvc.models import Certificate, Event
from certsvc.models.transparency import LogCheckpoint, LogKey, MerkleNode
from certsvc.runtime import Runtime
from certsvc.transparency import merkle, store
from certsvc.transparency.log import (
    append_and_checkpoint,
    audit,
    certificate_inclusion,
    latest_checkpoint,
    log_position_at,
    transparency_document,
)
from certsvc.transparency.note import NoteVerifier, open_checkpoint
from certsvc.transparency.offline import verify_bundle
from tests.conftest import issue, row, seed_body

ASSETS = Path(__file__).parent / "assets" / "transparency"
REFERENCE = json.loads((ASSETS / "reference-tree.json").read_text())
PROBES = ASSETS / "transparency-dev-merkle" / "testdata"

# --- helpers -----------------------------------------------------------------------------------


def verifier(runtime: Runtime) -> NoteVerifier:
    with runtime.db.session() as session:
        document = transparency_document(session)
    return NoteVerifier.parse(document["keys"][0]["note_key"])


def event_count(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- the tree in the database against the published vectors ----------------------------------


def test_stored_tree_gives_the_published_roots_and_proofs(runtime: Runtime) -> None:
    leaves = [merkle.leaf_hash(bytes.fromhex(h)) for h in REFERENCE["leaf_inputs_hex"]]
    with runtime.db.transaction() as session:
        size = store.lock_log(session)
        size = store.append_leaves(session, leaves[:3], size=size)
        store.append_leaves(session, leaves[3:], size=size)  # in two steps, as batches do
    with runtime.db.session() as session:
        for n, expected in enumerate(REFERENCE["root_hashes_hex"]):
            assert store.root_hash(session, n).hex() == expected
        for probe_file in sorted(PROBES.glob("inclusion/*/happy-path.json")):
            probe = json.loads(probe_file.read_text())
            proof = store.inclusion_proof(session, probe["leafIdx"] + 1, probe["treeSize"])
            assert [b64(p) for p in proof] == (probe["proof"] or [])
        for probe_file in sorted(PROBES.glob("consistency/*/happy-path.json")):
            probe = json.loads(probe_file.read_text())
            proof = store.consistency_proof(session, probe["size1"], probe["size2"])
            assert [b64(p) for p in proof] == (probe["proof"] or [])
        with pytest.raises(LogRangeError):
            store.inclusion_proof(session, 9, 8)
        with pytest.raises(LogRangeError):
            store.root_hash(session, 9)
        with pytest.raises(LogRangeError):
            store.consistency_proof(session, 0, 8)
        assert session.scalar(select(func.count()).select_from(MerkleNode)) == 15


# --- append and checkpoint ---------------------------------------------------------------------


def test_checkpoint_covers_every_event_and_is_idempotent(runtime: Runtime, body: str) -> None:
    issue(runtime, [row(1), row(2), row(3)])
    first = append_and_checkpoint(runtime)
    assert first.tree_size == event_count(runtime) > 3  # body, key and the 3 issuances
    assert first.origin == "cert.example.cn/log"
    checkpoint = open_checkpoint(first.note, [verifier(runtime)], "cert.example.cn/log")
    assert (checkpoint.size, checkpoint.root_hash) == (first.tree_size, first.root_hash)
    assert first.note.startswith(
        f"cert.example.cn/log\n{first.tree_size}\n{b64(first.root_hash)}\n\n— "
    )

    def checkpoints() -> int:
        with runtime.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(LogCheckpoint)) or 0)

    signed = checkpoints()  # the key's, when the body was made, and the batch's
    assert signed == 2
    again = append_and_checkpoint(runtime)
    assert again == first
    assert checkpoints() == signed
    with runtime.db.session() as session:
        assert audit(session) == first.tree_size


def test_new_checkpoint_is_consistent_with_the_old(runtime: Runtime, body: str) -> None:
    issue(runtime, [row(1)])
    old = append_and_checkpoint(runtime)
    issue(runtime, [row(2), row(3)])
    revoke(runtime, issue(runtime, [row(4)]).certificates[0].number, "考核作弊，撤销")
    new = append_and_checkpoint(runtime)
    assert new.tree_size == old.tree_size + 4  # 2 + 1 issued, 1 revoked
    with runtime.db.session() as session:
        proof = store.consistency_proof(session, old.tree_size, new.tree_size)
    assert merkle.verify_consistency(
        old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof
    )
    assert not merkle.verify_consistency(
        old.tree_size, new.tree_size, new.root_hash, old.root_hash, proof
    )


def test_a_long_backlog_is_appended_in_chunks(runtime: Runtime, body: str) -> None:
    issue(runtime, [row(n) for n in range(1, 8)])
    signed = append_and_checkpoint(runtime, chunk=3)
    assert signed.tree_size == event_count(runtime)
    with runtime.db.session() as session:  # the key's and the batch's; chunks sign none
        assert session.scalar(select(func.count()).select_from(LogCheckpoint)) == 2
        assert audit(session) == signed.tree_size


def test_concurrent_checkpointers_agree(runtime: Runtime, body: str) -> None:
    issue(runtime, [row(n) for n in range(1, 6)])
    results: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(append_and_checkpoint(runtime))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({(r.tree_size, r.root_hash, r.note) for r in results}) == 1
    events = event_count(runtime)
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(LogKey)) == 1
        # The key's and the batch's: the concurrent checkpointers found nothing to sign.
        assert session.scalar(select(func.count()).select_from(LogCheckpoint)) == 2
        assert audit(session) == events == results[0].tree_size


# --- certificates ------------------------------------------------------------------------------


def test_certificate_inclusion_verifies_online_and_offline(runtime: Runtime, body: str) -> None:
    issued = issue(runtime, [row(1), row(2)]).certificates
    with runtime.db.session() as session:  # issue_batch checkpoints after it commits
        assert certificate_inclusion(session, issued[0].number) is not None
    assert append_and_checkpoint(runtime).tree_size == event_count(runtime)  # idempotent
    issue(runtime, [row(3)])  # a later checkpoint: the proof is against the newest one
    with runtime.db.session() as session:
        result = certificate_inclusion(session, issued[1].number)
        assert certificate_inclusion(session, "Y000132010001264999999") is None
        document = transparency_document(session)
    assert result is not None and result.verified
    leaf = json.loads(result.leaf_data)
    assert (leaf["kind"], leaf["certificate"], leaf["seq"]) == (
        "issued",
        issued[1].number,
        result.seq,
    )

    bundle = json.loads(json.dumps(result.to_dict()))  # as the API or a file carries it
    checkpoint = verify_bundle(
        bundle,
        trusted_keys=[k["note_key"] for k in document["keys"]],
        origin=document["origin"],
        token=issued[1].token,
        certificate_number=issued[1].number,
    )
    assert checkpoint.size == result.tree_size
    with pytest.raises(LogIntegrityError):
        verify_bundle(
            bundle,
            trusted_keys=[k["note_key"] for k in document["keys"]],
            origin=document["origin"],
            token=issued[0].token,
            certificate_number=issued[1].number,
        )


def test_a_record_changed_after_logging_is_caught(runtime: Runtime, body: str) -> None:
    issued = issue(runtime, [row(1), row(2)]).certificates
    append_and_checkpoint(runtime)
    with runtime.db.transaction() as session:  # someone with database access re-signs a record
        session.execute(
            update(Certificate)
            .where(Certificate.number == issued[0].number)
            .values(record=Certificate.record + "x")
        )
    with runtime.db.session() as session:
        result = certificate_inclusion(session, issued[0].number)
        assert result is not None and not result.verified
        other = certificate_inclusion(session, issued[1].number)
        assert other is not None and other.verified
        with pytest.raises(LogIntegrityError, match="differs from what was logged"):
            audit(session)


def test_a_changed_leaf_is_caught_by_the_audit(runtime: Runtime, body: str) -> None:
    issue(runtime, [row(1), row(2)])
    append_and_checkpoint(runtime)
    with runtime.db.transaction() as session:
        session.execute(
            update(MerkleNode)
            .where(MerkleNode.level == 0, MerkleNode.idx == 0)
            .values(hash=b"\x00" * 32)
        )
    with runtime.db.session() as session, pytest.raises(LogIntegrityError, match="event 1"):
        audit(session)


def test_a_changed_interior_node_is_caught_by_the_audit(runtime: Runtime, body: str) -> None:
    issue(runtime, [row(1), row(2)])
    append_and_checkpoint(runtime)
    with runtime.db.transaction() as session:
        session.execute(
            update(MerkleNode)
            .where(MerkleNode.level == 1, MerkleNode.idx == 0)
            .values(hash=b"\x00" * 32)
        )
    with runtime.db.session() as session, pytest.raises(LogIntegrityError, match="node"):
        audit(session)


def test_a_rewritten_tree_is_never_signed_again(runtime: Runtime, body: str) -> None:
    issue(runtime, [row(1)])
    signed = append_and_checkpoint(runtime)
    level, idx = merkle.compact_range(0, signed.tree_size)[0]  # a node of the signed root
    with runtime.db.transaction() as session:
        session.execute(
            update(MerkleNode)
            .where(MerkleNode.level == level, MerkleNode.idx == idx)
            .values(hash=b"\x00" * 32)
        )
    issue(runtime, [row(2)])
    with pytest.raises(LogIntegrityError, match="no longer matches"):
        append_and_checkpoint(runtime)


def test_a_deleted_event_stops_the_log(runtime: Runtime, body: str) -> None:
    issue(runtime, [row(1)])  # logged and checkpointed on commit
    # Three events the log has not seen yet: a bare session, so nothing checkpoints them.
    with Session(runtime.db.engine) as session, session.begin():
        for n in range(3):
            session.add(Event(kind="body_changed", data={"n": n}))
    with runtime.db.transaction() as session:
        last = session.scalar(select(func.max(Event.seq)))
        assert last is not None
        session.execute(delete(Event).where(Event.seq == last - 1))
    with pytest.raises(LogIntegrityError, match="hole"):
        append_and_checkpoint(runtime)
    # Leaf hashes handed over by the writer do not hide the hole: the events are counted.
    known = {seq: b"\x01" * 32 for seq in range(1, last + 1)}
    with pytest.raises(LogIntegrityError, match="hole"):
        append_and_checkpoint(runtime, known_leaves=known)


def test_log_position_at_a_compromise_cutoff(runtime: Runtime, body: str) -> None:
    issue(runtime, [row(1)])
    before = event_count(runtime)
    with runtime.db.session() as session:
        cutoff = session.scalar(select(func.max(Event.occurred_at)))
    assert cutoff is not None
    later = cutoff + dt.timedelta(seconds=5)
    with runtime.db.transaction() as session:  # a later batch, written with a later time
        session.add(Event(kind="body_changed", data={"note": "later"}, occurred_at=later))
    with runtime.db.session() as session:
        assert log_position_at(session, cutoff) == before
        assert log_position_at(session, later) == before + 1
        assert log_position_at(session, cutoff - dt.timedelta(days=365)) == 0
        with pytest.raises(InvalidInput, match="time zone"):
            log_position_at(session, cutoff.replace(tzinfo=None))


# --- the CLI and the public routes --------------------------------------------------------------


def test_cli_checkpoint_prove_verify_and_audit(
    runtime: Runtime, database_url: str, tmp_path: Path, runner: CliRunner
) -> None:
    ctx = Context()
    ctx._runtime = runtime  # the same database, key directory and passphrase

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), obj=ctx, catch_exceptions=False)
        assert result.exit_code == code, (result.output, result.stderr)
        return result.output

    assert "no checkpoint" in run("log", "show", code=66)
    seed_body(runtime)  # its key is checkpointed at once
    assert run("log", "show").startswith("cert.example.cn/log\n")
    number = issue(runtime, [row(1)]).certificates[0]  # checkpoints after it commits
    note = run("log", "show")
    assert note == run("log", "checkpoint") and note.startswith("cert.example.cn/log\n")
    bundle = tmp_path / "bundle.json"
    bundle.write_text(run("log", "prove", number.number))
    with runtime.db.session() as session:
        key = transparency_document(session)["keys"][0]["note_key"]
    args = ["--token", number.token, "--number", number.number, "--key", key]
    assert "logged" in run(
        "log", "verify-bundle", str(bundle), *args, "--origin", "cert.example.cn/log"
    )
    run("log", "verify-bundle", str(bundle), *args, "--origin", "x.example/log", code=1)
    assert "new log key" in run("log", "rotate-key")
    issue(runtime, [row(2)])
    newer = run("log", "show")  # signed by the new key; the old checkpoint still verifies
    assert newer.splitlines()[0] == "cert.example.cn/log" and newer != note
    assert run("log", "audit").startswith("ok:")
    size = newer.splitlines()[1]
    assert run("log", "position", "2999-01-01T00:00:00Z").strip() == size
    assert run("log", "consistency", "1", size).count("\n") >= 1


@pytest.fixture
def client(runtime: Runtime) -> FlaskClient:
    app = create_app(runtime=runtime)
    app.testing = True
    return app.test_client()


def test_public_routes(client: FlaskClient, runtime: Runtime) -> None:
    assert client.get("/transparency/checkpoint").status_code == 404
    seed_body(runtime)
    issued = issue(runtime, [row(1), row(2)]).certificates
    signed = append_and_checkpoint(runtime)

    document = client.get("/.well-known/transparency.json").json
    assert document["checkpoint"] == signed.note and document["tree_size"] == signed.tree_size
    assert document["origin"] == "cert.example.cn/log"
    note = client.get("/transparency/checkpoint")
    assert note.mimetype == "text/plain" and note.get_data(as_text=True) == signed.note

    proof = client.get(f"/api/v1/transparency/inclusion?seq=2&tree_size={signed.tree_size}").json
    with runtime.db.session() as session:
        leaf = session.scalar(
            select(MerkleNode.hash).where(MerkleNode.level == 0, MerkleNode.idx == 1)
        )
    assert merkle.verify_inclusion(
        bytes(leaf),
        1,
        signed.tree_size,
        [base64.b64decode(p) for p in proof["proof"]],
        signed.root_hash,
    )
    consistency = client.get(f"/api/v1/transparency/consistency?old=2&new={signed.tree_size}").json
    assert consistency["old"] == 2 and consistency["proof"]

    bundle = client.get(f"/api/v1/transparency/certificates/{issued[0].number}").json
    assert bundle["verified"] is True and bundle["checkpoint"] == signed.note

    assert client.get("/api/v1/transparency/inclusion?seq=x&tree_size=1").status_code == 400
    bad = client.get(f"/api/v1/transparency/inclusion?seq=99&tree_size={signed.tree_size}")
    assert bad.status_code == 422 and bad.json["error"]["code"] == "log_range"
    missing = client.get("/api/v1/transparency/certificates/Y000132010001264999999")
    assert missing.status_code == 404
    # Bad input is a 400, never a 500: digits that are not ASCII, a NUL (PostgreSQL text
    # cannot hold one), anything that is not a number's shape.
    for query in ("seq=%C2%B2&tree_size=1", "seq=1&tree_size=%D9%A3", "old=1&new=%EF%BC%92"):
        kind = "inclusion" if "seq" in query else "consistency"
        assert client.get(f"/api/v1/transparency/{kind}?{query}").status_code == 400, query
    for number in ("a%00b", "Y0001320100012649999%0099", "x" * 40, "%E2%80%AE"):
        answer = client.get(f"/api/v1/transparency/certificates/{number}")
        assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_request"


def test_events_outside_batches_are_checkpointed_at_once(runtime: Runtime, body: str) -> None:
    """A key created, rotated or compromised, a body, scope or member change, a revocation:
    each is in a signed checkpoint as soon as it commits, with no batch after it."""
    from certsvc.bodies.bodies import get_body, set_seal, set_status

    def logged() -> tuple[int, list[str]]:
        with runtime.db.session() as session:
            latest = latest_checkpoint(session)
            kinds = session.scalars(select(Event.kind).order_by(Event.seq)).all()
        return (latest.tree_size if latest else 0), list(kinds)

    size, kinds = logged()  # the body's first key came with it: no batch has run
    assert "key_created" in kinds and size == len(kinds)
    with runtime.db.transaction() as session:
        new = runtime.keyring.rotate(session, get_body(session, body))
        kid = new.kid
    size, kinds = logged()
    assert kinds[-1] == "key_rotated" and size == len(kinds)
    after = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    with runtime.db.transaction() as session:
        runtime.keyring.mark_compromised(session, kid, after)
    size, kinds = logged()
    assert kinds[-2:] == ["key_compromised", "key_rotated"] and size == len(kinds)
    number = issue(runtime, [row(1)]).certificates[0].number
    revoke(runtime, number, "考核记录不实")
    size, kinds = logged()
    assert kinds[-1] == "revoked" and size == len(kinds)
    with runtime.db.transaction() as session:
        found = get_body(session, body)
        set_seal(session, found, None)
        set_status(session, found, "suspended")
    size, kinds = logged()
    assert kinds[-2:] == ["body_changed", "body_changed"] and size == len(kinds)
    with pytest.raises(RuntimeError), runtime.db.transaction() as session:
        runtime.keyring.rotate(session, get_body(session, body))
        raise RuntimeError("rolled back: nothing to log")
    assert logged() == (size, kinds)
    with runtime.db.session() as session:
        assert audit(session) == size
