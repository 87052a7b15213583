"""The Merkle tree, checkpoints and leaves against published vectors (no database).

Vectors (tests/assets/transparency/README.md): transparency-dev/merkle's reference tree and its
inclusion/consistency probes with their broken variants; Go's sumdb signed-note test keys.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from certsvc.errors import CheckpointError, LogIntegrityError
from certsvc.transparency import merkle
from certsvc.transparency.leaf import EventFacts, canonical_json, leaf_data
from certsvc.transparency.note import (
    Checkpoint,
    NoteVerifier,
    format_checkpoint,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    sign_note,
    verifier_key,
)
from certsvc.transparency.offline import verify_bundle

ASSETS = Path(__file__).parent / "assets" / "transparency"
PROBES = ASSETS / "transparency-dev-merkle" / "testdata"
REFERENCE = json.loads((ASSETS / "reference-tree.json").read_text())
NOTES = json.loads((ASSETS / "signed-note.json").read_text())
LEAVES = [bytes.fromhex(h) for h in REFERENCE["leaf_inputs_hex"]]

#: Where certsvc is deliberately stricter than transparency-dev/merkle (see the README).
STRICTER = {"consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"}


def b64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def probes(kind: str) -> list[Any]:
    files = sorted((PROBES / kind).rglob("*.json"))
    assert len(files) > 60  # the vectors are really there
    return [pytest.param(f, id=str(f.relative_to(PROBES))) for f in files]


def tree(leaves: list[bytes]) -> dict[merkle.NodeId, bytes]:
    nodes, _ = merkle.extend([], 0, [merkle.leaf_hash(x) for x in leaves])
    return dict(nodes)


# --- hashing and the reference tree ----------------------------------------------------------


def test_reference_tree_roots_of_every_size() -> None:
    nodes = tree(LEAVES)
    for size, expected in enumerate(REFERENCE["root_hashes_hex"]):
        plan = merkle.root_plan(size)
        root = merkle.resolve(plan, nodes)[0] if size else merkle.EMPTY_ROOT
        assert root.hex() == expected, size
        assert merkle.reference_root(LEAVES[:size]).hex() == expected


def test_every_stored_node_is_the_published_subtree_hash() -> None:
    nodes = tree(LEAVES)
    published = {
        (level, index): bytes.fromhex(value)
        for level, row in enumerate(REFERENCE["node_hashes_hex"])
        for index, value in enumerate(row)
    }
    assert nodes == published


def test_leaf_hash_matches_go_sumdb() -> None:
    vector = NOTES["tree_note"]
    root = merkle.leaf_hash(vector["leaf_data"].encode())
    assert format_checkpoint(Checkpoint(vector["origin"], vector["size"], root)) == vector["text"]


# --- proofs generated from stored nodes equal the published ones ----------------------------


@pytest.mark.parametrize("path", [p for p in probes("inclusion") if "happy-path" in str(p.id)])
def test_inclusion_proofs_equal_the_published_ones(path: Path) -> None:
    probe = json.loads(path.read_text())
    size, index = probe["treeSize"], probe["leafIdx"]
    proof = merkle.resolve(merkle.inclusion_plan(index, size), tree(LEAVES))
    assert proof == [b64(p) for p in probe["proof"] or []]
    assert merkle.leaf_hash(LEAVES[index]) == b64(probe["leafHash"])


@pytest.mark.parametrize("path", [p for p in probes("consistency") if "happy-path" in str(p.id)])
def test_consistency_proofs_equal_the_published_ones(path: Path) -> None:
    probe = json.loads(path.read_text())
    proof = merkle.resolve(merkle.consistency_plan(probe["size1"], probe["size2"]), tree(LEAVES))
    assert proof == [b64(p) for p in probe["proof"] or []]


def test_plans_read_the_nodes_transparency_dev_reads() -> None:
    # proof/proof_test.go TestInclusion: size 7 index 0 reads b, h, then j and i (l=hash(i,j)).
    assert merkle.inclusion_plan(0, 7) == [[(0, 1)], [(1, 1)], [(1, 2), (0, 6)]]
    assert merkle.inclusion_plan(6, 7) == [[(1, 2)], [(2, 0)]]
    assert merkle.inclusion_plan(81, 95)[-2:] == [[(4, 4)], [(6, 0)]]
    plan = merkle.inclusion_plan(10, 15)
    assert merkle.plan_nodes(plan) == {(0, 11), (1, 4), (0, 14), (1, 6), (3, 0)}


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 31, 32, 33, 64, 70])
def test_proofs_match_the_rfc_definitions_for_every_position(size: int) -> None:
    leaves = [i.to_bytes(2, "big") for i in range(size)]
    nodes = tree(leaves)
    root = merkle.resolve(merkle.root_plan(size), nodes)[0]
    assert root == merkle.reference_root(leaves)
    for index in range(size):
        proof = merkle.resolve(merkle.inclusion_plan(index, size), nodes)
        assert proof == merkle.reference_inclusion_proof(leaves, index)
        assert merkle.verify_inclusion(merkle.leaf_hash(leaves[index]), index, size, proof, root)
    for old in range(1, size + 1):
        proof = merkle.resolve(merkle.consistency_plan(old, size), nodes)
        assert proof == merkle.reference_consistency_proof(leaves, old)
        old_root = merkle.reference_root(leaves[:old])
        assert merkle.verify_consistency(old, size, old_root, root, proof)


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=8))
def test_appending_in_any_chunks_gives_the_same_tree(chunks: list[int]) -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(sum(chunks))]
    stored: dict[merkle.NodeId, bytes] = {}
    frontier: list[tuple[merkle.NodeId, bytes]] = []
    size = 0
    for count in chunks:
        created, frontier = merkle.extend(frontier, size, leaves[size : size + count])
        assert not stored.keys() & dict(created).keys()  # nothing is ever rewritten
        stored.update(created)
        size += count
    assert stored == dict(merkle.extend([], 0, leaves)[0])
    assert len(stored) < 2 * size


def test_extend_refuses_a_wrong_frontier() -> None:
    with pytest.raises(ValueError, match="not the edge"):
        merkle.extend([], 3, [b"\0" * 32])


def test_bad_plans_are_refused() -> None:
    for index, size in [(0, 0), (1, 1), (8, 7), (-1, 3)]:
        with pytest.raises(ValueError):
            merkle.inclusion_plan(index, size)
    for old, new in [(0, 0), (0, 5), (6, 5)]:
        with pytest.raises(ValueError):
            merkle.consistency_plan(old, new)


# --- the verifiers against every published probe, broken ones included ----------------------


@pytest.mark.parametrize("path", probes("inclusion"))
def test_verify_inclusion_probe(path: Path) -> None:
    probe = json.loads(path.read_text())
    accepted = merkle.verify_inclusion(
        b64(probe["leafHash"]),
        probe["leafIdx"],
        probe["treeSize"],
        [b64(p) for p in probe["proof"] or []],
        b64(probe["root"]),
    )
    assert accepted is not probe["wantErr"], probe["desc"]


@pytest.mark.parametrize("path", probes("consistency"))
def test_verify_consistency_probe(path: Path) -> None:
    probe = json.loads(path.read_text())
    accepted = merkle.verify_consistency(
        probe["size1"],
        probe["size2"],
        b64(probe["root1"]),
        b64(probe["root2"]),
        [b64(p) for p in probe["proof"] or []],
    )
    if str(path.relative_to(PROBES)) in STRICTER:
        assert not accepted and not probe["wantErr"]  # 12-byte "roots": refused on purpose
    else:
        assert accepted is not probe["wantErr"], probe["desc"]


# --- checkpoints as signed notes --------------------------------------------------------------


def go_signer() -> Ed25519PrivateKey:
    encoded = NOTES["signer_key"].split("+", 4)[4]
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded)[1:])


def test_signed_note_matches_go_byte_for_byte() -> None:
    key = go_signer()
    assert verifier_key("PeterNeumann", key.public_key()) == NOTES["verifier_key"]
    assert sign_note(NOTES["text"], "PeterNeumann", key) == NOTES["signed"]


def test_open_note_ignores_unknown_signers_and_checks_known_ones() -> None:
    peter = NoteVerifier.parse(NOTES["verifier_key"])
    enoch = NoteVerifier.parse(NOTES["other_verifier_key"])
    both = NOTES["signed"] + NOTES["other_signature_line"]
    assert open_note(both, [peter]) == (NOTES["text"], ["PeterNeumann"])
    assert open_note(both, [peter, enoch])[1] == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(CheckpointError, match="no trusted"):
        open_note(NOTES["signed"], [enoch])
    tampered = NOTES["signed"].replace("cryptography", "crypt0graphy")
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(tampered, [peter])


def test_verifier_keys_whose_base64_holds_a_plus_sign() -> None:
    key = next(
        k
        for k in iter(Ed25519PrivateKey.generate, None)
        if "+" in verifier_key("o", k.public_key())[12:]
    )
    parsed = NoteVerifier.parse(verifier_key("o", key.public_key()))
    assert parsed == NoteVerifier.of("o", key.public_key())


@pytest.mark.parametrize("vkey", NOTES["bad_verifier_keys"] + ["PeterNeumann+c74f20a3"])
def test_bad_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(CheckpointError):
        NoteVerifier.parse(vkey)


@pytest.mark.parametrize(
    "note",
    [
        "",
        "a\n1\nAAAA\n",  # no signatures
        "a\n1\n\n\n— a AAAA\n",  # blank line inside the text
        "a\n\n- a AAAAAAAAAAAA\n",  # hyphen, not an em dash
        "a\n\n— a AAAAAAAA===\n",  # not base64
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(CheckpointError):
        open_note(note, [NoteVerifier.parse(NOTES["verifier_key"])])


def test_checkpoint_round_trip_and_origin_check() -> None:
    key = Ed25519PrivateKey.generate()
    body = format_checkpoint(Checkpoint("cert.example.cn/log", 8, merkle.reference_root(LEAVES)))
    assert body == "cert.example.cn/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    note = sign_note(body, "cert.example.cn/log", key)
    verifier = NoteVerifier.of("cert.example.cn/log", key.public_key())
    assert open_checkpoint(note, [verifier], "cert.example.cn/log").size == 8
    with pytest.raises(CheckpointError, match="not of"):
        open_checkpoint(note, [verifier], "other.example.cn/log")


@pytest.mark.parametrize(
    "body",
    [
        "o\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",  # leading zero
        "o\n-1\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "o\n8\nXcnaeacGWamtVZy3Ad7Zoqudgjqt\n",  # short root
        "o\n8\n",
        "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
    ],
)
def test_malformed_checkpoints_are_refused(body: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(body)


def test_checkpoint_extension_lines_are_allowed() -> None:
    body = "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\nextension\n"
    assert parse_checkpoint(body).size == 8


# --- leaves ------------------------------------------------------------------------------------


AT = dt.datetime(2026, 11, 20, 8, 0, 0, 123456, tzinfo=dt.UTC)


def test_issued_leaf_is_canonical_json_of_public_facts() -> None:
    facts = EventFacts(
        seq=7,
        kind="issued",
        occurred_at=AT,
        data={"kid": "k"},
        body_code="Y000132010001",
        certificate_number="Y000132010001264000001",
        token="a.b.c",
        record="d.e.f",
    )
    token_hash = hashlib.sha256(b"a.b.c").hexdigest()
    record_hash = hashlib.sha256(b"d.e.f").hexdigest()
    assert (
        leaf_data(facts)
        == (
            '{"at":"2026-11-20T08:00:00.123456Z","body":"Y000132010001",'
            '"certificate":"Y000132010001264000001","compromised_after":null,"data_sha256":null,'
            f'"kid":"k","kind":"issued","record_sha256":"{record_hash}","seq":7,'
            f'"token_sha256":"{token_hash}","v":1}}'
        ).encode()
    )


def test_leaves_commit_to_what_each_kind_fixes() -> None:
    revoked = EventFacts(2, "revoked", AT, {"number": "N", "kid": "k", "record": "r"})
    assert json.loads(leaf_data(revoked))["record_sha256"] == hashlib.sha256(b"r").hexdigest()
    cutoff = "2026-11-26T08:00:00+08:00"
    compromised = EventFacts(3, "key_compromised", AT, {"kid": "k", "compromised_after": cutoff})
    assert json.loads(leaf_data(compromised))["compromised_after"] == "2026-11-26T00:00:00.000000Z"
    body = EventFacts(4, "body_created", AT, {"code": "Y000132010001", "名": "测试"})
    digest = hashlib.sha256('{"code":"Y000132010001","名":"测试"}'.encode()).hexdigest()
    assert json.loads(leaf_data(body))["data_sha256"] == digest


def reference_leaf_data(facts: EventFacts) -> bytes:
    """The leaf format's definition as a dictionary given to canonical_json (the module
    docstring's table); leaf_data writes the same bytes directly."""
    data = facts.data or {}
    at = facts.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    statement: dict[str, Any] = dict.fromkeys(
        ["certificate", "kid", "token_sha256", "record_sha256", "compromised_after"]
    )
    statement.update(v=1, seq=facts.seq, kind=facts.kind, at=at, body=facts.body_code)
    statement["data_sha256"] = None

    def sha(text: str | None) -> str | None:
        return None if text is None else hashlib.sha256(text.encode()).hexdigest()

    if facts.kind in ("issued", "revoked", "superseded"):
        statement["certificate"] = facts.certificate_number or data.get("number")
        statement["kid"] = data.get("kid")
        if facts.kind == "issued":
            statement["token_sha256"] = sha(facts.token)
            statement["record_sha256"] = sha(facts.record)
        else:
            statement["record_sha256"] = sha(data.get("record"))
    elif facts.kind in ("key_created", "key_rotated", "key_compromised"):
        statement["kid"] = data.get("kid")
        cutoff = data.get("compromised_after")
        if facts.kind == "key_compromised" and cutoff is not None:
            moment = dt.datetime.fromisoformat(str(cutoff)).astimezone(dt.UTC)
            statement["compromised_after"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    else:
        statement["data_sha256"] = hashlib.sha256(canonical_json(dict(data))).hexdigest()
    return canonical_json(statement)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)
