"""Security hardening (issue 13): what one body learns of another, concurrent batches, ID
numbers and invisible characters in free text, spreadsheet formulas, invalid Unicode, and
database errors that must never reach a person."""

from __future__ import annotations

import csv
import io
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import Engine, create_engine, func, select, text

from certsvc import create_app
from certsvc.accounts.accounts import create_account, hash_password
from certsvc.accounts.audit import Actor
from certsvc.accounts.tokens import create_token
from certsvc.bodies.bodies import NewBody, add_member, add_scope, create_body, load_occupations
from certsvc.cli.demo import uscc
from certsvc.cli.main import cli
from certsvc.config import Settings, generate_secrets
from certsvc.domain.levels import CERTIFIED_LEVELS
from certsvc.domain.occupations import Occupation as CatalogueEntry
from certsvc.errors import (
    BatchRejected,
    ConcurrentChange,
    IdNumberInText,
    InvalidInput,
)
from certsvc.issuance.certificates import batch_digest, preview_rows, reissue
from certsvc.issuance.rows import COLUMNS
from certsvc.issuance.service import BatchResult, content_hash, issue_batch, revoke
from certsvc.models import AuditEntry, Certificate, CertificationBody
from certsvc.registry.stats import compute_stats, render
from certsvc.runtime import Runtime
from tests.conftest import BODY_CODE, row, seed_body

OTHER_CODE = "Y000211010001"
OTHER_USCC = uscc("91110000MA01XYW7Q")
PASSWORD = "correct horse battery"
#: A valid resident ID number (the GB 11643-1999 worked example), as people type it.
AN_ID = "11010519491231002X"


def issue(runtime: Runtime, body: str, rows: list[dict[str, str]]) -> BatchResult:
    numbered = list(enumerate(rows, start=2))
    return issue_batch(runtime, body, numbered, source="api", content_sha256=content_hash(numbered))


def second_body(runtime: Runtime) -> str:
    """Another body, not a chain leader, filed for the same occupation at every level (photos
    optional: these tests are not about photos)."""
    with runtime.db.transaction() as session:
        created = create_body(
            session,
            NewBody(
                code=OTHER_CODE,
                name_zh="北京其他机构有限公司",
                uscc=OTHER_USCC,
                photo_required=False,
            ),
        )
        runtime.keyring.create_key(session, created)
        add_scope(session, created, ["6-31-01-03"], CERTIFIED_LEVELS)
    return OTHER_CODE


def body_id(runtime: Runtime, code: str) -> int:
    with runtime.db.session() as session:
        found = session.scalar(select(CertificationBody.id).where(CertificationBody.code == code))
        assert found is not None
        return found


def web(runtime: Runtime) -> Flask:
    app = create_app(runtime=runtime)
    app.testing = True
    return app


def bearer(runtime: Runtime, body: str, role: str = "issuer") -> dict[str, str]:
    with runtime.db.transaction() as session:
        secret = create_token(session, role, f"hr system {role}", body).secret
    return {"Authorization": f"Bearer {secret}"}


def post_batch(
    client: FlaskClient, headers: dict[str, str], rows: list[dict[str, str]], key: str
) -> Any:
    return client.post(
        "/api/v1/batches", json={"rows": rows}, headers={**headers, "Idempotency-Key": key}
    )


