"""Talent statistics: what counts, by which dimension, in which format, and who may read them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner
from flask.testing import FlaskClient
from openpyxl import load_workbook

from certsvc.bodies.bodies import get_body
from certsvc.cli.main import cli
from certsvc.issuance.service import content_hash, issue_batch, revoke
from certsvc.models import utcnow
from certsvc.registry.stats import compute_stats, render
from certsvc.runtime import Runtime
from tests.conftest import OTHER_BODY, add_other_body, bearer, env_of, issue, row, token_for


def table(stats: dict[str, object], name: str) -> dict[str, tuple[int, int]]:
    by = stats["by"]
    assert isinstance(by, dict)
    return {r["key"]: (r["certificates"], r["holders"]) for r in by[name]}


def sample(runtime: Runtime) -> None:
    """Person 1 twice (two occupations), person 2 revoked, person 3 direct 高级工 in 2025,
    person 4 corrected (only the new certificate counts), person 5 in another province."""
    direct = {
        "level": "三级",
        "route": "直接认定",
        "direct_ground": "师带徒",
        "direct_evidence": "带徒十二名，均取得中级工以上证书",
        "issue_date": "2025-06-01",
    }
    result = issue(
        runtime,
        [row(1), row(1, occupation_code="6-18-02-04"), row(2), row(3, **direct), row(4)],
    )
    revoke(runtime, result.certificates[2].number, "考核记录造假 falsified")
    issue(runtime, [row(4, name="李四", corrects=result.certificates[4].number)])
    add_other_body(runtime)
    with runtime.db.session() as session:
        other_uscc = get_body(session, OTHER_BODY).uscc
    rows = [(2, row(5, employer_uscc=other_uscc))]
    issue_batch(runtime, OTHER_BODY, rows, source="api", content_sha256=content_hash(rows))


def test_counts_valid_certificates_and_distinct_holders_by_dimension(
    runtime: Runtime, body: str
) -> None:
    sample(runtime)
    with runtime.db.session() as session:
        stats = compute_stats(session).to_dict()
    assert stats["totals"] == {"certificates": 5, "holders": 4}
    assert table(stats, "province") == {"32": (4, 3), "44": (1, 1)}
    assert [r["label"] for r in stats["by"]["province"]] == ["江苏省", "广东省"]
    assert table(stats, "occupation") == {"6-18-02-04": (1, 1), "6-31-01-03": (4, 4)}
    assert table(stats, "level") == {"3": (1, 1), "4": (4, 3)}
    assert table(stats, "year") == {"2025": (1, 1), "2026": (4, 3)}
    assert table(stats, "route") == {"direct": (1, 1), "regular": (4, 3)}
    assert "province of the certification body" in stats["basis"]
    with runtime.db.session() as session:
        one = compute_stats(session, body_id=get_body(session, OTHER_BODY).id).to_dict()
    assert one["totals"] == {"certificates": 1, "holders": 1} and one["scope"] == OTHER_BODY


def test_levels_are_listed_by_rank(runtime: Runtime, body: str) -> None:
    """五级 first and 首席技师 last, not by code as text (1..5, then C and T)."""
    levels = ["特级技师", "五级", "首席技师", "一级", "三级"]
    issue(runtime, [row(n, level=level) for n, level in enumerate(levels, start=1)])
    with runtime.db.session() as session:
        stats = compute_stats(session).to_dict()
    labels = [r["label"] for r in stats["by"]["level"]]
    assert labels == ["五级/初级工", "三级/高级工", "一级/高级技师", "特级技师", "首席技师"]


def test_certificates_signed_after_a_key_compromise_do_not_count(
    runtime: Runtime, body: str
) -> None:
    issue(runtime, [row(1)])
    cutoff = utcnow()
    issue(runtime, [row(2)])
    with runtime.db.transaction() as session:
        key = runtime.keyring.active_key(session, get_body(session, body))
        assert key is not None
        runtime.keyring.mark_compromised(session, key.kid, cutoff)
    with runtime.db.session() as session:
        assert compute_stats(session).certificates == 1


def test_csv_xlsx_and_json(runtime: Runtime, body: str, tmp_path: Path) -> None:
    sample(runtime)
    with runtime.db.session() as session:
        stats = compute_stats(session)
    data = render(stats, "csv")
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["dimension", "key", "label", "certificates", "holders"]
    assert ["total", "", "", "5", "4"] in rows
    assert ["route", "direct", "直接认定", "1", "1"] in rows
    book = load_workbook(io.BytesIO(render(stats, "xlsx")))
    assert book.sheetnames == ["total", "province", "occupation", "level", "year", "route"]
    # By rank: 四级 (rank 2) before 三级 (rank 3).
    assert [c.value for c in book["level"][2]] == ["4", "四级/中级工", 4, 3]
    assert [c.value for c in book["level"][3]] == ["3", "三级/高级工", 1, 1]
    assert json.loads(render(stats, "json"))["totals"]["certificates"] == 5


def test_the_stats_command(runtime: Runtime, body: str, tmp_path: Path, runner: CliRunner) -> None:
    sample(runtime)
    env = env_of(runtime.settings)
    result = runner.invoke(cli, ["stats", "--format", "json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0 and json.loads(result.stdout)["totals"]["holders"] == 4
    out = tmp_path / "stats.xlsx"
    result = runner.invoke(cli, ["stats", "--format", "xlsx", "-o", str(out)], env=env)
    assert result.exit_code == 0 and "5 valid certificates" in result.stdout
    assert load_workbook(out)["total"]["B4"].value == 5
    result = runner.invoke(cli, ["stats", "--format", "xlsx"], env=env)
    assert result.exit_code == 65 and "--output" in result.stderr
    csv_out = runner.invoke(cli, ["stats", "--format", "csv", "--body", OTHER_BODY], env=env)
    assert "total,,,1,1" in csv_out.stdout


def test_the_stats_endpoint_is_for_the_registry(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    sample(runtime)
    assert client.get("/api/v1/registry/stats").status_code == 401
    denied = client.get("/api/v1/registry/stats", headers=bearer(token_for(runtime, "viewer")))
    assert denied.status_code == 403
    ok = client.get("/api/v1/registry/stats", headers=bearer(token_for(runtime)))
    assert ok.status_code == 200 and ok.json["totals"] == {"certificates": 5, "holders": 4}
    scoped = client.get(
        "/api/v1/registry/stats", headers=bearer(token_for(runtime, "registry", OTHER_BODY))
    )
    assert scoped.json["totals"]["certificates"] == 1
