"""Offline verification against a JWKS alone: the vectors, every one-byte change, compromise."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from certsvc.signing.jwks import KeySet
from certsvc.verify import verify_offline
from certsvc.verify.result import OFFLINE_GAPS

ASSETS = Path(__file__).parent / "assets" / "jose"
VECTORS = ASSETS / "verify"
MANIFEST: list[dict[str, str | None]] = json.loads(
    (VECTORS / "verify_vectors.json").read_text("utf-8")
)
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def keys() -> KeySet:
    return KeySet.from_file(ASSETS / "jwks.json")


def vector(name: str) -> str:
    return (VECTORS / name).read_text("ascii").removesuffix("\n")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_verify_vectors", VECTORS / "make_verify_vectors.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vectors_are_current() -> None:
    built: dict[str, bytes] = _generator().build_vectors()
    on_disk = {p.name for p in VECTORS.iterdir() if p.suffix in {".jws", ".jwt", ".json"}}
    assert on_disk == set(built)
    for name, content in built.items():
        assert (VECTORS / name).read_bytes() == content, f"{name} is stale: re-run the script"


@pytest.mark.parametrize(
    "case", [v for v in MANIFEST if v["expect"] != "record"], ids=lambda v: str(v["file"])
)
def test_vector(case: dict[str, str | None], keys: KeySet) -> None:
    result = verify_offline(vector(str(case["file"])), keys, now=NOW)
    assert (result.status, result.reason) == (case["expect"], case["reason"]), result.message
    assert result.mode == "offline"
    assert result.is_valid == (case["expect"] == "valid")


def test_valid_offline_says_what_it_could_not_check(keys: KeySet) -> None:
    result = verify_offline(vector("good.jws"), keys, now=NOW)
    assert result.status == "valid"
    assert result.not_checked == OFFLINE_GAPS
    assert "not checked offline" in result.message
    c = result.certificate
    assert c is not None
    # Signed fields, and what the number and the shipped catalogue say about them.
    assert (c["number"], c["holder_name"], c["occupation_code"], c["issue_date"]) == (
        "Y000132010001253000001",
        "张三",
        "6-31-01-03",
        "2025-01-15",
    )
    assert (c["level_name"], c["occupation_name"], c["issuer"]["code"]) == (
        "三级/高级工",
        "电工",
        "Y000132010001",
    )
    assert c["id_number_masked"] is None and c["status"] is None  # unknown offline
    assert result.key_status == "active"
    assert result.to_dict()["checked_at"] == "2026-11-26T12:00:00Z"


def test_a_signed_record_fills_every_field_and_must_agree(keys: KeySet) -> None:
    result = verify_offline(vector("good.jws"), keys, record=vector("good_record.jwt"), now=NOW)
    assert result.status == "valid"
    assert result.not_checked == ("revocation", "supersession")
    c = result.certificate
    assert c is not None
    assert c["id_number_masked"] == "3201**********0017"
    assert c["issuer"]["name"] == "南京测试装备集团有限公司"
    assert (c["route"], c["direct_ground"]) == ("direct", "award")
    assert "employer_uscc" not in c  # not printed on the certificate, not shown to the public

    other = verify_offline(
        vector("good.jws"), keys, record=vector("record_other_name.jwt"), now=NOW
    )
    assert (other.status, other.reason) == ("invalid_signature", "record_mismatch")
    assert "holder_name" in other.message
    # A record is no QR token: given as the token it is not valid either.
    assert not verify_offline(vector("good_record.jwt"), keys, now=NOW).is_valid


def test_a_key_certifies_for_its_own_body_only(keys: KeySet) -> None:
    result = verify_offline(vector("other_body_number.jws"), keys, now=NOW)
    assert (result.status, result.reason) == ("invalid_signature", "record_mismatch")
    assert "the key of body Y000132010001 cannot certify for body Y000232010001" in (result.message)
    assert result.certificate is not None
    assert result.certificate["issuer"]["code"] == "Y000232010001"  # as the number says
    make = _generator()
    # 特级技师/首席技师 numbers carry a level letter, whichever one is configured.
    for number in ("YT000132010001250000 01", "YX00013201000125000001"):
        special = make.signed("active", make.payload(number=number.replace(" ", "")))
        assert verify_offline(special, keys, now=NOW).is_valid, number
    for number in ("YX00023201000125000001", "not a number", "Y00013201000125300000"):
        token = make.signed("active", make.payload(number=number))
        assert verify_offline(token, keys, now=NOW).reason == "record_mismatch", number
    # A signed record may not name another issuer than the number does.
    credential = json.loads(make.record())
    credential["issuer"].update(bodyCode="Y000232010001", name="另一家评价机构")
    record = make.vc("active", json.dumps(credential, ensure_ascii=False).encode())
    other = verify_offline(vector("good.jws"), keys, record=record, now=NOW)
    assert (other.status, other.reason) == ("invalid_signature", "record_mismatch")
    assert other.message.endswith("they differ in issuer")


def test_a_key_set_without_bodies_does_not_judge_the_issuer() -> None:
    document = json.loads((ASSETS / "jwks.json").read_text("utf-8"))
    for key in document["keys"]:
        del key["body"]
    keys = KeySet.from_document(document)
    assert verify_offline(vector("other_body_number.jws"), keys, now=NOW).is_valid


def test_compromised_key_is_never_valid_offline(keys: KeySet) -> None:
    before = verify_offline(vector("compromised_before_cutoff.jws"), keys, now=NOW)
    assert "verify online" in before.message and before.key_status == "compromised"
    after = verify_offline(vector("compromised_after_cutoff.jws"), keys, now=NOW)
    assert "2025-06-01 is later" in after.message


def _one_byte_changes(token: str) -> list[str]:
    """Every token that differs from *token* in exactly one byte (any value 0..255)."""
    raw = token.encode("ascii")
    changed = []
    for i in range(len(raw)):
        for value in range(256):
            if value != raw[i]:
                changed.append((raw[:i] + bytes([value]) + raw[i + 1 :]).decode("latin-1"))
    return changed


def test_every_single_byte_change_is_not_valid(keys: KeySet) -> None:
    token = vector("good.jws")
    assert verify_offline(token, keys, now=NOW).is_valid
    statuses: dict[str, int] = {}
    for changed in _one_byte_changes(token):
        result = verify_offline(changed, keys, now=NOW)
        statuses[result.status] = statuses.get(result.status, 0) + 1
        assert not result.is_valid, (changed, result.message)
    assert set(statuses) <= {"malformed", "invalid_signature", "unknown_key"}
    assert statuses["invalid_signature"] > 0 and statuses["malformed"] > 0


def test_truncations_and_extensions_are_not_valid(keys: KeySet) -> None:
    token = vector("good.jws")
    for cut in range(len(token)):
        assert not verify_offline(token[:cut], keys, now=NOW).is_valid
    for extra in ("A", ".", "=", "==", ".A"):
        assert not verify_offline(token + extra, keys, now=NOW).is_valid