_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class _Console:
    """Just enough of a browser for the console: log in, post forms with their CSRF token."""

    def __init__(self, app: Flask, runtime: Runtime, body: str, role: str = "issuer") -> None:
        username = f"{role}-{body.lower()}"
        with runtime.db.transaction() as session:
            create_account(session, username, PASSWORD, role, body, actor=Actor("test"))
        self.client = app.test_client()
        response = self.post("/console/login", {"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]

    def post(self, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
        page = self.client.get("/console/login" if "login" in url else "/console/import")
        match = _CSRF.search(page.get_data(as_text=True))
        assert match, page.get_data(as_text=True)[:500]
        return self.client.post(url, data={**data, "csrf_token": match.group(1)}, **kwargs)

    def upload(self, rows: list[dict[str, str]]) -> Any:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([c.header for c in COLUMNS])
        for r in rows:
            writer.writerow([r.get(c.key, "") for c in COLUMNS])
        content = buffer.getvalue().encode("utf-8-sig")
        return self.post(
            "/console/import",
            {"file": (io.BytesIO(content), "results.csv")},
            content_type="multipart/form-data",
        )

    def confirm(self, preview: Any) -> Any:
        html = preview.get_data(as_text=True)
        fields = {
            name: re.search(rf'name="{name}" type="hidden" value="([^"]+)"', html)
            for name in ("ticket", "content")
        }
        assert all(fields.values()), html[:2000]
        return self.post(
            "/console/import/confirm",
            {name: match.group(1) for name, match in fields.items() if match},
            content_type="multipart/form-data",
        )


def audit_outcomes(runtime: Runtime, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    with runtime.db.session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return [(e.actor, e.outcome, dict(e.detail)) for e in entries]


# --- 13.1: a rejection never tells one body another body's certificates ---------------------


def test_another_bodys_certificate_for_the_same_thing_is_no_obstacle_and_is_never_named(
    runtime: Runtime, body: str
) -> None:
    """Body C submits a person body B certified: C's batch is issued, and nothing in the
    answer names B's certificate (it used to be refused with B's number in the message)."""
    theirs = issue(runtime, body, [row(1)]).certificates[0].number
    other = second_body(runtime)
    client = web(runtime).test_client()
    headers = bearer(runtime, other)
    mine = row(1, employer_uscc=OTHER_USCC)

    preview = preview_rows(
        runtime, body_id(runtime, other), [(2, mine)], [], batch_digest(runtime, b"x")
    )
    assert preview.ok, [e.message for r in preview.rows for e in r.errors]

    response = post_batch(client, headers, [mine], "c-1")
    assert response.status_code == 201, response.json
    assert theirs not in response.get_data(as_text=True)
    own = response.json["certificates"][0]["number"]

    # Within one body the rule holds, and the refusal names only that body's own number.
    again = post_batch(client, headers, [{**mine, "issue_date": "2026-11-21"}], "c-2")
    assert again.status_code == 422
    assert own in again.get_data(as_text=True) and theirs not in again.get_data(as_text=True)


def test_a_correction_to_what_another_body_certified_is_issued_without_naming_it(
    runtime: Runtime, body: str
) -> None:
    other = second_body(runtime)
    mine = issue(runtime, other, [row(2, employer_uscc=OTHER_USCC)]).certificates[0].number
    theirs = issue(runtime, body, [row(2, level="三级")]).certificates[0].number
    corrected = reissue(
        runtime, body_id(runtime, other), mine, {"level": "三级"}, actor="t", source="api"
    )
    assert corrected.superseded == [mine]
    assert theirs not in {c.number for c in corrected.certificates}


def test_the_cli_issues_to_a_person_another_body_certified(
    runtime: Runtime, tmp_path: Path
) -> None:
    env, cli_runtime = _cli_env(runtime, tmp_path)
    seed_body(cli_runtime)
    theirs = issue(cli_runtime, BODY_CODE, [row(3)]).certificates[0].number
    second_body(cli_runtime)
    results = _results_csv(tmp_path / "c.csv", [row(3, employer_uscc=OTHER_USCC)])
    result = CliRunner().invoke(cli, ["issue", str(results), "--body", OTHER_CODE], env=env)
    assert result.exit_code == 0, result.output
    assert theirs not in result.output
    cli_runtime.db.dispose()


# --- 13.4: concurrent batches that certify the same person ---------------------------------


def _cli_env(runtime: Runtime, tmp_path: Path) -> tuple[dict[str, str], Runtime]:
    """An environment for the command line on the test database, and runtime built from
    the same settings (so both read the same keys and secrets)."""
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": runtime.db.url,
        "CERTSVC_KEY_DIR": str(tmp_path / "cli-keys"),
        "CERTSVC_PUBLIC_URL": "https://cert.example.cn",
    }
    return env, Runtime.from_settings(Settings.from_env(env))


def _results_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.header for c in COLUMNS])
        for r in rows:
            writer.writerow([r.get(c.key, "") for c in COLUMNS])
    return path


@contextmanager
def event_log_held(engine: Engine) -> Iterator[int]:
    """Hold the event-log head row (as a batch does just before it commits) until the block
    ends; yields the holding backend's pid. A batch then waits there, its certificates
    written but not committed."""
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("SELECT last_seq FROM event_log_head WHERE id = 1 FOR UPDATE"))
        pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        try:
            yield pid
        finally:
            transaction.rollback()


