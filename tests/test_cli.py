"""The ``certsvc`` command line, driven as a person would, on both backends."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from certsvc import config
from certsvc.cli.main import cli, main
from certsvc.config import SKIP_DEV_ENV, Settings, generate_secrets, read_env_file
from certsvc.domain.ids import IdType
from certsvc.issuance.columns import COLUMNS
from certsvc.models import Certificate, Holder
from certsvc.runtime import Runtime
from tests.conftest import (
    BODY_CODE,
    BODY_USCC,
    DEFAULT_PG,
    MEMBER_USCC,
    person_id,
    photo_bytes,
    photos_zip,
)


class Certsvc:
    """Runs certsvc commands with one fixed environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(cli, list(args), env=self.env, catch_exceptions=False)
        assert result.exit_code == code, (result.output, result.stderr)
        return result


@pytest.fixture
def certsvc(database_url: str, tmp_path: Path) -> Certsvc:
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": database_url,
        "CERTSVC_KEY_DIR": str(tmp_path / "keys"),
        "CERTSVC_PUBLIC_URL": "https://cert.example.cn",
    }
    run = Certsvc(env)
    assert "database ready" in run("init").output
    return run


def results_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8-sig") -> Path:
    header = [c.header for c in COLUMNS]
    lines = [",".join(header)] + [",".join(r.get(c.key, "") for c in COLUMNS) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def person(n: int, **extra: str) -> dict[str, str]:
    return {
        "name": "王小明",
        "id_type": "居民身份证",
        "id_number": person_id(n),
        "employer_uscc": BODY_USCC,
        "occupation_code": "6-31-01-03",
        "level": "四级/中级工",
        "issue_date": "2026-11-20",
        **extra,
    }


def set_up_body(certsvc: Certsvc) -> None:
    out = certsvc(
        "body",
        "create",
        "--code",
        BODY_CODE,
        "--name-zh",
        "南京测试装备集团有限公司",
        "--uscc",
        BODY_USCC,
        "--chain-leader",
    ).output
    assert re.search(r"created body Y000132010001 .*; key [A-Za-z0-9_-]{43}", out)
    certsvc(
        "body", "scope", BODY_CODE, "--occupation", "6-31-01-03", "--level", "4", "--level", "三级"
    )
    certsvc(
        "body", "member", BODY_CODE, "add", MEMBER_USCC, "--name", "成员", "--from", "2025-01-01"
    )
    # A new body requires photos; these tests are about everything else.
    assert "holder photos optional" in certsvc("body", "photos", BODY_CODE, "optional").output


def test_issue_a_results_file_end_to_end(certsvc: Certsvc, tmp_path: Path) -> None:
    set_up_body(certsvc)
    listing = certsvc("body", "list").output
    assert "chain-leader" in listing and "scope=2" in listing and "members=1" in listing
    # Levels by rank, whatever order they were added in: 四级 (中级工) before 三级.
    scope = certsvc("body", "scope", BODY_CODE, "--occupation", "6-31-01-03", "--level", "T")
    assert scope.output.splitlines()[-3:] == [
        "6-31-01-03  四级/中级工",
        "6-31-01-03  三级/高级工",
        "6-31-01-03  特级技师",
    ]
    certsvc("body", "scope", BODY_CODE, "--occupation", "6-31-01-03", "--level", "T", "--remove")

    file = results_csv(
        tmp_path / "results.csv",
        [person(1), person(2, name="李堃", employer_uscc=MEMBER_USCC, level="三级")],
        encoding="gb18030",
    )
    result = certsvc("issue", str(file), "--body", BODY_CODE)
    assert "issued 2 certificates" in result.output
    numbers = re.findall(r"Y\d{21}", result.output)
    assert numbers == ["Y000132010001264000001", "Y000132010001263000001"]

    again = certsvc("issue", str(file), "--body", BODY_CODE)
    assert "already issued" in again.output and "nothing new" in again.output

    shown = certsvc("show", numbers[1]).output
    assert "李堃" in shown and "三级/高级工" in shown
    assert "https://cert.example.cn/v/eyJ" in shown
    assert person_id(2) not in shown  # only the masked ID is ever shown


def test_issue_with_a_photos_zip_and_a_body_that_requires_photos(
    certsvc: Certsvc, tmp_path: Path
) -> None:
    set_up_body(certsvc)
    assert "holder photos optional" in certsvc("body", "photos", BODY_CODE).output
    assert "photos required" in certsvc("body", "photos", BODY_CODE, "required").output
    assert "(unchanged)" in certsvc("body", "photos", BODY_CODE, "required").output
    file = results_csv(tmp_path / "results.csv", [person(1), person(2)])

    # Without photos, nothing is issued: each row says which photo is missing.
    refused = certsvc("issue", str(file), "--body", BODY_CODE, code=65)
    assert refused.stderr.count("column photo: no photo for this ID number") == 2

    # One bad photo (too small), and one for nobody: both named, nothing issued.
    bad = tmp_path / "bad.zip"
    bad.write_bytes(
        photos_zip(
            {
                f"{person_id(1)}.jpg": photo_bytes(),
                f"{person_id(2)}.png": photo_bytes(200, 280, fmt="PNG"),
                f"{person_id(3)}.jpg": photo_bytes(),
            }
        )
    )
    refused = certsvc("issue", str(file), "--body", BODY_CODE, "--photos", str(bad), code=65)
    assert "row 3, column photo: the photo is 200 × 280 pixels" in refused.stderr
    assert "photo: " in refused.stderr and "matches no row" in refused.stderr
    assert person_id(3) not in refused.stderr

    good = tmp_path / "good.zip"
    good.write_bytes(
        photos_zip(
            {
                f"{person_id(1)}.jpg": photo_bytes(),
                f"照片/{person_id(2).lower()}.png": photo_bytes(fmt="PNG"),
            }
        )
    )
    issued = certsvc("issue", str(file), "--body", BODY_CODE, "--photos", str(good), "--json")
    assert len(json.loads(issued.stdout)["certificates"]) == 2
    runtime = Runtime.from_settings(Settings.from_env(certsvc.env))
    try:
        with runtime.db.session() as session:
            digests = session.scalars(select(Certificate.photo_sha256)).all()
        assert len(digests) == 2 and all(digests) and len(set(digests)) == 2
    finally:
        runtime.db.dispose()

    not_zip = tmp_path / "photos.zip"
    not_zip.write_bytes(photo_bytes())
    refused = certsvc("issue", str(file), "--body", BODY_CODE, "--photos", str(not_zip), code=65)
    assert "not a ZIP archive" in refused.stderr


def test_init_counts_clear_salts_and_seal_salts_seals_them(
    certsvc: Certsvc, tmp_path: Path
) -> None:
    """Sealing is its own command, run after the rollout: init only says what is left."""
    set_up_body(certsvc)
    certsvc("issue", str(results_csv(tmp_path / "r.csv", [person(1)])), "--body", BODY_CODE)
    runtime = Runtime.from_settings(Settings.from_env(certsvc.env))
    try:
        with runtime.db.transaction() as session:
            holder = session.scalars(select(Holder)).one()
            holder.id_salt = runtime.vault.open_salt(
                IdType(holder.id_type), holder.id_hash, holder.id_salt
            )  # as an earlier version stored it
        assert "1 holder has ID commitment salts stored in clear" in certsvc("init").output
        assert "sealed the ID commitment salts of 1 holder\n" in certsvc("seal-salts").output
        assert "stored in clear" not in certsvc("init").output
        assert "nothing to seal" in certsvc("seal-salts").output
    finally:
        runtime.db.dispose()


def test_a_bad_file_lists_every_row_error_and_issues_nothing(
    certsvc: Certsvc, tmp_path: Path
) -> None:
    set_up_body(certsvc)
    file = results_csv(
        tmp_path / "bad.csv",
        [person(1), person(2, id_number="110105194912310021"), person(3, level="八级")],
    )
    result = certsvc("issue", str(file), "--body", BODY_CODE, code=65)
    assert "row 3, column id_number" in result.stderr
    assert "row 4, column level" in result.stderr
    assert "nothing was issued" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    listing = certsvc("body", "list").output
    assert "certificates=0" in listing

    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\xff\xfe\x00\x81garbage\x00\x00")
    result = certsvc("issue", str(garbage), "--body", BODY_CODE, code=65)
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_keys_rotate_and_compromise(certsvc: Certsvc) -> None:
    set_up_body(certsvc)
    first = certsvc("keys", "list").output.split()[0]
    rotated = certsvc("keys", "rotate", BODY_CODE).output
    new_kid = rotated.split()[3]
    listing = certsvc("keys", "list", BODY_CODE).output
    assert f"{first}  {BODY_CODE}  Retired" in listing
    assert f"{new_kid}  {BODY_CODE}  Active" in listing
    # "--" ends the options: a kid is base64url and may itself start with "-".
    certsvc("keys", "compromise", "--after", "2026-11-26T08:00:00+08:00", "--yes", "--", new_kid)
    listing = certsvc("keys", "list").output
    assert "compromised after 2026-11-26T00:00:00+00:00" in listing
    assert listing.count(" Active ") == 1  # a fresh key replaced the compromised one
    result = certsvc(
        "keys", "compromise", "x" * 43, "--after", "2026-11-26T08:00Z", "--yes", code=66
    )
    assert "no signing key" in result.stderr


def test_suspended_body_and_unknown_certificate_fail_with_one_line(
    certsvc: Certsvc, tmp_path: Path
) -> None:
    set_up_body(certsvc)
    certsvc("body", "suspend", BODY_CODE)
    file = results_csv(tmp_path / "r.csv", [person(1)])
    result = certsvc("issue", str(file), "--body", BODY_CODE, code=65)
    assert "suspended" in result.stderr
    result = certsvc("show", "Y000132010001264999999", code=66)
    assert result.stderr == "error: no certificate Y000132010001264999999\n"


def test_template_is_written_in_both_formats(tmp_path: Path, runner: CliRunner) -> None:
    for name in ("t.csv", "t.xlsx"):
        result = runner.invoke(cli, ["template", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).stat().st_size > 100
    result = runner.invoke(cli, ["template", str(tmp_path / "t.txt")])
    assert result.exit_code == 65 and "must end in .csv or .xlsx" in result.stderr


def test_missing_secrets_stop_with_advice(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["init"], env={"CERTSVC_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert result.exit_code == 78
    assert "missing secrets: CERTSVC_SECRET_KEY" in result.stderr
    assert "certsvc secrets" in result.stderr


def test_secrets_env_file_keeps_the_port_and_public_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `make run` does: the file is made once; the port and URL are those of this run."""
    for name in ("CERTSVC_PORT", "CERTSVC_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    runner, path = CliRunner(), tmp_path / "instance" / "dev.env"
    path.parent.mkdir()
    first = runner.invoke(cli, ["secrets", "--env-file", str(path)])
    assert first.exit_code == 0, first.output
    assert "port 5000, public URL http://127.0.0.1:5000" in first.output
    made = read_env_file(path)
    assert made["CERTSVC_PORT"] == "5000" and made["CERTSVC_PUBLIC_URL"] == "http://127.0.0.1:5000"
    args = ["secrets", "--env-file", str(path), "--port", "5077"]
    again = runner.invoke(cli, [*args, "--public-url", "http://127.0.0.1:5077/"])
    assert again.exit_code == 0 and "keeping its secrets" in again.output
    kept = read_env_file(path)
    assert kept == {**made, "CERTSVC_PORT": "5077", "CERTSVC_PUBLIC_URL": "http://127.0.0.1:5077"}
    bad = runner.invoke(cli, [*args, "--public-url", "cert.example.cn"])
    assert bad.exit_code == 78 and "CERTSVC_PUBLIC_URL must be an absolute" in bad.stderr
    assert read_env_file(path) == kept
    alone = runner.invoke(cli, ["secrets", "--port", "5077"])
    assert alone.exit_code == 65 and "give --env-file" in alone.stderr


def test_the_command_reads_the_checkouts_dev_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """After `make run`, the CLI tour works in another terminal with nothing exported, and
    `certsvc show` prints the URL the server uses."""
    dev_env = tmp_path / "instance" / "dev.env"
    settings = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'certsvc.db'}",
        "CERTSVC_INSTANCE_DIR": str(tmp_path / "instance"),
        "CERTSVC_KEY_DIR": str(tmp_path / "keys"),
        "CERTSVC_PORT": "5077",
        "CERTSVC_PUBLIC_URL": "http://127.0.0.1:5077",
    }
    dev_env.parent.mkdir()
    dev_env.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    monkeypatch.setattr(config, "DEV_ENV_FILE", dev_env)
    monkeypatch.delenv(SKIP_DEV_ENV)
    for name in settings:  # unset now, restored after the test (main() sets them)
        monkeypatch.delenv(name, raising=False)

    def certsvc(*args: str) -> str:
        monkeypatch.setattr("sys.argv", ["certsvc", *args])
        with pytest.raises(SystemExit) as done:
            main()
        out, err = capsys.readouterr()
        assert done.value.code == 0, err
        return out

    certsvc("init")
    demo = certsvc("demo")
    number = re.findall(r"Y\d{21}", demo)[0]
    shown = certsvc("show", number)
    assert re.search(r"Verify URL +http://127\.0\.0\.1:5077/v/", shown), shown

    # Set in the environment, a setting wins over the file.
    monkeypatch.setenv("CERTSVC_PUBLIC_URL", "https://cert.example.cn")
    assert "https://cert.example.cn/v/" in certsvc("show", number)


def test_a_malformed_dev_env_stops_the_command_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dev_env = tmp_path / "dev.env"
    dev_env.write_text("CERTSVC_PORT 5077\n")
    monkeypatch.setattr(config, "DEV_ENV_FILE", dev_env)
    monkeypatch.delenv(SKIP_DEV_ENV)
    monkeypatch.setattr("sys.argv", ["certsvc", "show", "Y000132010001264000001"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 78
    err = capsys.readouterr().err
    assert err == f"error: {dev_env}, line 1: expected KEY=value, got 'CERTSVC_PORT 5077'\n"


def test_secrets_are_generated_fresh(runner: CliRunner) -> None:
    first = runner.invoke(cli, ["secrets"]).output
    second = runner.invoke(cli, ["secrets"]).output
    assert first != second
    assert [line.split("=")[0] for line in first.splitlines()] == [
        "CERTSVC_SECRET_KEY",
        "CERTSVC_ID_HASH_KEY",
        "CERTSVC_ID_ENCRYPTION_KEY",
        "CERTSVC_KEY_PASSPHRASE",
    ]


def test_a_database_without_schema_or_server_fails_with_one_line(tmp_path: Path) -> None:
    """No traceback: what is wrong with the database, the URL without its password, and
    what to do."""
    runner, secrets = CliRunner(), generate_secrets()
    empty = {**secrets, "CERTSVC_DATABASE_URL": f"sqlite:///{tmp_path}/empty.db"}
    result = runner.invoke(
        cli, ["pdf", "Y000132010001264000001", "-o", str(tmp_path / "x")], env=empty
    )
    assert result.exit_code == 78, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert "has no certsvc schema" in result.stderr and "certsvc init" in result.stderr

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = {**secrets, "CERTSVC_DATABASE_URL": f"postgresql://u:hunter2@127.0.0.1:{port}/x"}
    result = runner.invoke(
        cli, ["pdf", "Y000132010001264000001", "-o", str(tmp_path / "x")], env=down
    )
    assert result.exit_code == 75, result.output
    assert result.stderr.startswith("error: cannot use the database postgresql+psycopg://u:***@")
    assert "hunter2" not in result.output and result.stderr.count("\n") == 1

    # A missing database (or role) is not a missing schema: `certsvc init` would not help.
    nodb = {**secrets, "CERTSVC_DATABASE_URL": f"{DEFAULT_PG.rsplit('/', 1)[0]}/no_such_db_x"}
    result = runner.invoke(
        cli, ["pdf", "Y000132010001264000001", "-o", str(tmp_path / "x")], env=nodb
    )
    assert result.exit_code == 75 and "certsvc init" not in result.stderr, result.stderr


def test_a_suspended_body_revokes_but_gets_no_new_tokens_at_the_command_line(
    certsvc: Certsvc, tmp_path: Path
) -> None:
    """Issue #13: suspension means no new certificates and no new credentials, but what the
    body issued can still be withdrawn (README "Security")."""
    set_up_body(certsvc)
    file = results_csv(tmp_path / "r.csv", [person(1)])
    number = re.findall(r"Y\d{21}", certsvc("issue", str(file), "--body", BODY_CODE).output)[0]
    certsvc("body", "suspend", BODY_CODE)
    refused = certsvc(
        "tokens", "create", "--role", "issuer", "--name", "hr", "--body", BODY_CODE, code=65
    )
    assert "suspended and may not get new API tokens" in refused.stderr
    assert "revoked" in certsvc("revoke", number, "--reason", "材料不实，撤销").output
    certsvc("body", "activate", BODY_CODE)
    certsvc("tokens", "create", "--role", "issuer", "--name", "hr", "--body", BODY_CODE)


def test_commands_are_audited_as_the_operating_system_user(
    certsvc: Certsvc, tmp_path: Path
) -> None:
    import os
    import pwd

    from certsvc.models import AuditEntry

    who = f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    set_up_body(certsvc)
    issued = certsvc(
        "issue", str(results_csv(tmp_path / "r.csv", [person(1)])), "--body", BODY_CODE
    )
    number = re.findall(r"Y\d{21}", issued.output)[0]
    certsvc("revoke", number, "--reason", "证书信息有误")
    certsvc("revoke", number, "--reason", "证书信息有误", code=65)  # refused: already revoked
    certsvc("keys", "rotate", BODY_CODE)
    certsvc("keys", "rotate", "Y999999999999", code=66)
    secret = certsvc("tokens", "create", "--role", "issuer", "--name", "hr", "--body", BODY_CODE)
    certsvc("tokens", "revoke", secret.stdout.strip()[:12])
    unknown = "cst_" + "Q" * 43  # a whole (made-up) secret: refused, and only its prefix kept
    certsvc("tokens", "revoke", unknown, code=66)
    certsvc("body", "suspend", BODY_CODE)
    runtime = Runtime.from_settings(Settings.from_env(certsvc.env))
    try:
        with runtime.db.session() as session:
            entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
            found = [(e.actor, e.action, e.outcome) for e in entries]
    finally:
        runtime.db.dispose()
    assert found == [
        (who, "body.create", "ok"),
        (who, "scope.add", "ok"),
        (who, "member.add", "ok"),
        (who, "body.photos", "ok"),
        (who, "batch.issue", "ok"),
        (who, "certificate.revoke", "ok"),
        (who, "certificate.revoke", "failed"),
        (who, "key.rotate", "ok"),
        (who, "key.rotate", "failed"),
        (who, "token.create", "ok"),
        (who, "token.revoke", "ok"),
        (who, "token.revoke", "failed"),
        (who, "body.suspend", "ok"),
    ]
    kept = repr([(e.target, e.detail) for e in entries])
    assert secret.stdout.strip() not in kept and unknown[12:] not in kept


def test_the_database_instance_keys_and_exports_are_owner_only(tmp_path: Path) -> None:
    import os
    import sqlite3
    import stat

    instance = tmp_path / "instance"
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o755)  # as a checkout leaves it: git keeps no directory modes
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": f"sqlite:///{instance / 'certsvc.db'}",
        "CERTSVC_KEY_DIR": str(keys),
        "CERTSVC_PUBLIC_URL": "https://cert.example.cn",
    }
    old = os.umask(0o022)  # the usual umask: new files world-readable unless asked otherwise
    try:
        run = Certsvc(env)
        run("secrets", "--env-file", str(tmp_path / "conf" / "dev.env"))
        run("init")
        set_up_body(run)
        issued = run(
            "issue", str(results_csv(tmp_path / "r.csv", [person(1)])), "--body", BODY_CODE
        )
        number = re.findall(r"Y\d{21}", issued.output)[0]
        run("pdf", number, "-o", str(tmp_path / "out" / "c.pdf"))
        batch = re.findall(r"in batch (\S+)", issued.output)[0]
        run("pdf", "--batch", batch, "-o", str(tmp_path / "out" / "all.zip"))
        # A connection of its own holds the -wal and -shm files open while they are looked at.
        reader = sqlite3.connect(instance / "certsvc.db")
        reader.execute("CREATE TABLE probe (x)")
        reader.commit()
    finally:
        os.umask(old)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    files = [
        tmp_path / "conf" / "dev.env",
        instance / "certsvc.db",
        instance / "certsvc.db-wal",
        instance / "certsvc.db-shm",
        *keys.glob("*.pem"),
        tmp_path / "out" / "c.pdf",
        tmp_path / "out" / "all.zip",
    ]
    assert len(files) == 8
    assert {str(f.relative_to(tmp_path)): mode(f) for f in files} == {
        str(f.relative_to(tmp_path)): 0o600 for f in files
    }
    directories = [tmp_path / "conf", instance, keys, tmp_path / "out"]
    assert [mode(d) for d in directories] == [0o700] * 4
    reader.close()
    database = instance / "certsvc.db"
    os.chmod(database, 0o644)  # as an earlier version left it
    assert f"{database} was readable by others" in Certsvc(env)("init").output
    assert mode(database) == 0o600