_aware = st.datetimes(
    min_value=dt.datetime(1000, 1, 2),
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))]),
)


@given(
    seq=st.integers(min_value=1, max_value=2**53),
    kind=st.sampled_from(
        [
            "issued",
            "revoked",
            "superseded",
            "key_created",
            "key_rotated",
            "key_compromised",
            "body_created",
            "body_changed",
        ]
    ),
    at=_aware,
    data=st.dictionaries(
        st.sampled_from(["number", "kid", "record", "code", "名"]), st.text() | _json_values
    ),
    cutoff=st.none() | _aware.map(lambda moment: moment.isoformat()),
    body=st.none() | st.text(),
    number=st.none() | st.text(),
    token=st.none() | st.text(),
    record=st.none() | st.text(),
)
def test_leaf_data_is_the_canonical_json_of_the_statement(
    seq: int,
    kind: str,
    at: dt.datetime,
    data: dict[str, Any],
    cutoff: str | None,
    body: str | None,
    number: str | None,
    token: str | None,
    record: str | None,
) -> None:
    if kind == "key_compromised" and cutoff is not None:
        data = {**data, "compromised_after": cutoff}
    if kind != "issued" and not isinstance(data.get("record"), str | None):
        data = {**data, "record": str(data["record"])}  # hashed as text, as stored
    facts = EventFacts(seq, kind, at, data, body, number, token, record)
    assert leaf_data(facts) == reference_leaf_data(facts)