def wait_until_blocked_by(engine: Engine, pid: int, timeout: float = 60) -> int:
    """The pid of a backend waiting for a lock that backend ``pid`` holds (polls until one
    waits: the only way to see a transaction block from outside)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
                {"pid": pid},
            ).scalar()
            connection.rollback()  # statistics are a snapshot per transaction
            if waiting is not None:
                return int(waiting)
            time.sleep(0.02)
    raise AssertionError(f"nothing waited for backend {pid} within {timeout} s")


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(work())
        except BaseException as exc:  # handed to the test thread, which re-raises it
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def outcome(thread: threading.Thread, out: list[Any]) -> Any:
    thread.join(timeout=120)
    assert not thread.is_alive() and out, "the batch did not finish"
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("loser_uses", ["api", "console", "cli"])
def test_the_loser_of_two_concurrent_batches_for_one_person_gets_a_clear_audited_409(
    backend: str, runtime: Runtime, tmp_path: Path, loser_uses: str
) -> None:
    """Two batches certify one person at once. The database's unique index decides (the
    loser's COPY waits for the winner's uncommitted row, then fails); the loser is told so
    (409 / one line), it is audited, and nothing of its batch is issued."""
    env, runtime = _cli_env(runtime, tmp_path)
    seed_body(runtime)
    issue(runtime, BODY_CODE, [row(1, occupation_code="6-18-02-04")])  # the holder exists
    app = web(runtime)
    headers = bearer(runtime, BODY_CODE)
    winner_rows = [row(1), row(2)]
    loser_rows = [row(1, issue_date="2025-06-01")]  # another year: another serial counter
    if loser_uses == "console":
        console = _Console(app, runtime, BODY_CODE)
        preview = console.upload(loser_rows)
        assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
        lose: Callable[[], Any] = lambda: console.confirm(preview)  # noqa: E731
    elif loser_uses == "cli":
        results = _results_csv(tmp_path / "results.csv", loser_rows)
        lose = lambda: CliRunner().invoke(  # noqa: E731
            cli, ["issue", str(results), "--body", BODY_CODE], env=env
        )
    else:
        lose = lambda: post_batch(app.test_client(), headers, loser_rows, "loser")  # noqa: E731

    engine = create_engine(runtime.db.url)
    try:
        with event_log_held(engine) as gate:
            winner = in_thread(lambda: post_batch(app.test_client(), headers, winner_rows, "w"))
            winner_pid = wait_until_blocked_by(engine, gate)
            loser = in_thread(lose)
            wait_until_blocked_by(engine, winner_pid)  # the loser waits on the winner's rows
    finally:
        engine.dispose()
    assert outcome(*winner).status_code == 201
    lost = outcome(*loser)

    message = "another batch certified the same person"
    if loser_uses == "cli":
        assert lost.exit_code == 65, lost.output
        assert message in lost.stderr and "Traceback" not in lost.output
        assert lost.stderr.strip().splitlines()[-1].startswith("error: another batch")
    elif loser_uses == "console":  # the console reads Chinese
        assert lost.status_code == 409 and "另一批次在同一时刻为同一人认定" in lost.get_data(
            as_text=True
        )
    else:
        assert lost.status_code == 409, lost.json
        assert lost.json["error"]["code"] == "concurrent_change"
        assert message in lost.json["error"]["message"]
    with runtime.db.session() as session:
        issued = session.scalars(select(Certificate.batch_row)).all()
    assert len(issued) == 3  # the holder's first certificate and the winner's two
    refused = [(who, d) for who, how, d in audit_outcomes(runtime, "batch.issue") if how != "ok"]
    assert [d.get("error") for _, d in refused] == ["concurrent_change"]
    if loser_uses == "cli":
        assert refused[0][0].startswith("cli:")
    runtime.db.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_admins_creating_the_same_user_name_at_once_get_a_409_not_a_database_error(
    backend: str, runtime: Runtime, body: str
) -> None:
    """A sibling of the batch race: any check-then-insert another request can win."""
    engine = create_engine(runtime.db.url)
    try:
        with engine.connect() as first:
            transaction = first.begin()  # the first admin's request, not yet committed
            first.execute(
                text(
                    "INSERT INTO accounts (username, password_hash, role, body_id, disabled, "
                    "created_at, failed_logins, session_epoch) VALUES ('zhang.wei', :hash, "
                    "'issuer', :body, false, now(), 0, 0)"
                ),
                {"hash": hash_password(PASSWORD), "body": body_id(runtime, body)},
            )
            pid = int(first.execute(text("SELECT pg_backend_pid()")).scalar_one())

            def second() -> None:
                with runtime.db.transaction() as session:
                    create_account(session, "zhang.wei", PASSWORD, "issuer", body, actor=Actor("b"))

            racing = in_thread(second)
            wait_until_blocked_by(engine, pid)
            transaction.commit()
        with pytest.raises(ConcurrentChange, match="an account with this user name"):
            outcome(*racing)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_value_the_database_cannot_store_is_one_line_from_the_cli(
    backend: str, runtime: Runtime, tmp_path: Path
) -> None:
    """PostgreSQL refuses an English name longer than its column (a DataError): before, a
    traceback; now one line and a data-error exit code."""
    env, cli_runtime = _cli_env(runtime, tmp_path)
    result = CliRunner().invoke(
        cli,
        [
            "body",
            "create",
            "--code",
            OTHER_CODE,
            "--name-zh",
            "北京其他机构有限公司",
            "--name-en",
            "x" * 400,
            "--uscc",
            OTHER_USCC,
        ],
        env=env,
    )
    assert result.exit_code == 65, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: a value is too long")
    assert len(result.stderr.strip().splitlines()) == 1
    cli_runtime.db.dispose()


# --- 13.5: ID numbers in free text ----------------------------------------------------------


SPELLINGS = [
    AN_ID,
    AN_ID.lower(),
    "1101 0519 4912 3100 2X",
    "110105-19491231-002X",
    "１１０１０５１９４９１２３１００２Ｘ",  # full-width
    "110105491231002",  # the 15-digit form of before 1999
]


@pytest.mark.parametrize("spelled", SPELLINGS)
def test_an_id_number_in_a_revocation_reason_is_refused_before_anything_is_stored(
    runtime: Runtime, body: str, spelled: str
) -> None:
    number = issue(runtime, body, [row(1)]).certificates[0].number
    with pytest.raises(IdNumberInText, match="reason"):
        revoke(runtime, number, f"冒用他人证件（{spelled}）取得")
    with runtime.db.session() as session:
        cert = session.scalars(select(Certificate)).one()
        assert cert.status == "valid" and cert.status_reason == ""


@pytest.mark.parametrize("column", ["direct_evidence", "work_type", "employer_name"])
def test_an_id_number_in_a_row_s_free_text_rejects_the_row(
    runtime: Runtime, body: str, column: str
) -> None:
    direct = {"level": "技师", "route": "直接认定", "direct_ground": "师带徒绩效突出"}
    value = {column: f"徒弟 {AN_ID} 已取得技师"}
    with pytest.raises(BatchRejected) as info:
        issue(runtime, body, [row(1, **direct, **value)])
    [error] = [e for e in info.value.errors if e.column == column]
    assert "ID number" in error.message and AN_ID not in error.message


def test_an_id_number_in_the_api_s_free_text_is_a_row_error(runtime: Runtime, body: str) -> None:
    client = web(runtime).test_client()
    headers = bearer(runtime, body)
    response = post_batch(client, headers, [row(1, work_type=f"焊工{AN_ID}")], "id-in-text")
    assert response.status_code == 422
    [problem] = response.json["error"]["rows"]
    assert problem["field"] == "work_type" and "ID number" in problem["message"]
    keyed = post_batch(client, headers, [row(1)], AN_ID)
    assert keyed.status_code == 422 and "Idempotency-Key" in keyed.json["error"]["message"]
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_an_id_number_is_refused_in_names_of_bodies_members_tokens_and_accounts(
    runtime: Runtime, body: str
) -> None:
    with runtime.db.transaction() as session, pytest.raises(IdNumberInText, match="English"):
        create_body(
            session,
            NewBody(OTHER_CODE, "北京其他机构有限公司", OTHER_USCC, name_en=f"Beijing {AN_ID}"),
        )
    with runtime.db.transaction() as session, pytest.raises(IdNumberInText, match="member"):
        leader = session.scalars(select(CertificationBody)).one()
        add_member(session, leader, OTHER_USCC, f"张三 {AN_ID}", leader.created_at.date())
    with runtime.db.transaction() as session, pytest.raises(IdNumberInText, match="token"):
        create_token(session, "issuer", f"laptop of {AN_ID}", body)
    with runtime.db.transaction() as session, pytest.raises(IdNumberInText, match="user name"):
        create_account(session, AN_ID.lower(), PASSWORD, "issuer", body, actor=Actor("t"))


def test_text_that_only_resembles_an_id_number_is_accepted(runtime: Runtime, body: str) -> None:
    """Order numbers, phone numbers, an 18-digit run with a wrong check character."""
    number = issue(runtime, body, [row(1)]).certificates[0].number
    revoke(runtime, number, "工单 202611200001，电话 13800138000，编号 110105194912310021")


# --- 13.8: one control/bidi check at every entry point -------------------------------------


@pytest.mark.parametrize("hidden", ["\u202e", "\x1b", "\u2066"])
def test_invisible_characters_are_refused_in_bodies_members_occupations_tokens(
    runtime: Runtime, body: str, hidden: str
) -> None:
    with runtime.db.transaction() as session, pytest.raises(InvalidInput, match="U\\+"):
        create_body(session, NewBody(OTHER_CODE, f"北京{hidden}其他机构", OTHER_USCC))
    with runtime.db.transaction() as session, pytest.raises(InvalidInput, match="U\\+"):
        leader = session.scalars(select(CertificationBody)).one()
        add_member(session, leader, OTHER_USCC, f"成员{hidden}企业", leader.created_at.date())
    entry = CatalogueEntry("6-31-01-09", f"数控{hidden}铣工", "CNC miller", frozenset(), True, "")
    with runtime.db.transaction() as session, pytest.raises(InvalidInput, match="6-31-01-09"):
        load_occupations(session, [entry])
    with runtime.db.transaction() as session, pytest.raises(InvalidInput, match="token"):
        create_token(session, "issuer", f"hr{hidden}", body)


def test_an_occupation_file_with_a_bidi_override_is_refused_whole_by_the_cli(
    runtime: Runtime, tmp_path: Path
) -> None:
    env, cli_runtime = _cli_env(runtime, tmp_path)
    catalogue = tmp_path / "occupations.csv"
    catalogue.write_text(
        "code,name_zh,name_en,tags,verified,note\n"
        "6-31-01-08,钳工甲,Fitter A,,true,\n"
        "6-31-01-09,数控\u202e铣工,CNC miller,,true,\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["occupations", "import", str(catalogue)], env=env)
    assert result.exit_code == 65 and "U+202E" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    listed = CliRunner().invoke(cli, ["occupations", "list"], env=env).output
    assert "6-31-01-08" not in listed and "6-31-01-09" not in listed
    cli_runtime.db.dispose()


# --- 13.7: spreadsheet formulas -------------------------------------------------------------


def test_formulas_are_neutralised_in_the_statistics_csv_and_xlsx(
    runtime: Runtime, body: str
) -> None:
    formula = '=HYPERLINK("http://evil.example","点击")'
    with runtime.db.transaction() as session:
        load_occupations(
            session, [CatalogueEntry("6-31-01-09", formula, "@SUM(A1)", frozenset(), True, "")]
        )
        leader = session.scalars(select(CertificationBody)).one()
        add_scope(session, leader, ["6-31-01-09"], CERTIFIED_LEVELS)
    issue(runtime, body, [row(1, occupation_code="6-31-01-09")])
    with runtime.db.session() as session:
        stats = compute_stats(session)
    cells = [
        c for r in csv.reader(io.StringIO(render(stats, "csv").decode("utf-8-sig"))) for c in r
    ]
    assert f"'{formula}" in cells and formula not in cells
    book = load_workbook(io.BytesIO(render(stats, "xlsx")))
    values = [c.value for sheet in book for r in sheet.iter_rows() for c in r]
    assert f"'{formula}" in values and formula not in values
    assert all(c.data_type != "f" for sheet in book for r in sheet.iter_rows() for c in r)


def test_formulas_are_neutralised_in_the_batch_csv(runtime: Runtime, body: str) -> None:
    app = web(runtime)
    result = issue(runtime, body, [row(1, name="-王小明"), row(2, name="李四")])
    console = _Console(app, runtime, body, role="viewer")
    response = console.client.get(f"/console/batches/{result.batch_id}/certificates.csv")
    assert response.status_code == 200
    names = [
        r[2] for r in csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    ]
    assert names[1:] == ["'-王小明", "李四"]


def test_an_escape_character_stored_before_does_not_break_the_xlsx_export(
    runtime: Runtime, body: str
) -> None:
    """Text stored before the entry checks existed still exports (as U+FFFD)."""
    issue(runtime, body, [row(1)])
    with runtime.db.transaction() as session:
        session.execute(
            text("UPDATE occupations SET name_zh = 'ESC\x1b名' WHERE code = '6-31-01-03'")
        )
    with runtime.db.session() as session:
        stats = compute_stats(session)
    values = [
        c.value
        for sheet in load_workbook(io.BytesIO(render(stats, "xlsx")))
        for r in sheet.iter_rows()
        for c in r
    ]
    assert "ESC\ufffd名" in values


# --- 13.9: invalid Unicode ------------------------------------------------------------------


def test_a_lone_surrogate_anywhere_in_an_api_request_is_a_400(runtime: Runtime, body: str) -> None:
    client = web(runtime).test_client()
    headers = {**bearer(runtime, body), "Content-Type": "application/json"}
    batch = client.post(
        "/api/v1/batches",
        data=b'{"rows": [{"name": "\\ud800"}]}',
        headers={**headers, "Idempotency-Key": "s-1"},
    )
    assert batch.status_code == 400, batch.get_data(as_text=True)
    assert batch.json["error"]["code"] == "invalid_unicode"
    assert "rows[0].name" in batch.json["error"]["message"]
    number = issue(runtime, body, [row(1)]).certificates[0].number
    for url, payload in [
        (f"/api/v1/certificates/{number}/revoke", b'{"reason": "\\udfff\\u4e0d\\u5b9e"}'),
        (f"/api/v1/certificates/{number}/reissue", b'{"changes": {"\\ud800": "x"}}'),
        ("/api/v1/verify", b'{"token": "a\\ud800"}'),
        ("/api/v1/lookup/by-number", b'{"number": "\\ud800", "name": "x"}'),
        ("/api/v1/lookup/by-id", b'{"id_number": "1", "name": "\\ud800"}'),
    ]:
        response = client.post(url, data=payload, headers=headers)
        assert response.status_code == 400, (url, response.get_data(as_text=True))
        assert response.json["error"]["code"] == "invalid_unicode"


def test_invalid_utf8_in_forms_query_strings_and_paths_is_never_a_500(
    runtime: Runtime, body: str
) -> None:
    app = web(runtime)
    client = app.test_client()
    for url in ["/v/%ED%A0%80", "/?q=%ED%A0%80", "/api/v1/certificates/%ED%A0%80"]:
        assert client.get(url).status_code < 500, url
    lookup = client.post(
        "/lookup/number",
        data=b"number=%ED%A0%80&name=%FF",
        content_type="application/x-www-form-urlencoded",
    )
    assert lookup.status_code < 500
    console = _Console(app, runtime, body)
    search = console.client.get("/console/certificates?name=%ED%A0%80&page=%FF")
    assert search.status_code < 500


def test_an_argument_that_is_not_utf8_is_one_line_from_the_cli(
    runtime: Runtime, body: str, tmp_path: Path
) -> None:
    env, cli_runtime = _cli_env(runtime, tmp_path)
    # What Python makes of the byte 0xFF in argv (surrogateescape).
    result = CliRunner().invoke(
        cli, ["revoke", "Y000132010001264000001", "--reason", "考核\udcff不实"], env=env
    )
    assert result.exit_code == 64
    assert result.stderr.startswith("error: argument 4 is not valid UTF-8")
    assert len(result.stderr.strip().splitlines()) == 1
    cli_runtime.db.dispose()


def test_every_row_check_refuses_a_lone_surrogate(runtime: Runtime, body: str) -> None:
    """The service rule itself (for callers other than the JSON API)."""
    with pytest.raises(BatchRejected) as info:
        issue(runtime, body, [row(1, employer_name="示范\ud800公司")])
    [error] = info.value.errors
    assert error.column == "employer_name" and "Unicode" in error.message


def test_odd_digits_and_nul_in_query_strings_are_never_a_500(runtime: Runtime, body: str) -> None:
    """``"²".isdigit()`` is true but ``int("²")`` fails; PostgreSQL refuses NUL in text."""
    app = web(runtime)
    console = _Console(app, runtime, body, role="admin")
    for url in [
        "/console/certificates?page=%C2%B2",
        "/console/audit?before=%C2%B2",
        "/console/certificates?name=%00",
    ]:
        response = console.client.get(url)
        assert response.status_code < 500, (url, response.get_data(as_text=True)[:300])
    with runtime.db.transaction() as session:
        secret = create_token(session, "registry", "national registry").secret
    feed = app.test_client().get(
        "/api/v1/registry/changes?after=%C2%B2", headers={"Authorization": f"Bearer {secret}"}
    )
    assert feed.status_code == 422, feed.get_data(as_text=True)


def test_a_number_in_a_path_too_big_for_a_row_id_is_a_404_not_a_500(
    runtime: Runtime, body: str
) -> None:
    """SQLite's driver raises OverflowError for an integer beyond 64 bits; the URL never
    gets that far."""
    app = web(runtime)
    client = app.test_client()
    console = _Console(app, runtime, body, role="admin")
    for huge in (str(2**63), "9" * 30):
        status = client.get(f"/status/{body}/{huge}")
        assert status.status_code == 404, status.get_data(as_text=True)[:300]
        for url in (f"/console/accounts/{huge}/disable", f"/console/tokens/{huge}/revoke"):
            response = console.post(url, {})
            assert response.status_code == 404, (url, response.status_code)


def test_a_token_id_too_big_for_a_row_is_one_line_from_the_cli(
    runtime: Runtime, tmp_path: Path
) -> None:
    env, cli_runtime = _cli_env(runtime, tmp_path)
    result = CliRunner().invoke(cli, ["tokens", "revoke", "9" * 30], env=env)
    assert result.exit_code == 66, result.exception  # not found, not an OverflowError
    assert result.stderr.startswith("error: no API token")
    assert len(result.stderr.strip().splitlines()) == 1
    cli_runtime.db.dispose()


def test_an_output_file_that_cannot_be_written_is_one_line_from_the_cli(
    runtime: Runtime, body: str, tmp_path: Path
) -> None:
    env, cli_runtime = _cli_env(runtime, tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for args in (
        ["stats", "--format", "csv", "-o", str(blocker / "stats.csv")],
        ["template", str(blocker / "template.csv")],
    ):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 74, (args, result.exception)  # EX_IOERR, not a traceback
        assert result.stderr.startswith(f"error: cannot use {blocker}")
        assert len(result.stderr.strip().splitlines()) == 1
    cli_runtime.db.dispose()


def test_an_id_number_typed_into_a_url_is_not_kept_in_the_audit_log(
    runtime: Runtime, body: str
) -> None:
    """A certificate number that is not found is audited as asked for; an issuer who types a
    holder's ID number there instead must not put it in the log in clear."""
    app = web(runtime)
    client = app.test_client()
    headers = bearer(runtime, body)
    assert client.get(f"/api/v1/certificates/{AN_ID}", headers=headers).status_code == 404
    revoke = client.post(
        f"/api/v1/certificates/{AN_ID}/revoke", json={"reason": "考核不实"}, headers=headers
    )
    assert revoke.status_code == 404
    viewer = _Console(app, runtime, body, role="viewer")
    denied = viewer.post(f"/console/certificates/{AN_ID}/revoke", {"reason": "考核不实"})
    assert denied.status_code == 403
    with runtime.db.session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.outcome != "ok")).all()
    logged = [(e.action, e.target, str(e.detail)) for e in entries]
    assert {"certificate.view", "certificate.revoke", "denied"} <= {a for a, _, _ in logged}
    assert not [entry for entry in logged if "19491231" in str(entry)], logged
    assert ("certificate.view", "1101**********002X") in [(a, t) for a, t, _ in logged]


