"""Regenerate the verification vectors in this directory (certsvc's real QR payload).

    cd /work/main && .venv/bin/python tests/assets/jose/verify/make_verify_vectors.py

The keys and the key set are those of ``../jwks.json`` (TEST KEYS ONLY, made by
``../make_vectors.py``): ``active``, ``retired``, ``compromised`` (cutoff 2025-03-01T00:00Z)
and ``outsider`` (not in the key set). Unlike the vectors one level up, these tokens carry the
payload certsvc really signs, ``[1, number, holder name, occupation code, issue date as
YYYYMMDD]``, so a verifier can be tested end to end, not only its JWS layer.

Everything is built from the standard library and ``cryptography`` — headers are spelled out
as text — so the vectors do not inherit certsvc's bugs. Deterministic;
``tests/test_verify_offline.py`` checks that the files equal a fresh run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from cryptography.hazmat.primitives import serialization

HERE = Path(__file__).resolve().parent


def _make_vectors() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_vectors", HERE.parent / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MV = _make_vectors()
NUMBER = "Y000132010001253000001"  # Y 0001 32 010001 25 3 000001: 高级工, 2025, serial 1
#: A number of another body (Y 0002 32 010001): the test keys belong to body Y000132010001.
OTHER_BODY_NUMBER = "Y000232010001253000001"
HOLDER = "张三"
OCCUPATION = "6-31-01-03"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def payload(number: str = NUMBER, name: str = HOLDER, date: int = 20250115, v: Any = 1) -> bytes:
    """The QR payload as certsvc signs it: a compact JSON array, UTF-8."""
    body = [v, number, name, OCCUPATION, date]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signed(key_name: str, body: bytes, header: str | None = None) -> str:
    key = MV.test_private_key(key_name)
    kid = MV.kid_for(key)
    return MV._signed(header or f'{{"alg":"EdDSA","kid":"{kid}"}}', body, key)


def hs256(secret: bytes, body: bytes, kid: str) -> str:
    signing_input = _b64(f'{{"alg":"HS256","kid":"{kid}"}}'.encode()) + "." + _b64(body)
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64(mac)


def record(name: str = HOLDER, date: str = "2025-01-15") -> bytes:
    """A vc+jwt credential payload as certsvc's issuance builds it (sorted keys, compact)."""
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"https://cert.example.cn/c/{NUMBER}",
        "type": ["VerifiableCredential", "VocationalSkillLevelCertificate"],
        "issuer": {
            "id": "https://cert.example.cn/bodies/Y000132010001",
            "name": "南京测试装备集团有限公司",
            "nameEn": "Nanjing Test Equipment Group",
            "bodyCode": "Y000132010001",
        },
        "validFrom": f"{date}T00:00:00+08:00",
        "certificateNumber": NUMBER,
        "credentialSubject": {
            "type": "SkillCertificateHolder",
            "name": name,
            "idType": "resident_id",
            "idNumberMasked": "3201**********0017",
            "employer": {"uscc": "91320100MA1X7K3P8X", "name": ""},
            "occupation": {
                "code": OCCUPATION,
                "name": "电工",
                "nameEn": "Electrician",
                "workType": "",
            },
            "level": {"code": "3", "name": "三级/高级工", "nameEn": "Level 3 / Senior Worker"},
            "route": "direct",
            "directCertification": {
                "ground": "award",
                "groundName": "省部级以上奖项",
                "groundNameEn": "Award",
                "evidence": "2024年省职业技能大赛电工项目一等奖",
            },
        },
    }
    return json.dumps(
        credential, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()


def vc(key_name: str, body: bytes) -> str:
    kid = MV.kid_for(MV.test_private_key(key_name))
    return signed(key_name, body, f'{{"alg":"EdDSA","kid":"{kid}","typ":"vc+jwt","cty":"vc"}}')


def build_vectors() -> dict[str, bytes]:
    """Every vector file's name and exact content (manifest: verify_vectors.json)."""
    active_kid = MV.kid_for(MV.test_private_key("active"))
    public = MV.test_private_key("active").public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk_text = json.dumps(MV.public_jwk(public), separators=(",", ":")).encode()
    good = signed("active", payload())
    h, p, s = good.split(".")
    tampered_payload = _b64(payload(name="李四"))
    none_header = _b64(('{"alg":"none","kid":"' + active_kid + '"}').encode())
    vectors: list[tuple[str, str, str, str | None, str]] = [
        ("good.jws", good, "valid", None, "active key, real payload"),
        (
            "good_retired_key.jws",
            signed("retired", payload()),
            "valid",
            None,
            "retired key: its earlier signatures stay valid",
        ),
        (
            "good_record.jwt",
            vc("active", record()),
            "record",
            None,
            "vc+jwt record matching good.jws (as embedded in a certificate PDF)",
        ),
        (
            "record_other_name.jwt",
            vc("active", record(name="李四")),
            "record",
            None,
            "vc+jwt signed by the active key for another name: must not confirm good.jws",
        ),
        (
            "compromised_before_cutoff.jws",
            signed("compromised", payload(date=20250115)),
            "invalid_signature",
            "key_compromised_undecided",
            "compromised key, issue date before the cutoff: undecidable offline, so not valid",
        ),
        (
            "compromised_after_cutoff.jws",
            signed("compromised", payload(date=20250601)),
            "invalid_signature",
            "key_compromised",
            "compromised key, signed issue date after the cutoff: signed after compromise",
        ),
        (
            "other_body_number.jws",
            signed("active", payload(number=OTHER_BODY_NUMBER)),
            "invalid_signature",
            "record_mismatch",
            "the active key (body Y000132010001) signed a number of body Y000232010001",
        ),
        (
            "unknown_key.jws",
            signed("outsider", payload()),
            "unknown_key",
            None,
            "signed by a key not in jwks.json",
        ),
        (
            "tampered_name.jws",
            f"{h}.{tampered_payload}.{s}",
            "invalid_signature",
            "tampered",
            "holder name 张三 -> 李四, original signature",
        ),
        (
            "tampered_signature.jws",
            f"{h}.{p}.{s[:-2]}{'A' if s[-2] != 'A' else 'B'}{s[-1]}",
            "invalid_signature",
            "tampered",
            "one signature character changed",
        ),
        (
            "alg_none.jws",
            none_header + "." + p + ".",
            "invalid_signature",
            "unsupported_header",
            "alg none, empty signature",
        ),
        (
            "alg_hs256_raw_public_key.jws",
            hs256(raw, payload(), active_kid),
            "invalid_signature",
            "unsupported_header",
            "HS256 keyed with the active key's 32 raw public bytes",
        ),
        (
            "alg_hs256_pem_public_key.jws",
            hs256(pem, payload(), active_kid),
            "invalid_signature",
            "unsupported_header",
            "HS256 keyed with the active key's public PEM",
        ),
        (
            "alg_hs256_jwk_public_key.jws",
            hs256(jwk_text, payload(), active_kid),
            "invalid_signature",
            "unsupported_header",
            "HS256 keyed with the active key's public JWK text",
        ),
        (
            "payload_object_form.jws",
            signed("active", json.dumps({"n": NUMBER, "h": HOLDER}, ensure_ascii=False).encode()),
            "malformed",
            None,
            "correctly signed, but not the certsvc payload form",
        ),
        (
            "payload_impossible_date.jws",
            signed("active", payload(date=20250230)),
            "malformed",
            None,
            "correctly signed, issue date 2025-02-30",
        ),
        (
            "payload_version_2.jws",
            signed("active", payload(v=2)),
            "malformed",
            None,
            "correctly signed, unknown payload format version",
        ),
    ]
    files = {name: (token + "\n").encode("ascii") for name, token, *_ in vectors}
    manifest = [
        {"file": name, "expect": expect, "reason": reason, "note": note}
        for name, _, expect, reason, note in vectors
    ]
    files["verify_vectors.json"] = (
        json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"
    )
    return files


def main() -> None:
    for name, content in build_vectors().items():
        (HERE / name).write_bytes(content)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