# --- the offline bundle check -----------------------------------------------------------------


def bundle_for(token: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    """A bundle for leaf 5 of an 8-leaf tree whose leaf 5 is the issuance of ``token``."""
    facts = EventFacts(6, "issued", AT, {"kid": "k"}, "B", "N1", token, "rec")
    data = leaf_data(facts)
    leaves = [*LEAVES[:5], data, *LEAVES[6:]]
    nodes = dict(merkle.extend([], 0, [merkle.leaf_hash(x) for x in leaves])[0])
    root = merkle.resolve(merkle.root_plan(8), nodes)[0]
    note = sign_note(
        format_checkpoint(Checkpoint("log.example/log", 8, root)), "log.example/log", key
    )
    proof = merkle.resolve(merkle.inclusion_plan(5, 8), nodes)
    return {
        "checkpoint": note,
        "seq": 6,
        "leaf_data": data.decode(),
        "proof": [base64.b64encode(p).decode() for p in proof],
    }


def test_offline_bundle_check() -> None:
    key = Ed25519PrivateKey.generate()
    vkey = verifier_key("log.example/log", key.public_key())
    bundle = bundle_for("t.o.k", key)
    args: dict[str, Any] = {"trusted_keys": [vkey], "origin": "log.example/log"}
    assert verify_bundle(bundle, token="t.o.k", certificate_number="N1", **args).size == 8
    with pytest.raises(LogIntegrityError, match="token_sha256"):
        verify_bundle(bundle, token="other", certificate_number="N1", **args)
    with pytest.raises(LogIntegrityError, match="certificate"):
        verify_bundle(bundle, token="t.o.k", certificate_number="N2", **args)
    broken = {**bundle, "proof": list(reversed(bundle["proof"]))}
    with pytest.raises(LogIntegrityError, match="does not lead"):
        verify_bundle(broken, token="t.o.k", certificate_number="N1", **args)
    stranger = verifier_key("log.example/log", Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CheckpointError, match="no trusted"):
        verify_bundle(
            bundle,
            token="t.o.k",
            certificate_number="N1",
            trusted_keys=[stranger],
            origin=args["origin"],
        )