def test_an_id_number_typed_as_a_user_name_is_not_kept_in_the_audit_log(
    runtime: Runtime, body: str
) -> None:
    client = web(runtime).test_client()
    page = client.get("/console/login").get_data(as_text=True)
    match = _CSRF.search(page)
    assert match
    form = {"username": AN_ID, "password": "wrong password", "csrf_token": match.group(1)}
    assert client.post("/console/login", data=form).status_code in (401, 403, 422, 200)
    logins = audit_outcomes(runtime, "login")
    assert logins and all(AN_ID not in who and AN_ID.lower() not in who for who, _, _ in logins)


NUL = "\x00"


@pytest.mark.parametrize("backend", ["postgresql"])
def test_nul_in_every_console_and_public_form_is_never_a_500(
    backend: str, runtime: Runtime, body: str
) -> None:
    """PostgreSQL refuses NUL in text (a DataError): each form answers with a reason."""
    number = issue(runtime, body, [row(1)]).certificates[0].number
    app = web(runtime)
    admin = _Console(app, runtime, body, role="admin")
    issuer = _Console(app, runtime, body, role="issuer")
    with runtime.db.transaction() as session:
        create_account(session, "op1", PASSWORD, "operator", None, actor=Actor("test"))
    operator = app.test_client()
    page = operator.get("/console/login").get_data(as_text=True)
    token = _CSRF.search(page)
    assert token
    form = {"username": "op1", "password": PASSWORD, "csrf_token": token.group(1)}
    assert operator.post("/console/login", data=form).status_code == 302
    page = operator.get("/console/bodies").get_data(as_text=True)
    token = _CSRF.search(page)
    assert token
    posts: list[tuple[Any, str, dict[str, str]]] = [
        (
            admin,
            "/console/members",
            {"uscc": OTHER_USCC, "name": f"成员{NUL}", "valid_from": "2026-01-01"},
        ),
        (admin, "/console/tokens", {"name": f"hr{NUL}", "role": "issuer"}),
        (
            admin,
            "/console/accounts",
            {"username": f"li{NUL}", "password": PASSWORD, "role": "viewer"},
        ),
        (issuer, f"/console/certificates/{number}/revoke", {"reason": f"考核{NUL}不实"}),
        (issuer, f"/console/certificates/{number}/correct", {**row(1), "work_type": f"焊{NUL}"}),
        (issuer, "/console/password", {"current": f"x{NUL}", "new": f"y{NUL}" * 8, "repeat": "z"}),
    ]
    for console, url, data in posts:
        response = console.post(url, data)
        assert response.status_code < 500, (url, response.get_data(as_text=True)[:300])
    body_form = {
        "code": OTHER_CODE,
        "name_zh": f"北京{NUL}机构",
        "uscc": OTHER_USCC,
        "csrf_token": token.group(1),
    }
    created = operator.post("/console/bodies", data=body_form)
    assert created.status_code < 500, created.get_data(as_text=True)[:300]
    public = app.test_client()
    for url, data in [
        ("/lookup/number", {"number": f"Y{NUL}", "name": f"张{NUL}"}),
        ("/lookup/id", {"id_number": f"1{NUL}", "name": f"张{NUL}"}),
        ("/console/login", {"username": f"a{NUL}", "password": "x"}),
    ]:
        response = public.post(url, data=data)
        assert response.status_code < 500, (url, response.get_data(as_text=True)[:300])


def test_no_module_writes_csv_but_through_the_formula_safe_writer() -> None:
    """One helper for every CSV written: a new export cannot forget the formula rule."""
    package = Path(__file__).resolve().parent.parent / "certsvc"
    writers = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if re.search(r"\bcsv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))
    ]
    assert writers and all(w.endswith("spreadsheets.py") for w in writers), writers


def test_a_database_that_does_not_answer_is_a_503_not_a_500(tmp_path: Path) -> None:
    """The API and the public pages answer that the database is down (503), and say nothing
    of it (on main: a 500)."""
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": f"postgresql://u:hunter2@127.0.0.1:{port}/x",
        "CERTSVC_KEY_DIR": str(tmp_path / "keys"),
        "CERTSVC_PUBLIC_URL": "https://cert.example.cn",
    }
    down = Runtime.from_settings(Settings.from_env(env))
    client = web(down).test_client()
    api = client.post("/api/v1/lookup/by-number", json={"number": "Y" + "0" * 21, "name": "张三"})
    assert api.status_code == 503 and api.json["error"]["code"] == "database_unavailable"
    page = client.post("/lookup/number", data={"number": "Y" + "0" * 21, "name": "张三"})
    assert page.status_code == 503
    for response in (api, page):
        text_ = response.get_data(as_text=True)
        assert "hunter2" not in text_ and "psycopg" not in text_ and "127.0.0.1" not in text_
    down.db.dispose()
